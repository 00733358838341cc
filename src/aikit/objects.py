"""Data objects: messages, choices, tools and the items the API returns.

Each class keeps 4D AIKit's name and fields (snake_case), accepts keyword arguments or one
positional dict (camelCase keys too), and keeps keys it does not model in ``extra`` so that
provider-specific fields survive a round trip. Free-form JSON the API defines (content parts,
tool calls, usage, categories) stays plain dicts and lists.
"""

from __future__ import annotations

import base64
import binascii
import math
import os
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from ._records import Record
from ._responses_results import (
    OpenAIResponse,
    OpenAIResponseDeleted,
    OpenAIResponseFunctionCall,
    OpenAIResponseItem,
    OpenAIResponseMessage,
    OpenAIResponseReasoning,
)
from ._tool import OpenAITool

if TYPE_CHECKING:
    import requests

__all__ = [
    "OpenAIChoice",
    "OpenAIEmbedding",
    "OpenAIFile",
    "OpenAIFileDeleted",
    "OpenAIImage",
    "OpenAIMessage",
    "OpenAIModel",
    "OpenAIModeration",
    "OpenAIModerationItem",
    "OpenAIResponse",
    "OpenAIResponseDeleted",
    "OpenAIResponseFunctionCall",
    "OpenAIResponseItem",
    "OpenAIResponseMessage",
    "OpenAIResponseReasoning",
    "OpenAITool",
]

#: ``image_url.detail`` values the API knows; anything else is left out rather than rejected.
IMAGE_DETAILS = ("auto", "low", "high")


# -- OpenAIMessage --------------------------------------------------------------------------


def _check_role(_inst: Any, _attr: Any, value: Any) -> None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"`role` must be a str, not {type(value).__name__}")


def _check_content(_inst: Any, _attr: Any, value: Any) -> None:
    if value is not None and not isinstance(value, (str, list)):
        raise TypeError(
            f"`content` must be a str, a list of content parts or None, not {type(value).__name__}"
        )


@attrs.define(eq=False, kw_only=True)
class OpenAIMessage(Record):
    """One chat message, as sent to and received from the API.

    ``text`` reads and writes the plain text whether ``content`` is a string or a list of
    content parts; a ``text`` key given to the constructor is applied through that setter.
    """

    role: str | None = attrs.field(default=None, validator=_check_role)
    content: str | list[Any] | None = attrs.field(default=None, validator=_check_content)
    user: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    name: str | None = None
    #: The model's refusal message, when it refused (replies only).
    refusal: str | None = None
    #: URL citations and the like (replies only).
    annotations: list[dict[str, Any]] | None = None
    #: Audio output (``id``, ``data``, ``transcript``, ...), when requested.
    audio: dict[str, Any] | None = None
    #: The deprecated single function call of older replies.
    function_call: dict[str, Any] | None = None

    def _check(self) -> None:
        text = self.extra.pop("text", None)
        if text is not None:
            self.text = text

    @property
    def text(self) -> str:
        """The string content, or the first ``text`` part of a list; ``""`` otherwise."""
        content = self.content
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            for part in content:
                if isinstance(part, Mapping) and part.get("type") == "text":
                    value = part.get("text")
                    return value if isinstance(value, str) else ""
        return ""

    @text.setter
    def text(self, value: str) -> None:
        # Copy-on-write: content lists often come from the caller's own dicts.
        if not isinstance(value, str):
            raise TypeError(f"`text` must be a str, not {type(value).__name__}")
        content = self.content
        if not isinstance(content, list):
            self.content = value
            return
        parts = list(content)
        for i, part in enumerate(parts):
            if isinstance(part, Mapping) and part.get("type") == "text":
                parts[i] = {**part, "text": value}
                break
        else:
            parts.insert(0, {"type": "text", "text": value})
        self.content = parts

    def _parts(self) -> list[Any]:
        """Content as a new list of parts; a non-empty string becomes a leading text part."""
        content = self.content
        if isinstance(content, list):
            return list(content)
        if isinstance(content, str) and content:
            return [{"type": "text", "text": content}]
        return []

    def add_image_url(self, url: str, detail: str = "") -> None:
        """Append an ``image_url`` part; ``detail`` is kept only when it is auto, low or high."""
        image_url: dict[str, Any] = {"url": url}
        if detail in IMAGE_DETAILS:
            image_url["detail"] = detail
        self.content = [*self._parts(), {"type": "image_url", "image_url": image_url}]

    def add_file_id(self, file_id: str) -> None:
        """Append a ``file`` part referring to an uploaded file (e.g. a PDF)."""
        self.content = [*self._parts(), {"type": "file", "file": {"file_id": file_id}}]

    def to_body(self) -> dict[str, Any]:
        """The message for a request: set fields and extra keys, None values left out.

        ``content: null`` is kept on an assistant message that carries ``tool_calls``: that
        is the shape OpenAI documents for replaying a tool-call turn.
        """
        body = {k: v for k, v in self.to_dict().items() if v is not None}
        if self.content is None and self.role == "assistant" and self.tool_calls:
            body = {"role": "assistant", "content": None, **body}
        return body


# -- OpenAIChoice ---------------------------------------------------------------------------


def _to_message(value: Any) -> OpenAIMessage | None:
    if value is None or isinstance(value, OpenAIMessage):
        return value
    if isinstance(value, Mapping):
        return OpenAIMessage(value)
    raise TypeError(f"a choice message must be a dict or OpenAIMessage, not {type(value).__name__}")


@attrs.define(eq=False, kw_only=True)
class OpenAIChoice(Record):
    """One entry of ``choices``: ``message`` in a completion, ``delta`` in a stream chunk."""

    index: int | None = None
    finish_reason: str | None = None
    logprobs: dict[str, Any] | None = None
    message: OpenAIMessage | None = attrs.field(default=None, converter=_to_message)
    delta: OpenAIMessage | None = attrs.field(default=None, converter=_to_message)

    @property
    def text(self) -> str:
        """The message text, or the delta text on a stream chunk; ``""`` when neither."""
        if self.message is not None:
            return self.message.text
        if self.delta is not None:
            return self.delta.text
        return ""


# -- Embeddings -----------------------------------------------------------------------------


def _decode_float32(text: str) -> list[float]:
    """Little-endian float32 values from base64; +-inf -> +-999999999 and NaN -> 0 (4D)."""
    raw = base64.b64decode(text)
    count = len(raw) // 4
    values = struct.unpack_from(f"<{count}f", raw)
    out: list[float] = []
    for v in values:
        if math.isnan(v):
            v = 0.0
        elif math.isinf(v):
            v = 999999999.0 if v > 0 else -999999999.0
        out.append(v)
    return out


def _to_vector(value: Any) -> list[Any]:
    """Floats from a list or base64; a list of lists (one vector per token) stays one."""
    if value is None:
        return []
    if isinstance(value, str):
        return _decode_float32(value)
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(row, (list, tuple)) for row in value):
            return [[float(x) for x in row] for row in value]
        return [float(x) for x in value]
    raise TypeError(
        f"`embedding` must be a list of floats or a base64 string, not {type(value).__name__}"
    )


@attrs.define(eq=False, kw_only=True)
class OpenAIEmbedding(Record):
    """One embedding; a base64 ``embedding`` (``encoding_format="base64"``) is decoded.

    A server that does not pool (llama-cpp-python without a pooling type) sends one vector
    per input token, ``[[...], [...]]``. That list is kept as given (floats) rather than
    refused or averaged, and ``per_token`` tells it apart; ``embedding`` is typed for the
    usual single vector.
    """

    index: int | None = None
    object: str | None = None
    embedding: list[float] = attrs.field(factory=list, converter=_to_vector)

    @property
    def per_token(self) -> bool:
        """True when ``embedding`` is a list of per-token vectors, not one vector."""
        return bool(self.embedding) and isinstance(self.embedding[0], list)


def embedding_from_api(value: Mapping[str, Any]) -> OpenAIEmbedding:
    """An embedding as a server sent it, never raising: a vector that is neither floats,
    per-token floats nor base64 is left empty (the raw value stays in the result's ``body``)."""
    try:
        return OpenAIEmbedding(value)
    except (TypeError, ValueError, OverflowError):
        return OpenAIEmbedding({k: v for k, v in value.items() if k != "embedding"})


# -- Images ---------------------------------------------------------------------------------


@attrs.define(eq=False, kw_only=True)
class OpenAIImage(Record):
    """A generated image: a URL to download, or base64 data."""

    url: str | None = None
    b64_json: str | None = None
    revised_prompt: str | None = None

    def as_bytes(
        self, session: requests.Session | None = None, timeout: float = 60.0
    ) -> bytes | None:
        """The image bytes, or None when they cannot be had.

        A URL is downloaded without the client's credentials (it is a signed public link);
        only status 200 counts. ``session`` may be a ``requests.Session`` to download with.
        """
        if self.url:
            return _download(self.url, session, timeout)
        if self.b64_json:
            return _b64_bytes(self.b64_json)
        return None

    def save_to_disk(self, path: str | os.PathLike[str]) -> bool:
        """Write the image bytes to ``path`` (parent folders created); False when none."""
        if path is None:
            return False
        data = self.as_bytes()
        if data is None:
            return False
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return True


def _b64_bytes(text: str) -> bytes | None:
    """Strictly decoded base64 (line breaks allowed); None when it is not base64."""
    try:
        data = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    return data or None


def _download(url: str, session: Any, timeout: float) -> bytes | None:
    if url.startswith("data:"):
        header, _, payload = url.partition(",")
        return _b64_bytes(payload) if header.endswith(";base64") else None
    if not url.startswith(("http://", "https://")):
        return None  # never read file:// or other schemes from a server-supplied URL
    if session is not None:
        try:
            response = session.get(url, timeout=timeout)
        except Exception:
            return None
        return bytes(response.content) if response.status_code == 200 else None
    import urllib.error  # here, not at import time: it pulls in http.client and email
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            if response.status != 200:
                return None
            data: bytes = response.read()
            return data
    except (urllib.error.URLError, OSError, ValueError):
        return None


# -- Models, moderations, files -------------------------------------------------------------


@attrs.define(eq=False, kw_only=True)
class OpenAIModel(Record):
    """An entry of ``models.list()`` or the answer of ``models.retrieve()``."""

    id: str | None = None
    created: int | None = None
    object: str | None = None
    owned_by: str | None = None


@attrs.define(eq=False, kw_only=True)
class OpenAIModerationItem(Record):
    """One moderation result: ``flagged`` plus per-category flags and scores."""

    #: 4D declared ``category_score``; the API's key is ``category_scores``.
    _aliases: ClassVar[dict[str, str]] = {"category_score": "category_scores"}

    flagged: bool | None = None
    categories: dict[str, Any] | None = None
    category_scores: dict[str, Any] | None = None
    category_applied_input_types: dict[str, Any] | None = None

    @property
    def category_score(self) -> dict[str, Any] | None:
        """4D's name for ``category_scores``."""
        return self.category_scores


@attrs.define(eq=False, kw_only=True)
class OpenAIModeration(Record):
    """The answer of ``moderations.create()``; ``item`` is the first result."""

    id: str | None = None
    model: str | None = None
    results: list[dict[str, Any]] | None = None

    @property
    def item(self) -> OpenAIModerationItem | None:
        results = self.results
        if isinstance(results, list) and results and isinstance(results[0], Mapping):
            return OpenAIModerationItem(results[0])
        return None


@attrs.define(eq=False, kw_only=True)
class OpenAIFile(Record):
    """An uploaded file's metadata."""

    id: str | None = None
    bytes: int | None = None
    created_at: int | None = None
    filename: str | None = None
    object: str | None = None
    purpose: str | None = None
    status: str | None = None
    expires_at: int | None = None
    status_details: str | None = None


@attrs.define(eq=False, kw_only=True)
class OpenAIFileDeleted(Record):
    """The answer of ``files.delete()``."""

    id: str | None = None
    deleted: bool | None = None
    object: str | None = None
