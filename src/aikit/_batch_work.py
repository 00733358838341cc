"""The work of one ``batches.run`` job, on one thread (the caller's in sync mode, the job's own
in callback mode): upload each input file, create its batch, poll with back-off, read each ended
batch's output and error files back into results, and build the summary. Callbacks are only
posted to the owner from here (``BatchJob``, in ``_batch_job``, is the handle)."""

from __future__ import annotations

import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

from ._batch_jsonl import BatchFile, parse_lines, result_type
from ._batch_parameters import OpenAIBatchParameters
from ._batch_results import (
    OpenAIBatch,
    OpenAIBatchItem,
    OpenAIBatchProgress,
    OpenAIBatchRequestCounts,
    OpenAIBatchSummary,
)
from ._lifecycle.calls import invoke
from ._logging import logger
from .errors import ErrorKind, OpenAIError, internal_error

if TYPE_CHECKING:
    from ._batch_parameters import OpenAIBatchRunParameters
    from ._results_base import OpenAIResult
    from .client import OpenAI
    from .process._registry import Owner

__all__ = ["MAX_POLL_FAILURES", "RESULTS_PER_MESSAGE", "Work"]

#: Polls in a row that may fail (after the transport's own retries) before a batch is given up.
MAX_POLL_FAILURES = 8
#: Results handed to the owner per message: fewer wake-ups, and a GUI still gets its turn.
RESULTS_PER_MESSAGE = 100
#: The longest sleep between two checks of ``client.close()`` and ``cancel()``.
_SLICE = 1.0

_DONE, _FAILED, _MISSING = 1, 2, 3


class _Slot:
    """One input file and the batch made of it."""

    __slots__ = ("batch", "failures", "file", "finished", "ids")

    def __init__(self, file: BatchFile) -> None:
        self.file: BatchFile | None = file
        self.ids = file.ids
        self.batch: OpenAIBatch | None = None
        self.failures = 0
        self.finished = False


def _signature(batch: OpenAIBatch | None) -> tuple[Any, ...]:
    if batch is None:
        return ()
    counts = batch.request_counts or OpenAIBatchRequestCounts()
    return (batch.status, counts.total, counts.completed, counts.failed)


def _first_error(result: OpenAIResult, what: str) -> OpenAIError:
    errors = result.errors
    if errors:
        return errors[0]
    return OpenAIError(f"{what}: the answer was not understood", status=result.status,
                       kind=ErrorKind.PROTOCOL)


class Work:
    """The job itself; runs on one thread (the caller's, or the job's)."""

    def __init__(
        self, client: OpenAI, files: list[BatchFile], endpoint: str,
        p: OpenAIBatchRunParameters, owner: Owner | None,
    ) -> None:
        self._client = client
        self._slots = [_Slot(f) for f in files]
        self._endpoint = endpoint
        self._kind = result_type(endpoint)
        self.params: OpenAIBatchRunParameters | None = p
        self._options = p.request_options()
        self._owner = owner
        self._wants_progress = p.on_progress is not None
        self._keep_results = p.on_result is None
        self._state: dict[str, int] = {}
        self._results: dict[str, OpenAIResult] = {}
        self._errors: list[OpenAIError] = []
        self._pending: list[OpenAIBatchItem] = []
        self._shown: list[tuple[Any, ...]] = []
        self._tag = uuid.uuid4().hex[:8]
        self.cancel_asked = threading.Event()
        self._cancel_sent = False
        #: The owner is gone: stop at once and deliver nothing more.
        self.stopped = threading.Event()
        self._wake = threading.Event()

    # -- control, from any thread ---------------------------------------------------------
    def cancel(self) -> None:
        self.cancel_asked.set()
        self._wake.set()

    def abandon(self) -> None:
        self.stopped.set()
        self._wake.set()

    def batches(self) -> list[OpenAIBatch]:
        return [s.batch for s in list(self._slots) if s.batch is not None]

    # -- the job --------------------------------------------------------------------------
    def run(self) -> OpenAIBatchSummary:
        try:
            self._submit()
            self._poll()
        except Exception as exc:  # a bug: the job still ends, with the error
            self._errors.append(internal_error(exc))
        finally:
            for slot in self._slots:
                if slot.file is not None:
                    slot.file.close()
                    slot.file = None
        self._flush()
        return self._summary()

    def _closed(self) -> bool:
        """The client was closed: every request would now end ``terminated``."""
        return bool(getattr(self._client._runner, "_closed", False))

    def _ended(self) -> bool:
        return self.stopped.is_set() or self._closed()

    def _submit(self) -> None:
        count = len(self._slots)
        for number, slot in enumerate(self._slots, 1):
            if self.cancel_asked.is_set() or self.stopped.is_set():
                return
            file_id = self._upload(slot, f"aikit-batch-{self._tag}-{number}-of-{count}.jsonl")
            if file_id is None:
                return
            p = self.params
            assert p is not None
            options = OpenAIBatchParameters(
                self._options, metadata=p.metadata, output_expires_after=p.output_expires_after,
                extra_body=p.extra_body)
            created = self._client.batches.create(
                file_id, self._endpoint, p.completion_window, options)
            batch = created.batch
            if not created.success or batch is None:
                self._errors.append(_first_error(created, "creating a batch"))
                return
            slot.batch = batch
            self._progress()

    def _upload(self, slot: _Slot, name: str) -> str | None:
        """Upload one input file (its temporary file is closed after); its file id."""
        file = slot.file
        assert file is not None and self.params is not None
        try:
            if file.size > self.params.upload_limit:
                result: Any = self._client.uploads.upload_file(
                    (name, file.file), "batch", params=self._options, mime_type="application/jsonl")
            else:
                result = self._client.files.create(
                    (name, file.file, "application/jsonl"), "batch", self._options)
        finally:
            file.close()
            slot.file = None
        uploaded = result.file
        if not result.success or uploaded is None or not uploaded.id:
            self._errors.append(_first_error(result, "uploading a batch input file"))
            return None
        return str(uploaded.id)

    def _poll(self) -> None:
        p = self.params
        assert p is not None
        interval = float(p.poll_interval)
        cap = max(interval, min(60.0, interval * 12))
        while not self.stopped.is_set():
            pending = [s for s in self._slots if s.batch is not None and not s.finished]
            if not pending:
                return
            if self.cancel_asked.is_set() and not self._cancel_sent:
                self._cancel_sent = True
                for slot in pending:
                    assert slot.batch is not None and slot.batch.id is not None
                    if slot.batch.is_terminal:
                        continue  # ended already: only its files are left to read
                    cancelled = self._client.batches.cancel(slot.batch.id, self._options)
                    if not cancelled.success:
                        logger.info("aikit: cancelling batch %s failed: %s", slot.batch.id,
                                    cancelled.errors[:1])
            changed = False
            for slot in pending:
                if self.stopped.is_set():
                    return
                if self._retrieve(slot):
                    changed = True
                if self._closed():
                    self._give_up("the client was closed")
                    return
            if changed:
                self._progress()
            for slot in pending:
                if not slot.finished and slot.batch is not None and slot.batch.is_terminal:
                    self._collect(slot)
            interval = float(p.poll_interval) if changed else min(interval * 1.5, cap)
            if any(s.batch is not None and not s.finished for s in self._slots):
                self._sleep(interval)

    def _retrieve(self, slot: _Slot) -> bool:
        """Retrieve one batch; True when its status or counts changed."""
        assert slot.batch is not None and slot.batch.id is not None
        result = self._client.batches.retrieve(slot.batch.id, self._options)
        batch = result.batch
        if result.success and batch is not None:
            slot.failures = 0
            changed = _signature(batch) != _signature(slot.batch)
            slot.batch = batch
            return changed
        slot.failures += 1
        error = _first_error(result, f"polling batch {slot.batch.id}")
        if error.kind in (ErrorKind.TERMINATED, ErrorKind.CANCELLED):
            return False  # the client is closing: _poll gives up
        logger.info("aikit: polling batch %s failed (%d in a row): %s", slot.batch.id,
                    slot.failures, error)
        if slot.failures >= MAX_POLL_FAILURES:
            self._errors.append(error)
            self._finish_slot(slot)
        return False

    def _give_up(self, why: str) -> None:
        self._errors.append(OpenAIError(f"batches.run stopped: {why}",
                                        kind=ErrorKind.TERMINATED))
        for slot in self._slots:
            if not slot.finished:
                self._finish_slot(slot)

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self._ended():
            left = end - time.monotonic()
            if left <= 0 or self._wake.wait(min(left, _SLICE)):
                break
        self._wake.clear()

    # -- results --------------------------------------------------------------------------
    def _collect(self, slot: _Slot) -> None:
        """An ended batch: its output and error files read back into results."""
        batch = slot.batch
        assert batch is not None
        if batch.status == "failed":
            self._errors.append(_batch_failed(batch))
        expected = set(slot.ids)
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id or self.stopped.is_set():
                continue
            downloaded = self._client.files.content(file_id, self._options)
            if not downloaded.success:
                self._errors.append(_first_error(downloaded, f"downloading file {file_id}"))
                continue
            for line in parse_lines(downloaded.content, self._kind):
                custom_id = line.custom_id
                if custom_id not in expected or custom_id in self._state:
                    continue  # not ours, or seen already (the first line wins)
                if line.result is None or not line.ran:
                    self._state[custom_id] = _MISSING
                    continue
                self._state[custom_id] = _DONE if line.result.success else _FAILED
                self._deliver(OpenAIBatchItem(custom_id, line.result, batch.id or ""))
            self._flush()
        self._finish_slot(slot)

    def _finish_slot(self, slot: _Slot) -> None:
        slot.finished = True
        for custom_id in slot.ids:
            self._state.setdefault(custom_id, _MISSING)

    def _deliver(self, item: OpenAIBatchItem) -> None:
        if self._keep_results:
            self._results[item.custom_id] = item.result
            return
        self._pending.append(item)
        if len(self._pending) >= RESULTS_PER_MESSAGE:
            self._flush()

    def _flush(self) -> None:
        items, self._pending = self._pending, []
        if items:
            self._post(self._deliver_results, items)

    def _progress(self) -> None:
        shown = [_signature(s.batch) for s in self._slots]
        if not self._wants_progress or shown == self._shown:
            return
        self._shown = shown
        batches = self.batches()
        total = completed = failed = 0
        for batch in batches:
            counts = batch.request_counts
            if counts is not None:
                total += counts.total
                completed += counts.completed
                failed += counts.failed
        progress = OpenAIBatchProgress(
            batches, OpenAIBatchRequestCounts(total=total, completed=completed, failed=failed),
            sum(len(s.ids) for s in self._slots))
        self._post(self._deliver_progress, progress)

    def _summary(self) -> OpenAIBatchSummary:
        errors = list(self._errors)
        if self.stopped.is_set():
            errors.append(OpenAIError("batches.run stopped: its owner is gone",
                                      kind=ErrorKind.CANCELLED))
        summary = OpenAIBatchSummary(batches=self.batches(), errors=errors,
                                     results=self._results,
                                     cancelled=self.cancel_asked.is_set())
        lists = {_DONE: summary.completed, _FAILED: summary.failed, _MISSING: summary.missing}
        state = self._state
        for slot in self._slots:
            for custom_id in slot.ids:
                lists[state.get(custom_id, _MISSING)].append(custom_id)
        return summary

    # -- on the owner's thread ------------------------------------------------------------
    def _post(self, fn: Any, *args: Any) -> None:
        owner = self._owner
        if owner is None or self.stopped.is_set():
            return
        try:
            posted = owner.post(fn, *args)
        except Exception:
            logger.exception("aikit: could not post to the owner of a batch job")
            posted = False
        if not posted:
            self.abandon()

    def _deliver_results(self, items: list[OpenAIBatchItem]) -> None:
        p = self.params
        for item in items:
            if p is None or self.stopped.is_set():
                return
            invoke(p.on_result, item)

    def _deliver_progress(self, progress: OpenAIBatchProgress) -> None:
        p = self.params
        if p is not None and not self.stopped.is_set():
            invoke(p.on_progress, progress)


def _batch_failed(batch: OpenAIBatch) -> OpenAIError:
    """A batch that failed validation, with the first reason the API gave."""
    data = (batch.errors or {}).get("data")
    first = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
    message = first.get("message") if isinstance(first.get("message"), str) else "no reason given"
    line = first.get("line")
    where = f" (line {line})" if isinstance(line, int) else ""
    return OpenAIError(f"batch {batch.id} failed: {message}{where}", code=first.get("code"),
                       param=first.get("param"), body=batch.errors, kind=ErrorKind.API)
