"""What the fake server remembers about each request, and the multipart parser it needs.

Multipart is parsed here by hand (split on the boundary, headers through ``email``) because the
``cgi`` module is gone in Python 3.13 and ``email``'s MIME parser rewrites line endings in
binary parts, while tests must see the exact bytes a client uploaded.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from email.message import Message
from email.parser import HeaderParser
from email.utils import collapse_rfc2231_value
from typing import Any, NamedTuple

__all__ = ["Headers", "MultipartError", "RecordedRequest", "UploadedFile", "parse_multipart"]


class UploadedFile(NamedTuple):
    """One file part of a multipart body; unpacks as ``(filename, content_type, content)``."""

    filename: str
    content_type: str
    content: bytes


class Headers(Mapping[str, str]):
    """Read-only, case-insensitive header mapping (HTTP header names are case-insensitive).

    A header sent several times reads as its values joined with ``", "``.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        store: dict[str, tuple[str, str]] = {}
        for name, value in items:
            key = name.lower()
            if key in store:
                first_name, first_value = store[key]
                store[key] = (first_name, f"{first_value}, {value}")
            else:
                store[key] = (name, value)
        self._items = store

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return (original for original, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({dict(self._items.values())!r})"


@dataclass(frozen=True)
class RecordedRequest:
    """A request as the fake server received it, for assertions in tests.

    ``path`` has no query string (``/v1/models``); ``query`` maps each name to its last value,
    ``raw_query`` keeps the original string. ``json`` is the parsed body or None. ``form`` and
    ``files`` hold a parsed multipart/form-data body (empty otherwise).
    """

    method: str
    path: str
    raw_query: str
    query: dict[str, str]
    headers: Headers
    body: bytes
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, UploadedFile] = field(default_factory=dict)
    request_id: str = ""


class MultipartError(ValueError):
    """The body is not well-formed multipart/form-data."""


def header_param(value: str, param: str, header: str = "content-type") -> str | None:
    """Return one parameter of a structured header (``boundary``, ``name``...), unquoted."""
    message = Message()
    message[header] = value
    raw = message.get_param(param, header=header)
    if raw is None:
        return None
    return collapse_rfc2231_value(raw)


def parse_multipart(
    body: bytes, content_type: str
) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    """Split a multipart/form-data body into text fields and file parts (RFC 7578).

    A part with a ``filename`` is a file; any other part is a text field decoded as UTF-8.
    When a name repeats, the last part wins.
    """
    boundary = header_param(content_type, "boundary")
    if not boundary:
        raise MultipartError("multipart/form-data without a boundary")
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    pieces = (b"\r\n" + body).split(delimiter)
    if len(pieces) < 2:
        raise MultipartError("no multipart boundary found in the body")
    form: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    for piece in pieces[1:]:
        if piece.startswith(b"--"):
            return form, files
        line_end = piece.find(b"\r\n")
        if line_end < 0 or piece[:line_end].strip(b" \t"):
            raise MultipartError("malformed boundary line")
        part = piece[line_end + 2 :]
        if part.startswith(b"\r\n"):
            header_block, content = b"", part[2:]
        else:
            end = part.find(b"\r\n\r\n")
            if end < 0:
                raise MultipartError("part headers are not terminated")
            header_block, content = part[:end], part[end + 4 :]
        headers = HeaderParser().parsestr(header_block.decode("utf-8", "replace"))
        disposition = headers.get("content-disposition")
        if disposition is None:
            raise MultipartError("part without Content-Disposition")
        name = header_param(str(disposition), "name", "content-disposition")
        if name is None:
            raise MultipartError("part without a name")
        filename = header_param(str(disposition), "filename", "content-disposition")
        if filename is None:
            form[name] = content.decode("utf-8", "replace")
        else:
            part_type = str(headers.get("content-type", "")).strip()
            files[name] = UploadedFile(filename, part_type, content)
    raise MultipartError("missing closing boundary")
