"""Streaming ``multipart/form-data`` bodies for uploads (4D ``_formData``, fixed).

Why not ``requests``' ``files=``: it loads every file into memory and cannot re-read a file
object for a retry. `MultipartBody` knows its exact length up front and re-reads each file from
the start every time it is iterated, in 64 KiB pieces, so large files stream from disk and a
retry re-sends the full content.

Use with requests (``data=`` accepts an object with ``__iter__`` and ``__len__``: requests takes
the length from ``__len__`` via ``super_len`` and sends ``Content-Length``, not chunked)::

    body = MultipartBody([("purpose", "assistants")], [("file", file_part(path))])
    session.post(url, data=body, headers={"Content-Type": body.content_type})

Layout as 4D (fields first, then files; ``--B`` CRLF, headers, CRLF, value, CRLF), except that
the body ends with the standard ``--B--`` CRLF (4D omitted the final CRLF).
"""

from __future__ import annotations

import io
import os
import pathlib
import re
import uuid
from collections.abc import Iterator
from typing import IO, Any, BinaryIO, TypeAlias

import attrs

from .._mime import DEFAULT_MIME_TYPE, mime_type

__all__ = ["UNNAMED", "FileContent", "FilePart", "FileTypes", "MultipartBody", "file_part"]

CHUNK_SIZE = 64 * 1024

#: 4D's name for content that brings none (bytes, an unnamed file object), sent as
#: ``application/octet-stream``. The API reads the type from the extension, so name anything
#: that is not a PDF.
UNNAMED = "file.pdf"

FileContent: TypeAlias = "str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]"
"""What an upload can be: a path, bytes, or a binary file object."""
FileTypes: TypeAlias = (
    "FileContent | tuple[str | None, FileContent] | tuple[str | None, FileContent, str | None]"
)
"""`FileContent`, or ``(filename, content)`` / ``(filename, content, content_type)``."""

# RFC 2046 boundary: 1-70 bchars, not ending with a space.
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
_TOKEN = re.compile(r"[0-9A-Za-z'+_.\-]+")
_ESCAPES = str.maketrans({'"': "%22", "\r": "%0D", "\n": "%0A"})


@attrs.frozen
class FilePart:
    """One file of a multipart body."""

    filename: str
    """Sent as the part's ``filename``."""
    content_type: str
    """Sent as the part's ``Content-Type``."""
    source: pathlib.Path | bytes | BinaryIO
    """The content. A path is opened on each iteration; a file object is rewound with
    ``seek(0)`` on each iteration (it must be seekable; `file_part` reads non-seekable objects
    into bytes)."""


def file_part(file: FileTypes | FilePart, *, filename: str | None = None) -> FilePart:
    """Normalise an upload argument into a `FilePart`.

    Args:
        file: a path (``str`` or ``os.PathLike``), ``bytes``/``bytearray``/``memoryview``, a
            binary file object, or a tuple ``(filename, content[, content_type])``.
        filename: used when the tuple gives none (None and "" count as none). Otherwise the
            path's name, else the file object's ``name`` (basename), else `UNNAMED`
            (``file.pdf``, as 4D names unnamed bytes).

    The content type comes from the tuple, else from the filename's extension
    (``application/octet-stream`` when unknown or absent, and for unnamed content, as in 4D).

    Raises:
        FileNotFoundError: the path does not exist (the message names it).
        IsADirectoryError: the path is a directory.
        TypeError: ``file`` is of another type, or a text file object.
    """
    if isinstance(file, FilePart):
        if not filename:
            return file
        return attrs.evolve(file, filename=filename)
    content_type: str | None = None
    if isinstance(file, tuple):
        if len(file) not in (2, 3):
            raise TypeError(
                f"file: a tuple must be (filename, content) or (filename, content, "
                f"content_type), got {len(file)} items"
            )
        name = file[0]
        if name is not None and not isinstance(name, str):
            raise TypeError(f"file: the tuple's filename must be a str, not {_type(name)}")
        if len(file) == 3:
            content_type = file[2]
            if content_type is not None and not isinstance(content_type, str):
                raise TypeError(
                    f"file: the tuple's content_type must be a str, not {_type(content_type)}"
                )
        if name:
            filename = name
        file = file[1]
        if isinstance(file, (tuple, FilePart)):
            raise TypeError(f"file: the tuple's content cannot be a {_type(file)}")
    source: pathlib.Path | bytes | BinaryIO
    if isinstance(file, (str, os.PathLike)):
        path = pathlib.Path(os.fspath(file))
        if not path.exists():
            raise FileNotFoundError(2, "No such file", str(path))
        if path.is_dir():
            raise IsADirectoryError(21, "Is a directory", str(path))
        source = path
        default_name = path.name
    elif isinstance(file, (bytes, bytearray, memoryview)):
        source = bytes(file)  # a snapshot: the length must not change after this
        default_name = ""
    elif callable(getattr(file, "read", None)):
        source, default_name = _file_object(file)
    else:
        raise TypeError(
            "file must be a path, bytes, a binary file object or a (filename, content) tuple, "
            f"not {_type(file)}"
        )
    name = filename or default_name
    if content_type is None:
        content_type = mime_type(name) if "." in name else DEFAULT_MIME_TYPE
    return FilePart(filename=name or UNNAMED, content_type=content_type, source=source)


def _file_object(file: Any) -> tuple[bytes | BinaryIO, str]:
    if isinstance(file, io.TextIOBase):
        raise TypeError("file is a text file object; open it in binary mode ('rb')")
    name = getattr(file, "name", None)
    default_name = os.path.basename(name) if isinstance(name, str) and name else ""
    try:
        seekable = bool(file.seekable())
    except (AttributeError, OSError, ValueError):
        seekable = False
    if not seekable:
        data = file.read()
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError(f"file: read() returned {_type(data)}, expected bytes")
        return bytes(data), default_name
    probe = file.read(0)  # costs nothing, and tells text from binary for any file-like object
    if not isinstance(probe, (bytes, bytearray)):
        raise TypeError(f"file: read() returned {_type(probe)}, expected bytes")
    return file, default_name


def _type(value: object) -> str:
    return type(value).__name__


def _quote(value: str) -> bytes:
    """Escape a name or filename for a Content-Disposition parameter, as browsers do."""
    return value.translate(_ESCAPES).encode("utf-8")


@attrs.frozen
class _FileSegment:
    part: FilePart
    size: int


class MultipartBody:
    """A re-iterable ``multipart/form-data`` body of exact, known length.

    The sizes of path and file-object sources are measured here, once; each iteration then
    sends exactly that many bytes and raises `OSError` if a file changed size meanwhile
    (sending a different length than announced would corrupt the request).
    """

    def __init__(
        self,
        fields: list[tuple[str, str]],
        files: list[tuple[str, FilePart]],
        boundary: str | None = None,
    ) -> None:
        """Build the body.

        Args:
            fields: ``(name, value)`` text parts, sent first, in order.
            files: ``(name, FilePart)`` file parts, sent after the fields, in order.
            boundary: defaults to a random ``uuid4().hex``.

        Raises:
            ValueError: an invalid boundary, or a content type containing CR/LF.
            TypeError: a field name or value that is not a ``str``.
            OSError: a path source can no longer be read.
        """
        if boundary is None:
            boundary = uuid.uuid4().hex
        elif not _BOUNDARY.fullmatch(boundary):
            raise ValueError(f"boundary: {boundary!r} is not a valid multipart boundary")
        self.boundary = boundary
        quoted = boundary if _TOKEN.fullmatch(boundary) else f'"{boundary}"'
        self.content_type = f"multipart/form-data; boundary={quoted}"
        """The value for the request's ``Content-Type`` header."""

        dash = b"--" + boundary.encode("ascii")
        segments: list[bytes | _FileSegment] = []
        pending = bytearray()  # consecutive static bytes, sent as one piece
        for name, value in fields:
            if not isinstance(name, str) or not isinstance(value, str):
                raise TypeError(f"fields: name and value must be str, got {name!r}: {value!r}")
            pending += dash + b'\r\nContent-Disposition: form-data; name="' + _quote(name)
            pending += b'"\r\n\r\n' + value.encode("utf-8") + b"\r\n"
        for name, part in files:
            if not isinstance(name, str):
                raise TypeError(f"files: the field name must be str, got {name!r}")
            if "\r" in part.content_type or "\n" in part.content_type:
                raise ValueError(f"content type {part.content_type!r} contains a line break")
            pending += dash + b'\r\nContent-Disposition: form-data; name="' + _quote(name)
            pending += b'"; filename="' + _quote(part.filename) + b'"\r\nContent-Type: '
            pending += part.content_type.encode("utf-8") + b"\r\n\r\n"
            source = part.source
            if isinstance(source, bytes) and len(source) <= CHUNK_SIZE:
                pending += source
            else:
                segments.append(bytes(pending))
                pending.clear()
                segments.append(_FileSegment(part, _measure(source)))
            pending += b"\r\n"
        pending += dash + b"--\r\n"
        segments.append(bytes(pending))
        self._segments = tuple(segments)
        self._length = sum(s.size if isinstance(s, _FileSegment) else len(s) for s in segments)

    def __len__(self) -> int:
        """The exact byte length, so requests sends ``Content-Length`` rather than chunks."""
        return self._length

    def __iter__(self) -> Iterator[bytes]:
        """Yield the whole body, re-reading every file from its start."""
        for segment in self._segments:
            if isinstance(segment, bytes):
                yield segment
            else:
                yield from _read_source(segment.part, segment.size)

    def __repr__(self) -> str:
        return f"<MultipartBody boundary={self.boundary!r} length={self._length}>"


def _measure(source: pathlib.Path | bytes | BinaryIO) -> int:
    if isinstance(source, bytes):
        return len(source)
    if isinstance(source, pathlib.Path):
        return source.stat().st_size
    source.seek(0, os.SEEK_END)
    return source.tell()


def _read_source(part: FilePart, size: int) -> Iterator[bytes]:
    source = part.source
    if isinstance(source, bytes):
        yield source
    elif isinstance(source, pathlib.Path):
        with source.open("rb") as f:
            yield from _read_exactly(f, size, part.filename)
    else:
        source.seek(0)
        yield from _read_exactly(source, size, part.filename)


def _read_exactly(f: IO[bytes], size: int, filename: str) -> Iterator[bytes]:
    remaining = size
    while remaining > 0:
        piece = f.read(min(CHUNK_SIZE, remaining))
        if not piece:
            raise OSError(f"{filename!r} shrank during upload (expected {size} bytes)")
        remaining -= len(piece)
        yield piece
    if f.read(1):
        raise OSError(f"{filename!r} grew during upload (expected {size} bytes)")
