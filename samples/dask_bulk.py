"""A bulk job on Dask worker processes that share one rate budget.

The driver reads N prompts and spreads them over a ``distributed.LocalCluster`` of worker
*processes* (several threads each) with ``client.map``. Each task sends one chat completion,
synchronously, through the aikit client of its worker process. That client is made once per
process, by a worker plugin, with ``requests_per_minute=R`` and
``limit_store=SQLiteStore(path)``: the SQLite file holds the one budget every process and
thread draws from, so together they send at most R requests a minute (after a short burst
at the start, the limiter spreads the calls evenly) whatever the number of workers, and get
no 429 for it.

The driver prints a summary: done / failed, elapsed time, and the rate achieved against R.

Dask's ``distributed`` is an optional extra:

    pip install -e '.[dask]'
    python samples/dask_bulk.py [--input prompts.txt | --count 150] [--rpm 600]
        [--workers 2] [--threads 2] [--base-url URL] [--api-key KEY] [--model M] [--self-test]

Without a key (``--api-key`` or ``OPENAI_API_KEY``) or a base URL (``--base-url`` or
``OPENAI_BASE_URL``), it starts the embedded simulator on 127.0.0.1, rate-limited to R
requests a minute like a real account, so the shared budget is really put to the test.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple, cast

from _common import DEFAULT_MODEL, SELF_TEST_TIMEOUT

from aikit import OpenAI
from aikit.testing import FakeOpenAIServer

MISSING = (
    "dask_bulk: this sample needs Dask's distributed package, an optional extra: run "
    "`pip install -e '.[dask]'` in the checkout (or `pip install \"distributed>=2024.1\"`)"
)

# Dask is an optional extra that a checkout may not have, and its API is partly untyped: for
# mypy --strict, this file may call untyped functions and subclass a class of unknown type.
# mypy: disable-error-code="no-untyped-call", allow-subclassing-any
try:
    from distributed import (  # type: ignore[import-not-found, unused-ignore]
        Client,
        LocalCluster,
        WorkerPlugin,
        get_worker,
        wait,
    )
except ImportError:
    print(MISSING, file=sys.stderr)
    sys.exit(2)

#: Highest rate accepted by --self-test, as a share of the budget (timing noise).
TOLERANCE = 1.05
#: Share of 429 answers --self-test accepts.
MAX_429_SHARE = 0.01


class Outcome(NamedTuple):
    """What one task sends back to the driver (plain values: it travels by pickle)."""

    prompt: str
    answer: str | None
    error: str | None
    ended: float  # time.time() when the answer arrived
    pid: int  # the worker process that sent it


class BulkClient(WorkerPlugin):
    """Runs in each worker process: makes the one aikit client its tasks share (its threads
    included), and closes it when the worker ends. Only the settings travel to the worker."""

    name = "aikit-bulk-client"

    def __init__(self, api_key: str, base_url: str, rpm: float, store_path: str) -> None:
        self.api_key = api_key
        self.base_url = base_url
        self.rpm = rpm
        self.store_path = store_path
        self.client: OpenAI | None = None

    def setup(self, worker: object) -> None:
        from aikit.limits import SQLiteStore

        self.client = OpenAI(
            self.api_key, self.base_url,
            requests_per_minute=self.rpm,
            limit_store=SQLiteStore(self.store_path),  # the budget every process shares
        )

    def teardown(self, worker: object) -> None:
        if self.client is not None:
            self.client.close()


def ask(prompt: str, model: str) -> Outcome:
    """One task: a sync chat completion through this worker process's client. It waits in
    the client when the shared budget says so, then sends."""
    plugin = cast(BulkClient, get_worker().plugins[BulkClient.name])
    client = plugin.client
    assert client is not None, "the worker plugin made no client"
    result = client.chat.completions.create([{"role": "user", "content": prompt}], model=model)
    ended = time.time()
    if result.success and result.choice is not None:
        return Outcome(prompt, result.choice.text, None, ended, os.getpid())
    error = result.errors[0] if result.errors else None
    text = f"{error.status} {error.message}" if error is not None else "no answer"
    return Outcome(prompt, None, text, ended, os.getpid())


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--input", type=Path, help="prompts, one per line (default: generated)")
    parser.add_argument("--count", type=int, default=150, help="generated prompts (150)")
    parser.add_argument("--rpm", type=float, default=600.0,
                        help="requests per minute for the whole job (600)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (2)")
    parser.add_argument("--threads", type=int, default=2, help="threads per worker (2)")
    parser.add_argument("--base-url", default=os.environ.get("OPENAI_BASE_URL", ""),
                        help="API base URL (default: OPENAI_BASE_URL, else the simulator)")
    parser.add_argument("--api-key", default=os.environ.get("OPENAI_API_KEY", ""),
                        help="API key (default: OPENAI_API_KEY, else the simulator)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"chat model ({DEFAULT_MODEL})")
    parser.add_argument("--self-test", action="store_true",
                        help="check every answer, the rate and the 429s; exit 0 on success")
    return parser.parse_args(argv)


def read_prompts(args: argparse.Namespace) -> list[str]:
    if args.input is not None:
        lines = args.input.read_text(encoding="utf-8").splitlines()
        return [line.strip() for line in lines if line.strip()]
    return [f"Prompt {i}: name a number larger than {i}." for i in range(1, args.count + 1)]


def paced_rate(outcomes: Sequence[Outcome]) -> float | None:
    """Requests per minute over the second half of the answers: past the start's burst,
    where the limiter spreads the calls evenly. The slope of a least-squares line through
    (time, rank), so one late answer does not skew it (None with too few answers)."""
    times = sorted(o.ended for o in outcomes)[len(outcomes) // 2:]
    if len(times) < 3 or times[-1] <= times[0]:
        return None
    slope, _ = statistics.linear_regression(times, range(len(times)))
    return slope * 60.0


def run(args: argparse.Namespace, api_key: str, base_url: str,
        server: FakeOpenAIServer | None) -> bool:
    """The job: a cluster, one client per worker process, the prompts mapped over it."""
    prompts = read_prompts(args)
    with contextlib.ExitStack() as stack:
        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="aikit-dask-"))
        store_path = str(Path(folder) / "limits.sqlite")
        cluster = stack.enter_context(LocalCluster(
            n_workers=args.workers, threads_per_worker=args.threads, processes=True,
            host="127.0.0.1", dashboard_address=None,
        ))
        dask = stack.enter_context(Client(cluster))
        dask.register_plugin(BulkClient(api_key, base_url, args.rpm, store_path))
        print(f"dask_bulk: {len(prompts)} prompts on {args.workers} worker processes x "
              f"{args.threads} threads, one budget of {args.rpm:g} requests/min "
              "(aikit.limits.SQLiteStore)", flush=True)
        started = time.time()
        futures = dask.map(ask, prompts, model=args.model, pure=False)
        wait(futures, timeout=SELF_TEST_TIMEOUT if args.self_test else None)
        outcomes: list[Outcome] = dask.gather(futures)
        elapsed = time.time() - started

    failed = [o for o in outcomes if o.answer is None]
    per_process = Counter(o.pid for o in outcomes)
    print(f"dask_bulk: done {len(outcomes) - len(failed)}, failed {len(failed)} in "
          f"{elapsed:.1f} s, answered by {len(per_process)} processes "
          f"({', '.join(str(n) for n in per_process.values())} calls)")
    for outcome in failed[:5]:
        print(f"  failed: {outcome.prompt!r}: {outcome.error}")
    paced = paced_rate(outcomes)
    overall = len(outcomes) / elapsed * 60.0 if elapsed > 0 else 0.0
    shown = f"{paced:.0f}/min" if paced is not None else "n/a"
    print(f"dask_bulk: rate {shown} once paced (second half of the calls), {overall:.0f}/min "
          f"overall with the start's burst; budget {args.rpm:g}/min")
    if not args.self_test:
        return not failed
    ok = not failed
    if server is not None:
        wrong = [o.prompt for o in outcomes if o.answer != f"Echo: {o.prompt}"]
        too_many = server.status_counts[429]
        print(f"dask_bulk: simulator answered {too_many} x 429 for {len(prompts)} prompts; "
              f"{len(wrong)} answers not the echo of their prompt")
        ok = ok and not wrong and too_many <= MAX_429_SHARE * len(prompts)
    if paced is not None and paced > TOLERANCE * args.rpm:
        print(f"dask_bulk: the rate {paced:.0f}/min is above the budget {args.rpm:g}/min")
        ok = False
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.api_key or args.base_url:  # options, else OPENAI_API_KEY / OPENAI_BASE_URL
        base_url = args.base_url or "https://api.openai.com/v1"
        print(f"dask_bulk: using {base_url}", flush=True)
        ok = run(args, args.api_key, base_url, None)
    else:
        with FakeOpenAIServer() as server:
            server.set_rate_limits(requests_per_minute=args.rpm)
            print(f"dask_bulk: no API key configured: using the embedded simulator at "
                  f"{server.url} (aikit.testing.FakeOpenAIServer: echo replies, not a model; "
                  f"{args.rpm:g} requests/min per key, as an account's limit); set "
                  "OPENAI_API_KEY or pass --api-key to use the real API", flush=True)
            ok = run(args, "sk-sample-simulator", server.url, server)
    print("dask_bulk: OK" if ok else "dask_bulk: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":  # needed: the worker processes import this file too
    sys.exit(main())
