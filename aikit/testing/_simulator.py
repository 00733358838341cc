"""The OpenAI API as the fake server plays it: routing, auth, validation, endpoints, state.

This module never touches a socket. It turns a RecordedRequest into either a complete
Response or a StreamPlan (the SSE events to send, plus any scripted stream fault); the HTTP
layer in ``_server`` does the I/O. Keeping the two apart lets the wire faults (drop, stall,
delay) live in one place and the API rules in another.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from ._content import (
    JSONDict,
    color_for,
    content_text,
    count_tokens,
    echo_reply,
    embedding_vector,
    error_body,
    float32_bytes,
    mask_key,
    moderation_result,
    png_bytes,
    split_every,
    split_words,
)
from ._records import RecordedRequest

DEFAULT_MODELS: tuple[str, ...] = (
    "fake-gpt-4o-mini",
    "fake-gpt-4o",
    "fake-text-embedding-3-small",
    "fake-dall-e-3",
    "fake-omni-moderation-latest",
)
STREAM_FAULT_KINDS: tuple[str, ...] = ("drop", "malformed", "error_event", "stall")

RATE_LIMIT_REQUESTS = 10_000
RATE_LIMIT_TOKENS = 2_000_000
_MODEL_CREATED = 1_700_000_000
_FINGERPRINT = "fp_aikit_fake"
_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
_FILE_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
_ARGUMENT_PIECE = 5

MALFORMED_EVENT = b"data: {not json\n\n"
ERROR_EVENT = (
    b'data: {"error": {"message": "The server had an error while processing your request.'
    b' (simulated stream error)", "type": "server_error", "param": null, "code": null}}\n\n'
)
DONE_EVENT = b"data: [DONE]\n\n"


def dump_json(payload: Any) -> bytes:
    """Compact UTF-8 JSON, as the server sends it."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass
class Response:
    """A complete (non-streamed) HTTP response."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def json(
        cls, payload: Any, status: int = 200, headers: list[tuple[str, str]] | None = None
    ) -> Response:
        return cls(status, dump_json(payload), "application/json", list(headers or ()))


@dataclass(frozen=True)
class StreamFault:
    """A scripted failure of the next streamed chat completion (see ``stream_fault_next``)."""

    kind: str
    after_chunks: int


@dataclass
class StreamPlan:
    """The SSE events of one streamed reply (``[DONE]`` last) and its scripted fault."""

    events: list[bytes]
    fault: StreamFault | None = None


@dataclass(frozen=True)
class Failure:
    """A scripted HTTP error response (see ``fail_next``)."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    content_type: str


@dataclass(frozen=True)
class ScriptedToolCall:
    name: str
    arguments: str
    id: str | None = None


@dataclass(frozen=True)
class ScriptedReply:
    """The next chat reply: text (None = echo), tool calls, and overrides.

    ``chunks`` fixes the exact content pieces of a stream (``stream_tokens_next``).
    """

    text: str | None = None
    tool_calls: tuple[ScriptedToolCall, ...] = ()
    finish_reason: str | None = None
    usage: JSONDict | None = None
    chunks: tuple[str, ...] | None = None


class APIError(Exception):
    """An OpenAI-style error response, raised by endpoints and turned into a Response."""

    def __init__(
        self,
        status: int,
        message: str,
        param: str | None = None,
        code: str | None = None,
        error_type: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = error_body(message, error_type, param, code)

    def response(self) -> Response:
        return Response.json(self.body, self.status)


def _missing(param: str) -> APIError:
    return APIError(
        400, f"Missing required parameter: '{param}'.", param, "missing_required_parameter"
    )


def _invalid(param: str, message: str, code: str | None = "invalid_value") -> APIError:
    return APIError(400, message, param, code)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _int_param(value: Any, name: str, default: int, low: int, high: int) -> int:
    """Read an integer body parameter, rejecting bools and out-of-range values like OpenAI."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(
            name,
            f"Invalid type for '{name}': expected an integer, but got {_json_type(value)}.",
            "invalid_type",
        )
    if not low <= value <= high:
        raise _invalid(
            name,
            f"Invalid '{name}': {value} is out of range [{low}, {high}].",
            "integer_out_of_range",
        )
    return value


def _int_query(query: Mapping[str, str], name: str, default: int, high: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _invalid(name, f"Invalid '{name}': expected an integer, got '{raw}'.") from None
    if not 1 <= value <= high:
        raise _invalid(name, f"Invalid '{name}': {value} is out of range [1, {high}].")
    return value


def _paginate(
    items: Sequence[JSONDict],
    query: Mapping[str, str],
    default_limit: int,
    max_limit: int,
    default_order: str,
) -> JSONDict:
    """OpenAI's cursor pagination: ``after`` an id, ``limit`` items, ``order`` asc or desc."""
    order = query.get("order") or default_order
    if order not in ("asc", "desc"):
        raise _invalid("order", f"Invalid 'order': '{order}'. Expected 'asc' or 'desc'.")
    limit = _int_query(query, "limit", default_limit, max_limit)
    ordered = list(items) if order == "asc" else list(reversed(items))
    after = query.get("after")
    if after:
        ids = [item["id"] for item in ordered]
        ordered = ordered[ids.index(after) + 1 :] if after in ids else []
    page = ordered[:limit]
    return {
        "object": "list",
        "data": page,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": len(ordered) > limit,
    }


@dataclass
class _StoredCompletion:
    completion: JSONDict
    messages: list[JSONDict]


@dataclass
class _StoredFile:
    info: JSONDict
    content: bytes


Endpoint = Callable[["Simulator", RecordedRequest, dict[str, str]], "Response | StreamPlan"]


@dataclass(frozen=True)
class _Route:
    pattern: re.Pattern[str]
    methods: dict[str, Endpoint]
    needs_auth: bool = True


class Simulator:
    """State and behaviour of the fake API; thread-safe (one lock, never held while waiting)."""

    def __init__(self, models: Iterable[str] = ()) -> None:
        self.lock = threading.Lock()
        self.failures: deque[Failure] = deque()
        self.delays: deque[float] = deque()
        self.drops: deque[int] = deque()  # bytes of the response to send before closing
        self.replies: deque[ScriptedReply] = deque()
        self.stream_faults: deque[StreamFault] = deque()
        self._models: dict[str, None] = dict.fromkeys([*DEFAULT_MODELS, *models])
        self._counters: dict[str, int] = {}
        self._tokens_used = 0
        self._completions: dict[str, _StoredCompletion] = {}
        self._files: dict[str, _StoredFile] = {}
        self._images: dict[str, bytes] = {}

    # -- bookkeeping ------------------------------------------------------------------------

    def next_number(self, kind: str) -> int:
        """The next value of a per-kind counter (request ids, completion ids, ...), from 1."""
        with self.lock:
            number = self._counters.get(kind, 0) + 1
            self._counters[kind] = number
            return number

    def clear_scripts(self) -> None:
        with self.lock:
            self.failures.clear()
            self.delays.clear()
            self.drops.clear()
            self.replies.clear()
            self.stream_faults.clear()

    def clear_state(self) -> None:
        """Forget stored completions, files, images and models seen (not the scripts)."""
        with self.lock:
            self._completions.clear()
            self._files.clear()
            self._images.clear()
            self._models = dict.fromkeys(DEFAULT_MODELS)
            self._tokens_used = 0

    def pop_transport_faults(self) -> tuple[float | None, int | None, Failure | None]:
        """Take at most one scripted delay, drop and failure for the request being handled.

        The drop is the number of response bytes to send before closing (None: no drop).
        A drop at 0 bytes leaves the queued failure for the next request: a request that gets
        no answer at all could not have carried it.
        """
        with self.lock:
            delay = self.delays.popleft() if self.delays else None
            drop = self.drops.popleft() if self.drops else None
            failure = self.failures.popleft() if self.failures and drop != 0 else None
        return delay, drop, failure

    def rate_limit_headers(self, request_number: int) -> list[tuple[str, str]]:
        """Plausible x-ratelimit-* headers; the remaining counts go down and wrap around."""
        with self.lock:
            tokens_used = self._tokens_used
        remaining_requests = RATE_LIMIT_REQUESTS - 1 - (request_number - 1) % RATE_LIMIT_REQUESTS
        remaining_tokens = RATE_LIMIT_TOKENS - tokens_used % RATE_LIMIT_TOKENS
        return [
            ("x-ratelimit-limit-requests", str(RATE_LIMIT_REQUESTS)),
            ("x-ratelimit-limit-tokens", str(RATE_LIMIT_TOKENS)),
            ("x-ratelimit-remaining-requests", str(remaining_requests)),
            ("x-ratelimit-remaining-tokens", str(remaining_tokens)),
            ("x-ratelimit-reset-requests", "1s"),
            ("x-ratelimit-reset-tokens", "6m0s"),
        ]

    def _use_tokens(self, count: int) -> None:
        with self.lock:
            self._tokens_used += count

    def _remember_model(self, model: str) -> None:
        with self.lock:
            self._models.setdefault(model, None)

    # -- dispatch ---------------------------------------------------------------------------

    def handle(self, request: RecordedRequest, api_key: str | None) -> Response | StreamPlan:
        """Route, authenticate and run one request; API errors become error responses."""
        route, params = _match_route(request.path)
        if route is None or route.needs_auth:
            denied = _check_auth(request, api_key)
            if denied is not None:
                return denied
        if route is None:
            return APIError(404, f"Invalid URL ({request.method} {request.path})").response()
        endpoint = route.methods.get(request.method)
        if endpoint is None:
            allowed = ", ".join(route.methods)
            error = APIError(
                405, f"Method {request.method} not allowed for {request.path} (allowed: {allowed})."
            )
            response = error.response()
            response.headers.append(("Allow", allowed))
            return response
        try:
            return endpoint(self, request, params)
        except APIError as exc:
            return exc.response()

    # -- models -----------------------------------------------------------------------------

    def list_models(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        with self.lock:
            ids = list(self._models)
        return Response.json({"object": "list", "data": [_model_object(i) for i in ids]})

    def retrieve_model(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        model = params["model"]
        with self.lock:
            known = model in self._models
        if not known:
            raise APIError(
                404,
                f"The model '{model}' does not exist or you do not have access to it.",
                code="model_not_found",
            )
        return Response.json(_model_object(model))

    # -- chat completions -------------------------------------------------------------------

    def create_chat_completion(
        self, request: RecordedRequest, params: dict[str, str]
    ) -> Response | StreamPlan:
        body = _json_object(request)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise _missing("model")
        messages = body.get("messages")
        if messages is None:
            raise _missing("messages")
        if not isinstance(messages, list):
            raise _invalid(
                "messages",
                f"Invalid type for 'messages': expected an array, but got {_json_type(messages)}.",
                "invalid_type",
            )
        if not messages:
            raise _invalid(
                "messages",
                "Invalid 'messages': empty array. Expected an array with minimum length 1, "
                "but got an empty array instead.",
                "empty_array",
            )
        _validate_messages(messages)
        n = _int_param(body.get("n"), "n", 1, 1, 128)
        stream = body.get("stream")
        if stream is not None and not isinstance(stream, bool):
            raise _invalid(
                "stream", "Invalid type for 'stream': expected a boolean.", "invalid_type"
            )
        stream_options = body.get("stream_options")
        if stream_options is not None and not stream:
            raise _invalid(
                "stream_options",
                "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                None,
            )
        tools = body.get("tools")
        if tools is not None and (not isinstance(tools, list) or not tools):
            raise _invalid(
                "tools",
                "Invalid 'tools': empty array. Expected an array with minimum length 1, "
                "but got an empty array instead.",
                "empty_array",
            )
        metadata = body.get("metadata")
        if metadata is not None and (
            not isinstance(metadata, dict)
            or not all(isinstance(value, str) for value in metadata.values())
        ):
            raise _invalid("metadata", "Invalid 'metadata': expected an object of strings.")
        self._remember_model(model)

        with self.lock:
            reply = self.replies.popleft() if self.replies else ScriptedReply()
            fault = self.stream_faults.popleft() if stream and self.stream_faults else None

        completion_id = f"chatcmpl-fake{self.next_number('chatcmpl')}"
        created = int(time.time())
        if reply.text is not None:
            content: str | None = reply.text
        elif reply.chunks is not None:
            content = "".join(reply.chunks)
        elif reply.tool_calls:
            content = None
        else:
            content = echo_reply(messages)
        tool_calls = [
            {
                "id": call.id or f"call_{self.next_number('call')}",
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in reply.tool_calls
        ]
        finish_reason = reply.finish_reason or ("tool_calls" if tool_calls else "stop")
        message: JSONDict = {"role": "assistant", "content": content, "refusal": None}
        if tool_calls:
            message["tool_calls"] = tool_calls
        message["annotations"] = []

        if reply.usage is not None:
            usage = dict(reply.usage)
        else:
            prompt_tokens = sum(count_tokens(content_text(m.get("content"))) for m in messages)
            per_choice = count_tokens(content or "") + sum(
                count_tokens(call.name) + count_tokens(call.arguments) for call in reply.tool_calls
            )
            usage = _usage(prompt_tokens, per_choice * n)
        total = usage.get("total_tokens")
        self._use_tokens(total if isinstance(total, int) else 0)

        completion: JSONDict = {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [
                {
                    "index": index,
                    "message": json.loads(dump_json(message)),
                    "logprobs": None,
                    "finish_reason": finish_reason,
                }
                for index in range(n)
            ],
            "usage": usage,
            "service_tier": "default",
            "system_fingerprint": _FINGERPRINT,
        }
        if body.get("store") is True:
            completion["metadata"] = dict(metadata or {})
            stored_messages = [
                dict(m, id=f"{completion_id}-{index}") for index, m in enumerate(messages)
            ]
            with self.lock:
                self._completions[completion_id] = _StoredCompletion(
                    json.loads(dump_json(completion)), json.loads(dump_json(stored_messages))
                )
        if not stream:
            return Response.json(completion)

        include_usage = isinstance(stream_options, dict) and stream_options.get("include_usage")
        pieces = list(reply.chunks) if reply.chunks is not None else split_words(content or "")
        return StreamPlan(
            _stream_events(
                completion, pieces, content, tool_calls, finish_reason, bool(include_usage)
            ),
            fault,
        )

    def list_chat_completions(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        query = request.query
        filters = {
            key[len("metadata[") : -1]: value
            for key, value in query.items()
            if key.startswith("metadata[") and key.endswith("]")
        }
        model = query.get("model")
        with self.lock:
            items = [
                stored.completion
                for stored in self._completions.values()
                if (not model or stored.completion["model"] == model)
                and all(
                    stored.completion.get("metadata", {}).get(k) == v for k, v in filters.items()
                )
            ]
            return Response.json(_paginate(items, query, 20, 100, "asc"))

    def _stored_completion(self, completion_id: str) -> _StoredCompletion:
        stored = self._completions.get(completion_id)
        if stored is None:
            raise APIError(
                404, f"No chat completion found with id '{completion_id}'.", "completion_id"
            )
        return stored

    def retrieve_chat_completion(
        self, request: RecordedRequest, params: dict[str, str]
    ) -> Response:
        with self.lock:
            return Response.json(self._stored_completion(params["id"]).completion)

    def update_chat_completion(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        body = _json_object(request)
        metadata = body.get("metadata")
        if "metadata" not in body:
            raise _missing("metadata")
        if metadata is not None and (
            not isinstance(metadata, dict)
            or not all(isinstance(value, str) for value in metadata.values())
        ):
            raise _invalid("metadata", "Invalid 'metadata': expected an object of strings.")
        with self.lock:
            stored = self._stored_completion(params["id"])
            stored.completion["metadata"] = dict(metadata or {})
            return Response.json(stored.completion)

    def delete_chat_completion(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        completion_id = params["id"]
        with self.lock:
            self._stored_completion(completion_id)
            del self._completions[completion_id]
        return Response.json(
            {"object": "chat.completion.deleted", "id": completion_id, "deleted": True}
        )

    def list_chat_messages(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        with self.lock:
            stored = self._stored_completion(params["id"])
            items = []
            for message in stored.messages:
                content = message.get("content")
                item = dict(message)
                item["content"] = content if isinstance(content, str) else None
                item["content_parts"] = content if isinstance(content, list) else None
                item.setdefault("name", None)
                items.append(item)
        return Response.json(_paginate(items, request.query, 20, 100, "asc"))

    # -- embeddings -------------------------------------------------------------------------

    def create_embeddings(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        body = _json_object(request)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise _missing("model")
        raw = body.get("input")
        if raw is None:
            raise _missing("input")
        texts, tokens = _embedding_inputs(raw)
        dimensions = _int_param(body.get("dimensions"), "dimensions", 8, 1, 8192)
        encoding = body.get("encoding_format") or "float"
        if encoding not in ("float", "base64"):
            raise _invalid(
                "encoding_format",
                f"Invalid 'encoding_format': '{encoding}'. Expected 'float' or 'base64'.",
            )
        self._remember_model(model)
        data: list[JSONDict] = []
        for index, text in enumerate(texts):
            vector = embedding_vector(text, dimensions)
            embedding: Any = (
                base64.b64encode(float32_bytes(vector)).decode("ascii")
                if encoding == "base64"
                else vector
            )
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        self._use_tokens(tokens)
        return Response.json(
            {
                "object": "list",
                "data": data,
                "model": model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    # -- images -----------------------------------------------------------------------------

    def create_images(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        body = _json_object(request)
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise _missing("prompt")
        n = _int_param(body.get("n"), "n", 1, 1, 10)
        response_format = body.get("response_format") or "url"
        if response_format not in ("url", "b64_json"):
            raise _invalid(
                "response_format",
                f"Invalid 'response_format': '{response_format}'. Expected 'url' or 'b64_json'.",
            )
        model = body.get("model")
        if isinstance(model, str) and model:
            self._remember_model(model)
        host = request.headers.get("host", "127.0.0.1")
        data: list[JSONDict] = []
        for index in range(n):
            image = png_bytes(color_for(f"{index}:{prompt}"))
            item: JSONDict = {"revised_prompt": prompt}
            if response_format == "b64_json":
                item["b64_json"] = base64.b64encode(image).decode("ascii")
            else:
                image_id = f"img-fake{self.next_number('image')}"
                with self.lock:
                    self._images[image_id] = image
                item["url"] = f"http://{host}/v1/files-images/{image_id}.png"
            data.append(item)
        prompt_tokens = count_tokens(prompt)
        return Response.json(
            {
                "created": int(time.time()),
                "data": data,
                "output_format": "png",
                "usage": {
                    "total_tokens": prompt_tokens + 64 * n,
                    "input_tokens": prompt_tokens,
                    "output_tokens": 64 * n,
                    "input_tokens_details": {"text_tokens": prompt_tokens, "image_tokens": 0},
                },
            }
        )

    def download_image(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        name = params["name"]
        image_id = name[: -len(".png")] if name.endswith(".png") else name
        with self.lock:
            image = self._images.get(image_id)
        if image is None:
            raise APIError(404, f"No image found with id '{image_id}'.")
        return Response(200, image, "image/png")

    # -- moderations ------------------------------------------------------------------------

    def create_moderation(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        body = _json_object(request)
        raw = body.get("input")
        if raw is None:
            raise _missing("input")
        groups: list[tuple[list[str], bool]]
        if isinstance(raw, str):
            groups = [([raw], False)]
        elif isinstance(raw, list) and raw and all(isinstance(item, str) for item in raw):
            groups = [([item], False) for item in raw]
        elif isinstance(raw, list) and raw and all(isinstance(item, dict) for item in raw):
            texts: list[str] = []
            has_image = False
            for index, part in enumerate(raw):
                if part.get("type") == "text" and isinstance(part.get("text"), str):
                    texts.append(part["text"])
                elif part.get("type") == "image_url" and isinstance(part.get("image_url"), dict):
                    has_image = True
                else:
                    raise _invalid(f"input[{index}]", f"Invalid 'input[{index}]': unknown part.")
            groups = [(texts, has_image)]
        else:
            raise _invalid(
                "input",
                "Invalid 'input': expected a string, an array of strings or of input parts.",
                "invalid_type",
            )
        model = body.get("model") or "omni-moderation-latest"
        if not isinstance(model, str):
            raise _invalid("model", "Invalid type for 'model': expected a string.", "invalid_type")
        self._remember_model(model)
        return Response.json(
            {
                "id": f"modr-fake{self.next_number('moderation')}",
                "model": model,
                "results": [moderation_result(texts, image) for texts, image in groups],
            }
        )

    # -- files ------------------------------------------------------------------------------

    def create_file(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        content_type = request.headers.get("content-type", "")
        if not content_type.lower().startswith("multipart/form-data"):
            raise APIError(
                415,
                f"Invalid Content-Type header ({content_type or 'none'}), expected "
                "multipart/form-data.",
            )
        if not request.form and not request.files:
            raise APIError(400, "Could not parse the multipart/form-data body.")
        purpose = request.form.get("purpose")
        if purpose is None:
            raise _missing("purpose")
        if purpose not in _FILE_PURPOSES:
            supported = ", ".join(f"'{p}'" for p in _FILE_PURPOSES)
            raise _invalid(
                "purpose", f"Invalid value: '{purpose}'. Supported values are: {supported}."
            )
        upload = request.files.get("file")
        if upload is None:
            if "file" in request.form:
                raise _invalid(
                    "file", "Invalid 'file': expected a file upload (with a filename).", None
                )
            raise _missing("file")
        created = int(time.time())
        info: JSONDict = {
            "id": f"file-fake{self.next_number('file')}",
            "object": "file",
            "bytes": len(upload.content),
            "created_at": created,
            "filename": upload.filename,
            "purpose": purpose,
            "status": "processed",
        }
        expiry = _file_expiry(request.form)
        if expiry is not None:
            info["expires_at"] = created + expiry
        with self.lock:
            self._files[info["id"]] = _StoredFile(info, upload.content)
        return Response.json(info)

    def _stored_file(self, file_id: str) -> _StoredFile:
        stored = self._files.get(file_id)
        if stored is None:
            raise APIError(404, f"No such File object: {file_id}", "id")
        return stored

    def list_files(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        purpose = request.query.get("purpose")
        with self.lock:
            items = [
                dict(stored.info)
                for stored in self._files.values()
                if not purpose or stored.info["purpose"] == purpose
            ]
        return Response.json(_paginate(items, request.query, 10_000, 10_000, "desc"))

    def retrieve_file(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        with self.lock:
            return Response.json(self._stored_file(params["id"]).info)

    def delete_file(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        file_id = params["id"]
        with self.lock:
            self._stored_file(file_id)
            del self._files[file_id]
        return Response.json({"id": file_id, "object": "file", "deleted": True})

    def file_content(self, request: RecordedRequest, params: dict[str, str]) -> Response:
        with self.lock:
            stored = self._stored_file(params["id"])
        filename = str(stored.info["filename"]).replace('"', "")
        return Response(
            200,
            stored.content,
            "application/octet-stream",
            [("Content-Disposition", f'attachment; filename="{filename}"')],
        )


def _route(pattern: str, methods: dict[str, Endpoint], needs_auth: bool = True) -> _Route:
    return _Route(re.compile(pattern), methods, needs_auth)


_ROUTES: tuple[_Route, ...] = (
    _route(r"/v1/models", {"GET": Simulator.list_models}),
    _route(r"/v1/models/(?P<model>.+)", {"GET": Simulator.retrieve_model}),
    _route(
        r"/v1/chat/completions",
        {"GET": Simulator.list_chat_completions, "POST": Simulator.create_chat_completion},
    ),
    _route(
        r"/v1/chat/completions/(?P<id>[^/]+)",
        {
            "GET": Simulator.retrieve_chat_completion,
            "POST": Simulator.update_chat_completion,
            "DELETE": Simulator.delete_chat_completion,
        },
    ),
    _route(r"/v1/chat/completions/(?P<id>[^/]+)/messages", {"GET": Simulator.list_chat_messages}),
    _route(r"/v1/embeddings", {"POST": Simulator.create_embeddings}),
    _route(r"/v1/images/generations", {"POST": Simulator.create_images}),
    _route(r"/v1/moderations", {"POST": Simulator.create_moderation}),
    _route(r"/v1/files", {"GET": Simulator.list_files, "POST": Simulator.create_file}),
    _route(
        r"/v1/files/(?P<id>[^/]+)",
        {"GET": Simulator.retrieve_file, "DELETE": Simulator.delete_file},
    ),
    _route(r"/v1/files/(?P<id>[^/]+)/content", {"GET": Simulator.file_content}),
    # Image URLs stand for pre-signed download links: no API key needed, as with OpenAI's.
    _route(r"/v1/files-images/(?P<name>[^/]+)", {"GET": Simulator.download_image}, False),
)


def _match_route(path: str) -> tuple[_Route | None, dict[str, str]]:
    """Find the route of a raw (still percent-encoded) path; captured ids come back decoded."""
    if len(path) > 1:
        path = path.rstrip("/")
    for route in _ROUTES:
        match = route.pattern.fullmatch(path)
        if match:
            return route, {key: unquote(value) for key, value in match.groupdict().items()}
    return None, {}


def _check_auth(request: RecordedRequest, api_key: str | None) -> Response | None:
    if api_key is None:
        return None
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token == api_key:
        return None
    if not token:
        message = (
            "You didn't provide an API key. You need to provide your API key in an "
            "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
        )
    else:
        message = f"Incorrect API key provided: {mask_key(token)}."
    return Response.json(error_body(message, "invalid_request_error", None, "invalid_api_key"), 401)


def _json_object(request: RecordedRequest) -> JSONDict:
    if isinstance(request.json, dict):
        return request.json
    if not request.body.strip():
        raise APIError(400, "This endpoint expects a JSON object body, but the body was empty.")
    if request.json is None:
        raise APIError(
            400,
            "We could not parse the JSON body of your request. The OpenAI API expects a JSON "
            "payload, but what was sent was not valid JSON.",
        )
    raise APIError(
        400, f"The JSON body must be an object, but got {_json_type(request.json)}.", None
    )


def _model_object(model: str) -> JSONDict:
    return {
        "id": model,
        "object": "model",
        "created": _MODEL_CREATED,
        "owned_by": "aikit-testing",
    }


def _usage(prompt_tokens: int, completion_tokens: int) -> JSONDict:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _validate_messages(messages: list[Any]) -> None:
    """The checks OpenAI makes that catch client bugs: roles, and tool calls paired up."""
    pending: dict[str, int] = {}
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise _invalid(
                f"messages[{index}]",
                f"Invalid type for 'messages[{index}]': expected an object, but got "
                f"{_json_type(message)} instead.",
                "invalid_type",
            )
        role = message.get("role")
        if role not in _ROLES:
            supported = ", ".join(f"'{r}'" for r in _ROLES)
            raise _invalid(
                f"messages[{index}].role",
                f"Invalid value: '{role}'. Supported values are: {supported}.",
            )
        if role == "tool":
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str):
                raise _missing(f"messages[{index}].tool_call_id")
            if call_id not in pending:
                if pending:
                    text = (
                        f"Invalid parameter: 'tool_call_id' of '{call_id}' not found in "
                        "'tool_calls' of previous message."
                    )
                else:
                    text = (
                        "Invalid parameter: messages with role 'tool' must be a response to a "
                        "preceeding message with 'tool_calls'."
                    )
                raise _invalid(f"messages.[{index}].tool_call_id", text, None)
            del pending[call_id]
            continue
        _check_answered(pending)
        if role == "assistant" and isinstance(message.get("tool_calls"), list):
            for call in message["tool_calls"]:
                if isinstance(call, dict) and isinstance(call.get("id"), str):
                    pending[call["id"]] = index
    _check_answered(pending)


def _check_answered(pending: dict[str, int]) -> None:
    if pending:
        index = next(iter(pending.values()))
        raise _invalid(
            f"messages.[{index}].role",
            "An assistant message with 'tool_calls' must be followed by tool messages "
            "responding to each 'tool_call_id'. The following tool_call_ids did not have "
            f"response messages: {', '.join(pending)}",
            None,
        )


def _embedding_inputs(raw: Any) -> tuple[list[str], int]:
    """The texts to embed (token arrays become their decimal text) and their token count."""
    invalid = _invalid(
        "input",
        "Invalid 'input': expected a non-empty string, array of strings, array of tokens "
        "or array of token arrays.",
    )
    if isinstance(raw, str):
        if not raw:
            raise invalid
        return [raw], count_tokens(raw)
    if not isinstance(raw, list) or not raw:
        raise invalid
    if all(isinstance(item, str) and item for item in raw):
        return list(raw), sum(count_tokens(item) for item in raw)
    if all(isinstance(item, int) and not isinstance(item, bool) for item in raw):
        return [" ".join(map(str, raw))], len(raw)
    if all(
        isinstance(item, list)
        and item
        and all(isinstance(t, int) and not isinstance(t, bool) for t in item)
        for item in raw
    ):
        return [" ".join(map(str, item)) for item in raw], sum(len(item) for item in raw)
    raise invalid


def _file_expiry(form: Mapping[str, str]) -> int | None:
    anchor = form.get("expires_after[anchor]")
    seconds = form.get("expires_after[seconds]")
    if anchor is None and seconds is None:
        return None
    if anchor != "created_at" or seconds is None:
        raise _invalid(
            "expires_after",
            "Invalid 'expires_after': expected anchor 'created_at' and a number of seconds.",
        )
    try:
        value = int(seconds)
    except ValueError:
        raise _invalid(
            "expires_after", "Invalid 'expires_after[seconds]': not an integer."
        ) from None
    if not 3600 <= value <= 2_592_000:
        raise _invalid(
            "expires_after", "Invalid 'expires_after[seconds]': must be between 3600 and 2592000."
        )
    return value


def _stream_events(
    completion: JSONDict,
    pieces: list[str],
    content: str | None,
    tool_calls: list[JSONDict],
    finish_reason: str,
    include_usage: bool,
) -> list[bytes]:
    """The SSE events of a streamed completion, in OpenAI's order, ``[DONE]`` last."""
    head = {
        "id": completion["id"],
        "object": "chat.completion.chunk",
        "created": completion["created"],
        "model": completion["model"],
        "service_tier": "default",
        "system_fingerprint": _FINGERPRINT,
    }

    def event(choices: list[JSONDict], usage: JSONDict | None = None) -> bytes:
        chunk = dict(head, choices=choices)
        if include_usage:
            chunk["usage"] = usage
        return b"data: " + dump_json(chunk) + b"\n\n"

    def delta(index: int, value: JSONDict, finish: str | None = None) -> list[JSONDict]:
        return [{"index": index, "delta": value, "logprobs": None, "finish_reason": finish}]

    events: list[bytes] = []
    for index in range(len(completion["choices"])):
        first = "" if content is not None else None
        events.append(event(delta(index, {"role": "assistant", "content": first})))
        events.extend(event(delta(index, {"content": piece})) for piece in pieces)
        for position, call in enumerate(tool_calls):
            function = call["function"]
            opening = {
                "index": position,
                "id": call["id"],
                "type": "function",
                "function": {"name": function["name"], "arguments": ""},
            }
            events.append(event(delta(index, {"tool_calls": [opening]})))
            for piece in split_every(function["arguments"], _ARGUMENT_PIECE):
                part = {"index": position, "function": {"arguments": piece}}
                events.append(event(delta(index, {"tool_calls": [part]})))
        events.append(event(delta(index, {}, finish_reason)))
    if include_usage:
        events.append(event([], completion["usage"]))
    events.append(DONE_EVENT)
    return events
