"""Incremental decoder for ``text/event-stream`` bodies (WHATWG HTML, "server-sent events").

Why our own decoder: ``requests``' ``iter_lines()`` turns a CRLF split across two network chunks
into a spurious blank line, which in SSE ends an event early (psf/requests#3980). This decoder is
fed raw bytes as they arrive (``iter_content(chunk_size=None)``) and yields the same events
whatever the chunk boundaries are. It does no I/O and never acts on ``retry:``.

Cost is linear in the input: each byte is looked at a bounded number of times, so a stream fed
one byte at a time stays O(n). The common case (OpenAI sends LF-only lines) is handled with
``bytes.rfind`` / ``str.split`` rather than a per-character loop.
"""

from __future__ import annotations

import attrs

__all__ = ["SSEDecoder", "ServerSentEvent"]

_BOM = b"\xef\xbb\xbf"
_LF = 0x0A
_CR = 0x0D
#: A dispatched event's ``(event, data, id, retry)``, as `ServerSentEvent` holds them.
Fields = tuple[str | None, str, str | None, int | None]


@attrs.frozen
class ServerSentEvent:
    """One dispatched event."""

    event: str | None = None
    """The ``event:`` field; None when absent or empty (the spec's default type "message")."""
    data: str = ""
    """The ``data:`` lines joined with "\\n"."""
    id: str | None = None
    """The last event id at dispatch time (it persists across events, as the spec requires)."""
    retry: int | None = None
    """The ``retry:`` value given in this event's block, if any."""


class SSEDecoder:
    """Turn arbitrary byte chunks into `ServerSentEvent` objects.

    Call `feed` with each chunk, then `flush` once at the end of the stream. A trailing event
    that was never terminated by a blank line is discarded (per spec); `pending` then tells the
    caller that the stream was cut short.
    """

    __slots__ = (
        "_bom_checked",
        "_buf",
        "_data",
        "_event",
        "_fields_seen",
        "_idle",
        "_retry",
        "_skip_lf",
        "last_event_id",
        "reconnection_time",
    )

    def __init__(self) -> None:
        self._buf = bytearray()  # bytes of the current, unterminated line (never holds a CR)
        self._bom_checked = False
        self._skip_lf = False  # the previous chunk ended with CR: a leading LF is part of CRLF
        self._event: str | None = None
        self._data: list[str] = []
        self._retry: int | None = None
        self._fields_seen = False  # a non-comment line since the last blank line
        self._idle = False  # nothing pending between events (see `decode`'s fast path)
        self.last_event_id: str | None = None
        """The spec's "last event ID buffer": persists across events, never reset."""
        self.reconnection_time: int | None = None
        """The last valid ``retry:`` value seen anywhere in the stream (milliseconds)."""

    @property
    def buffered_bytes(self) -> int:
        """Size of the event being assembled: lets a reader cap one event's memory."""
        return len(self._buf) + sum(len(line) for line in self._data)

    @property
    def pending(self) -> bool:
        """True when an unterminated line or event is buffered (the stream was truncated)."""
        return bool(self._buf) or self._fields_seen

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode one chunk; return the events it completed (possibly none)."""
        return [ServerSentEvent(*fields) for fields in self.decode(chunk)]

    def decode(self, chunk: bytes) -> list[Fields]:
        """`feed` without the event objects: ``(event, data, id, retry)`` tuples.

        The fast path is the shape OpenAI sends, one ``data: ...\\n\\n`` event per chunk
        between events: it decodes exactly as the general path would, in a few C calls.
        """
        if (
            self._idle
            and chunk.startswith(b"data: ")
            and chunk.find(b"\n", 6) == len(chunk) - 2
            and chunk[-1] == _LF
            and _CR not in chunk
        ):
            try:
                text = chunk.decode()  # what "replace" gives for valid UTF-8, without its cost
            except UnicodeDecodeError:
                text = chunk.decode("utf-8", "replace")
            return [(None, text[6:-2], self.last_event_id, None)]
        self._idle = False
        events = self._decode(chunk)
        self._idle = (
            self._bom_checked and not self._skip_lf and not self._buf and not self._fields_seen
        )
        return events

    def _decode(self, chunk: bytes) -> list[Fields]:
        if not chunk:
            return []
        if self._skip_lf or not self._bom_checked:
            chunk = self._start_of_chunk(chunk)
            if not chunk:
                return []
        if _CR in chunk:
            # A CR ending this chunk already terminated its line; remember to drop the LF that
            # may start the next chunk so that CRLF still counts as one line break.
            self._skip_lf = chunk[-1] == _CR
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if chunk[-1] == _LF:
            if not self._buf:  # the common case: whole lines only, nothing carried over
                lines = chunk.decode("utf-8", "replace").split("\n")
                lines.pop()  # the empty string after the final LF
                return self._process(lines)
            end = len(chunk) - 1
            rest = b""
        else:
            end = chunk.rfind(b"\n")
            if end < 0:
                self._buf += chunk
                return []
            rest = chunk[end + 1 :]
        if self._buf:
            self._buf += chunk[:end]
            segment = bytes(self._buf)
            self._buf.clear()
        else:
            segment = chunk[:end]
        if rest:
            self._buf += rest
        # Decoding the run of complete lines at once equals decoding line by line: LF is ASCII,
        # so it never belongs to a multi-byte sequence and ends any invalid one.
        return self._process(segment.decode("utf-8", "replace").split("\n"))

    def _start_of_chunk(self, chunk: bytes) -> bytes:
        """Strip a leading BOM (start of stream) or the LF of a CRLF split across chunks."""
        if not self._bom_checked:
            # One UTF-8 BOM is stripped at the very start; it may itself be split across chunks.
            if self._buf:
                chunk = bytes(self._buf) + chunk
                self._buf.clear()
            if len(chunk) < len(_BOM) and _BOM.startswith(chunk):
                self._buf += chunk
                return b""
            self._bom_checked = True
            if chunk.startswith(_BOM):
                chunk = chunk[len(_BOM) :]
        elif chunk[0] == _LF:
            self._skip_lf = False
            chunk = chunk[1:]
        else:
            self._skip_lf = False
        return chunk

    def flush(self) -> list[ServerSentEvent]:
        """End of stream: an unterminated trailing event is discarded, so this returns [].

        The buffered state is kept so that `pending` can still be read afterwards.
        """
        return []

    def _process(self, lines: list[str]) -> list[Fields]:
        events: list[Fields] = []
        data = self._data
        event = self._event
        retry = self._retry
        seen = self._fields_seen
        for line in lines:
            if line[:6] == "data: ":  # the overwhelmingly common line
                data.append(line[6:])
                seen = True
                continue
            if not line:
                if data:
                    text = data[0] if len(data) == 1 else "\n".join(data)
                    events.append((event, text, self.last_event_id, retry))
                    data = []
                # Per spec an event with an empty data buffer is not dispatched, only reset.
                event = None
                retry = None
                seen = False
                continue
            if line[0] == ":":
                continue  # comment (keep-alive)
            colon = line.find(":")
            if colon < 0:
                field, value = line, ""
            else:
                field = line[:colon]
                value = line[colon + 1 :]
                if value[:1] == " ":
                    value = value[1:]
            seen = True
            if field == "data":
                data.append(value)
            elif field == "event":
                event = value or None
            elif field == "id":
                if "\0" not in value:
                    self.last_event_id = value
            elif field == "retry" and value.isascii() and value.isdigit():
                retry = int(value)
                self.reconnection_time = retry
            # Any other field is ignored, as the spec requires.
        self._data = data
        self._event = event
        self._retry = retry
        self._fields_seen = seen
        return events
