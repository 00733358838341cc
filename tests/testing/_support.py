"""Small wire-level helpers: an SSE splitter and a raw HTTP/1.1 client that shows the chunks."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from aikit.testing import FakeOpenAIServer


def sse_data(raw: bytes) -> list[str]:
    """The ``data`` of each SSE event in ``raw`` (enough of the SSE rules for these tests)."""
    events: list[str] = []
    for block in raw.decode("utf-8").replace("\r\n", "\n").split("\n\n"):
        lines = [
            line[5:].removeprefix(" ") for line in block.split("\n") if line.startswith("data:")
        ]
        if lines:
            events.append("\n".join(lines))
    return events


def sse_chunks(raw: bytes) -> list[dict[str, Any]]:
    """The parsed chat.completion.chunk objects of a stream, ``[DONE]`` excluded."""
    return [json.loads(data) for data in sse_data(raw) if data != "[DONE]"]


def chat_body(text: str = "hello there", **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}], **extra}


class RawConnection:
    """A bare socket speaking HTTP/1.1, so tests can see chunk boundaries and disconnects."""

    def __init__(self, server: FakeOpenAIServer, timeout: float = 5.0) -> None:
        parts = urlsplit(server.url)
        assert parts.hostname and parts.port
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        self.buffer = b""

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        data = (
            json.dumps(body).encode()
            if body is not None and not isinstance(body, bytes)
            else body or b""
        )
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
        all_headers = {"Content-Length": str(len(data)), "Content-Type": "application/json"}
        all_headers.update(headers or {})
        lines += [f"{name}: {value}" for name, value in all_headers.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + data)

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        self.buffer += data
        return bool(data)

    def read_line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            if not self._fill():
                raise ConnectionError("connection closed")
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def read_exact(self, size: int) -> bytes:
        while len(self.buffer) < size:
            if not self._fill():
                raise ConnectionError("connection closed")
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def read_head(self) -> tuple[int, dict[str, str]]:
        status = int(self.read_line().split()[1])
        headers: dict[str, str] = {}
        while line := self.read_line():
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        return status, headers

    def read_body(self, headers: dict[str, str]) -> bytes:
        if headers.get("transfer-encoding") == "chunked":
            return b"".join(self.iter_chunks())
        return self.read_exact(int(headers.get("content-length", "0")))

    def read_chunk(self) -> bytes | None:
        """One HTTP chunk's payload; None for the terminating zero-size chunk."""
        size = int(self.read_line().split(b";")[0], 16)
        if size == 0:
            self.read_line()
            return None
        data = self.read_exact(size)
        assert self.read_exact(2) == b"\r\n"
        return data

    def iter_chunks(self) -> list[bytes]:
        chunks = []
        while (chunk := self.read_chunk()) is not None:
            chunks.append(chunk)
        return chunks


def wait_until(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    """Poll ``condition`` until true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)
