"""Load: 1,000 callback calls from 4 workers against a slow server.

Each callback arrives once, on its owner's thread; I/O threads stay capped and none, nor any
socket, is left after ``close()`` (docs/architecture/guarantees.md: "Thread affinity", "Bounded
memory").
"""

from __future__ import annotations

import os
import threading
import time
import urllib.request
from collections import Counter

import pytest

from aikit import OpenAI, process
from aikit.testing import FakeOpenAIServer

from .helpers import aikit_threads, fd_targets

pytestmark = pytest.mark.slow


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0


def test_thousand_callbacks_from_four_workers(aikit_server: FakeOpenAIServer) -> None:
    calls_per_worker, workers = 250, 4
    aikit_server.delay_next(0.2, times=calls_per_worker * workers)
    # one plain request first, so the server's own accept loop (selector, sockets) is set up
    # before the baseline is taken: only the client's fds and threads are measured
    headers = {"Authorization": f"Bearer {aikit_server.api_key}"}
    with urllib.request.urlopen(urllib.request.Request(aikit_server.url + "/models",
                                                       headers=headers), timeout=10):
        pass
    threads_before, fds_before = aikit_threads(), open_fds()
    targets_before = fd_targets()
    client = OpenAI(aikit_server.api_key, aikit_server.url, max_concurrent_requests=16)
    seen: Counter[tuple[str, int]] = Counter()
    wrong_thread: list[str] = []
    all_done = threading.Event()
    lock = threading.Lock()
    peak = [0]

    def issue(name: str) -> None:
        me = threading.get_ident()

        def on_terminate(result: object, i: int) -> None:
            if threading.get_ident() != me:
                wrong_thread.append(name)
            with lock:
                seen[(name, i)] += 1
                if sum(seen.values()) == calls_per_worker * workers:
                    all_done.set()

        for i in range(calls_per_worker):
            client.models.list(on_terminate=lambda r, i=i: on_terminate(r, i))

    stop = threading.Event()

    def monitor() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], aikit_threads())
            stop.wait(0.01)

    watcher = threading.Thread(target=monitor, name="monitor")
    watcher.start()
    for w in range(workers):
        process.call_worker(f"load-{w}", issue, f"load-{w}")
    finished = all_done.wait(120)
    stop.set()
    watcher.join()
    assert finished, f"only {sum(seen.values())} callbacks arrived"
    assert all(count == 1 for count in seen.values()) and len(seen) == 1000
    assert wrong_thread == []
    assert peak[0] <= client.max_concurrent_requests + workers + 4
    client.close()
    for w in range(workers):
        process.kill_worker(f"load-{w}")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (
        aikit_threads() > threads_before or open_fds() > fds_before
    ):
        time.sleep(0.05)
    assert aikit_threads() == threads_before
    assert open_fds() <= fds_before, fd_targets() - targets_before
