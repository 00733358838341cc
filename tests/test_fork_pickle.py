"""Work at scale: a client survives ``os.fork()``, and a request spec travels by pickle.

- A forked child uses a client its parent already used: it opens its own connections (never
  the parent's sockets), gets its own I/O pool and workers (the parent's threads are not in
  the child), and does not inherit the parent's calls in flight; the parent goes on as before.
- ``RequestSpec`` pickles (the caller's ``requests.Session`` is dropped), and the copy is sent
  by another client's lifecycle.
"""

from __future__ import annotations

import json
import os
import pickle
import select
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from aikit import (
    OpenAI,
    OpenAIChatCompletionsParameters,
    OpenAIChatCompletionsResult,
    OpenAIParameters,
    process,
)
from aikit._http.request import RequestSpec
from aikit.process._table import workers
from aikit.testing import FakeOpenAIServer

from .helpers import TIMEOUT

posix_only = pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork() is POSIX only")
CHILD_TIMEOUT = 30.0


def ask(client: OpenAI, text: str, params: Any = None) -> OpenAIChatCompletionsResult:
    return client.chat.completions.create([{"role": "user", "content": text}], params,
                                          model="gpt-4o-mini")


def answer_of(result: OpenAIChatCompletionsResult) -> str | None:
    return result.choice.text if result.success and result.choice is not None else None


def ask_in_worker(client: OpenAI, worker: str, text: str, timeout: float = TIMEOUT) -> Any:
    """A callback-mode call made in ``worker``: (answer or None, worker thread is the
    callbacks' thread, error kinds)."""
    box: dict[str, Any] = {}
    done = threading.Event()

    def on_terminate(result: OpenAIChatCompletionsResult) -> None:
        box["answer"] = answer_of(result)
        box["kinds"] = [e.kind.value for e in result.errors]
        box["on_worker"] = process.current_process().name == worker
        done.set()

    process.call_worker(worker, lambda: ask(client, text, {"on_terminate": on_terminate}))
    if not done.wait(timeout):
        return None, False, ["no callback"]
    return box["answer"], box["on_worker"], box["kinds"]


def run_in_child(body: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Fork; the child runs ``body`` and sends what it returns through a pipe, then
    ``os._exit``s whatever happens (never back into pytest)."""
    reader, writer = os.pipe()
    with warnings.catch_warnings():  # 3.12+: "fork() of a multi-threaded process"
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child
        code = 1
        try:
            os.close(reader)
            try:
                report = body()
            except BaseException as exc:  # reported, not raised: this is not pytest's process
                report = {"exception": f"{type(exc).__name__}: {exc}"}
            os.write(writer, json.dumps(report, default=str).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(writer)
    chunks = []
    deadline = time.monotonic() + CHILD_TIMEOUT
    try:
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([reader], [], [], max(0.0, left))
            if not ready:
                os.kill(pid, 9)
                pytest.fail(f"the forked child did not answer within {CHILD_TIMEOUT} s")
            data = os.read(reader, 65536)
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(reader)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    report: dict[str, Any] = json.loads(b"".join(chunks) or b"{}")
    assert "exception" not in report, report["exception"]
    return report


@posix_only
def test_a_forked_child_uses_the_parents_client_with_its_own_connections_and_threads(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI,
) -> None:
    client = aikit_client
    # The parent uses the client: sync, and in callback mode from worker "w" (I/O pool).
    assert answer_of(ask(client, "parent before")) == "Echo: parent before"
    assert ask_in_worker(client, "w", "parent worker before") == (
        "Echo: parent worker before", True, [])
    # ... and has one call in flight when it forks: a callback call owned by the main thread.
    aikit_server.delay_next(1.5)
    seen: list[OpenAIChatCompletionsResult] = []
    pending = ask(client, "in flight at fork", {"on_terminate": seen.append, "group": "g"})
    until = time.monotonic() + TIMEOUT
    while len(aikit_server.requests) < 3 and time.monotonic() < until:
        time.sleep(0.01)  # forked only once the slow request is on the server
    assert not pending.terminated
    runner = client._runner
    parent_transport, parent_pool = runner._transport, runner._pool
    assert parent_transport is not None and parent_pool is not None
    connections = aikit_server.total_connections

    def child() -> dict[str, Any]:
        report: dict[str, Any] = {
            # What the child inherited was reset by the fork hooks, before any call.
            "transport_dropped": runner._transport is None,
            "pool_dropped": runner._pool is None,
            "calls_dropped": not runner._calls,
            "workers_forgotten": "w" not in workers,
            # The parent's call in flight ends here at once, cancelled, with no callback.
            "inherited_terminated": pending.terminated,
            "inherited_kinds": [e.kind.value for e in pending.errors],
        }
        report["pump_idle"] = process.pump(2.0)  # nothing of the parent's to wait for
        report["inherited_callbacks"] = len(seen)
        report["sync"] = answer_of(ask(client, "child sync"))
        report["new_transport"] = runner._transport not in (None, parent_transport)
        report["worker"] = ask_in_worker(client, "w", "child worker")
        report["new_pool"] = runner._pool not in (None, parent_pool)
        report["worker_threads"] = sorted(
            t.name for t in threading.enumerate() if t.name.startswith("aikit-")
        )
        client.close()
        return report

    report = run_in_child(child)
    assert report["transport_dropped"] and report["pool_dropped"] and report["calls_dropped"]
    assert report["workers_forgotten"]
    assert report["inherited_terminated"] and report["inherited_kinds"] == ["cancelled"]
    assert report["pump_idle"] and report["inherited_callbacks"] == 0
    assert report["sync"] == "Echo: child sync" and report["new_transport"]
    assert report["worker"] == ["Echo: child worker", True, []]
    assert report["new_pool"]
    assert "aikit-worker-w" in report["worker_threads"]
    # The child's calls came over connections of its own.
    assert aikit_server.total_connections > connections
    # The parent: its call in flight ends normally, and the client still works, both modes.
    assert pending.wait(TIMEOUT) and answer_of(pending) == "Echo: in flight at fork"
    assert process.pump(TIMEOUT) and seen == [pending]
    assert runner._transport is parent_transport and runner._pool is parent_pool
    assert answer_of(ask(client, "parent after")) == "Echo: parent after"
    assert ask_in_worker(client, "w", "parent worker after") == (
        "Echo: parent worker after", True, [])
    texts = [r.json["messages"][0]["content"] for r in aikit_server.requests]
    assert sorted(texts) == sorted([
        "parent before", "parent worker before", "in flight at fork", "child sync",
        "child worker", "parent after", "parent worker after",
    ])


@posix_only
def test_a_fork_from_a_worker_keeps_that_worker_in_the_child(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI,
) -> None:
    """Forked on worker "w", the child is that worker's thread: "w" lives on there, the
    other workers are gone (started anew on their next message)."""
    assert ask_in_worker(aikit_client, "other", "warm up")[0] == "Echo: warm up"
    box: dict[str, Any] = {}
    done = threading.Event()

    def fork_here() -> None:
        def child() -> dict[str, Any]:
            me = process.current_process()
            answer = ask_in_worker(aikit_client, "other", "from the child", timeout=10)
            return {"me": [me.name, me.is_alive()], "other": answer}

        try:
            box["report"] = run_in_child(child)
        except BaseException as exc:
            box["error"] = exc
        done.set()

    process.call_worker("w", fork_here)
    assert done.wait(CHILD_TIMEOUT + 5)
    if "error" in box:
        raise box["error"]
    assert box["report"] == {"me": ["w", True], "other": ["Echo: from the child", True, []]}


@posix_only
def test_a_fork_from_a_plain_thread_makes_it_the_childs_main_process(
    aikit_client: OpenAI,
) -> None:
    """The thread that forks is the child's main thread (``threading.main_thread()``): it is
    process 1 there, and receives its callbacks by pumping."""
    box: dict[str, Any] = {}

    def child() -> dict[str, Any]:
        me = process.current_process()
        seen: list[str | None] = []
        ask(aikit_client, "callbacks to main", {"on_terminate": lambda r: seen.append(
            answer_of(r))})
        idle = process.pump(TIMEOUT)
        return {"me": [me.number, me.kind], "idle": idle, "seen": seen}

    def plain() -> None:
        try:
            box["report"] = run_in_child(child)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=plain)
    thread.start()
    thread.join(CHILD_TIMEOUT + 5)
    if "error" in box:
        raise box["error"]
    assert box["report"] == {"me": [1, "main"], "idle": True, "seen": ["Echo: callbacks to main"]}
    assert process.current_process().number == 1  # the parent's main thread is untouched


@posix_only
@pytest.mark.parametrize("shared", [False, True], ids=["in-process store", "SQLite store"])
def test_a_forked_child_has_its_own_budget_unless_the_store_is_shared(
    aikit_server: FakeOpenAIServer, tmp_path: Path, shared: bool,
) -> None:
    """60 requests/min: a burst of 6, then one a second. The parent spends the burst, then
    forks. An in-process store is the parent's memory: the child starts with a full budget
    of its own. An SQLite store is one file: the child waits like the parent would."""
    from aikit.limits import InProcessStore, SQLiteStore

    store = SQLiteStore(tmp_path / "limits.sqlite") if shared else InProcessStore()
    client = OpenAI(aikit_server.api_key, aikit_server.url, requests_per_minute=60,
                    limit_store=store, adaptive_limits=False)
    try:
        for n in range(6):
            assert answer_of(ask(client, f"burst {n}")) == f"Echo: burst {n}"

        def child() -> dict[str, Any]:
            started = time.monotonic()
            answers = [answer_of(ask(client, f"child {n}")) for n in range(2)]
            return {"answers": answers, "seconds": time.monotonic() - started}

        report = run_in_child(child)
        assert report["answers"] == ["Echo: child 0", "Echo: child 1"]
        if shared:
            assert report["seconds"] >= 1.0, report  # the parent's burst was spent
        else:
            assert report["seconds"] < 0.8, report  # a budget of its own, full
        assert answer_of(ask(client, "parent after")) == "Echo: parent after"
    finally:
        client.close()


def test_a_request_spec_pickles_without_the_callers_session(
    aikit_server: FakeOpenAIServer,
) -> None:
    key = aikit_server.api_key or "sk-secret-key"
    session = requests.Session()
    params = OpenAIChatCompletionsParameters(http_agent=session, deadline=30)
    with OpenAI(key, aikit_server.url, max_retries=4, timeout=7) as client:
        spec = client._prepare("POST", "/chat/completions", params, json_body={
            "model": "gpt-4o-mini", "messages": [{"role": "user", "content": "pickled"}],
        })
    assert spec.session is session and spec.deadline is not None
    bound_here = "on_retry" in RequestSpec.__slots__
    if bound_here:  # what Runner.run binds to this process's call: not picklable, dropped
        spec.on_retry = lambda info: None
    copy = pickle.loads(pickle.dumps(spec))
    assert isinstance(copy, RequestSpec)
    for name in ("method", "url", "headers", "body", "timeout", "retries", "stream",
                 "max_bytes", "secrets", "error"):
        assert getattr(copy, name) == getattr(spec, name), name
    for name in ("model", "cost"):  # fields other changes may add
        if hasattr(spec, name):
            assert getattr(copy, name) == getattr(spec, name), name
    assert copy.session is None  # a caller's Session never travels
    if bound_here:
        assert copy.on_retry is None
    assert copy.secrets == (key,)
    assert abs(copy.deadline - spec.deadline) < 1.0  # the same moment, as monotonic time
    assert key not in repr(spec) and key not in repr(copy)
    session.close()

    # The copy is sent by another client's lifecycle, over its own transport.
    with OpenAI("sk-not-the-key", aikit_server.url) as other:
        result = other._runner.run(copy, OpenAIChatCompletionsParameters(),
                                   OpenAIChatCompletionsResult)
    assert answer_of(result) == "Echo: pickled"
    sent = aikit_server.last_request
    assert sent is not None and sent.headers.get("authorization") == f"Bearer {key}"


def test_a_request_spec_without_deadline_or_with_an_error_pickles() -> None:
    with OpenAI("sk-x", "http://127.0.0.1:9/v1", provider="no-such-provider") as client:
        spec = client._prepare("GET", "/models", OpenAIParameters())
    assert spec.error is not None and spec.deadline is None
    copy = pickle.loads(pickle.dumps(spec, protocol=pickle.HIGHEST_PROTOCOL))
    assert copy.deadline is None and copy.session is None
    assert copy.error is not None and copy.error.message == spec.error.message
    assert copy.error.kind == spec.error.kind


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX fork hooks")
def test_the_fork_hooks_do_not_keep_clients_alive() -> None:
    import gc
    import weakref

    from aikit._lifecycle import runner as runner_module

    client = OpenAI("sk-x", "http://127.0.0.1:9/v1")
    ref = weakref.ref(client._runner)
    assert ref() in runner_module._runners
    del client
    gc.collect()
    assert ref() is None
