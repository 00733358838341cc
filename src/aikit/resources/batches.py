"""``client.batches``: the Batch API (create, retrieve, cancel, list), and ``run``, which sends
a whole job of requests as batches and hands back each request's result."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, overload

from .._batch_parameters import (
    OpenAIBatchListParameters,
    OpenAIBatchParameters,
    OpenAIBatchRunParameters,
)
from .._batch_results import (
    OpenAIBatchItem,
    OpenAIBatchListResult,
    OpenAIBatchProgress,
    OpenAIBatchRequest,
    OpenAIBatchResult,
    OpenAIBatchSummary,
)
from .._parameters_base import OpenAIParameters
from . import Params, Resource, path_id, require_id

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._batch_job import BatchJob
    from ..types import (
        BatchCancelOptions,
        BatchCreateOptions,
        BatchListOptions,
        BatchRetrieveOptions,
        BatchRunOptions,
    )

__all__ = ["Batches"]

#: What ``run`` takes as requests: data objects, or dicts in the JSONL line's shape.
Requests = Iterable["OpenAIBatchRequest | Mapping[str, Any]"]
OnProgress = Callable[[OpenAIBatchProgress], object]
OnResult = Callable[[OpenAIBatchItem], object]
OnTerminate = Callable[[OpenAIBatchSummary], object]


class Batches(Resource):
    """``client.batches``: requests run asynchronously by the API within 24 hours, at half
    the price; ``run`` does the whole round trip."""

    __slots__ = ()

    def create(
        self, input_file_id: str, endpoint: str, completion_window: str = "24h",
        params: Params = None, **kwargs: Unpack[BatchCreateOptions],
    ) -> OpenAIBatchResult:
        """POST /batches: run the requests of an uploaded JSONL file (purpose ``batch``)."""
        from .._batch_jsonl import normalize_endpoint

        body: dict[str, Any] = {
            "input_file_id": require_id(input_file_id, "input_file_id"),
            "endpoint": normalize_endpoint(endpoint),
            "completion_window": require_id(completion_window, "completion_window"),
        }
        p = OpenAIBatchParameters.coerce(params, **kwargs)
        body.update(p.body())
        return self._client._request("POST", "/batches", p, OpenAIBatchResult, json_body=body)

    def retrieve(
        self, batch_id: str, params: Params = None, **kwargs: Unpack[BatchRetrieveOptions]
    ) -> OpenAIBatchResult:
        """GET /batches/{id}."""
        segment = path_id(batch_id, "batch_id")
        p = OpenAIParameters.coerce(params, **kwargs)
        return self._client._request("GET", f"/batches/{segment}", p, OpenAIBatchResult)

    def cancel(
        self, batch_id: str, params: Params = None, **kwargs: Unpack[BatchCancelOptions]
    ) -> OpenAIBatchResult:
        """POST /batches/{id}/cancel: ``cancelling``, then ``cancelled`` with the output of
        the requests done so far."""
        segment = path_id(batch_id, "batch_id")
        p = OpenAIParameters.coerce(params, **kwargs)
        return self._client._request("POST", f"/batches/{segment}/cancel", p,
                                     OpenAIBatchResult)

    def list(
        self, params: Params = None, **kwargs: Unpack[BatchListOptions]
    ) -> OpenAIBatchListResult:
        """GET /batches (after, limit)."""
        p = OpenAIBatchListParameters.coerce(params, **kwargs)
        return self._client._request("GET", "/batches", p, OpenAIBatchListResult,
                                     query=p.query())

    @overload
    def run(
        self, requests: Requests, endpoint: str = ..., params: None = None, *,
        on_progress: None = None, on_result: None = None, on_terminate: None = None,
        **kwargs: Unpack[BatchRunOptions],
    ) -> OpenAIBatchSummary: ...

    @overload
    def run(
        self, requests: Requests, endpoint: str = ..., params: Params = None, *,
        on_progress: OnProgress, on_result: OnResult | None = None,
        on_terminate: OnTerminate | None = None, **kwargs: Unpack[BatchRunOptions],
    ) -> BatchJob: ...

    @overload
    def run(
        self, requests: Requests, endpoint: str = ..., params: Params = None, *,
        on_progress: OnProgress | None = None, on_result: OnResult,
        on_terminate: OnTerminate | None = None, **kwargs: Unpack[BatchRunOptions],
    ) -> BatchJob: ...

    @overload
    def run(
        self, requests: Requests, endpoint: str = ..., params: Params = None, *,
        on_progress: OnProgress | None = None, on_result: OnResult | None = None,
        on_terminate: OnTerminate, **kwargs: Unpack[BatchRunOptions],
    ) -> BatchJob: ...

    @overload
    def run(
        self, requests: Requests, endpoint: str = ..., params: Params = None, *,
        on_progress: None = None, on_result: None = None, on_terminate: None = None,
        **kwargs: Unpack[BatchRunOptions],
    ) -> OpenAIBatchSummary | BatchJob: ...

    def run(
        self, requests: Requests, endpoint: str = "/v1/chat/completions",
        params: Params = None, **kwargs: Any,
    ) -> OpenAIBatchSummary | BatchJob:
        """Send ``requests`` as batches and hand back every request's result.

        The requests are checked and written as JSONL here (a bad one raises, naming it, and
        nothing is sent), in files of at most ``max_lines`` lines and ``max_bytes`` bytes;
        each file is uploaded (through the Uploads API above ``upload_limit``) and becomes a
        batch; the batches are polled, from ``poll_interval`` seconds apart, slower while
        nothing changes; each finished batch's output and error files are read back, by
        ``custom_id``, into results of the endpoint's class.

        Sync (no callback): blocks until every batch has ended and returns the
        ``OpenAIBatchSummary`` (``summary.results`` maps each custom id to its result).
        Callback mode: returns a ``BatchJob`` at once; the job runs on a thread of its own and
        every callback runs on the owner, in order: ``on_progress(progress)`` on each change,
        ``on_result(item)`` once per request that ran, ``on_terminate(summary)`` once, last.
        """
        from .._batch_job import start

        p = OpenAIBatchRunParameters.coerce(params, **kwargs)
        return start(self._client, requests, endpoint, p)
