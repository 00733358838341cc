"""A Responses stream into a Tk ``Text`` widget under Xvfb: every event on the Tk thread, in
``sequence_number`` order, every widget call on the Tk thread; a coalescing form skips events
but the final result still holds the whole text."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from aikit import OpenAI, OpenAIResponsesStreamResult, process
from aikit.testing import FakeOpenAIServer
from aikit.types import ResponseTextDeltaEvent
from tests.gui_support import ThreadLog, spin, tk_root  # noqa: F401
from tests.process.conftest import clean_processes, display  # noqa: F401

pytestmark = pytest.mark.gui

N = 500
TOKENS = [f"tok{i} " for i in range(N)]
T = 20.0


def stream_into_text(root: Any, client: OpenAI, coalesce: bool) -> tuple[
        Any, list[OpenAIResponsesStreamResult], list[OpenAIResponsesStreamResult], ThreadLog]:
    import tkinter

    process.tk.attach(root, coalesce_data=coalesce)
    text = tkinter.Text(root)
    log = ThreadLog()
    log.wrap(text, "insert", label="text")
    events: list[OpenAIResponsesStreamResult] = []
    finals: list[OpenAIResponsesStreamResult] = []
    threads: set[int] = set()

    def on_data(item: OpenAIResponsesStreamResult) -> None:
        threads.add(threading.get_ident())
        events.append(item)
        if isinstance(item.event, ResponseTextDeltaEvent) and item.event.delta:
            text.insert("end", item.event.delta)

    def on_terminate(result: OpenAIResponsesStreamResult) -> None:
        threads.add(threading.get_ident())
        finals.append(result)

    client.responses.create("stream a long answer", stream=True, on_data=on_data,
                            on_terminate=on_terminate)
    assert spin(root.update, lambda: bool(finals), T), f"{len(events)} events so far"
    assert threads == {threading.get_ident()}
    return text, events, finals, log


def test_responses_stream_into_a_text_widget(
    tk_root: Any, aikit_server: FakeOpenAIServer, aikit_client: OpenAI,  # noqa: F811
) -> None:
    aikit_server.stream_tokens_next(N)
    text, events, finals, log = stream_into_text(tk_root, aikit_client, coalesce=False)
    main = threading.get_ident()
    assert log.foreign(main) == [] and "text.insert" in log.names()
    numbers = [e.event.sequence_number for e in events if e.event is not None]
    assert numbers == list(range(len(events)))
    assert text.get("1.0", "end-1c") == "".join(TOKENS)
    assert finals[0].success and finals[0].output_text == "".join(TOKENS)


def test_coalescing_keeps_the_final_text(
    tk_root: Any, aikit_server: FakeOpenAIServer, aikit_client: OpenAI,  # noqa: F811
) -> None:
    aikit_server.stream_tokens_next(N)
    _, events, finals, log = stream_into_text(tk_root, aikit_client, coalesce=True)
    assert log.foreign(threading.get_ident()) == []
    numbers = [e.event.sequence_number for e in events if e.event is not None]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert finals[0].success and finals[0].output_text == "".join(TOKENS)
