"""Batch files: requests checked and written as JSONL, split by lines and bytes; output and
error lines read back into results of the endpoint's class.

Writing runs on the caller's thread, before anything is sent, so a bad request raises there,
naming it. Each input file is a temporary file on disk: a job of millions of requests is not
held twice in memory.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any

import attrs

from ._batch_results import OpenAIBatchRequest
from ._headers import Headers
from ._http.response import HTTPResponse
from ._logging import logger
from ._records import Record
from ._results_base import OpenAIResult
from .errors import ErrorKind, OpenAIError

__all__ = [
    "UNRUN_CODES",
    "BatchFile",
    "ParsedLine",
    "normalize_endpoint",
    "parse_lines",
    "result_type",
    "write_batch_files",
]

#: Error codes of lines that never ran: the batch expired or was cancelled first.
UNRUN_CODES = frozenset({"batch_expired", "batch_cancelled"})


def normalize_endpoint(endpoint: object) -> str:
    """``/v1/chat/completions`` (``/chat/completions`` and ``chat/completions`` too)."""
    if not isinstance(endpoint, str):
        raise TypeError(f"`endpoint` must be a str, not {type(endpoint).__name__}")
    path = endpoint.strip()
    if not path or path in ("/", "/v1", "/v1/"):
        raise ValueError("Expected an endpoint such as '/v1/chat/completions' for `endpoint`")
    if not path.startswith("/"):
        path = "/" + path
    if not path.startswith("/v1/"):
        path = "/v1" + path
    return path


def result_type(endpoint: str) -> type[OpenAIResult]:
    """The result class of an endpoint's answers (``OpenAIResult`` for the others)."""
    from ._chat_results import OpenAIChatCompletionsResult
    from ._responses_results import OpenAIResponsesResult
    from .results import OpenAIEmbeddingsResult, OpenAIImagesResult, OpenAIModerationResult

    types: dict[str, type[OpenAIResult]] = {
        "/v1/chat/completions": OpenAIChatCompletionsResult,
        "/v1/responses": OpenAIResponsesResult,
        "/v1/embeddings": OpenAIEmbeddingsResult,
        "/v1/moderations": OpenAIModerationResult,
        "/v1/images/generations": OpenAIImagesResult,
        "/v1/images/edits": OpenAIImagesResult,
    }
    return types.get(endpoint, OpenAIResult)


# -- writing ------------------------------------------------------------------------------------


@attrs.define(eq=False)
class BatchFile:
    """One input file: its JSONL lines in a temporary file, and their custom ids in order."""

    file: IO[bytes]
    ids: list[str] = attrs.field(factory=list)
    size: int = 0

    def close(self) -> None:
        self.file.close()


def _json_default(value: object) -> Any:
    """Messages, tools and other records inside a body, in their request shape."""
    to_body = getattr(value, "to_body", None)
    if callable(to_body):
        return to_body()
    if isinstance(value, Record):
        return {k: v for k, v in value.to_dict().items() if v is not None}
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


#: One encoder for every line (``json.dumps`` with options builds a new one per call).
_LINE_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False,
                                 default=_json_default)
_BODY_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _line(item: object, index: int, endpoint: str) -> tuple[str, bytes]:
    """``(custom_id, JSONL line)`` of one request; raises naming ``requests[index]``."""
    where = f"`requests[{index}]`"
    if isinstance(item, OpenAIBatchRequest):
        custom_id, body, method, url = item.custom_id, item.body, item.method, item.url
    elif isinstance(item, Mapping):
        custom_id, body = item.get("custom_id"), item.get("body")
        method, url = item.get("method", "POST"), item.get("url")
    else:
        raise TypeError(
            f"{where} must be an OpenAIBatchRequest or a dict with custom_id and body, "
            f"not {type(item).__name__}"
        )
    if not isinstance(custom_id, str) or not custom_id:
        raise ValueError(f"{where} needs a non-empty str `custom_id`, not {custom_id!r}")
    where = f"{where} (custom_id {custom_id!r})"
    if not isinstance(body, Mapping):
        raise TypeError(f"{where}: `body` must be a dict, not {type(body).__name__}")
    if method is None:
        method = "POST"
    if not isinstance(method, str) or not method:
        raise ValueError(f"{where}: `method` must be a non-empty str, not {method!r}")
    if url is not None and url != endpoint and normalize_endpoint(url) != endpoint:
        raise ValueError(
            f"{where}: `url` {url!r} is not the batch's endpoint {endpoint!r} (a batch "
            "sends every request to one endpoint)"
        )
    line = {"custom_id": custom_id, "method": method.upper(), "url": endpoint,
            "body": dict(body)}
    try:
        text = _LINE_ENCODER.encode(line)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{where}: the body cannot be sent as JSON ({exc})") from None
    return custom_id, text.encode("utf-8") + b"\n"


def write_batch_files(
    requests: Iterable[object], endpoint: str, max_lines: int, max_bytes: int
) -> list[BatchFile]:
    """Every request checked and written, in files of at most ``max_lines`` lines and
    ``max_bytes`` bytes. Raises (TypeError/ValueError naming the request) before returning;
    on a raise, the files written so far are closed (and so deleted)."""
    if isinstance(requests, (str, bytes, Mapping)) or not isinstance(requests, Iterable):
        raise TypeError(
            f"`requests` must be a list of requests, not {type(requests).__name__}"
        )
    files: list[BatchFile] = []
    seen: set[str] = set()
    current: BatchFile | None = None
    try:
        for index, item in enumerate(requests):
            custom_id, line = _line(item, index, endpoint)
            if custom_id in seen:
                raise ValueError(
                    f"`requests[{index}]`: custom_id {custom_id!r} is used twice (each "
                    "request needs its own, to find its answer)"
                )
            if len(line) > max_bytes:
                raise ValueError(
                    f"`requests[{index}]` (custom_id {custom_id!r}) is {len(line)} bytes as a "
                    f"JSONL line, more than max_bytes ({max_bytes})"
                )
            seen.add(custom_id)
            if (current is None or len(current.ids) >= max_lines
                    or current.size + len(line) > max_bytes):
                # Kept open past this block (closed by the job once uploaded).
                spool = tempfile.TemporaryFile(prefix="aikit-batch-")  # noqa: SIM115
                current = BatchFile(spool)
                files.append(current)
            current.file.write(line)
            current.ids.append(custom_id)
            current.size += len(line)
    except BaseException:
        for each in files:
            each.close()
        raise
    if not files:
        raise ValueError("Expected at least one request in `requests`")
    for each in files:
        each.file.flush()
        each.file.seek(0)
    return files


# -- reading ------------------------------------------------------------------------------------


@attrs.define(eq=False, frozen=True)
class ParsedLine:
    """An output or error line: its custom id, and whether it ran at all."""

    custom_id: str
    ran: bool
    result: OpenAIResult | None


def _line_error(error: Mapping[str, Any], status: int | None) -> OpenAIError:
    message = error.get("message")
    code = error.get("code")
    param = error.get("param")
    return OpenAIError(
        message if isinstance(message, str) and message else f"batch request failed ({code})",
        status=status, code=code, param=param if param is None else str(param),
        body=dict(error), kind=ErrorKind.API,
    )


def _build(
    line: Mapping[str, Any], kind: type[OpenAIResult]
) -> OpenAIResult:
    """One line's result: the answer's status and body as if it came over HTTP; a line with
    ``error`` (or a status >= 400) is a failed result whose ``errors`` say why."""
    result = kind()
    raw = line.get("response")
    response: HTTPResponse | None = None
    status: int | None = None
    if isinstance(raw, Mapping):
        code = raw.get("status_code")
        status = code if isinstance(code, int) and not isinstance(code, bool) else None
        body = raw.get("body")
        request_id = raw.get("request_id")
        headers = Headers([("x-request-id", request_id)] if isinstance(request_id, str) else ())
        if isinstance(body, str):
            content, parsed = body.encode("utf-8"), HTTPResponse.parse_body(
                body.encode("utf-8"), "")
        else:
            content = _BODY_ENCODER.encode(body).encode("utf-8")
            parsed = body
        response = HTTPResponse(status if status is not None else 200, "", headers,
                                content, parsed)
    errors: list[OpenAIError] = []
    error = line.get("error")
    if isinstance(error, Mapping):
        errors.append(_line_error(error, status))
    elif error:
        errors.append(OpenAIError(str(error), status=status, kind=ErrorKind.API))
    elif response is None:
        errors.append(OpenAIError("The batch line has neither a response nor an error.",
                                  kind=ErrorKind.PROTOCOL))
    elif status is None:
        errors.append(OpenAIError("The batch line's response has no status_code.",
                                  kind=ErrorKind.PROTOCOL))
    if errors and response is not None and response.status >= 300:
        # The HTTP error of the body comes first, then the line's own error.
        errors = [*OpenAIResult(response).errors, *errors]
    result._complete(response, errors)
    result._mark_terminated()
    return result


def parse_lines(content: bytes, kind: type[OpenAIResult]) -> Iterator[ParsedLine]:
    """The lines of an output or error file, in file order; an unreadable line is logged and
    skipped (its request then counts as missing)."""
    for number, raw in enumerate(content.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            logger.warning("aikit: batch file line %d is not JSON; skipped", number)
            continue
        custom_id = line.get("custom_id") if isinstance(line, dict) else None
        if not isinstance(custom_id, str):
            logger.warning("aikit: batch file line %d has no custom_id; skipped", number)
            continue
        error = line.get("error")
        if (isinstance(error, Mapping) and error.get("code") in UNRUN_CODES
                and not line.get("response")):
            yield ParsedLine(custom_id, False, None)
            continue
        yield ParsedLine(custom_id, True, _build(line, kind))
