"""Silent traps made loud: callbacks a script would lose at exit, an asyncio loop without a
form, and README worker snippets that must print their answer before the script ends."""

from __future__ import annotations

import asyncio
import os
import pathlib
import re
import subprocess
import sys
import textwrap

import pytest

from aikit import OpenAI
from aikit.process import NoProcessError
from aikit.testing import FakeOpenAIServer

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run_python(code: str, server: FakeOpenAIServer, timeout: float = 60) -> (
        subprocess.CompletedProcess[str]):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AIKIT_"))}
    env.update(PYTHONPATH=str(ROOT / "src"), OPENAI_API_KEY=server.api_key or "sk-x",
               OPENAI_BASE_URL=server.url)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT)


def test_exit_warns_about_callbacks_the_main_thread_never_received(
    aikit_server: FakeOpenAIServer,
) -> None:
    code = textwrap.dedent("""
        import time
        from aikit import OpenAI
        from aikit.process._process import MAIN
        OpenAI().models.list(on_response=print)   # never pumped
        deadline = time.monotonic() + 30
        while not MAIN._items and time.monotonic() < deadline:  # the answer is posted
            time.sleep(0.01)
    """)
    done = run_python(code, aikit_server)
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "main process exits" in line]
    assert len(warnings) == 1, done.stderr
    assert "1 undelivered" in warnings[0] and "pump()" in warnings[0]


def test_exit_warns_about_calls_still_in_flight(aikit_server: FakeOpenAIServer) -> None:
    aikit_server.delay_next(3)
    code = textwrap.dedent("""
        from aikit import OpenAI
        OpenAI(max_retries=0).models.list(on_response=print)
    """)
    done = run_python(code, aikit_server)
    assert "1 call(s) still in flight" in done.stderr, done.stderr


def test_a_clean_script_prints_no_warning(aikit_server: FakeOpenAIServer) -> None:
    code = textwrap.dedent("""
        from aikit import OpenAI
        OpenAI().models.list(on_response=lambda r: print("models", len(r.models))).wait(30)
    """)
    done = run_python(code, aikit_server)
    assert done.returncode == 0 and "models" in done.stdout
    assert "main process exits" not in done.stderr


def test_callbacks_from_an_asyncio_loop_without_a_form_raise(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    async def main() -> None:
        aikit_client.models.list(on_response=print)

    with pytest.raises(NoProcessError, match=r"asyncio\.attach\(\)"):
        asyncio.run(main())
    assert aikit_server.requests == []


def readme_worker_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    return [b for b in blocks if "process.call_worker" in b and "tkinter" not in b]


@pytest.mark.parametrize("block", readme_worker_blocks(), ids=lambda b: b.split("\n")[0][:40])
def test_readme_worker_snippets_print_their_answer(aikit_server: FakeOpenAIServer,
                                                   block: str) -> None:
    done = run_python(block, aikit_server)
    assert done.returncode == 0, done.stderr
    assert "Echo:" in done.stdout, (done.stdout, done.stderr)
    assert "main process exits" not in done.stderr
