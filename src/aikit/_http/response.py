"""What the transport hands back: status, headers and the body it read (never a socket)."""

from __future__ import annotations

import json
from typing import Any

import attrs

from .._headers import Headers

__all__ = ["HTTPResponse"]


@attrs.frozen
class HTTPResponse:
    """The parts of an HTTP response a result needs; parsed on the I/O thread."""

    status: int
    reason: str
    headers: Headers
    content: bytes = attrs.field(repr=False, default=b"")
    #: The JSON body, or None when the body is empty, not JSON, or HTML.
    json: Any = attrs.field(repr=False, default=None)

    @classmethod
    def parse_body(cls, content: bytes, content_type: str) -> Any:
        """JSON-decode ``content`` when it looks like JSON; None otherwise (4D's rule)."""
        text = content.lstrip()[:1]
        if not text or text == b"<" or "octet-stream" in content_type:
            return None
        if "json" not in content_type and text not in (b"{", b"["):
            return None
        try:
            return json.loads(content)
        except ValueError:
            return None
