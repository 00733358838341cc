"""The key never appears whole in repr, errors or logs (docs/architecture/guarantees.md:
"Secrets never in repr, logs or errors")."""

from __future__ import annotations

import logging

import pytest

from aikit import OpenAI
from aikit.testing import FakeOpenAIServer

SECRET = "sk-SECRET-do-not-print-7c1e9a"


def test_repr_masks_the_key() -> None:
    text = repr(OpenAI(SECRET, "http://127.0.0.1:9/v1"))
    assert SECRET not in text
    assert "...9a" in text or "..." in text


def test_failed_request_logs_and_errors_mask_the_key(
    aikit_server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="aikit"), OpenAI(SECRET, aikit_server.url) as c:
        result = c.models.list()
        failed = OpenAI(SECRET, "http://127.0.0.1:9/v1", max_retries=0).models.list()
    assert result.status == 401
    texts = [caplog.text, str(result.errors[0]), repr(result.errors[0]), repr(result),
             str(failed.errors[0]), str(result.body)]
    for text in texts:
        assert SECRET not in text
    assert "Bearer" in caplog.text  # the header was logged, masked
    assert aikit_server.requests[-1].headers["Authorization"] == f"Bearer {SECRET}"


def test_aikit_log_env_enables_masked_debug_logging(aikit_server: FakeOpenAIServer) -> None:
    import os
    import pathlib
    import subprocess
    import sys

    code = (f"import aikit; c = aikit.OpenAI({SECRET!r}, {aikit_server.url!r}); "
            "print(c.models.list().status)")
    root = str(pathlib.Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "AIKIT_LOG": "debug", "PYTHONPATH": root}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.stdout.strip() == "401"
    assert "GET " + aikit_server.url + "/models -> 401" in done.stderr
    assert SECRET not in done.stderr and SECRET not in done.stdout
