"""``client.chat.vision``: ask about one image (4D ``OpenAIVision`` / ``OpenAIVisionHelper``).

Differences from 4D, on purpose: files and bytes are labelled with their real MIME type
(sniffed from the first bytes, else the file extension) instead of always ``image/png``; the
caller's parameters are never modified; ``detail`` can be chosen (default ``"low"`` as in 4D);
an image that cannot be read gives a failed result carrying an ``OpenAIError`` (not a string),
and in callback mode that failure still reaches ``on_error`` and ``on_terminate`` on the owner.
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._chat_parameters import OpenAIChatCompletionsParameters
from .._chat_results import OpenAIChatCompletionsResult
from .._lifecycle.calls import deliver_final
from .._mime import MIME_TYPES
from ..errors import OpenAIError
from ..objects import IMAGE_DETAILS, OpenAIMessage

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..resources import Params
    from ..resources.chat import Chat
    from ..types import VisionPromptOptions

__all__ = ["OpenAIVision", "OpenAIVisionHelper", "image_mime_type"]

DEFAULT_DETAIL = "low"

#: Image formats the vision models accept, by extension (the table of 4D has no webp).
_IMAGE_EXTENSIONS: dict[str, str] = {
    **{ext: mime for ext, mime in MIME_TYPES.items() if mime.startswith("image/")},
    "webp": "image/webp",
}


def image_mime_type(data: bytes, filename: str | os.PathLike[str] | None = None) -> str | None:
    """The MIME type of PNG, JPEG, GIF or WebP bytes (magic numbers), else the one of the
    file extension when it names an image type; None when neither tells."""
    head = bytes(data[:12])
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if filename is not None:
        ext = os.fspath(filename).rsplit(".", 1)[-1].lower() if "." in os.fspath(filename) else ""
        return _IMAGE_EXTENSIONS.get(ext)
    return None


def _data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _check_detail(detail: Any) -> str:
    if detail not in IMAGE_DETAILS:
        choices = ", ".join(repr(d) for d in IMAGE_DETAILS)
        raise ValueError(f"`detail` must be one of {choices}, not {detail!r}")
    return str(detail)


class OpenAIVisionHelper:
    """One image, ready to be asked about: ``prompt(text)`` sends a user message holding the
    text and the image. ``image_url`` is the URL (or data URL) sent; ``error`` is set when the
    image could not be read, and every prompt then fails without sending anything."""

    def __init__(
        self,
        chat: Chat,
        image_url: str | None,
        error: OpenAIError | None = None,
        detail: str = DEFAULT_DETAIL,
    ) -> None:
        self.chat = chat
        self.image_url = image_url or ""
        self.error = error
        self.detail = _check_detail(detail)

    def prompt(
        self, text: str, params: Params = None, **kwargs: Unpack[VisionPromptOptions]
    ) -> OpenAIChatCompletionsResult:
        """Ask ``text`` about the image; returns what ``chat.completions.create`` returns.

        ``detail=`` ("low", "high", "auto") overrides the helper's, for this prompt only.
        """
        if not isinstance(text, str):
            raise TypeError(f"`text` must be a str, not {type(text).__name__}")
        detail = self.detail
        if "detail" in kwargs:
            detail = _check_detail(kwargs.pop("detail"))
        elif isinstance(params, Mapping) and "detail" in params:
            params = dict(params)  # a copy: the caller's dict keeps its key
            detail = _check_detail(params.pop("detail"))
        p = OpenAIChatCompletionsParameters.coerce(params, **kwargs)
        if self.error is not None:
            return self._fail(p, self.error)
        message = OpenAIMessage(role="user", content=[{"type": "text", "text": text}])
        message.add_image_url(self.image_url, detail)
        return self.chat.completions.create([message], p)

    def _fail(
        self, p: OpenAIChatCompletionsParameters, error: OpenAIError
    ) -> OpenAIChatCompletionsResult:
        """A failed, terminated result; in callback mode its callbacks run on the owner."""
        result = OpenAIChatCompletionsResult()
        result._complete(None, [error])
        result._mark_terminated()
        if p.is_async:
            from ..process._registry import resolve_owner

            resolve_owner(p.owner).post(deliver_final, p, result)
        elif p.throw:
            result.throw()
        return result

    def __repr__(self) -> str:
        shown = self.image_url if len(self.image_url) <= 60 else self.image_url[:57] + "..."
        state = f" error={self.error.message!r}" if self.error is not None else ""
        return f"<OpenAIVisionHelper {shown!r}{state}>"


class OpenAIVision:
    """``client.chat.vision``: builds an ``OpenAIVisionHelper`` from a URL, a file or bytes."""

    def __init__(self, chat: Chat) -> None:
        self.chat = chat

    def create(self, url: str, detail: str = DEFAULT_DETAIL) -> OpenAIVisionHelper:
        """An image given by URL (``https://...`` or a ``data:`` URL), sent as is."""
        if not isinstance(url, str):
            raise TypeError(f"`url` must be a str, not {type(url).__name__}")
        if not url:
            raise ValueError("Expected a non-empty value for `url`")
        return OpenAIVisionHelper(self.chat, url, detail=detail)

    def from_file(
        self, path: str | os.PathLike[str], detail: str = DEFAULT_DETAIL
    ) -> OpenAIVisionHelper:
        """An image file, inlined as a data URL. A missing or unreadable file is not raised:
        each ``prompt()`` then returns a failed result saying why, as in 4D."""
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"`path` must be a str or a path, not {type(path).__name__}")
        file = Path(path)
        try:
            data = file.read_bytes()
        except FileNotFoundError:
            return self._failed(f"Image file not found: '{file}'", detail)
        except OSError as exc:
            return self._failed(f"Cannot read image file '{file}': {exc.strerror or exc}", detail)
        return self._from_data(data, file.name, f"file '{file}'", detail)

    def from_bytes(
        self, data: bytes | bytearray | memoryview, detail: str = DEFAULT_DETAIL,
        mime_type: str | None = None,
    ) -> OpenAIVisionHelper:
        """Image bytes (PNG, JPEG, GIF or WebP, recognised from their first bytes, or labelled
        with ``mime_type``), inlined as a data URL; unrecognised bytes fail at ``prompt()``."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"`data` must be bytes, not {type(data).__name__}")
        raw = bytes(data)
        if mime_type is not None:
            if not raw:
                return self._failed("Image data is empty", detail)
            return OpenAIVisionHelper(self.chat, _data_url(raw, mime_type), detail=detail)
        return self._from_data(raw, None, "image data", detail)

    def from_picture(self, picture: Any, detail: str = DEFAULT_DETAIL) -> OpenAIVisionHelper:
        """4D's ``fromPicture``: bytes, or an image object with a Pillow-style ``save()``
        (encoded as PNG)."""
        if isinstance(picture, (bytes, bytearray, memoryview)):
            return self.from_bytes(picture, detail)
        save = getattr(picture, "save", None)
        if not callable(save):
            raise TypeError(
                f"`picture` must be bytes or a Pillow image, not {type(picture).__name__}"
            )
        buffer = io.BytesIO()
        try:
            save(buffer, format="PNG")
        except Exception as exc:
            return self._failed(f"Cannot encode the picture as PNG: {exc}", detail)
        return self._from_data(buffer.getvalue(), None, "picture", detail)

    def _from_data(
        self, data: bytes, filename: str | None, what: str, detail: str
    ) -> OpenAIVisionHelper:
        if not data:
            return self._failed(f"Image {what} is empty", detail)
        mime = image_mime_type(data, filename)
        if mime is None:
            return self._failed(
                f"Cannot use {what} as an image: not PNG, JPEG, GIF or WebP", detail
            )
        return OpenAIVisionHelper(self.chat, _data_url(data, mime), detail=detail)

    def _failed(self, message: str, detail: str) -> OpenAIVisionHelper:
        return OpenAIVisionHelper(
            self.chat, None, OpenAIError(message, kind="invalid_image"), detail=detail
        )

    def __repr__(self) -> str:
        return "<OpenAIVision>"
