"""File extension -> MIME type, the table of 4D AIKit's ``_MimeTypes``.

The table is kept as 4D has it (so uploads label files the same way), with one deliberate fix:
``jsonl`` maps to ``application/jsonl`` instead of 4D's ``application/json`` (a 4D gotcha; the
Files and Batch APIs take JSON Lines). It is read-only: 4D's ``setMimeType`` mutated a
process-wide singleton, which is hidden shared state.
"""

from __future__ import annotations

import os
from types import MappingProxyType

__all__ = ["DEFAULT_MIME_TYPE", "MIME_TYPES", "mime_type"]

DEFAULT_MIME_TYPE = "application/octet-stream"

MIME_TYPES: MappingProxyType[str, str] = MappingProxyType(
    {
        "c": "text/x-c",
        "cs": "text/x-csharp",
        "cpp": "text/x-c++",
        "csv": "text/csv",
        "doc": "application/msword",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "html": "text/html",
        "java": "text/x-java",
        "json": "application/json",
        "jsonl": "application/jsonl",  # deliberate fix: 4D says application/json
        "md": "text/markdown",
        "pdf": "application/pdf",
        "php": "text/x-php",
        "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "py": "text/x-python",
        "rb": "text/x-ruby",
        "tex": "text/x-tex",
        "txt": "text/plain",
        "css": "text/css",
        "js": "text/javascript",
        "sh": "application/x-sh",
        "ts": "application/typescript",
        "jpeg": "image/jpeg",
        "jpg": "image/jpeg",
        "gif": "image/gif",
        "pkl": "application/octet-stream",
        "png": "image/png",
        "tar": "application/x-tar",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xml": "application/xml",
        "zip": "application/zip",
    }
)
"""Lower-case extension (no dot) -> MIME type."""


def mime_type(filename_or_ext: str | os.PathLike[str]) -> str:
    """MIME type for a file name, a path or a bare extension (``"pdf"``, ``".pdf"``).

    As in 4D, the text after the last dot is looked up case-insensitively (the whole name when
    there is no dot); unknown -> ``application/octet-stream``. Only the last path component is
    considered, so a dot in a folder name does not count.
    """
    name = os.fspath(filename_or_ext)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    ext = name.rsplit(".", 1)[-1].lower()
    return MIME_TYPES.get(ext, DEFAULT_MIME_TYPE)
