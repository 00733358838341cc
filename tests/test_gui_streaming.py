"""Streaming into a Tk form (issue "Streaming"): a 2,000-chunk answer under Xvfb.

Lossless by default: every chunk reaches ``on_data`` on the Tk thread, in wire order. With
``coalesce_data=True`` a form that falls behind gets only the newest pending chunk of each
stream, so it sees fewer ``on_data`` calls; each chunk still carries only its own delta, and
the final result (``on_response``/``on_terminate``) holds the whole text: that is the
documented contract a UI relies on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any

import pytest

from aikit import OpenAI, OpenAIChatCompletionsStreamResult, process
from aikit.testing import FakeOpenAIServer
from tests.gui_support import ThreadLog, spin, tk_root  # noqa: F401

# Reused, not duplicated: the Xvfb display and the per-test process cleanup of tests/process.
from tests.process.conftest import clean_processes, display  # noqa: F401

pytestmark = pytest.mark.gui

N = 2000
TOKENS = [f"tok{i} " for i in range(N)]  # what server.stream_tokens_next(N) sends
POSITION = {token: i for i, token in enumerate(TOKENS)}
T = 20.0



class Deliveries:
    """What on_data / on_terminate saw, with the thread each ran on."""

    def __init__(self) -> None:
        self.chunks: list[tuple[int, OpenAIChatCompletionsStreamResult]] = []
        self.final: OpenAIChatCompletionsStreamResult | None = None
        self.final_thread: int | None = None
        self.first_hook: Callable[[], None] | None = None

    def on_data(self, chunk: OpenAIChatCompletionsStreamResult) -> None:
        self.chunks.append((threading.get_ident(), chunk))
        if len(self.chunks) == 1 and self.first_hook is not None:
            self.first_hook()

    def on_terminate(self, result: OpenAIChatCompletionsStreamResult) -> None:
        self.final_thread = threading.get_ident()
        self.final = result

    @property
    def deltas(self) -> list[str]:
        return [c.choice.delta.text for _, c in self.chunks if c.choice and c.choice.delta]

    @property
    def threads(self) -> set[int]:
        return {t for t, _ in self.chunks} | {self.final_thread or 0}


def stream_into(root: Any, client: OpenAI, seen: Deliveries) -> OpenAIChatCompletionsStreamResult:
    """Issue the streamed call on the Tk thread and run Tk until on_terminate has run."""
    result = client.chat.completions.create(
        [{"role": "user", "content": "stream a long answer"}],
        stream=True,
        on_data=seen.on_data,
        on_terminate=seen.on_terminate,
    )
    assert not result.terminated  # callback mode: returns at once
    assert spin(root.update, lambda: seen.final is not None, T), (
        f"stream did not finish: {len(seen.chunks)} chunks so far"
    )
    return result


def test_2000_chunks_reach_the_tk_thread_in_order(
    tk_root: Any, aikit_server: FakeOpenAIServer, aikit_client: OpenAI,  # noqa: F811
) -> None:
    process.tk.attach(tk_root)
    log = ThreadLog()
    log.wrap(tk_root, "after", "event_generate", label="root")
    aikit_server.stream_tokens_next(N)
    seen = Deliveries()
    result = stream_into(tk_root, aikit_client, seen)

    main = threading.get_ident()
    assert seen.threads == {main}
    assert log.foreign(main) == [] and "root.after" in log.names()
    texts = [d for d in seen.deltas if d]
    assert texts == TOKENS  # every chunk, in wire order, none merged or dropped
    assert len(seen.chunks) == N + 2  # plus the role chunk and the finish_reason chunk
    assert seen.final is result and result.success
    assert result.choice is not None and result.choice.message is not None
    assert result.choice.message.text == "".join(TOKENS)
    assert result.choice.finish_reason == "stop"
    print(f"lossless: {len(seen.chunks)} on_data calls on the Tk thread")


def test_coalescing_form_gets_fewer_chunks_and_the_full_final_text(
    tk_root: Any, aikit_server: FakeOpenAIServer, aikit_client: OpenAI,  # noqa: F811
) -> None:
    form = process.tk.attach(tk_root, coalesce_data=True)
    # Make the Tk thread fall behind deterministically: the first on_data blocks until the
    # I/O thread has posted the end of the stream, i.e. every chunk is already queued. The
    # hook is the form's public ``post`` (the Owner protocol): data chunks come with a key
    # (the request, for coalescing), the end of the stream without one.
    stream_posted = threading.Event()
    posts = {"keyed": 0}
    original_post = form.post

    def post(fn: Callable[..., object], /, *args: Any, key: Hashable | None = None,
             **kwargs: Any) -> bool:
        accepted = original_post(fn, *args, key=key, **kwargs)
        if key is None:
            stream_posted.set()
        else:
            posts["keyed"] += 1
        return accepted

    form.post = post  # type: ignore[method-assign]
    blocked = {"ok": False}

    def fall_behind() -> None:
        blocked["ok"] = stream_posted.wait(T)

    aikit_server.stream_tokens_next(N)
    seen = Deliveries()
    seen.first_hook = fall_behind
    result = stream_into(tk_root, aikit_client, seen)

    assert blocked["ok"], "the end of the stream was never posted while the Tk thread was busy"
    assert posts["keyed"] == N + 2  # the I/O side posted every chunk...
    delivered = len(seen.chunks)
    assert delivered < N  # ...but the form ran only the newest pending one: coalesced
    assert seen.threads == {threading.get_ident()}
    # Coalescing keeps wire order and the newest content: the last chunk is the last one sent.
    texts = [d for d in seen.deltas if d]
    assert texts == sorted(texts, key=POSITION.__getitem__)
    last = seen.chunks[-1][1]
    assert last.choice is not None and last.choice.finish_reason == "stop"
    # The final result is complete whatever on_data saw.
    assert seen.final is result and result.success
    assert result.choice is not None and result.choice.message is not None
    assert result.choice.message.text == "".join(TOKENS)
    print(f"coalesced: {delivered} on_data calls for {N + 2} chunks; final text "
          f"{len(result.choice.message.text)} chars, complete")
