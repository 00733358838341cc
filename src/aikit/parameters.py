"""Parameter classes: per-call options, 4D camelCase or snake_case, dict or keywords.

Execution keys (callbacks, timeout, deadline, retries, headers, owner, throw) steer the call and
are never sent. Everything else is the request: ``body()`` for JSON endpoints, ``query()`` for
the list endpoints, ``form_fields()`` for the file upload. Keys a class does not model are sent
as given (None values left out). Values are checked by the shared checks of ``_settings``, the
same as client settings: TypeError for a wrong type, ValueError for a wrong value.

This module exports every parameter class. The base class ``OpenAIParameters`` is defined in
``_parameters_base``, the chat completion options in ``_chat_parameters``; the list endpoints'
options and those of embeddings, images, moderations and files are defined here.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from ._chat_parameters import OpenAIChatCompletionsParameters
from ._http.request import field_pairs
from ._parameters_base import OpenAIParameters, one_of, optional
from ._responses_parameters import (
    OpenAIResponsesCompactParameters,
    OpenAIResponsesInputItemsParameters,
    OpenAIResponsesInputTokensParameters,
    OpenAIResponsesParameters,
    OpenAIResponsesRetrieveParameters,
)
from ._settings import check_int, check_mapping, check_str

__all__ = [
    "OpenAIChatCompletionsListParameters",
    "OpenAIChatCompletionsMessagesParameters",
    "OpenAIChatCompletionsParameters",
    "OpenAIEmbeddingsParameters",
    "OpenAIFileListParameters",
    "OpenAIFileParameters",
    "OpenAIImageParameters",
    "OpenAIModerationParameters",
    "OpenAIParameters",
    "OpenAIResponsesCompactParameters",
    "OpenAIResponsesInputItemsParameters",
    "OpenAIResponsesInputTokensParameters",
    "OpenAIResponsesParameters",
    "OpenAIResponsesRetrieveParameters",
]


# -- list endpoints (GET with a query string) -----------------------------------------------


@attrs.define(eq=False, kw_only=True)
class _ListParameters(OpenAIParameters):
    """Pagination shared by the list endpoints; ``order`` is sent only when given."""

    after: str | None = attrs.field(default=None, validator=optional(check_str))
    #: Sent when > 0.
    limit: int | None = attrs.field(default=None, validator=optional(check_int))
    order: str | None = attrs.field(default=None, validator=one_of("asc", "desc"))

    def query(self) -> list[tuple[str, str]]:
        """Query-string pairs, values as text (booleans ``true``/``false``); ``user`` is not
        added (a GET has no end user to report) and unmodelled keys are passed through."""
        pairs: list[tuple[str, str]] = []
        if self.after:
            pairs.append(("after", self.after))
        if self.limit is not None and self.limit > 0:
            pairs.append(("limit", str(self.limit)))
        if self.order:
            pairs.append(("order", self.order))
        pairs.extend(self._more_query())
        for key, value in self._unmodelled().items():
            pairs.extend(field_pairs(key, value))
        return pairs

    def _more_query(self) -> list[tuple[str, str]]:
        return []

    def body(self) -> dict[str, Any]:
        """The query as a dict (a GET sends no body); prefer ``query()``."""
        return dict(self.query())


@attrs.define(eq=False, kw_only=True)
class OpenAIChatCompletionsListParameters(_ListParameters):
    """Options of ``chat.completions.list()``; ``metadata={"k": "v"}`` is sent as
    ``metadata[k]=v``."""

    model: str | None = attrs.field(default=None, validator=optional(check_str))
    metadata: dict[str, str] | None = attrs.field(
        default=None, validator=optional(check_mapping)
    )

    def _more_query(self) -> list[tuple[str, str]]:
        pairs: list[tuple[str, str]] = []
        if self.model:
            pairs.append(("model", self.model))
        if self.metadata:
            pairs.extend(field_pairs("metadata", self.metadata))
        return pairs


@attrs.define(eq=False, kw_only=True)
class OpenAIChatCompletionsMessagesParameters(_ListParameters):
    """Options of ``chat.completions.messages.list()``."""


@attrs.define(eq=False, kw_only=True)
class OpenAIFileListParameters(_ListParameters):
    """Options of ``files.list()``."""

    purpose: str | None = attrs.field(default=None, validator=optional(check_str))

    def _more_query(self) -> list[tuple[str, str]]:
        return [("purpose", self.purpose)] if self.purpose else []


# -- embeddings, images, moderations, files -------------------------------------------------


@attrs.define(eq=False, kw_only=True)
class OpenAIEmbeddingsParameters(OpenAIParameters):
    """Options of ``embeddings.create()`` (``input`` and ``model`` are its arguments)."""

    encoding_format: str | None = attrs.field(
        default=None, validator=one_of("float", "base64")
    )
    dimensions: int | None = attrs.field(default=None, validator=optional(check_int, 1))

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.user:
            out["user"] = self.user
        if self.encoding_format:
            out["encoding_format"] = self.encoding_format
        if self.dimensions is not None:
            out["dimensions"] = self.dimensions
        out.update(self._extra_body())
        return out


def _no_image_stream(_inst: Any, _attr: Any, value: Any) -> None:
    if value:
        raise ValueError("`stream` is not supported by images.generate(): leave it unset")


@attrs.define(eq=False, kw_only=True)
class OpenAIImageParameters(OpenAIParameters):
    """Options of ``images.generate()``; 4D's defaults (dall-e-2, one 1024x1024 image as a URL).

    The default ``response_format="url"`` is not sent to GPT image models, which reject the
    field (they always answer base64).
    """

    model: str | None = attrs.field(default="dall-e-2", validator=optional(check_str))
    n: int | None = attrs.field(default=1, validator=optional(check_int, 1))
    size: str | None = attrs.field(default="1024x1024", validator=optional(check_str))
    style: str | None = attrs.field(default=None, validator=optional(check_str))
    quality: str | None = attrs.field(default=None, validator=optional(check_str))
    response_format: str | None = attrs.field(
        default="url", validator=one_of("url", "b64_json")
    )
    background: str | None = attrs.field(default=None, validator=optional(check_str))
    output_format: str | None = attrs.field(default=None, validator=optional(check_str))
    output_compression: int | None = attrs.field(
        default=None, validator=optional(check_int, 0)
    )
    moderation: str | None = attrs.field(default=None, validator=optional(check_str))
    #: Partial images of a streamed generation, which aikit does not read: only None or
    #: False are accepted, so such a call fails here instead of on an unreadable answer.
    stream: bool | None = attrs.field(default=None, validator=_no_image_stream)
    partial_images: int | None = attrs.field(default=None, validator=optional(check_int, 0))

    PLAIN_FIELDS: ClassVar[tuple[str, ...]] = ("partial_images",)

    def body(self) -> dict[str, Any]:
        """The request body without ``prompt`` (the resource adds it)."""
        out: dict[str, Any] = {}
        if self.user:
            out["user"] = self.user
        if self.model:
            out["model"] = self.model
        if self.n is not None:
            out["n"] = self.n
        for name in ("size", "style", "quality"):
            value = getattr(self, name)
            if value:
                out[name] = value
        gpt_image = (self.model or "").startswith("gpt-image")
        if self.response_format and not (gpt_image and self.response_format == "url"):
            out["response_format"] = self.response_format
        for name in ("background", "output_format", "output_compression", "moderation"):
            value = getattr(self, name)
            if value is not None and value != "":
                out[name] = value
        self._add_plain(out)
        out.update(self._extra_body())
        return out


@attrs.define(eq=False, kw_only=True)
class OpenAIModerationParameters(OpenAIParameters):
    """Options of ``moderations.create()``: the body is ``input`` and ``model`` (added by the
    resource) plus unmodelled keys; ``user`` is not sent, as in 4D (the endpoint has none)."""

    def body(self) -> dict[str, Any]:
        return self._extra_body()


@attrs.define(eq=False, kw_only=True)
class OpenAIFileParameters(OpenAIParameters):
    """Options of ``files.create()`` (``purpose`` is its argument).

    ``filename`` names a ``bytes`` upload and is not a form field. ``expires_after`` becomes
    the fields ``expires_after[anchor]`` and ``expires_after[seconds]``; the anchor defaults to
    ``created_at``, the only one the API knows. ``user`` is not sent: the upload endpoint
    rejects unknown fields.
    """

    filename: str | None = attrs.field(default=None, validator=optional(check_str))
    expires_after: dict[str, Any] | None = attrs.field(
        default=None, validator=optional(check_mapping)
    )

    def body(self) -> dict[str, Any]:
        """Form fields before flattening: ``expires_after`` as a dict, then unmodelled keys."""
        out: dict[str, Any] = {}
        if self.expires_after is not None:
            expires: dict[str, Any] = {}
            anchor = self.expires_after.get("anchor")
            seconds = self.expires_after.get("seconds")
            if anchor:
                expires["anchor"] = anchor
            elif seconds:
                expires["anchor"] = "created_at"
            if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and seconds > 0:
                expires["seconds"] = int(seconds)
            if expires:
                out["expires_after"] = expires
        out.update(self._extra_body())
        return out

    def form_fields(self) -> list[tuple[str, str]]:
        """Multipart text fields as (name, value) pairs, dicts flattened to ``key[sub]``."""
        pairs: list[tuple[str, str]] = []
        for key, value in self.body().items():
            pairs.extend(field_pairs(key, value))
        return pairs
