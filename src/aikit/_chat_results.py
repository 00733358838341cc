"""Chat completion results: one reply, and a stream's chunks and final accumulated reply."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import attrs

from ._from_api import choice_from_api
from ._http.response import HTTPResponse
from ._results_base import OpenAIResult
from .errors import ErrorKind, OpenAIError
from .objects import OpenAIChoice, OpenAIMessage

__all__ = ["OpenAIChatCompletionsResult", "OpenAIChatCompletionsStreamResult"]


@attrs.define(eq=False, repr=False)
class OpenAIChatCompletionsResult(OpenAIResult):
    """``chat.completions.create()``."""

    #: (body, choices) built from it: ``result.choice.text`` on every stream chunk must not
    #: rebuild the objects each time it is read.
    _choices_cache: tuple[Any, list[OpenAIChoice]] | None = attrs.field(
        default=None, init=False
    )
    #: The instance ``chat.completions.parse`` built from the answer (None otherwise).
    parsed: Any = attrs.field(default=None, init=False)

    @property
    def choices(self) -> list[OpenAIChoice]:
        return list(self._built_choices())

    @property
    def choice(self) -> OpenAIChoice | None:
        """The first choice, or None."""
        built = self._built_choices()
        return built[0] if built else None

    def _built_choices(self) -> list[OpenAIChoice]:
        """The choices of the current body, built once (not to be handed out: callers copy)."""
        body = self.body
        cached = self._choices_cache
        if cached is not None and cached[0] is body:
            return cached[1]
        raw = body.get("choices") if isinstance(body, dict) else None
        built: list[OpenAIChoice] = []
        if isinstance(raw, list):
            for c in raw:
                if isinstance(c, dict):
                    built.append(choice_from_api(c))
        self._choices_cache = (body, built)
        return built


_S = TypeVar("_S", bound="OpenAIChatCompletionsStreamResult")


@attrs.define(eq=False, repr=False)
class OpenAIChatCompletionsStreamResult(OpenAIChatCompletionsResult):
    """A streamed chat completion: one per chunk, and one final accumulated result.

    A chunk (``chunk()``) is not terminated, its ``body`` is the chunk's JSON and
    ``choice.delta`` its delta. The final result (``final()``) is terminated and its ``body``
    is a synthesized ``chat.completion`` object, so ``choice.message`` is the whole assistant
    message and ``choice.finish_reason`` the finish reason. Without ``data`` the result reads
    the HTTP response like any other (a server that answered JSON instead of a stream).
    """

    #: The chunk, or the synthesized final body; None falls back to the response's JSON.
    _data: dict[str, Any] | None = None

    @classmethod
    def chunk(cls: type[_S], data: Mapping[str, Any], response: HTTPResponse | None = None) -> _S:
        """The result handed to ``on_data`` for one ``data:`` event."""
        if type(data) is not dict:
            if not isinstance(data, Mapping):
                raise TypeError(f"a stream chunk must be a dict, not {type(data).__name__}")
            data = data if isinstance(data, dict) else dict(data)
        return cls(response=response, terminated=False, data=data)

    @classmethod
    def final(
        cls: type[_S],
        choices: Iterable[Mapping[str, Any] | OpenAIChoice | OpenAIMessage],
        last_chunk: Mapping[str, Any] | None = None,
        usage: Mapping[str, Any] | None = None,
        response: HTTPResponse | None = None,
        errors: Iterable[OpenAIError] | None = None,
    ) -> _S:
        """The terminated result of a stream.

        ``choices`` are the accumulated choices, each ``{"index", "message" (or "delta"),
        "finish_reason", "logprobs"?}``, an ``OpenAIChoice``, or a bare message. ``last_chunk``
        supplies ``id``, ``created``, ``model``, ``system_fingerprint`` and ``service_tier``,
        and ``usage`` when none is given (the ``include_usage`` chunk).
        """
        meta: Mapping[str, Any] = last_chunk if isinstance(last_chunk, Mapping) else {}
        body: dict[str, Any] = {"id": meta.get("id"), "object": "chat.completion"}
        for key in ("created", "model", "system_fingerprint", "service_tier"):
            if meta.get(key) is not None:
                body[key] = meta[key]
        body["choices"] = [_final_choice(i, c) for i, c in enumerate(choices)]
        if usage is None and isinstance(meta.get("usage"), Mapping):
            usage = meta["usage"]
        if usage is not None:
            body["usage"] = dict(usage)
        return cls(
            response=response,
            errors=list(errors) if errors else None,
            terminated=True,
            data=body,
        )

    @property
    def body(self) -> Any:
        if self._data is not None:
            return self._data
        return self._response.json if self._response is not None else None

    @property
    def errors(self) -> list[OpenAIError]:
        if self._errors:
            return list(self._errors)
        data = self._data
        if isinstance(data, dict) and data.get("error"):
            return [_stream_error(data, self._response)]
        return super().errors

    @property
    def success(self) -> bool:
        """No error, and a 2xx response (a chunk or final built without one counts as 2xx)."""
        if self.errors:
            return False
        r = self._response
        if r is not None:
            return 200 <= r.status < 300
        return self._data is not None


def _final_choice(i: int, item: Mapping[str, Any] | OpenAIChoice | OpenAIMessage) -> dict[str, Any]:
    if isinstance(item, OpenAIMessage):
        item = {"message": item}
    elif isinstance(item, OpenAIChoice):
        item = item.to_dict()
    message: Any = item.get("message")
    if message is None:
        message = item.get("delta")
    if isinstance(message, OpenAIMessage):
        message = message.to_dict()
    message = dict(message) if isinstance(message, Mapping) else {}
    message.setdefault("role", "assistant")
    message.setdefault("content", None)
    index = item.get("index")
    choice: dict[str, Any] = {
        "index": index if isinstance(index, int) else i,
        "message": message,
        "finish_reason": item.get("finish_reason"),
    }
    if item.get("logprobs") is not None:
        choice["logprobs"] = item["logprobs"]
    return choice


def _stream_error(data: dict[str, Any], response: HTTPResponse | None) -> OpenAIError:
    """An in-band ``{"error": ...}`` event: no HTTP status of its own, kind ``stream``."""
    headers = response.headers if response is not None else None
    err = OpenAIError.from_response(0, "stream error", headers, data)
    err.status = None
    err.kind = ErrorKind.STREAM
    return err
