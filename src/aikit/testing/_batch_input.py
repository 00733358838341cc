"""The input file of a batch: OpenAI's checks, and the request lines they let through.

A batch input file is JSONL, one request a line: ``{"custom_id": ..., "method": "POST", "url":
<the batch's endpoint>, "body": {...}}``, uploaded with purpose ``batch``, at most
``batch_max_lines`` requests and ``batch_max_bytes`` bytes. Any problem fails the whole batch,
with one ``errors.data`` entry per problem naming its 1-based ``line`` (blank lines are skipped
but counted). Only the raw lines are kept (each is parsed again when it runs): 120,000 parsed
bodies would take far more memory than their text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ._content import JSONDict

#: At most this many problems are listed in a failed batch's ``errors``.
MAX_ERRORS = 1000
_FIELDS = ("custom_id", "method", "url", "body")


@dataclass
class BatchInput:
    """The request lines of a valid input file (``errors`` empty), else its problems."""

    lines: list[bytes] = field(default_factory=list)
    errors: list[JSONDict] = field(default_factory=list)
    model: str | None = None


def batch_error(
    code: str, message: str, param: str | None = None, line: int | None = None
) -> JSONDict:
    return {"code": code, "message": message, "param": param, "line": line}


def check_input(
    content: bytes, purpose: str, endpoint: str, max_lines: int, max_bytes: int
) -> BatchInput:
    """Check a batch input file as OpenAI does before it runs any of its requests."""
    if purpose != "batch":
        message = (
            f"The input file has purpose '{purpose}'; batch input files must be uploaded "
            "with purpose 'batch'."
        )
        return BatchInput(errors=[batch_error("invalid_file_purpose", message, "input_file_id")])
    if len(content) > max_bytes:
        message = (
            f"The batch input file is larger than the {max_bytes} maximum number of bytes "
            f"({len(content)} bytes)."
        )
        return BatchInput(errors=[batch_error("file_too_large", message, "input_file_id")])
    raw_lines = content.split(b"\n")
    count = sum(1 for raw in raw_lines if raw.strip())
    if count == 0:
        message = "The batch input file is empty."
        return BatchInput(errors=[batch_error("empty_file", message, "input_file_id")])
    if count > max_lines:
        message = (
            f"The batch input file is larger than the {max_lines} maximum number of requests "
            f"({count} requests)."
        )
        return BatchInput(errors=[batch_error("too_many_tasks", message, "input_file_id")])
    checked = BatchInput()
    seen: set[str] = set()
    for number, raw in enumerate(raw_lines, 1):
        if not raw.strip():
            continue
        problem = _check_line(raw, endpoint, seen, number)
        if problem is None:
            checked.lines.append(raw)
            if checked.model is None and not checked.errors:
                checked.model = _model_of(raw)
        elif len(checked.errors) < MAX_ERRORS:
            checked.errors.append(problem)
    if checked.errors:
        checked.lines = []
    return checked


def _check_line(raw: bytes, endpoint: str, seen: set[str], number: int) -> JSONDict | None:
    """The problem of one input line, or None; a good line's custom_id joins ``seen``."""
    try:
        item = json.loads(raw)
    except ValueError:
        message = "This line is not parseable as valid JSON."
        return batch_error("invalid_json_line", message, None, number)
    if not isinstance(item, dict):
        message = "Each line of a batch input file must be a JSON object."
        return batch_error("invalid_json_line", message, None, number)
    for name in _FIELDS:
        if name not in item or item[name] is None:
            message = f"Missing required parameter: '{name}'."
            return batch_error("missing_required_parameter", message, name, number)
    custom_id, method, url, body = (item[name] for name in _FIELDS)
    if not isinstance(custom_id, str) or not custom_id:
        message = "Invalid 'custom_id': expected a non-empty string."
        return batch_error("invalid_type", message, "custom_id", number)
    if method != "POST":
        message = f"Invalid 'method': '{method}'. Only 'POST' is supported."
        return batch_error("invalid_method", message, "method", number)
    if url != endpoint:
        message = (
            f"The URL provided for this request ('{url}') does not match the batch endpoint "
            f"('{endpoint}')."
        )
        return batch_error("invalid_url", message, "url", number)
    if not isinstance(body, dict):
        message = "Invalid 'body': expected an object."
        return batch_error("invalid_type", message, "body", number)
    if custom_id in seen:
        message = (
            f"The custom_id '{custom_id}' is a duplicate of another request. The custom_id "
            "parameter must be unique for each request in a batch."
        )
        return batch_error("duplicate_custom_id", message, "custom_id", number)
    seen.add(custom_id)
    return None


def _model_of(raw: bytes) -> str | None:
    model = json.loads(raw)["body"].get("model")
    return model if isinstance(model, str) and model else None
