"""Result classes: what every call returns and every callback receives.

A result is filled once — on the calling thread in sync mode, on the owner's thread just before
its callbacks run in callback mode — and is read-only for users after that.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeVar

import attrs

from ._headers import Headers
from ._http.response import HTTPResponse
from .errors import ErrorKind, OpenAIError
from .objects import (
    OpenAIChoice,
    OpenAIEmbedding,
    OpenAIFile,
    OpenAIFileDeleted,
    OpenAIImage,
    OpenAIMessage,
    OpenAIModel,
    OpenAIModeration,
    choice_from_api,
    embedding_from_api,
)

__all__ = [
    "OpenAIChatCompletionsResult",
    "OpenAIChatCompletionsStreamResult",
    "OpenAIEmbeddingsResult",
    "OpenAIFileDeletedResult",
    "OpenAIFileListResult",
    "OpenAIFileResult",
    "OpenAIImagesResult",
    "OpenAIModelListResult",
    "OpenAIModelResult",
    "OpenAIModerationResult",
    "OpenAIResult",
    "RateLimit",
]


class RequestControl(Protocol):
    """What a pending result delegates ``wait()`` and ``terminate()`` to."""

    def wait(self, timeout: float | None) -> bool: ...

    def terminate(self) -> None: ...


@attrs.frozen
class RateLimit:
    """The ``x-ratelimit-*`` headers; counts as numbers, resets as the server's strings."""

    limit_requests: int | None
    limit_tokens: int | None
    remaining_requests: int | None
    remaining_tokens: int | None
    reset_requests: str | None
    reset_tokens: str | None

    @classmethod
    def from_headers(cls, headers: Headers) -> RateLimit:
        def number(name: str) -> int | None:
            raw = headers.get(name)
            if raw is None:
                return None
            try:
                return int(raw)
            except ValueError:
                try:
                    return int(float(raw))
                except ValueError:
                    return None

        return cls(
            limit_requests=number("x-ratelimit-limit-requests"),
            limit_tokens=number("x-ratelimit-limit-tokens"),
            remaining_requests=number("x-ratelimit-remaining-requests"),
            remaining_tokens=number("x-ratelimit-remaining-tokens"),
            reset_requests=headers.get("x-ratelimit-reset-requests"),
            reset_tokens=headers.get("x-ratelimit-reset-tokens"),
        )


@attrs.define(eq=False, repr=False)
class OpenAIResult:
    """Outcome of one request: HTTP response and/or errors, plus wait/terminate while pending."""

    _response: HTTPResponse | None = None
    _errors: list[OpenAIError] | None = None
    _terminated: bool = False
    _control: RequestControl | None = None

    # -- filled by the client -------------------------------------------------------------
    def _complete(
        self, response: HTTPResponse | None, errors: list[OpenAIError] | None = None
    ) -> None:
        self._response = response
        self._errors = errors or None

    def _mark_terminated(self) -> None:
        self._terminated = True

    # -- public accessors -----------------------------------------------------------------
    @property
    def success(self) -> bool:
        """True when a 2xx response arrived and nothing went wrong after it."""
        r = self._response
        return r is not None and 200 <= r.status < 300 and not self.errors

    @property
    def errors(self) -> list[OpenAIError]:
        if self._errors:
            return list(self._errors)
        r = self._response
        if r is None:
            return []
        body = r.json
        if r.status >= 300 or (isinstance(body, dict) and body.get("error")):
            text = body if body is not None else r.content.decode("utf-8", "replace")
            return [OpenAIError.from_response(r.status, r.reason, r.headers, text)]
        return []

    @property
    def terminated(self) -> bool:
        return self._terminated

    @property
    def status(self) -> int | None:
        return self._response.status if self._response is not None else None

    @property
    def headers(self) -> Headers | None:
        return self._response.headers if self._response is not None else None

    @property
    def rate_limit(self) -> RateLimit | None:
        headers = self.headers
        return RateLimit.from_headers(headers) if headers is not None else None

    @property
    def body(self) -> Any:
        """The parsed JSON body, or None."""
        return self._response.json if self._response is not None else None

    @property
    def content(self) -> bytes:
        """The raw response body (``files.content()`` returns the file's bytes here)."""
        return self._response.content if self._response is not None else b""

    @property
    def usage(self) -> dict[str, Any] | None:
        body = self.body
        usage = body.get("usage") if isinstance(body, dict) else None
        return usage if isinstance(usage, dict) else None

    @property
    def request_id(self) -> str | None:
        headers = self.headers
        return headers.get("x-request-id") if headers is not None else None

    def throw(self) -> None:
        """Raise the first error, if any."""
        errors = self.errors
        if errors:
            raise errors[0]

    def wait(self, timeout: float | None = None) -> bool:
        """Block until ``on_terminate`` has run, running this process's other messages meanwhile.

        Returns True when terminated, False on timeout. A sync result returns True at once.
        """
        control = self._control
        if self._terminated or control is None:
            return True
        return control.wait(timeout)

    def terminate(self) -> None:
        """Abort a pending call: ``on_error`` then ``on_terminate`` follow; no-op when finished."""
        control = self._control
        if control is not None and not self._terminated:
            control.terminate()

    def __repr__(self) -> str:
        state = "terminated" if self._terminated else "pending"
        return f"<{type(self).__name__} status={self.status} success={self.success} {state}>"


@attrs.define(eq=False, repr=False)
class OpenAIModelListResult(OpenAIResult):
    """``models.list()``."""

    @property
    def models(self) -> list[OpenAIModel]:
        body = self.body
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            return []
        return [OpenAIModel(item) for item in data if isinstance(item, dict)]


@attrs.define(eq=False, repr=False)
class OpenAIModelResult(OpenAIResult):
    """``models.retrieve()``; understands Hugging Face's ``{"data": {...}}`` wrapper."""

    @property
    def model(self) -> OpenAIModel | None:
        body = self.body
        if not isinstance(body, dict):
            return None
        if isinstance(body.get("data"), dict):
            body = body["data"]
        return OpenAIModel(body) if isinstance(body.get("id"), str) else None


def _body_dict(result: OpenAIResult) -> dict[str, Any]:
    body = result.body
    return body if isinstance(body, dict) else {}


def _data_items(result: OpenAIResult) -> list[dict[str, Any]]:
    """The dict entries of ``body["data"]`` (list endpoints, embeddings, images)."""
    data = _body_dict(result).get("data")
    if not isinstance(data, list):
        return []
    return [item for item in data if isinstance(item, dict)]


# -- chat completions -----------------------------------------------------------------------


@attrs.define(eq=False, repr=False)
class OpenAIChatCompletionsResult(OpenAIResult):
    """``chat.completions.create()``."""

    #: (body, choices) built from it: ``result.choice.text`` on every stream chunk must not
    #: rebuild the objects each time it is read.
    _choices_cache: tuple[Any, list[OpenAIChoice]] | None = attrs.field(
        default=None, init=False
    )

    @property
    def choices(self) -> list[OpenAIChoice]:
        body = self.body
        cached = self._choices_cache
        if cached is not None and cached[0] is body:
            return list(cached[1])
        raw = body.get("choices") if isinstance(body, dict) else None
        items = raw if isinstance(raw, list) else []
        built = [choice_from_api(c) for c in items if isinstance(c, dict)]
        self._choices_cache = (body, built)
        return list(built)

    @property
    def choice(self) -> OpenAIChoice | None:
        """The first choice, or None."""
        choices = self.choices
        return choices[0] if choices else None


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
        if not isinstance(data, Mapping):
            raise TypeError(f"a stream chunk must be a dict, not {type(data).__name__}")
        return cls(
            response=response,
            terminated=False,
            data=data if isinstance(data, dict) else dict(data),
        )

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


# -- embeddings, images, moderations --------------------------------------------------------


@attrs.define(eq=False, repr=False)
class OpenAIEmbeddingsResult(OpenAIResult):
    """``embeddings.create()``."""

    @property
    def embeddings(self) -> list[OpenAIEmbedding]:
        """One per input; see ``OpenAIEmbedding.per_token`` for servers that do not pool."""
        return [embedding_from_api(item) for item in _data_items(self)]

    @property
    def embedding(self) -> OpenAIEmbedding | None:
        items = _data_items(self)
        return embedding_from_api(items[0]) if items else None

    @property
    def vectors(self) -> list[list[float]]:
        """Each input's vector (a list of per-token vectors from a server that does not pool)."""
        return [e.embedding for e in self.embeddings]

    @property
    def vector(self) -> list[float] | None:
        """The first vector, or None."""
        embedding = self.embedding
        return embedding.embedding if embedding is not None else None

    @property
    def model(self) -> str:
        """The model that answered; ``""`` when the body has none."""
        model = _body_dict(self).get("model")
        return "" if model is None else str(model)


_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", ".png"),
    (b"\xff\xd8\xff", ".jpg"),
    (b"GIF8", ".gif"),
)


def _image_extension(data: bytes) -> str:
    for magic, ext in _IMAGE_MAGIC:
        if data.startswith(magic):
            return ext
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    return ".png"


@attrs.define(eq=False, repr=False)
class OpenAIImagesResult(OpenAIResult):
    """``images.generate()``."""

    @property
    def images(self) -> list[OpenAIImage]:
        return [OpenAIImage(item) for item in _data_items(self)]

    @property
    def image(self) -> OpenAIImage | None:
        items = _data_items(self)
        return OpenAIImage(items[0]) if items else None

    def save_images_to_disk(
        self, folder: str | os.PathLike[str], prefix: str = "image"
    ) -> list[Path]:
        """Write each image as ``<prefix><i><ext>`` in ``folder`` (created if needed).

        The extension follows the bytes (PNG, JPEG, WebP, GIF; ``.png`` otherwise), not 4D's
        fixed ``.png``. Images whose bytes cannot be had are skipped but keep their index.
        Returns the files written.
        """
        if folder is None:
            raise TypeError("`folder` must be a path, not None")
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        for i, image in enumerate(self.images):
            data = image.as_bytes()
            if data is None:
                continue
            path = target / f"{prefix}{i}{_image_extension(data)}"
            path.write_bytes(data)
            written.append(path)
        return written


@attrs.define(eq=False, repr=False)
class OpenAIModerationResult(OpenAIResult):
    """``moderations.create()``."""

    @property
    def moderation(self) -> OpenAIModeration | None:
        body = _body_dict(self)
        return OpenAIModeration(body) if isinstance(body.get("id"), str) else None


# -- files ----------------------------------------------------------------------------------


@attrs.define(eq=False, repr=False)
class OpenAIFileResult(OpenAIResult):
    """``files.create()`` and ``files.retrieve()``."""

    @property
    def file(self) -> OpenAIFile | None:
        body = _body_dict(self)
        return OpenAIFile(body) if isinstance(body.get("id"), str) else None


@attrs.define(eq=False, repr=False)
class OpenAIFileListResult(OpenAIResult):
    """``files.list()``; ``first_id``/``last_id`` are ``""`` when absent."""

    @property
    def files(self) -> list[OpenAIFile]:
        files: list[OpenAIFile] = []
        for item in _data_items(self):
            try:
                files.append(OpenAIFile(item))
            except (TypeError, ValueError):
                continue
        return files

    @property
    def first_id(self) -> str:
        value = _body_dict(self).get("first_id")
        return value if isinstance(value, str) else ""

    @property
    def last_id(self) -> str:
        value = _body_dict(self).get("last_id")
        return value if isinstance(value, str) else ""

    @property
    def has_more(self) -> bool:
        return _body_dict(self).get("has_more") is True


@attrs.define(eq=False, repr=False)
class OpenAIFileDeletedResult(OpenAIResult):
    """``files.delete()``."""

    @property
    def deleted(self) -> OpenAIFileDeleted | None:
        body = _body_dict(self)
        return OpenAIFileDeleted(body) if isinstance(body.get("id"), str) else None
