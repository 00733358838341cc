"""``client.chat``: completions (create, stream, stored completions) and the helpers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, overload

from .._chat_parameters import OpenAIChatCompletionsParameters
from .._chat_results import OpenAIChatCompletionsResult
from .._parameters_base import OpenAIParameters
from .._results_base import OpenAIResult
from ..objects import OpenAIMessage
from ..parameters import (
    OpenAIChatCompletionsListParameters,
    OpenAIChatCompletionsMessagesParameters,
)
from . import Params, Resource, path_id

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._chat_results import OpenAIChatCompletionsStreamResult
    from .._streaming import ChatStream
    from ..client import OpenAI
    from ..helpers.chat_helper import OpenAIChatHelper
    from ..helpers.vision import OpenAIVision
    from ..types import (
        ChatCompletionCreateOptions,
        ChatCompletionListOptions,
        ChatCompletionMessagesListOptions,
        ChatCompletionParseOptions,
        ChatCompletionStreamOptions,
        ChatCompletionSyncStreamOptions,
        ChatHelperOptions,
        ResultOptions,
    )

#: The ``messages`` argument: message objects or dicts (``{"role": ..., "content": ...}``).
MessagesInput = Iterable[OpenAIMessage | Mapping[str, Any]]

__all__ = ["Chat", "Completions", "Messages"]


#: Keys of a message that, with str values, need no conversion on the way to the wire.
_PLAIN_KEYS = frozenset({"role", "content", "name", "tool_call_id"})


def _plain(message: dict[str, Any]) -> bool:
    return all(type(v) is str for v in message.values())


def messages_body(messages: object) -> list[dict[str, Any]]:
    """Wire form of ``messages``: each an OpenAIMessage or a dict. Raises naming ``messages``."""
    if messages is None:
        return []
    if isinstance(messages, (str, bytes, Mapping, OpenAIMessage)) or not hasattr(
        messages, "__iter__"
    ):
        raise TypeError(
            f"`messages` must be a list of OpenAIMessage or dict, not {type(messages).__name__}"
        )
    out: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        if type(message) is dict and message.keys() <= _PLAIN_KEYS and _plain(message):
            out.append(dict(message))  # already in wire form: skip the round trip
        elif isinstance(message, OpenAIMessage):
            out.append(message.to_body())
        elif isinstance(message, Mapping):
            out.append(OpenAIMessage(message).to_body())
        else:
            raise TypeError(
                f"`messages[{i}]` must be an OpenAIMessage or a dict, "
                f"not {type(message).__name__}"
            )
    return out


class Messages(Resource):
    __slots__ = ()

    def list(
        self,
        completion_id: str,
        params: Params = None,
        **kwargs: Unpack[ChatCompletionMessagesListOptions],
    ) -> OpenAIResult:
        """GET /chat/completions/{id}/messages (stored completions)."""
        segment = path_id(completion_id, "completion_id")
        p = OpenAIChatCompletionsMessagesParameters.coerce(params, **kwargs)
        return self._client._request(
            "GET", f"/chat/completions/{segment}/messages", p, OpenAIResult, query=p.query()
        )


class Completions(Resource):
    __slots__ = ("messages",)

    def __init__(self, client: OpenAI) -> None:
        super().__init__(client)
        self.messages = Messages(client)

    def _body(self, messages: Any, p: OpenAIChatCompletionsParameters) -> dict[str, Any]:
        wire = messages_body(messages)
        if not wire:
            raise ValueError("`messages` must hold at least one message")
        body = p.body()
        body["messages"] = wire
        return body

    @overload
    def create(
        self,
        messages: MessagesInput,
        params: Params = None,
        *,
        stream: Literal[True],
        **kwargs: Unpack[ChatCompletionStreamOptions],
    ) -> OpenAIChatCompletionsStreamResult: ...

    @overload
    def create(
        self,
        messages: MessagesInput,
        params: Params = None,
        *,
        stream: bool = False,
        **kwargs: Unpack[ChatCompletionCreateOptions],
    ) -> OpenAIChatCompletionsResult: ...

    def create(
        self, messages: MessagesInput, params: Params = None, **kwargs: Any
    ) -> OpenAIChatCompletionsResult:
        """POST /chat/completions. With ``stream=True`` and callbacks, chunks go to ``on_data``
        (and ``formula``) on the owner; without callbacks the whole stream is read and the
        accumulated result returned."""
        p = OpenAIChatCompletionsParameters.coerce(params, **kwargs)
        body = self._body(messages, p)
        return self._client._request(
            "POST", "/chat/completions", p, _result_type(p), json_body=body, stream=p.stream
        )

    def parse(
        self,
        messages: MessagesInput,
        response_format: type[Any],
        params: Params = None,
        **kwargs: Unpack[ChatCompletionParseOptions],
    ) -> OpenAIChatCompletionsResult:
        """``create`` with ``response_format`` a strict JSON schema of the class (an attrs
        class, a dataclass, a TypedDict or a pydantic model); ``result.parsed`` is then an
        instance, or None with an error on a refusal or an answer that does not fit."""
        from ..helpers.parsing import parse_result
        from ..helpers.structured import chat_response_format

        p = OpenAIChatCompletionsParameters.coerce(
            params, **kwargs, response_format=chat_response_format(response_format))
        return parse_result(lambda request: self.create(messages, request), p,
                            response_format, _chat_text)

    def stream(
        self,
        messages: MessagesInput,
        params: Params = None,
        **kwargs: Unpack[ChatCompletionSyncStreamOptions],
    ) -> ChatStream:
        """Iterate the chunks on this thread: ``with ...stream(msgs) as s: for chunk in s``.

        Callbacks are not used here; ``s.result`` is the final accumulated result.
        """
        p = OpenAIChatCompletionsParameters.coerce(params, **kwargs)
        if p.is_async:
            raise ValueError("stream() iterates on the caller's thread: pass no callbacks "
                             "(use create(..., stream=True, on_data=...) for callbacks)")
        p = OpenAIChatCompletionsParameters.coerce(p, stream=True)
        body = self._body(messages, p)
        stream: ChatStream = self._client._stream("POST", "/chat/completions", p, json_body=body)
        return stream

    def retrieve(
        self, completion_id: str, params: Params = None, **kwargs: Unpack[ResultOptions]
    ) -> OpenAIResult:
        """GET /chat/completions/{id}."""
        segment = path_id(completion_id, "completion_id")
        p = OpenAIParameters.coerce(params, **kwargs)
        return self._client._request("GET", f"/chat/completions/{segment}", p, OpenAIResult)

    def update(
        self,
        completion_id: str,
        metadata: Mapping[str, str],
        params: Params = None,
        **kwargs: Unpack[ResultOptions],
    ) -> OpenAIResult:
        """POST /chat/completions/{id} with ``{"metadata": ...}``."""
        segment = path_id(completion_id, "completion_id")
        if not isinstance(metadata, Mapping):
            raise TypeError(f"`metadata` must be a dict, not {type(metadata).__name__}")
        p = OpenAIParameters.coerce(params, **kwargs)
        return self._client._request(
            "POST", f"/chat/completions/{segment}", p, OpenAIResult,
            json_body={"metadata": dict(metadata)},
        )

    def delete(
        self, completion_id: str, params: Params = None, **kwargs: Unpack[ResultOptions]
    ) -> OpenAIResult:
        """DELETE /chat/completions/{id}."""
        segment = path_id(completion_id, "completion_id")
        p = OpenAIParameters.coerce(params, **kwargs)
        return self._client._request("DELETE", f"/chat/completions/{segment}", p, OpenAIResult)

    def list(
        self, params: Params = None, **kwargs: Unpack[ChatCompletionListOptions]
    ) -> OpenAIResult:
        """GET /chat/completions (after, limit, order, model, ``metadata`` filter)."""
        p = OpenAIChatCompletionsListParameters.coerce(params, **kwargs)
        return self._client._request("GET", "/chat/completions", p, OpenAIResult, query=p.query())


def _chat_text(result: Any) -> tuple[str | None, str | None]:
    """``(text, refusal)`` of a chat result, for ``parse``."""
    choice = result.choice
    message = choice.message if choice is not None else None
    if message is None:
        return None, None
    return message.text, message.refusal


def _result_type(p: OpenAIChatCompletionsParameters) -> type[OpenAIChatCompletionsResult]:
    if p.stream:
        from .._chat_results import OpenAIChatCompletionsStreamResult

        return OpenAIChatCompletionsStreamResult
    return OpenAIChatCompletionsResult


class Chat(Resource):
    """``client.chat``: ``completions``, ``vision``, and ``create(system_prompt)``."""

    __slots__ = ("_vision", "completions")

    def __init__(self, client: OpenAI) -> None:
        super().__init__(client)
        self.completions = Completions(client)
        self._vision: OpenAIVision | None = None

    @property
    def vision(self) -> OpenAIVision:
        if self._vision is None:
            from ..helpers.vision import OpenAIVision

            self._vision = OpenAIVision(self)
        return self._vision

    def create(
        self,
        system_prompt: str | OpenAIMessage | Mapping[str, Any] | None = "",
        params: Params = None,
        **kwargs: Unpack[ChatHelperOptions],
    ) -> OpenAIChatHelper:
        """A stateful conversation (4D ``OpenAIChatHelper``)."""
        from ..helpers.chat_helper import OpenAIChatHelper

        return OpenAIChatHelper(self, system_prompt, params, **kwargs)
