"""``batches.run``: a whole job of requests sent as batches, polled, and read back.

    check and write JSONL (caller) -> upload each file -> create a batch per file
        -> poll with back-off -> each ended batch: download output and error files,
           map lines back by custom_id -> summary

Sync mode runs all of it on the caller's thread and returns the summary. Callback mode runs it
on a daemon thread of its own (a job lasts hours: not the I/O pool) and posts every callback
to the owner, resolved on the caller's thread: ``on_progress``*, ``on_result``* (each custom
id once), then ``on_terminate`` once. Whatever fails (an upload, creating a batch, polling, a
download, a bug), the job still ends with a summary whose ``errors`` say what happened;
requests that never ran are ``missing``.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ._batch_jsonl import normalize_endpoint, write_batch_files
from ._batch_results import OpenAIBatch, OpenAIBatchSummary
from ._batch_work import Work
from ._lifecycle.calls import invoke
from ._logging import logger
from .errors import internal_error

if TYPE_CHECKING:
    from ._batch_parameters import OpenAIBatchRunParameters
    from .client import OpenAI
    from .process._registry import Owner

__all__ = ["BatchJob", "start"]

_numbers = itertools.count(1)


def start(
    client: OpenAI, requests: Iterable[Any], endpoint: str, p: OpenAIBatchRunParameters
) -> OpenAIBatchSummary | BatchJob:
    """Check and write the requests, then run the job: here (sync) or on its thread."""
    path = normalize_endpoint(endpoint)
    owner: Owner | None = None
    if p.is_async:
        from .process._registry import resolve_owner

        owner = resolve_owner(p.owner)  # a plain thread: NoProcessError, before anything
    files = write_batch_files(requests, path, p.max_lines, p.max_bytes)
    work = Work(client, files, path, p, owner)
    if owner is None:
        summary = work.run()
        if p.throw:
            summary.throw()
        return summary
    return BatchJob(work, owner)


class _OwnerLink:
    """What the owner tracks: its ``cancel()`` (the owner is gone) abandons the job."""

    __slots__ = ("_work",)

    def __init__(self, work: Work) -> None:
        self._work = work

    def cancel(self) -> None:
        self._work.abandon()


class BatchJob:
    """A ``batches.run`` in callback mode: returned at once, while the job runs on its own
    thread and its callbacks on the owner.

    ``wait()`` blocks until ``on_terminate`` has run (running the owner's messages meanwhile
    when called on the owner's thread); ``cancel()`` cancels its batches, whose partial output
    is still delivered; ``summary`` is set just before ``on_terminate`` runs.
    """

    def __init__(self, work: Work, owner: Owner) -> None:
        self._work = work
        self._owner = owner
        self._done = threading.Event()
        self._summary: OpenAIBatchSummary | None = None
        self._link = _OwnerLink(work)
        if not owner.track(self._link):  # gone already: nothing will ever be delivered
            work.abandon()
        self._thread = threading.Thread(target=self._run, name=f"aikit-batch-{next(_numbers)}",
                                        daemon=True)
        self._thread.start()

    @property
    def summary(self) -> OpenAIBatchSummary | None:
        """How the job ended; None until then."""
        return self._summary

    @property
    def done(self) -> bool:
        """True once ``on_terminate`` has run (or the owner went away)."""
        return self._done.is_set()

    @property
    def batches(self) -> list[OpenAIBatch]:
        """The batches created so far, as last retrieved."""
        return self._work.batches()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until ``on_terminate`` has run; False on timeout."""
        owner = self._owner
        if owner.owns_current_thread():
            return owner.run_until(self._done.is_set, timeout)
        return self._done.wait(timeout)

    def cancel(self) -> None:
        """Cancel the job's batches (from any thread): the requests done so far are still
        delivered, the others end up ``missing``; ``on_terminate`` follows."""
        self._work.cancel()

    def _run(self) -> None:
        work = self._work
        try:
            summary = work.run()
        except BaseException as exc:  # never leave the job without an end
            summary = OpenAIBatchSummary(errors=[internal_error(exc)])
        if work.stopped.is_set():
            self._end(summary)
            return
        try:
            posted = self._owner.post(self._terminate, summary)
        except Exception:
            logger.exception("aikit: could not post to the owner of a batch job")
            posted = False
        if not posted:
            self._end(summary)

    def _terminate(self, summary: OpenAIBatchSummary) -> None:
        """On the owner's thread: ``on_terminate`` once, then the job is done."""
        params = self._work.params
        self._summary = summary
        try:
            if params is not None and not self._work.stopped.is_set():
                invoke(params.on_terminate, summary)
        finally:
            self._end(summary)

    def _end(self, summary: OpenAIBatchSummary) -> None:
        self._summary = summary
        self._work.params = None  # drop the user's callbacks
        self._done.set()
        self._owner.untrack(self._link)

    def __repr__(self) -> str:
        state = "done" if self.done else "running"
        return f"<BatchJob {state} batches={len(self._work.batches())}>"
