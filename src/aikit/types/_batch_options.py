"""Keyword arguments of ``client.batches`` and ``client.uploads``: the request fields that are
not the methods' positional arguments, plus the call options, with callbacks typed by their
result (as in ``_options``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypedDict

from ._options import CallOptions
from ._spec import BatchListFields

if TYPE_CHECKING:
    import requests

    from .._batch_results import (
        OpenAIBatchListResult,
        OpenAIBatchResult,
        OpenAIUploadPartResult,
        OpenAIUploadResult,
    )
    from ..process import Owner

__all__ = [
    "BatchCancelOptions",
    "BatchCreateOptions",
    "BatchListOptions",
    "BatchRetrieveOptions",
    "BatchRunOptions",
    "UploadAddPartOptions",
    "UploadCancelOptions",
    "UploadCompleteOptions",
    "UploadCreateOptions",
    "UploadFileOptions",
]


class BatchRetrieveOptions(CallOptions, total=False):
    on_response: Callable[[OpenAIBatchResult], object]
    on_error: Callable[[OpenAIBatchResult], object]
    on_terminate: Callable[[OpenAIBatchResult], object]
    formula: Callable[[OpenAIBatchResult], object]


class BatchCancelOptions(BatchRetrieveOptions, total=False):
    pass


class BatchCreateOptions(BatchRetrieveOptions, total=False):
    """``batches.create()``: the spec's ``BatchCreateFields`` but its arguments."""

    metadata: Mapping[str, str] | None
    output_expires_after: Mapping[str, Any]


class BatchListOptions(BatchListFields, CallOptions, total=False):
    on_response: Callable[[OpenAIBatchListResult], object]
    on_error: Callable[[OpenAIBatchListResult], object]
    on_terminate: Callable[[OpenAIBatchListResult], object]
    formula: Callable[[OpenAIBatchListResult], object]


class BatchRunOptions(TypedDict, total=False):
    """``batches.run()`` besides its callbacks: how the job is split, sent and polled, and the
    call options of every request it sends (a whole job has no ``deadline``)."""

    #: Seconds between polls at first (default 5); the interval grows while nothing changes.
    poll_interval: float
    #: Requests per batch (default 50,000, the API's limit).
    max_lines: int
    #: Bytes per batch input file (default 200 MB, the API's limit).
    max_bytes: int
    #: Input files larger than this go through the Uploads API (default 512 MB).
    upload_limit: int
    completion_window: str
    metadata: Mapping[str, str] | None
    output_expires_after: Mapping[str, Any]
    #: Where the callbacks run: a process, a form, a worker's name, or a process number.
    owner: Owner | str | int
    #: Sync mode: raise the summary's first error.
    throw: bool
    timeout: float
    max_retries: int
    extra_headers: Mapping[str, str]
    #: Sent as given, over each ``batches.create`` body.
    extra_body: Mapping[str, Any]
    extra_query: Mapping[str, Any]
    http_agent: requests.Session


class UploadCreateOptions(CallOptions, total=False):
    """``uploads.create()``: the spec's ``UploadCreateFields`` but its arguments."""

    expires_after: Mapping[str, Any]
    on_response: Callable[[OpenAIUploadResult], object]
    on_error: Callable[[OpenAIUploadResult], object]
    on_terminate: Callable[[OpenAIUploadResult], object]
    formula: Callable[[OpenAIUploadResult], object]


class UploadCompleteOptions(CallOptions, total=False):
    on_response: Callable[[OpenAIUploadResult], object]
    on_error: Callable[[OpenAIUploadResult], object]
    on_terminate: Callable[[OpenAIUploadResult], object]
    formula: Callable[[OpenAIUploadResult], object]


class UploadCancelOptions(UploadCompleteOptions, total=False):
    pass


class UploadAddPartOptions(CallOptions, total=False):
    on_response: Callable[[OpenAIUploadPartResult], object]
    on_error: Callable[[OpenAIUploadPartResult], object]
    on_terminate: Callable[[OpenAIUploadPartResult], object]
    formula: Callable[[OpenAIUploadPartResult], object]


class UploadFileOptions(TypedDict, total=False):
    """``uploads.upload_file()``: sync only (no callbacks); ``deadline`` bounds the whole
    upload, the other call options apply to each request."""

    #: The name to upload under (default: the path's or file object's name).
    filename: str
    #: Default: from the file name's extension.
    mime_type: str
    expires_after: Mapping[str, Any]
    throw: bool
    timeout: float
    deadline: float
    max_retries: int
    extra_headers: Mapping[str, str]
    #: Sent as given, over the ``uploads.create`` body.
    extra_body: Mapping[str, Any]
    extra_query: Mapping[str, Any]
    http_agent: requests.Session
