"""``aikit batch run in.jsonl --out results.jsonl``: a JSONL file of requests, each answered once.

Input and output are the Batch API's line formats. ``--mode direct`` (the default) sends each
line through the client's I/O pool, under its rate limiter and with its retries; ``--mode api``
hands the lines to the Batch API (``client.batches.run``). Finished lines are appended to the
output as they finish, each recorded in a SQLite journal next to it (``_cli_journal``), so a
run stopped at any moment — Ctrl-C, a crash, SIGKILL — continues with ``--resume`` without
sending a finished line again. Exit status: 0 all succeeded, 1 some failed, 2 bad input or
options, 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import json
import queue
import sys
import time
import uuid
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:  # _cli_journal imports sqlite3: only when a batch runs
    from ._cli_journal import Entry, Journal
    from .client import OpenAI

__all__ = ["add_batch_parser", "cmd_batch"]

#: Endpoints a line may POST to (the Batch API's list).
ENDPOINTS = ("/v1/chat/completions", "/v1/embeddings", "/v1/responses", "/v1/moderations",
             "/v1/completions")
#: Seconds between plain progress lines (no tqdm, stderr a terminal).
PLAIN_EVERY = 5.0


class BatchError(Exception):
    """Bad input or options: one line on stderr, exit status 2, nothing sent."""


class Line(NamedTuple):
    number: int
    custom_id: str
    url: str
    body: dict[str, Any]


# -- the command line ------------------------------------------------------------------------

def add_batch_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """``aikit batch run ...`` under the CLI's subcommands."""
    batch = sub.add_parser("batch", parents=[common],
                           help="run a JSONL file of requests (Batch API line format)")
    actions = batch.add_subparsers(dest="action", required=True)
    run = actions.add_parser(
        "run", parents=[common], help="send every line once; resumable",
        description="Send every line of INPUT (Batch API format) once and append each answer "
                    "to --out as it finishes. A journal (OUT.journal) makes the run resumable.")
    run.add_argument("input", type=Path, help="JSONL: {custom_id, method, url, body} per line")
    run.add_argument("--out", type=Path, required=True, help="output JSONL (Batch API format)")
    run.add_argument("--mode", choices=("direct", "api"), default="direct",
                     help="direct: one request per line (default); api: the Batch API")
    run.add_argument("--rpm", type=_positive, default=None, help="requests per minute")
    run.add_argument("--tpm", type=_positive, default=None, help="tokens per minute")
    run.add_argument("--concurrency", type=_positive, default=16,
                     help="requests in flight at most (default 16)")
    run.add_argument("--resume", action="store_true",
                     help="continue a stopped run: finished lines are not sent again")
    run.add_argument("--endpoint", default=None,
                     help="endpoint path for lines without a url (e.g. /v1/embeddings); "
                          "lines with another url are refused")
    run.add_argument("--poll-interval", type=_seconds, default=5.0,
                     help="api mode: seconds between batch status checks (default 5)")
    run.add_argument("--max-lines", type=_positive, default=None,
                     help="api mode: requests per batch (default: the API's 50,000)")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def cmd_batch(args: argparse.Namespace) -> int:
    import sqlite3

    from ._cli_journal import Journal, JournalError

    started = time.monotonic()
    try:
        endpoint = _endpoint(args.endpoint, "--endpoint") if args.endpoint else None
        lines = read_input(args.input, endpoint, args.model or "", args.mode == "api")
        from .client import OpenAI

        client = OpenAI(**_client_kwargs(args))
    except BatchError as exc:
        print(f"aikit: error: {exc}", file=sys.stderr)
        return 2
    try:
        if args.mode == "api":
            batches_client(client)
        journal = Journal.open(args.out, resume=args.resume, meta={"mode": args.mode})
    except (BatchError, JournalError) as exc:
        client.close()
        print(f"aikit: error: {exc}", file=sys.stderr)
        return 2
    try:
        unknown = journal.done.keys() - {line.custom_id for line in lines}
        if unknown:
            client.close()
            print(f"aikit: error: {journal.path} records {len(unknown)} custom_id(s) not in "
                  f"{args.input} (e.g. {min(unknown)!r}): resume with the same input",
                  file=sys.stderr)
            return 2
        before = len(journal.done)
        todo = [line for line in lines if line.custom_id not in journal.done]
        progress = Progress(len(lines), before, journal.failed)
        interrupted = False
        try:
            if args.mode == "api":
                run_api(client, todo, journal, progress, args.poll_interval, args.max_lines)
            else:
                run_direct(client, todo, journal, progress, args.concurrency)
        except KeyboardInterrupt:
            interrupted = True
        except (BatchError, OSError, sqlite3.Error) as exc:  # the journal stays consistent
            progress.close()
            print(f"aikit: error: {exc}", file=sys.stderr)
        finally:
            client.close()
            progress.close()
        return _summary(args, len(lines), before, journal, interrupted, started)
    finally:
        journal.close()


def _summary(args: argparse.Namespace, total: int, before: int, journal: Journal,
             interrupted: bool, started: float) -> int:
    done, failed = len(journal.done), journal.failed
    text = (f"aikit: batch: {done}/{total} lines done, {done - failed} succeeded, "
            f"{failed} failed")
    if before:
        text += f" ({before} from before)"
    text += f" in {time.monotonic() - started:.1f}s -> {args.out}"
    if interrupted:
        text += f"; interrupted: rerun with --resume to send the other {total - done}"
    elif done < total:
        text += f"; {total - done} not finished: rerun with --resume"
    print(text, file=sys.stderr)
    if interrupted:
        return 130
    return 0 if failed == 0 and done == total else 1


def _client_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"max_concurrent_requests": args.concurrency,
                              "requests_per_minute": args.rpm, "tokens_per_minute": args.tpm}
    for name in ("api_key", "base_url", "provider"):
        if getattr(args, name, None):
            kwargs[name] = getattr(args, name)
    return kwargs


# -- input -----------------------------------------------------------------------------------

def _endpoint(url: str, where: str) -> str:
    path = url.strip().split("?", 1)[0].strip("/")
    path = "/v1/" + (path[3:] if path.startswith("v1/") else path)
    if path not in ENDPOINTS:
        raise BatchError(f"{where}: unsupported url {url!r} (one of {', '.join(ENDPOINTS)})")
    return path


def read_input(path: Path, endpoint: str | None, model: str, one_url: bool) -> list[Line]:
    """Every line of ``path``, checked; BatchError naming the first bad line (blank lines are
    skipped). ``model`` fills in lines without one; ``one_url``: all lines share one url."""
    lines: list[Line] = []
    seen: dict[str, int] = {}
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise BatchError(f"cannot read {path}: {exc.strerror or exc}") from None
    with handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            where = f"{path}:{number}"
            try:
                item = json.loads(raw)
            except ValueError as exc:  # UnicodeDecodeError is a ValueError too
                raise BatchError(f"{where}: invalid JSON ({exc})") from None
            if not isinstance(item, dict):
                raise BatchError(f"{where}: expected a JSON object")
            cid = item.get("custom_id")
            if not isinstance(cid, str) or not cid:
                raise BatchError(f"{where}: missing custom_id (a non-empty string)")
            if cid in seen:
                raise BatchError(f"{where}: duplicate custom_id {cid!r} (first on line "
                                 f"{seen[cid]})")
            seen[cid] = number
            method = item.get("method", "POST")
            if not isinstance(method, str) or method.upper() != "POST":
                raise BatchError(f"{where}: method must be POST, not {method!r}")
            url = item.get("url") or endpoint
            if not isinstance(url, str):
                raise BatchError(f"{where}: missing url (or pass --endpoint)")
            url = _endpoint(url, where)
            if endpoint and url != endpoint:
                raise BatchError(f"{where}: url {url} is not --endpoint {endpoint}")
            if one_url and lines and url != lines[0].url:
                raise BatchError(f"{where}: url {url} differs from {lines[0].url} (line "
                                 f"{lines[0].number}); a Batch API run has one endpoint")
            body = item.get("body")
            if not isinstance(body, dict):
                raise BatchError(f"{where}: body must be a JSON object")
            if body.get("stream"):
                raise BatchError(f"{where}: stream is not supported in a batch")
            if model and "model" not in body:
                body["model"] = model
            lines.append(Line(number, cid, url, body))
    return lines


# -- direct mode -----------------------------------------------------------------------------

def run_direct(client: OpenAI, todo: list[Line], journal: Journal, progress: Progress,
               concurrency: int) -> None:
    """Every line through the client's pool (callback mode, callbacks on a worker that hands
    results to this thread), ``2 * concurrency`` submitted at most; each group of finished
    lines appended and journaled together. Ctrl-C: what finished is still written."""
    from ._cli_journal import entry
    from ._parameters_base import OpenAIParameters
    from ._results_base import OpenAIResult
    from .process import kill_worker

    finished: queue.SimpleQueue[tuple[Line, Any]] = queue.SimpleQueue()
    worker = f"aikit-batch-{uuid.uuid4().hex[:8]}"
    pending = deque(todo)
    window = 2 * concurrency
    in_flight = 0
    group: list[Entry] = []

    def submit(line: Line) -> None:
        def done(result: Any) -> None:
            finished.put((line, result))

        try:
            params = OpenAIParameters.coerce(None, on_terminate=done, owner=worker)
            client._request("POST", line.url[3:], params, OpenAIResult, json_body=line.body)
        except Exception as exc:  # could not be sent as given: a failed line
            finished.put((line, exc))

    try:
        while pending or in_flight:
            while pending and in_flight < window:
                submit(pending.popleft())
                in_flight += 1
            try:
                got = [finished.get(timeout=1.0)]
            except queue.Empty:
                progress.tick()
                continue
            while len(got) < 1000:
                try:
                    got.append(finished.get_nowait())
                except queue.Empty:
                    break
            in_flight -= len(got)
            group = [e for e in (entry(line.custom_id, r) for line, r in got) if e]
            journal.append(group)
            progress.update(len(journal.done), journal.failed)
            group = []
    except KeyboardInterrupt:
        _rescue(journal, group, finished)
        raise
    finally:
        kill_worker(worker)


def _rescue(journal: Journal, group: list[Entry],
            finished: queue.SimpleQueue[tuple[Line, Any]]) -> None:
    """Ctrl-C: back to what the journal records, then write what had finished already."""
    from ._cli_journal import entry

    journal.repair()
    while True:
        try:
            line, outcome = finished.get_nowait()
        except queue.Empty:
            break
        found = entry(line.custom_id, outcome)
        if found:
            group.append(found)
    journal.append([e for e in group if e[0] not in journal.done])


# -- api mode --------------------------------------------------------------------------------

def batches_client(client: OpenAI) -> Any:
    """``client.batches``, or BatchError when this client has no Batch API support."""
    batches = getattr(client, "batches", None)
    if batches is None or not callable(getattr(batches, "run", None)):
        raise BatchError("--mode api needs client.batches.run (the Batch API client)")
    return batches


def run_api(client: OpenAI, todo: list[Line], journal: Journal, progress: Progress,
            poll_interval: float, max_lines: int | None = None) -> None:
    """The lines through the Batch API. Batches a stopped run created are polled and read
    first (their ids are in the journal); the lines still unfinished then go to
    ``client.batches.run``, whose batches are journaled as they are created."""
    from ._cli_journal import entry
    from .process import kill_worker

    batches = batches_client(client)
    wanted = {line.custom_id for line in todo}
    for batch_id, state in journal.batches():
        if state != "collected":
            collect_batch(client, batch_id, wanted, journal, progress, poll_interval)
    todo = [line for line in todo if line.custom_id not in journal.done]
    if not todo:
        return
    events: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
    worker = f"aikit-batch-{uuid.uuid4().hex[:8]}"
    requests = [{"custom_id": line.custom_id, "method": "POST", "url": line.url,
                 "body": line.body} for line in todo]
    options = {"max_lines": max_lines} if max_lines else {}
    batches.run(requests, todo[0].url, options, owner=worker, poll_interval=poll_interval,
                on_progress=lambda p: events.put(("progress", p)),
                on_result=lambda item: events.put(("result", item)),
                on_terminate=lambda summary: events.put(("end", summary)))
    known = {batch_id for batch_id, _ in journal.batches()}
    try:
        while True:
            try:
                got = [events.get(timeout=1.0)]
            except queue.Empty:
                progress.tick()
                continue
            while len(got) < 1000:
                try:
                    got.append(events.get_nowait())
                except queue.Empty:
                    break
            items = [value for kind, value in got if kind == "result"]
            entries = [e for e in (entry(i.custom_id, i.result) for i in items) if e]
            journal.append([e for e in entries if e[0] not in journal.done])
            progress.update(len(journal.done), journal.failed)
            for kind, value in got:
                if kind == "progress":  # a batch created: journaled, to be read back
                    for batch in value.batches:
                        if batch.id and batch.id not in known:
                            known.add(batch.id)
                            journal.add_batch(batch.id)
                elif kind == "end":  # its ended batches were read back in full
                    for batch in value.batches:
                        if batch.id and batch.is_terminal:
                            journal.set_batch_state(batch.id, "collected")
                    for error in value.errors:
                        print(f"aikit: batch: {error}", file=sys.stderr)
                    return
    except KeyboardInterrupt:
        journal.repair()  # the batches keep running: --resume reads them back
        raise
    finally:
        kill_worker(worker)


def collect_batch(client: OpenAI, batch_id: str, wanted: set[str], journal: Journal,
                  progress: Progress, poll_interval: float) -> None:
    """A batch of a stopped run: wait until it ends, then write its lines that are still
    wanted (a line that never ran — cancelled, expired — is left to send again)."""
    from ._cli_journal import output_line

    while True:
        found = client.batches.retrieve(batch_id)
        batch = found.batch
        if not found.success or batch is None:
            errors = found.errors
            raise BatchError(f"cannot resume batch {batch_id}: "
                             f"{errors[0] if errors else 'no batch in the answer'}")
        if batch.is_terminal:
            break
        progress.tick()
        time.sleep(poll_interval)
    entries: list[Entry] = []
    for file_id in (batch.output_file_id, batch.error_file_id):
        if not file_id:
            continue
        content = client.files.content(file_id)
        if not content.success:
            raise BatchError(f"cannot read file {file_id} of batch {batch_id}: "
                             f"{content.errors[0] if content.errors else content.status}")
        for raw in content.content.splitlines():
            try:
                item = json.loads(raw)
            except ValueError:
                continue
            cid = item.get("custom_id") if isinstance(item, dict) else None
            if cid not in wanted or cid in journal.done or any(e[0] == cid for e in entries):
                continue
            response, error = item.get("response"), item.get("error")
            if not response and isinstance(error, dict) and error.get("code") in (
                    "batch_expired", "batch_cancelled"):
                continue  # never ran
            status = response.get("status_code") if isinstance(response, dict) else None
            ok = isinstance(status, int) and 200 <= status < 300 and not error
            entries.append((cid, ok, output_line(cid, response, error, item.get("id"))))
    journal.append(entries)
    journal.set_batch_state(batch_id, "collected")
    progress.update(len(journal.done), journal.failed)


# -- progress --------------------------------------------------------------------------------

class Progress:
    """A tqdm bar on stderr when it is a terminal (a plain line every few seconds without
    tqdm); nothing when it is not: the caller prints a summary line at the end."""

    def __init__(self, total: int, done: int, failed: int, stream: IO[str] | None = None) -> None:
        self._stream = stream or sys.stderr
        self._total = total
        self._start_done = self._done = done
        self._failed = failed
        self._started = self._last = time.monotonic()
        self._bar: Any = None
        self._plain = False
        isatty: Callable[[], bool] | None = getattr(self._stream, "isatty", None)
        if not (isatty and isatty()):
            return
        try:
            tqdm: Any = importlib.import_module("tqdm").tqdm
        except ImportError:
            self._plain = True
            return
        self._bar = tqdm(total=total, initial=done, file=self._stream, unit="req",
                         dynamic_ncols=True, smoothing=0.1, desc="batch")
        self._bar.set_postfix(failed=failed, refresh=False)

    def update(self, done: int, failed: int) -> None:
        step, self._done, self._failed = done - self._done, done, failed
        if self._bar is not None:
            if step:
                self._bar.set_postfix(failed=failed, refresh=False)
                self._bar.update(step)
        else:
            self.tick()

    def tick(self) -> None:
        now = time.monotonic()
        if not self._plain or now - self._last < PLAIN_EVERY:
            return
        self._last = now
        rate = (self._done - self._start_done) / max(now - self._started, 1e-9)
        left = self._total - self._done
        eta = f"{left / rate:.0f}s" if rate > 0 else "?"
        print(f"aikit: batch: {self._done}/{self._total} done, {self._failed} failed, "
              f"{rate:.1f}/s, ETA {eta}", file=self._stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
