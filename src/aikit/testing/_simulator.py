"""The OpenAI API as the fake server plays it: routing, auth, rate limits, dispatch.

This module and the endpoint modules (``_chat``, ``_responses``, ``_files``, ``_media``,
``_batches``, ``_uploads``) never
touch a socket: a RecordedRequest becomes a complete Response or a StreamPlan, and the HTTP
layer in ``_handler`` does the I/O. Keeping the two apart lets the wire faults (drop, stall,
trickle...) live in one place, for every endpoint, and the API rules in another.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import unquote

from aikit._logging import mask_key

from . import _batches, _chat, _files, _media, _responses, _uploads
from ._api import APIError, Response, StreamPlan
from ._content import error_body
from ._limits import RateLimits, estimate_tokens
from ._records import RecordedRequest
from ._state import SimState

RATE_LIMIT_REQUESTS = 10_000
RATE_LIMIT_TOKENS = 2_000_000

Endpoint = Callable[[SimState, RecordedRequest, dict[str, str]], "Response | StreamPlan"]


@dataclass(frozen=True)
class _Route:
    pattern: re.Pattern[str]
    methods: dict[str, Endpoint]
    needs_auth: bool = True
    limited: bool = False  # a model endpoint: its POST requests pay the rate limits


def _route(
    pattern: str, methods: dict[str, Endpoint], needs_auth: bool = True, limited: bool = False
) -> _Route:
    return _Route(re.compile(pattern), methods, needs_auth, limited)


_ROUTES: tuple[_Route, ...] = (
    _route(r"/v1/models", {"GET": _media.list_models}),
    _route(r"/v1/models/(?P<model>.+)", {"GET": _media.retrieve_model}),
    _route(
        r"/v1/chat/completions",
        {"GET": _chat.list_chat_completions, "POST": _chat.create_chat_completion},
        limited=True,
    ),
    _route(
        r"/v1/chat/completions/(?P<id>[^/]+)",
        {
            "GET": _chat.retrieve_chat_completion,
            "POST": _chat.update_chat_completion,
            "DELETE": _chat.delete_chat_completion,
        },
    ),
    _route(r"/v1/chat/completions/(?P<id>[^/]+)/messages", {"GET": _chat.list_chat_messages}),
    _route(r"/v1/responses", {"POST": _responses.create_response}, limited=True),
    _route(r"/v1/responses/input_tokens", {"POST": _responses.count_input_tokens}),
    _route(r"/v1/responses/compact", {"POST": _responses.compact_response}),
    _route(
        r"/v1/responses/(?P<id>[^/]+)",
        {"GET": _responses.retrieve_response, "DELETE": _responses.delete_response},
    ),
    _route(r"/v1/responses/(?P<id>[^/]+)/cancel", {"POST": _responses.cancel_response}),
    _route(r"/v1/responses/(?P<id>[^/]+)/input_items", {"GET": _responses.list_input_items}),
    _route(r"/v1/embeddings", {"POST": _media.create_embeddings}, limited=True),
    _route(r"/v1/images/generations", {"POST": _media.create_images}, limited=True),
    _route(r"/v1/moderations", {"POST": _media.create_moderation}, limited=True),
    _route(r"/v1/files", {"GET": _files.list_files, "POST": _files.create_file}),
    _route(
        r"/v1/files/(?P<id>[^/]+)",
        {"GET": _files.retrieve_file, "DELETE": _files.delete_file},
    ),
    _route(r"/v1/files/(?P<id>[^/]+)/content", {"GET": _files.file_content}),
    _route(r"/v1/batches", {"GET": _batches.list_batches, "POST": _batches.create_batch}),
    _route(r"/v1/batches/(?P<id>[^/]+)", {"GET": _batches.retrieve_batch}),
    _route(r"/v1/batches/(?P<id>[^/]+)/cancel", {"POST": _batches.cancel_batch}),
    _route(r"/v1/uploads", {"POST": _uploads.create_upload}),
    _route(r"/v1/uploads/(?P<id>[^/]+)/parts", {"POST": _uploads.add_part}),
    _route(r"/v1/uploads/(?P<id>[^/]+)/complete", {"POST": _uploads.complete_upload}),
    _route(r"/v1/uploads/(?P<id>[^/]+)/cancel", {"POST": _uploads.cancel_upload}),
    # Image URLs stand for pre-signed download links: no API key needed, as with OpenAI's.
    _route(r"/v1/files-images/(?P<name>[^/]+)", {"GET": _media.download_image}, False),
)


class Simulator:
    """The fake API of one server: its state, and the dispatch of requests to endpoints."""

    def __init__(self, models: Iterable[str] = ()) -> None:
        self.state = SimState(models)
        self.limits = RateLimits()
        self._charged: dict[str, list[tuple[str, str]]] = {}  # by request id, until sent
        self._charged_lock = threading.Lock()

    def next_number(self, kind: str) -> int:
        return self.state.next_number(kind)

    def rate_limit_headers(
        self, request_number: int, request: RecordedRequest | None = None
    ) -> list[tuple[str, str]]:
        """The x-ratelimit-* headers of an answer.

        With rate limits on (``set_rate_limits``): those of the request's key, as its own
        charge left them. Otherwise plausible ones, whose remaining counts go down and wrap.
        """
        if self.limits.active:
            if request is not None:
                with self._charged_lock:
                    charged = self._charged.pop(request.request_id, None)
                if charged is not None:
                    return charged
            return self.limits.headers(_bearer(request))
        tokens_used = self.state.tokens_used
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
        if route.limited and request.method == "POST" and self.limits.active:
            body = request.json
            model = body.get("model") if isinstance(body, dict) else None
            headers, refused = self.limits.admit(
                _bearer(request),
                estimate_tokens(body),
                model if isinstance(model, str) and model else "the model",
            )
            if refused is not None:
                return refused
            with self._charged_lock:
                self._charged[request.request_id] = headers
        try:
            return endpoint(self.state, request, params)
        except APIError as exc:
            return exc.response()


def _match_route(path: str) -> tuple[_Route | None, dict[str, str]]:
    """Find the route of a raw (still percent-encoded) path; captured ids come back decoded."""
    if len(path) > 1:
        path = path.rstrip("/")
    for route in _ROUTES:
        match = route.pattern.fullmatch(path)
        if match:
            return route, {key: unquote(value) for key, value in match.groupdict().items()}
    return None, {}


def _bearer(request: RecordedRequest | None) -> str:
    """The API key a request sent (its rate-limit bucket); "" for none."""
    if request is None:
        return ""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


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
