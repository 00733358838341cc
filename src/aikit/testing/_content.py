"""Deterministic stand-ins for model output: echo text, token counts, vectors, images, flags.

Everything here is a pure function of its input, so a test can predict every byte the fake
server sends without scripting it.
"""

from __future__ import annotations

import hashlib
import math
import re
import struct
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

JSONDict = dict[str, Any]

_WORD_PIECES = re.compile(r"\s*\S+\s*")

#: Words that make the fake moderation endpoint flag an input, and the categories they flag.
MODERATION_TRIGGERS: dict[str, tuple[str, ...]] = {
    "kill": ("violence", "harassment", "harassment/threatening"),
    "murder": ("violence", "harassment/threatening"),
    "hate": ("hate", "harassment"),
    "suicide": ("self-harm", "self-harm/intent"),
    "bomb": ("illicit", "illicit/violent", "violence"),
}

MODERATION_CATEGORIES: tuple[str, ...] = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)

#: Categories for which OpenAI also scores images (the others are text-only).
_IMAGE_CATEGORIES = frozenset(
    {
        "self-harm",
        "self-harm/intent",
        "self-harm/instructions",
        "sexual",
        "violence",
        "violence/graphic",
    }
)


def count_tokens(text: str) -> int:
    """Whitespace-separated words: a stable, tokenizer-free stand-in for token counts."""
    return len(text.split())


def content_text(content: Any) -> str:
    """The text of a message ``content``: the string itself, or its text parts joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        ]
        return " ".join(texts)
    return ""


def echo_reply(messages: Sequence[Any]) -> str:
    """The default assistant text, so a conversation runs offline with a predictable answer.

    After tool results it reports them ("Tool said: a | b"), otherwise it echoes the last user
    message ("Echo: ...").
    """
    tool_texts: list[str] = []
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "tool":
            tool_texts.append(content_text(message.get("content")))
        else:
            break
    if tool_texts:
        return "Tool said: " + " | ".join(reversed(tool_texts))
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return "Echo: " + content_text(message.get("content"))
    last = messages[-1] if messages else None
    return "Echo: " + (content_text(last.get("content")) if isinstance(last, dict) else "")


def split_words(text: str) -> list[str]:
    """Split text into stream pieces of one word each, spaces kept, so they join back exactly."""
    pieces = _WORD_PIECES.findall(text)
    if not pieces and text:
        return [text]
    return pieces


def split_every(text: str, size: int) -> list[str]:
    """Cut text into pieces of ``size`` characters (the last may be shorter)."""
    return [text[index : index + size] for index in range(0, len(text), size)]


def embedding_vector(text: str, dimensions: int) -> list[float]:
    """A unit vector derived from a hash of ``text``, already rounded to float32.

    Rounding to float32 up front makes the JSON floats and the base64 float32 bytes agree.
    """
    values: list[float] = []
    block = 0
    while len(values) < dimensions:
        digest = hashlib.sha256(f"{block}:{text}".encode()).digest()
        values.extend(n / 2**31 - 1.0 for (n,) in struct.iter_unpack("<I", digest))
        block += 1
    del values[dimensions:]
    norm = math.sqrt(sum(value * value for value in values)) or 1.0
    packed = struct.pack(f"<{dimensions}f", *(value / norm for value in values))
    return list(struct.unpack(f"<{dimensions}f", packed))


def float32_bytes(vector: Sequence[float]) -> bytes:
    """Little-endian float32 bytes, the payload of ``encoding_format: "base64"``."""
    return struct.pack(f"<{len(vector)}f", *vector)


def color_for(seed: str) -> tuple[int, int, int]:
    """An RGB colour derived from ``seed``, so each prompt gets its own recognisable image."""
    digest = hashlib.sha256(seed.encode()).digest()
    return digest[0], digest[1], digest[2]


def png_bytes(rgb: tuple[int, int, int], size: int = 8) -> bytes:
    """A valid ``size`` x ``size`` solid-colour RGB PNG, built with zlib and struct only."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    row = b"\x00" + bytes(rgb) * size
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * size))
        + chunk(b"IEND", b"")
    )


def moderation_result(texts: Iterable[str], has_image: bool = False) -> JSONDict:
    """One moderation result: flagged when a trigger word (see MODERATION_TRIGGERS) appears."""
    text = " ".join(texts)
    words = re.findall(r"[a-z]+", text.lower())
    hits: set[str] = set()
    for word in words:
        for trigger, flagged_categories in MODERATION_TRIGGERS.items():
            if word.startswith(trigger):
                hits.update(flagged_categories)
    digest = hashlib.sha256(text.encode()).digest()
    categories: dict[str, bool] = {}
    scores: dict[str, float] = {}
    applied: dict[str, list[str]] = {}
    for index, category in enumerate(MODERATION_CATEGORIES):
        flagged = category in hits
        categories[category] = flagged
        noise = digest[index] / 255
        scores[category] = round(0.9 + noise * 0.09, 6) if flagged else round(noise * 0.01, 6)
        applied[category] = (
            ["text", "image"] if has_image and category in _IMAGE_CATEGORIES else ["text"]
        )
    return {
        "flagged": bool(hits),
        "categories": categories,
        "category_scores": scores,
        "category_applied_input_types": applied,
    }


def error_body(
    message: str,
    error_type: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
) -> JSONDict:
    """OpenAI's error envelope; all four keys are always present, as in the spec."""
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


_DEFAULT_ERRORS: dict[int, tuple[str, str, str | None]] = {
    400: ("Bad request (simulated by FakeOpenAIServer).", "invalid_request_error", None),
    401: ("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
    403: ("Permission denied (simulated).", "invalid_request_error", "permission_denied"),
    404: ("Not found (simulated).", "invalid_request_error", "not_found"),
    408: ("Request timed out (simulated).", "timeout", None),
    409: ("Conflict (simulated).", "invalid_request_error", "conflict"),
    422: ("Unprocessable entity (simulated).", "invalid_request_error", None),
    429: ("Rate limit reached", "requests", "rate_limit_exceeded"),
    500: (
        "The server had an error while processing your request. Sorry about that!",
        "server_error",
        None,
    ),
    502: ("Bad gateway.", "server_error", None),
    503: ("The engine is currently overloaded, please try again later.", "server_error", None),
    504: ("Gateway timeout.", "server_error", None),
}


def default_error_body(status: int) -> JSONDict:
    """The error body ``fail_next(status)`` sends when no body is given."""
    if status in _DEFAULT_ERRORS:
        message, error_type, code = _DEFAULT_ERRORS[status]
    else:
        message = f"Simulated HTTP {status} from FakeOpenAIServer."
        error_type = "server_error" if status >= 500 else "invalid_request_error"
        code = None
    return error_body(message, error_type, None, code)
