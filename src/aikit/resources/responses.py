"""``client.responses``: create (sync, callbacks, streams, background runs), stream, retrieve
(and resume a stream), delete, cancel, compact, input items, input tokens, and parse."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from .._http.request import RequestSpec
from .._parameters_base import OpenAIParameters
from .._records import Record
from .._responses_parameters import (
    OpenAIResponsesCompactParameters,
    OpenAIResponsesInputItemsParameters,
    OpenAIResponsesInputTokensParameters,
    OpenAIResponsesParameters,
    OpenAIResponsesRetrieveParameters,
)
from .._responses_results import (
    OpenAIResponse,
    OpenAIResponseDeletedResult,
    OpenAIResponsesInputItemsResult,
    OpenAIResponsesInputTokensResult,
    OpenAIResponsesResult,
    OpenAIResponsesStreamResult,
)
from ..objects import OpenAIMessage
from . import Params, Resource, path_id

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._responses_stream import ResponsesStream
    from ..client import OpenAI
    from ..helpers.conversation import OpenAIResponsesConversation
    from ..types import (
        ResponseCompactOptions,
        ResponseConversationOptions,
        ResponseCreateOptions,
        ResponseDeleteOptions,
        ResponseInputItemsListOptions,
        ResponseInputTokensCountOptions,
        ResponseParseOptions,
        ResponseRetrieveOptions,
        ResponseStreamOptions,
        ResponseSyncStreamOptions,
        ResultOptions,
    )

__all__ = ["InputItems", "InputTokens", "Responses", "input_body"]

T = TypeVar("T")
#: ``input``: text (one user message), items (messages, tool outputs ...), or a previous
#: response whose output items are sent back as input.
Input = str | Iterable[Mapping[str, Any] | Record] | OpenAIResponse | OpenAIResponsesResult

_CHAT_PARTS = {"text": "input_text", "image_url": "input_image", "file": "input_file"}


def _part(part: object) -> object:
    """A Chat-shaped content part in the Responses shape (``text`` -> ``input_text``,
    ``image_url`` -> ``input_image``, ``file`` -> ``input_file``); others as given."""
    if not isinstance(part, Mapping) or part.get("type") not in _CHAT_PARTS:
        return part
    kind = part["type"]
    if kind == "text":
        return {"type": "input_text", "text": part.get("text", "")}
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, Mapping) else image
        detail = image.get("detail") if isinstance(image, Mapping) else None
        return {"type": "input_image", "image_url": url, "detail": detail or "auto"}
    file = part.get("file")
    return {"type": "input_file", **(dict(file) if isinstance(file, Mapping) else {})}


def _item(item: object, index: int) -> dict[str, Any]:
    if isinstance(item, OpenAIMessage):
        body = item.to_body()
        if isinstance(body.get("content"), list):
            body["content"] = [_part(p) for p in body["content"]]
        return body
    if isinstance(item, Record):
        return {k: v for k, v in item.to_dict().items() if v is not None}
    if isinstance(item, Mapping):
        return dict(item)
    raise TypeError(f"`input[{index}]` must be a dict or a message, not {type(item).__name__}")


def input_body(value: object) -> str | list[dict[str, Any]]:
    """The wire form of ``input``; raises naming ``input`` (nothing is sent)."""
    if isinstance(value, OpenAIResponsesResult):
        value = value.response
        if value is None:
            raise ValueError("`input` is a result without a response (did the call fail?)")
    if isinstance(value, OpenAIResponse):
        return [dict(item) for item in value.output or ()]
    if isinstance(value, str):
        if not value:
            raise ValueError("Expected a non-empty value for `input`")
        return value
    if isinstance(value, (bytes, Mapping)) or not isinstance(value, Iterable):
        raise TypeError(f"`input` must be a str or a list of items, not {type(value).__name__}")
    items = [_item(item, i) for i, item in enumerate(value)]
    if not items:
        raise ValueError("`input` must hold at least one item")
    return items


class InputItems(Resource):
    __slots__ = ()

    def list(
        self, response_id: str, params: Params = None,
        **kwargs: Unpack[ResponseInputItemsListOptions],
    ) -> OpenAIResponsesInputItemsResult:
        """GET /responses/{id}/input_items (after, limit, order, include)."""
        segment = path_id(response_id, "response_id")
        p = OpenAIResponsesInputItemsParameters.coerce(params, **kwargs)
        return self._client._request("GET", f"/responses/{segment}/input_items", p,
                                     OpenAIResponsesInputItemsResult, query=p.query())


class InputTokens(Resource):
    __slots__ = ()

    def count(
        self, input: Input | None = None, params: Params = None,
        **kwargs: Unpack[ResponseInputTokensCountOptions],
    ) -> OpenAIResponsesInputTokensResult:
        """POST /responses/input_tokens: what ``create`` with these options would count."""
        p = OpenAIResponsesInputTokensParameters.coerce(params, **kwargs)
        body = p.body()
        if input is not None:
            body["input"] = input_body(input)
        return self._client._request("POST", "/responses/input_tokens", p,
                                     OpenAIResponsesInputTokensResult, json_body=body)


class Responses(Resource):
    """``client.responses``; results and callbacks as for chat (docs/architecture/lifecycle.md)."""

    __slots__ = ("input_items", "input_tokens")

    def __init__(self, client: OpenAI) -> None:
        super().__init__(client)
        self.input_items = InputItems(client)
        self.input_tokens = InputTokens(client)

    @overload
    def create(
        self, input: Input, params: Params = None, *, stream: Literal[True],
        **kwargs: Unpack[ResponseStreamOptions],
    ) -> OpenAIResponsesStreamResult: ...

    @overload
    def create(
        self, input: Input, params: Params = None, *, stream: bool = False,
        **kwargs: Unpack[ResponseCreateOptions],
    ) -> OpenAIResponsesResult: ...

    def create(self, input: Input, params: Params = None, **kwargs: Any) -> OpenAIResponsesResult:
        """POST /responses. With ``stream=True``: each event to ``on_data`` (callbacks) or
        read to the end (sync). With ``background=True`` and callbacks: polled until it ends
        (each status change to ``on_data``), or, streamed, resumed after a dropped connection."""
        p = OpenAIResponsesParameters.coerce(params, **kwargs)
        body = p.body()
        body["input"] = input_body(input)
        follow = functools.partial(_follow, self._client, p)
        if p.stream:
            from .._responses_stream import ResponsesStreamSession

            session: Any = functools.partial(ResponsesStreamSession, follow=follow)
            return self._client._request("POST", "/responses", p, OpenAIResponsesStreamResult,
                                         session, json_body=body, stream=True)
        if p.background and p.is_async:
            from .._responses_stream import PollSession

            return self._client._request(
                "POST", "/responses", p, OpenAIResponsesStreamResult,
                functools.partial(PollSession, follow=follow), json_body=body)
        return self._client._request("POST", "/responses", p, OpenAIResponsesResult,
                                     json_body=body)

    def stream(
        self, input: Input, params: Params = None, **kwargs: Unpack[ResponseSyncStreamOptions]
    ) -> ResponsesStream:
        """Iterate the events on this thread: ``with ...stream(input) as s: for e in s``;
        ``s.result`` is then the final result. Callbacks are not used here."""
        from .._responses_stream import ResponsesStream, ResponsesStreamSession

        p = OpenAIResponsesParameters.coerce(params, **kwargs)
        if p.is_async:
            raise ValueError("stream() iterates on the caller's thread: pass no callbacks "
                             "(use create(..., stream=True, on_data=...) for callbacks)")
        p = OpenAIResponsesParameters.coerce(p, stream=True)
        body = p.body()
        body["input"] = input_body(input)
        session = functools.partial(ResponsesStreamSession, follow=functools.partial(
            _follow, self._client, p))
        stream: ResponsesStream = self._client._stream(
            "POST", "/responses", p, session, ResponsesStream, json_body=body)
        return stream

    @overload
    def retrieve(
        self, response_id: str, params: Params = None, *, stream: Literal[True],
        **kwargs: Unpack[ResponseRetrieveOptions],
    ) -> OpenAIResponsesStreamResult: ...

    @overload
    def retrieve(
        self, response_id: str, params: Params = None, *, stream: bool = False,
        **kwargs: Unpack[ResponseRetrieveOptions],
    ) -> OpenAIResponsesResult: ...

    def retrieve(
        self, response_id: str, params: Params = None, **kwargs: Any
    ) -> OpenAIResponsesResult:
        """GET /responses/{id}; with ``stream=True`` (a background response) its events after
        ``starting_after``, resumed again if the connection drops."""
        segment = path_id(response_id, "response_id")
        stream = bool(kwargs.pop("stream", False))
        p = OpenAIResponsesRetrieveParameters.coerce(params, **kwargs)
        query = p.query()
        if not stream:
            return self._client._request("GET", f"/responses/{segment}", p,
                                         OpenAIResponsesResult, query=query)
        from .._responses_stream import ResponsesStreamSession

        after = -1 if p.starting_after is None else p.starting_after
        session = functools.partial(
            ResponsesStreamSession, follow=functools.partial(_follow, self._client, p),
            resume_id=response_id, after=after)
        return self._client._request("GET", f"/responses/{segment}", p,
                                     OpenAIResponsesStreamResult, session,
                                     query=[("stream", "true"), *query], stream=True)

    def delete(
        self, response_id: str, params: Params = None, **kwargs: Unpack[ResponseDeleteOptions]
    ) -> OpenAIResponseDeletedResult:
        """DELETE /responses/{id}."""
        segment = path_id(response_id, "response_id")
        p = OpenAIParameters.coerce(params, **kwargs)
        return self._client._request("DELETE", f"/responses/{segment}", p,
                                     OpenAIResponseDeletedResult)

    def cancel(
        self, response_id: str, params: Params = None, **kwargs: Unpack[ResultOptions]
    ) -> OpenAIResponsesResult:
        """POST /responses/{id}/cancel (background responses only)."""
        segment = path_id(response_id, "response_id")
        p = OpenAIParameters.coerce(params, **kwargs)
        return self._client._request("POST", f"/responses/{segment}/cancel", p,
                                     OpenAIResponsesResult)

    def compact(
        self, input: Input | None = None, params: Params = None,
        **kwargs: Unpack[ResponseCompactOptions],
    ) -> OpenAIResponsesResult:
        """POST /responses/compact: ``input`` and/or ``previous_response_id`` compacted into
        fewer items (``result.response.output``)."""
        p = OpenAIResponsesCompactParameters.coerce(params, **kwargs)
        body = p.body()
        if input is not None:
            body["input"] = input_body(input)
        return self._client._request("POST", "/responses/compact", p, OpenAIResponsesResult,
                                     json_body=body)

    def parse(
        self, input: Input, text_format: type[T], params: Params = None,
        **kwargs: Unpack[ResponseParseOptions],
    ) -> OpenAIResponsesResult:
        """``create`` with ``text.format`` a strict JSON schema of ``text_format`` (an attrs
        class, a dataclass, a TypedDict or a pydantic model); ``result.parsed`` is then an
        instance, or None with an error on a refusal or an answer that does not fit."""
        from ..helpers.parsing import parse_result
        from ..helpers.structured import responses_text_format

        p = OpenAIResponsesParameters.coerce(params, **kwargs)
        text = {**(p.text or {}), **responses_text_format(text_format)}
        return parse_result(
            lambda request: self.create(input, request),
            OpenAIResponsesParameters.coerce(p, text=text),
            text_format, _responses_text,
        )

    def conversation(
        self, params: Params = None, **kwargs: Unpack[ResponseConversationOptions]
    ) -> OpenAIResponsesConversation:
        """A conversation kept by ``previous_response_id`` (``instructions=`` sent with every
        prompt), running function tools itself: the Responses counterpart of ``chat.create``."""
        from ..helpers.conversation import OpenAIResponsesConversation

        return OpenAIResponsesConversation(self, params, **kwargs)


def _responses_text(result: Any) -> tuple[str | None, str | None]:
    """``(text, refusal)`` of a Responses result, for ``parse``."""
    response = result.response
    if response is None:
        return None, None
    return response.output_text, response.refusal


def _follow(
    client: OpenAI, p: OpenAIParameters, kind: str, response_id: str, after: int | None
) -> RequestSpec:
    """The follow-up requests of one response (resume, poll, cancel), with the call's
    timeout, retries, headers and session but none of its body options."""
    options = OpenAIParameters(
        timeout=p.timeout, max_retries=p.max_retries, extra_headers=p.extra_headers,
        http_agent=p.http_agent, extra_query=p.extra_query)
    segment = path_id(response_id, "response_id")
    if kind == "cancel":
        spec = client._prepare("POST", f"/responses/{segment}/cancel", options)
    elif kind == "poll":
        spec = client._prepare("GET", f"/responses/{segment}", options)
    else:
        query = [("stream", "true")]
        if after is not None and after >= 0:
            query.append(("starting_after", str(after)))
        spec = client._prepare("GET", f"/responses/{segment}", options, query=query,
                               stream=True)
    return spec
