"""The Batch and Uploads APIs' data objects and results, and what ``batches.run`` hands back.

``OpenAIBatch`` and ``OpenAIUpload`` are the API's objects; the ``*Result`` classes answer the
plain calls (``batches.create`` ...). ``OpenAIBatchRequest`` is one line of a batch input file.
``OpenAIBatchItem``, ``OpenAIBatchProgress`` and ``OpenAIBatchSummary`` are what ``batches.run``
gives its callbacks (or returns, in sync mode).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ._records import Record
from ._results_base import OpenAIListPage, OpenAIResult, body_dict
from .errors import OpenAIError
from .objects import OpenAIFile

__all__ = [
    "BATCH_TERMINAL_STATUSES",
    "OpenAIBatch",
    "OpenAIBatchItem",
    "OpenAIBatchListResult",
    "OpenAIBatchProgress",
    "OpenAIBatchRequest",
    "OpenAIBatchRequestCounts",
    "OpenAIBatchResult",
    "OpenAIBatchSummary",
    "OpenAIUpload",
    "OpenAIUploadPart",
    "OpenAIUploadPartResult",
    "OpenAIUploadResult",
]

#: A batch in one of these has ended (its output and error files are final).
BATCH_TERMINAL_STATUSES = frozenset({"completed", "failed", "expired", "cancelled"})


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


@attrs.define(eq=False, kw_only=True)
class OpenAIBatchRequestCounts(Record):
    """``request_counts`` of a batch (or of all the batches of ``batches.run``)."""

    total: int = attrs.field(default=0, converter=_count)
    completed: int = attrs.field(default=0, converter=_count)
    failed: int = attrs.field(default=0, converter=_count)


def _to_counts(value: Any) -> OpenAIBatchRequestCounts | None:
    if value is None or isinstance(value, OpenAIBatchRequestCounts):
        return value
    if isinstance(value, Mapping):
        return OpenAIBatchRequestCounts(value)
    return None


@attrs.define(eq=False, kw_only=True)
class OpenAIBatch(Record):
    """A batch: its status, files, counts and timestamps (seconds since the epoch)."""

    id: str | None = None
    object: str | None = None
    endpoint: str | None = None
    #: ``validating``, ``failed``, ``in_progress``, ``finalizing``, ``completed``,
    #: ``expired``, ``cancelling`` or ``cancelled``.
    status: str | None = None
    input_file_id: str | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    completion_window: str | None = None
    #: Why a batch failed validation: ``{"object": "list", "data": [{code, message, line}]}``.
    errors: dict[str, Any] | None = None
    request_counts: OpenAIBatchRequestCounts | None = attrs.field(
        default=None, converter=_to_counts
    )
    metadata: dict[str, Any] | None = None
    model: str | None = None
    usage: dict[str, Any] | None = None
    created_at: int | None = None
    in_progress_at: int | None = None
    expires_at: int | None = None
    finalizing_at: int | None = None
    completed_at: int | None = None
    failed_at: int | None = None
    expired_at: int | None = None
    cancelling_at: int | None = None
    cancelled_at: int | None = None

    @property
    def is_terminal(self) -> bool:
        """True once the batch has ended: completed, failed, expired or cancelled."""
        return self.status in BATCH_TERMINAL_STATUSES



def _batch(value: Any) -> OpenAIBatch | None:
    if not isinstance(value, dict) or not isinstance(value.get("id"), str):
        return None
    try:
        return OpenAIBatch(value)
    except (TypeError, ValueError):
        return None


@attrs.define(eq=False, repr=False)
class OpenAIBatchResult(OpenAIResult):
    """``batches.create()``, ``retrieve()`` and ``cancel()``."""

    @property
    def batch(self) -> OpenAIBatch | None:
        return _batch(self.body)


@attrs.define(eq=False, repr=False)
class OpenAIBatchListResult(OpenAIListPage):
    """``batches.list()``; ``first_id``/``last_id`` are ``""`` when absent."""

    @property
    def batches(self) -> list[OpenAIBatch]:
        data = body_dict(self).get("data")
        if not isinstance(data, list):
            return []
        return [b for b in (_batch(item) for item in data) if b is not None]



# -- uploads ------------------------------------------------------------------------------------


def _to_file(value: Any) -> OpenAIFile | None:
    if value is None or isinstance(value, OpenAIFile):
        return value
    if isinstance(value, Mapping):
        return OpenAIFile(value)
    return None


@attrs.define(eq=False, kw_only=True)
class OpenAIUpload(Record):
    """An upload in parts: ``pending``, then ``completed`` (with its ``file``), ``cancelled``
    or ``expired``."""

    id: str | None = None
    object: str | None = None
    bytes: int | None = None
    filename: str | None = None
    purpose: str | None = None
    status: str | None = None
    created_at: int | None = None
    expires_at: int | None = None
    #: The file made of the parts, once completed.
    file: OpenAIFile | None = attrs.field(default=None, converter=_to_file)


@attrs.define(eq=False, kw_only=True)
class OpenAIUploadPart(Record):
    """One part added to an upload; its ``id`` goes in ``uploads.complete(part_ids)``."""

    id: str | None = None
    object: str | None = None
    created_at: int | None = None
    upload_id: str | None = None


@attrs.define(eq=False, repr=False)
class OpenAIUploadResult(OpenAIResult):
    """``uploads.create()``, ``complete()``, ``cancel()`` and ``upload_file()``."""

    @property
    def upload(self) -> OpenAIUpload | None:
        body = body_dict(self)
        if not isinstance(body.get("id"), str):
            return None
        try:
            return OpenAIUpload(body)
        except (TypeError, ValueError):
            return None

    @property
    def file(self) -> OpenAIFile | None:
        """The file a completed upload made (None before, or when it failed)."""
        upload = self.upload
        return upload.file if upload is not None else None


@attrs.define(eq=False, repr=False)
class OpenAIUploadPartResult(OpenAIResult):
    """``uploads.add_part()``."""

    @property
    def part(self) -> OpenAIUploadPart | None:
        body = body_dict(self)
        return OpenAIUploadPart(body) if isinstance(body.get("id"), str) else None


# -- batches.run ----------------------------------------------------------------------------


@attrs.define(eq=False, kw_only=True)
class OpenAIBatchRequest(Record):
    """One request of a batch: a line of its JSONL input file.

    ``url`` defaults to the batch's endpoint (and must match it when given); ``body`` is the
    endpoint's request body, ``model`` included. A dict in the same shape works too.
    """

    custom_id: str | None = None
    body: dict[str, Any] | None = None
    method: str = "POST"
    url: str | None = None


@attrs.define(eq=False, frozen=True)
class OpenAIBatchItem:
    """One request's outcome, given to ``on_result``: ``result`` is of the endpoint's class
    (``OpenAIChatCompletionsResult`` for ``/v1/chat/completions`` ...), a failed one with
    ``errors`` saying why."""

    custom_id: str
    result: OpenAIResult
    #: The batch it ran in.
    batch_id: str = ""

    @property
    def success(self) -> bool:
        return self.result.success


@attrs.define(eq=False, frozen=True)
class OpenAIBatchProgress:
    """Given to ``on_progress`` whenever a batch's status or counts change."""

    #: Every batch created so far, as last retrieved.
    batches: list[OpenAIBatch]
    #: Their ``request_counts`` added up.
    request_counts: OpenAIBatchRequestCounts
    #: Requests of the job (created batches or not).
    total: int = 0

    @property
    def done(self) -> int:
        """Requests processed so far, completed or failed."""
        return self.request_counts.completed + self.request_counts.failed


@attrs.define(eq=False)
class OpenAIBatchSummary:
    """How a ``batches.run`` ended: given to ``on_terminate``, or returned in sync mode.

    ``completed``, ``failed`` and ``missing`` are custom ids in the order they were given.
    ``missing`` have no result: in neither the output nor the error file (an expired or
    cancelled batch's unprocessed lines, which the API may also list in the error file as
    ``batch_expired``/``batch_cancelled``), never submitted because the job failed or was
    cancelled first, or in a file that could not be downloaded (see ``errors``).
    """

    completed: list[str] = attrs.field(factory=list)
    failed: list[str] = attrs.field(factory=list)
    missing: list[str] = attrs.field(factory=list)
    #: Every batch created, in its final state (``id``, ``status``, files, counts).
    batches: list[OpenAIBatch] = attrs.field(factory=list)
    #: What went wrong with the job itself: an upload, creating or polling a batch,
    #: downloading a file (the requests' own failures are in their results).
    errors: list[OpenAIError] = attrs.field(factory=list)
    #: custom_id -> result, when there was no ``on_result`` to hand them to (sync mode).
    results: dict[str, OpenAIResult] = attrs.field(factory=dict)
    #: True when ``cancel()`` was asked.
    cancelled: bool = False

    @property
    def success(self) -> bool:
        """Every request completed and nothing went wrong."""
        return not (self.errors or self.failed or self.missing or self.cancelled)

    @property
    def request_counts(self) -> OpenAIBatchRequestCounts:
        """The final counts of the requests delivered (missing ones are not in ``total``)."""
        completed, failed = len(self.completed), len(self.failed)
        return OpenAIBatchRequestCounts(
            total=completed + failed, completed=completed, failed=failed
        )

    def throw(self) -> None:
        """Raise the first of ``errors``, if any."""
        if self.errors:
            raise self.errors[0]

    def __repr__(self) -> str:
        return (
            f"<OpenAIBatchSummary completed={len(self.completed)} failed={len(self.failed)} "
            f"missing={len(self.missing)} batches={len(self.batches)} "
            f"errors={len(self.errors)}>"
        )
