"""The Batch API: create a batch from an uploaded JSONL file, list, retrieve and cancel.

A created batch answers at once (``validating``); its ``BatchRun`` (see ``_batch_run``) then
checks the input file (``_batch_input``) and runs its requests in the background, at the pace
of the server's ``batch_step`` and ``batch_lines_per_step``. Input-file problems fail the
batch (``errors``), they are no error of the create request.
"""

from __future__ import annotations

import time

from ._api import APIError, Response, invalid, json_object, missing, paginate
from ._batch_run import BATCH_HANDLERS, BatchRun
from ._content import JSONDict
from ._files import json_expiry
from ._records import RecordedRequest
from ._state import SimState

BATCH_ENDPOINTS: tuple[str, ...] = tuple(BATCH_HANDLERS)
_COMPLETION_WINDOW = 24 * 3600
_MAX_METADATA = 16


def create_batch(state: SimState, request: RecordedRequest, params: dict[str, str]) -> Response:
    body = json_object(request)
    input_file_id = _required_str(body, "input_file_id")
    endpoint = _required_str(body, "endpoint")
    if endpoint not in BATCH_ENDPOINTS:
        supported = ", ".join(f"'{e}'" for e in BATCH_ENDPOINTS)
        raise invalid(
            "endpoint", f"Invalid value: '{endpoint}'. Supported values are: {supported}."
        )
    window = _required_str(body, "completion_window")
    if window != "24h":
        raise invalid(
            "completion_window", f"Invalid value: '{window}'. Supported values are: '24h'."
        )
    metadata = body.get("metadata")
    if metadata is not None and (
        not isinstance(metadata, dict)
        or len(metadata) > _MAX_METADATA
        or not all(isinstance(value, str) for value in metadata.values())
    ):
        raise invalid("metadata", "Invalid 'metadata': expected an object of at most 16 strings.")
    expiry = json_expiry(body.get("output_expires_after"), "output_expires_after")
    with state.lock:
        stored = state.files.get(input_file_id)
    if stored is None:
        raise APIError(404, f"No such File object: {input_file_id}", "input_file_id")
    now = int(time.time())
    batch: JSONDict = {
        "id": f"batch_fake{state.next_number('batch')}",
        "object": "batch",
        "endpoint": endpoint,
        "errors": None,
        "input_file_id": input_file_id,
        "completion_window": window,
        "status": "validating",
        "output_file_id": None,
        "error_file_id": None,
        "created_at": now,
        "in_progress_at": None,
        "expires_at": now + _COMPLETION_WINDOW,
        "finalizing_at": None,
        "completed_at": None,
        "failed_at": None,
        "expired_at": None,
        "cancelling_at": None,
        "cancelled_at": None,
        "request_counts": {"total": 0, "completed": 0, "failed": 0},
        "metadata": dict(metadata) if metadata is not None else None,
    }
    run = BatchRun(state, batch, stored.content, str(stored.info["purpose"]), expiry)
    answer = run.snapshot()
    with state.lock:
        state.batches[run.id] = run
    run.start()
    return Response.json(answer)


def list_batches(state: SimState, request: RecordedRequest, params: dict[str, str]) -> Response:
    with state.lock:
        runs = list(state.batches.values())
    items = [run.snapshot() for run in runs]
    return Response.json(paginate(items, request.query, 20, 100, "desc"))


def retrieve_batch(state: SimState, request: RecordedRequest, params: dict[str, str]) -> Response:
    return Response.json(_run(state, params["id"]).snapshot())


def cancel_batch(state: SimState, request: RecordedRequest, params: dict[str, str]) -> Response:
    return Response.json(_run(state, params["id"]).cancel())


def _run(state: SimState, batch_id: str) -> BatchRun:
    with state.lock:
        run = state.batches.get(batch_id)
    if run is None:
        raise APIError(404, f"No batch found with id '{batch_id}'.", "batch_id")
    return run


def _required_str(body: JSONDict, name: str) -> str:
    value = body.get(name)
    if value is None:
        raise missing(name)
    if not isinstance(value, str) or not value:
        raise invalid(name, f"Invalid type for '{name}': expected a string.", "invalid_type")
    return value
