"""Writing one response to its socket, applying the delivery faults the request took.

A cut (``drop_next``, ``truncate_next``, ``stall_next``) and a pace (``trickle_next``) change
how the bytes of an otherwise normal response reach the client, so they live here and apply
the same way to every endpoint, whole responses and streams alike; the handler only hands over
head and body bytes.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from typing import NoReturn

from ._faults import Cut, Pace

#: A trickled response is cut after this many seconds, so a slow script cannot hang a test run.
TRICKLE_LIMIT = 120.0
_POLL = 0.05


class Aborted(Exception):
    """The response was cut short on purpose, or the client left; unwinds the handler."""


class Wire:
    """The byte writer of one response; a plain one (no faults) sends a whole response at once."""

    def __init__(
        self,
        sock: socket.socket,
        stopping: threading.Event,
        cut: Cut | None = None,
        pace: Pace | None = None,
    ) -> None:
        self._sock = sock
        self._stopping = stopping
        self._cut = cut
        self._pace = pace
        self._budget: int | None = cut.after_bytes if cut is not None and not cut.in_body else None
        self._in_body = False
        self._trickle_deadline: float | None = None

    def send(self, head: bytes, body: bytes) -> None:
        """Write a whole response; in one send when no fault shapes it (one TCP segment)."""
        if self._cut is None and self._pace is None:
            self._sock.sendall(head + body)
            return
        self.head(head)
        if body:
            self.body(body)

    def head(self, data: bytes) -> None:
        """Write status line and headers (of the response or of an interim 1xx)."""
        self._write(data, body=False)

    def body(self, data: bytes) -> None:
        """Write body bytes (chunk framing included for a chunked body)."""
        if not self._in_body:
            self._in_body = True
            if self._cut is not None and self._cut.in_body:
                self._budget = self._cut.after_bytes
        self._write(data, body=True)

    def finish(self) -> None:
        """End the response: a scripted cut not reached yet still stalls (if asked) and closes."""
        if self._cut is not None:
            self._end()

    def abort(self) -> None:
        """Close the connection at once, without (more) response bytes."""
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)

    def hold(self, seconds: float | None) -> None:
        """Send nothing for ``seconds`` (None: no limit), until the client leaves or stop()."""
        deadline = None if seconds is None else time.monotonic() + seconds
        while True:
            wait = _POLL if deadline is None else min(_POLL, deadline - time.monotonic())
            if wait <= 0 or self._stopping.wait(wait) or self.client_gone():
                return

    def client_gone(self) -> bool:
        """True once the peer closed or reset the connection (EOF seen without consuming)."""
        try:
            readable, _, _ = select.select([self._sock], [], [], 0)
            if not readable:
                return False
            return bool(self._sock.recv(1, socket.MSG_PEEK) == b"")
        except (OSError, ValueError):
            return True

    def _write(self, data: bytes, body: bool) -> None:
        budget = self._budget
        if budget is not None:
            if len(data) >= budget:
                self._emit(data[:budget], body)
                self._end()
            self._budget = budget - len(data)
        self._emit(data, body)

    def _emit(self, data: bytes, body: bool) -> None:
        pace = self._pace
        if pace is None or (pace.phase == "body" and not body):
            self._sock.sendall(data)
            return
        for index in range(len(data)):
            if self._trickle_deadline is None:
                self._trickle_deadline = time.monotonic() + TRICKLE_LIMIT
            elif (
                self._stopping.wait(pace.interval)
                or self.client_gone()
                or time.monotonic() > self._trickle_deadline
            ):
                self.abort()
                raise Aborted
            self._sock.sendall(data[index : index + 1])

    def _end(self) -> NoReturn:
        cut = self._cut
        if cut is not None and cut.stall > 0:
            self.hold(cut.stall)
        self.abort()
        raise Aborted
