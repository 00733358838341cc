"""Rate-limit stores (``aikit.limits``): each keeps the ``Store`` protocol (atomic updates,
exact states, expiry, safe after fork), and clients in separate processes that share a
``SQLiteStore`` or a ``RedisStore`` stay under one budget together."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from aikit.limits import InProcessStore, RedisStore, SQLiteStore, State
from aikit.testing import FakeOpenAIServer

SRC = str(Path(__file__).resolve().parents[1] / "src")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server of this test module, on a free 127.0.0.1 port."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    redis = pytest.importorskip(
        "redis", reason="the redis package is not installed (pip install 'aikit-sdk[redis]')"
    )
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    server = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("redis-server did not start")
                time.sleep(0.05)
        yield url
    finally:
        client.close()
        server.terminate()
        try:
            server.wait(5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


StoreFactory = Callable[[], Any]


@pytest.fixture(params=["in-process", "sqlite", "redis"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    """A factory of stores that share one budget (same file, same server and prefix)."""
    if request.param == "in-process":
        store = InProcessStore()
        return lambda: store
    if request.param == "sqlite":
        path = tmp_path / "limits.db"
        return lambda: SQLiteStore(path)
    url = request.getfixturevalue("redis_url")
    prefix = f"test:{os.getpid()}:{time.monotonic_ns()}:"
    return lambda: RedisStore(url, prefix=prefix)


def put(value: State | None) -> Any:
    def change(state: State | None, now: float) -> tuple[State | None, Any]:
        return value, (state, now)

    return change


def read(state: State | None, now: float) -> tuple[State | None, Any]:
    return state, (state, now)


def test_store_protocol(make_store: StoreFactory) -> None:
    store = make_store()
    state, now = store.update("k", read)
    assert state is None and isinstance(now, float)
    exact = (now + 60, 0.1, 1e-300, 123456789.123456789, -2.5, 0.0)
    store.update("k", put(exact))
    state, later = store.update("k", read)
    assert state == exact and later >= now  # floats round-trip exactly
    assert make_store().update("k", read)[0] == exact  # another instance sees it
    assert store.update("other", read)[0] is None  # keys are separate
    store.update("k", put(None))  # None forgets the key
    assert store.update("k", read)[0] is None
    store.update("k", put((now - 1, 5.0)))  # already expired: given back as None
    assert store.update("k", read)[0] is None
    assert store.update("k", put((later + 0.3, 7.0)))
    time.sleep(0.4)
    assert store.update("k", read)[0] is None  # expired since


def increment(state: State | None, now: float) -> tuple[State | None, float]:
    count = 0.0 if state is None else state[1]
    return (now + 60, count + 1), count + 1


def test_updates_are_atomic_across_threads(make_store: StoreFactory) -> None:
    stores = [make_store() for _ in range(4)]  # separate connections where a store has them
    threads = [
        threading.Thread(target=lambda s=s: [s.update("n", increment) for _ in range(100)])
        for s in stores for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert stores[0].update("n", read)[0][1] == 800


def test_sqlite_updates_are_atomic_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "limits.db"
    code = (
        "import sys; from aikit.limits import SQLiteStore\n"
        "from aikit.limits._store import State\n"
        "def inc(s, now): return (now + 60, (s[1] if s else 0.0) + 1), None\n"
        "store = SQLiteStore(sys.argv[1])\n"
        "for _ in range(200): store.update('n', inc)\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path)], env=_env())
             for _ in range(3)]
    for proc in procs:
        assert proc.wait(60) == 0
    assert SQLiteStore(path).update("n", read)[0][1] == 600


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.parametrize("kind", ["in-process", "sqlite"])
def test_stores_are_safe_after_fork(tmp_path: Path, kind: str) -> None:
    store: Any = InProcessStore() if kind == "in-process" else SQLiteStore(tmp_path / "l.db")
    store.update("n", increment)
    # a thread holds the store's lock while the fork happens: the child must not inherit it
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with store._lock:
            holding.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(5)
    pid = os.fork()
    if pid == 0:  # the child: use the store, report through the exit code
        code = 1
        try:
            count = store.update("n", increment)
            code = 0 if count == (1 if kind == "in-process" else 2) else 2
        finally:
            os._exit(code)
    release.set()
    holder.join()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    expected = 2 if kind == "in-process" else 3  # the child's own state vs. the shared file
    assert store.update("n", increment) == expected


def test_redis_store_needs_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(ImportError, match=r"pip install .aikit-sdk\[redis\]."):
        RedisStore()


def test_limits_cost_no_import_time() -> None:
    code = (
        "import sys, aikit, aikit.limits\n"
        "client = aikit.OpenAI('k', 'http://127.0.0.1:9/v1', requests_per_minute=60)\n"
        "print(sorted({'sqlite3', 'redis', 'requests'} & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=_env()).stdout.strip()
    assert out == "[]"


# -- processes sharing one budget ---------------------------------------------------------

WORKER = """
import json, sys, threading, time
from aikit import OpenAI
from aikit.limits import RedisStore, SQLiteStore

url, where, start, calls, rpm = sys.argv[1:6]
kind, _, target = where.partition(":")
store = SQLiteStore(target) if kind == "sqlite" else RedisStore(target, prefix=sys.argv[6])
client = OpenAI("k", url, requests_per_minute=float(rpm), adaptive_limits=False,
                limit_store=store, max_retries=0)
done, lock = [], threading.Lock()

def run(n):
    for _ in range(n):
        result = client.chat.completions.create([{"role": "user", "content": "hi"}],
                                                model="gpt-4o-mini")
        with lock:
            done.append((time.time(), result.success))

time.sleep(max(0.0, float(start) - time.time()))
threads = [threading.Thread(target=run, args=(int(calls) // 3,)) for _ in range(3)]
for t in threads:
    t.start()
for t in threads:
    t.join()
client.close()
print(json.dumps(done))
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (SRC, env.get("PYTHONPATH", "")) if p)
    return env


def run_shared(where: str, extra: list[str] | None = None) -> None:
    """Two processes, 90 calls each, both told 1,200/min and sharing ``where``: together
    they keep to it (one 6 s burst of 120, then 20/s), where each alone would have sent its
    90 at once."""
    rpm, calls, burst = 1200.0, 90, 120
    with FakeOpenAIServer(api_key="k") as server:
        start = time.time() + 2.0  # both processes start together
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER, server.url, where, repr(start), str(calls),
                 repr(rpm), *(extra or [])],
                stdout=subprocess.PIPE, text=True, env=_env(),
            )
            for _ in range(2)
        ]
        outputs = [proc.communicate(timeout=60)[0] for proc in procs]
        assert [proc.returncode for proc in procs] == [0, 0]
        counts = server.status_counts
    done = sorted(t for out in outputs for t, ok in json.loads(out) if ok)
    assert len(done) == 2 * calls and counts[200] == 2 * calls
    # Every prefix of the combined run: at most the burst plus the rate since the start
    # (a little slack for the calls in flight at a boundary).
    for n, when in enumerate(done, 1):
        assert n <= burst + (when - start) * rpm / 60 + 6, (n, when - start)
    elapsed = done[-1] - start
    assert elapsed >= (2 * calls - burst) / (rpm / 60) * 0.9, elapsed


def test_two_processes_share_a_sqlite_budget(tmp_path: Path) -> None:
    run_shared(f"sqlite:{tmp_path / 'limits.db'}")


def test_two_processes_share_a_redis_budget(redis_url: str) -> None:
    run_shared(f"redis:{redis_url}", [f"test:{os.getpid()}:{time.monotonic_ns()}:"])


def test_store_failure_lets_calls_through(redis_url: str) -> None:
    """A store that cannot be reached never stops the calls (the server still limits)."""
    from aikit import OpenAI

    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0")  # nobody listens there
    with FakeOpenAIServer() as server, contextlib.closing(
        OpenAI("k", server.url, requests_per_minute=60, limit_store=store)
    ) as client:
        assert client.chat.completions.create([{"role": "user", "content": "x"}],
                                              model="m").success


def test_processes_opening_a_new_sqlite_store_at_once_all_succeed(tmp_path: Path) -> None:
    """Switching a new file to WAL takes an exclusive lock, which SQLite may refuse at once
    ("database is locked"): every process must still open the store (Dask workers start
    together)."""
    path = tmp_path / "budget.db"
    go = tmp_path / "go"
    code = (
        "import os, sys, time\n"
        "from aikit.limits import SQLiteStore\n"
        "end = time.monotonic() + 30\n"
        f"open(os.path.join({str(tmp_path)!r}, 'ready-%d' % os.getpid()), 'w').close()\n"
        f"while not os.path.exists({str(go)!r}) and time.monotonic() < end:\n"
        "    time.sleep(0.001)\n"
        f"SQLiteStore({str(path)!r})\n"
        "print('opened')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(8)]
    end = time.monotonic() + 60  # every process at the starting line, then all go at once
    while len(list(tmp_path.glob("ready-*"))) < 8 and time.monotonic() < end:
        time.sleep(0.01)
    go.write_text("")
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, [err for _, err in outs if err]
    assert all(out.strip() == "opened" for out, _ in outs)
