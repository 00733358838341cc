"""The HTTP side of FakeOpenAIServer: connections, request framing, and response bytes.

A handler reads one request, takes its scripted faults, asks the simulator for the answer
(which never touches a socket) and writes it through a ``Wire`` that applies the delivery
faults. ``Core`` is everything the handlers share with the server object that owns them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ._api import Release, Response, StreamPlan
from ._faults import (
    EARLY_HINTS_LINK,
    ERROR_EVENT,
    MALFORMED_EVENT,
    Faults,
    StreamFault,
    Transport,
)
from ._records import Headers, MultipartError, RecordedRequest, UploadedFile, parse_multipart
from ._simulator import Simulator
from ._wire import Aborted, Wire

logger = logging.getLogger("aikit.testing")

_MAX_LINE = 65_536
_LIVE_POLL = 0.05  # how often a live stream waiting for its next event checks the client


class Core:
    """State shared by a server's connection handlers: simulator, faults, records, sockets."""

    def __init__(self, api_key: str | None, models: Iterable[str]) -> None:
        self.api_key = api_key
        self.chunk_delay = 0.0
        self.sim = Simulator(models)
        self.faults = Faults()
        self.stopping = self.sim.state.stopping  # shared: background jobs end with the server
        self.requests: list[RecordedRequest] = []
        self.requests_lock = threading.Lock()
        self.status_counts: Counter[int] = Counter()  # guarded by requests_lock
        self.connections: dict[socket.socket, threading.Thread] = {}
        self.connections_lock = threading.Lock()
        self.accepted = 0

    def record(self, request: RecordedRequest) -> None:
        with self.requests_lock:
            self.requests.append(request)

    def count_status(self, status: int) -> None:
        with self.requests_lock:
            self.status_counts[status] += 1

    def track(self, connection: socket.socket) -> None:
        with self.connections_lock:
            self.connections[connection] = threading.current_thread()
            self.accepted += 1

    def untrack(self, connection: socket.socket) -> None:
        with self.connections_lock:
            self.connections.pop(connection, None)


class HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False
    request_queue_size = 128  # load tests open dozens of connections at once
    timeout = 0.5  # handle_request() gives up if a connection vanished before accept()
    core: Core

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Client disconnects are routine here (drops, aborted streams): log, don't print."""
        logger.debug("connection error from %s", client_address, exc_info=True)


class HTTPServer6(HTTPServer):
    address_family = socket.AF_INET6


class _BadRequestBody(Exception):
    """The request body could not be read (bad Content-Length or chunked framing)."""


class Handler(BaseHTTPRequestHandler):
    """One connection; HTTP/1.1 keep-alive, so it may serve several requests in turn."""

    protocol_version = "HTTP/1.1"
    server_version = "aikit-FakeOpenAIServer/1"
    sys_version = ""
    server: HTTPServer
    _wire: Wire | None = None

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        core = self.server.core
        core.track(self.connection)
        if core.stopping.is_set():  # accepted just before stop(): refuse it at once
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.core.untrack(self.connection)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer http.server's own protocol errors (bad request line, unknown method) in JSON.

        Clients then see the same error shape and headers as for every other response,
        instead of an HTML page.
        """
        self.close_connection = True
        text = message or self.responses.get(code, ("HTTP error",))[0]
        with contextlib.suppress(OSError):
            self._send(Response.json({"error": _plain(text)}, code), self._ids())

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    # -- request ----------------------------------------------------------------------------

    def _ids(self) -> list[tuple[str, str]]:
        """The headers of a request the simulator never sees: its id and rate limits."""
        sim = self.server.core.sim
        number = sim.next_number("request")
        return [("x-request-id", f"req_{number}"), *sim.rate_limit_headers(number)]

    def _serve(self) -> None:
        core = self.server.core
        try:
            try:
                body = self._read_body()
            except _BadRequestBody as exc:
                self.close_connection = True  # the framing is lost: this connection is done
                self._send(Response.json({"error": _plain(str(exc))}, 400), self._ids())
                return
            number = core.sim.next_number("request")
            # Faults are taken before the request shows in ``requests``: a test that sees it
            # there can script the next fault without racing this request for it.
            transport = core.faults.take_transport()
            self._wire = Wire(self.connection, core.stopping, transport.cut, transport.pace)
            request = self._build_record(body, f"req_{number}")
            core.record(request)
            self._respond(request, number, transport)
        except (OSError, Aborted):  # the client went away, or a scripted cut ended the answer
            self.close_connection = True
            self._out().abort()
        finally:
            self._wire = None

    def _read_body(self) -> bytes:
        encoding = self.headers.get("Transfer-Encoding", "")
        if "chunked" in encoding.lower():
            return self._read_chunked()
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            return b""
        try:
            length = int(length_header)
        except ValueError:
            raise _BadRequestBody(f"Invalid Content-Length: {length_header!r}") from None
        if length < 0:
            raise _BadRequestBody(f"Invalid Content-Length: {length_header!r}")
        body = self.rfile.read(length)
        if len(body) != length:
            raise _BadRequestBody("The request body ended before Content-Length bytes")
        return body

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            line = self.rfile.readline(_MAX_LINE)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BadRequestBody(f"Invalid chunk size line: {line[:40]!r}") from None
            if size == 0:
                break
            chunk = self.rfile.read(size)
            if len(chunk) != size or self.rfile.read(2) != b"\r\n":
                raise _BadRequestBody("Truncated chunked request body")
            parts.append(chunk)
        while True:  # trailers, up to the empty line
            line = self.rfile.readline(_MAX_LINE)
            if line in (b"\r\n", b"\n", b""):
                break
        return b"".join(parts)

    def _build_record(self, body: bytes, request_id: str) -> RecordedRequest:
        split = urlsplit(self.path)
        headers = Headers(self.headers.items())
        content_type = headers.get("content-type", "")
        parsed: Any = None
        form: dict[str, str] = {}
        files: dict[str, UploadedFile] = {}
        if content_type.lower().startswith("multipart/form-data"):
            try:
                form, files = parse_multipart(body, content_type)
            except MultipartError as exc:
                logger.debug("unparsable multipart body: %s", exc)
        elif body:
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
        return RecordedRequest(
            method=self.command,
            path=split.path,
            raw_query=split.query,
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers=headers,
            body=body,
            json=parsed,
            form=form,
            files=files,
            request_id=request_id,
        )

    # -- response ---------------------------------------------------------------------------

    def _respond(self, request: RecordedRequest, number: int, transport: Transport) -> None:
        core = self.server.core
        wire = self._out()
        if transport.delay:
            wire.hold(transport.delay)  # ends early when the client leaves: no answer then
            if wire.client_gone():
                raise Aborted
        if core.stopping.is_set() or (transport.cut is not None and transport.cut.silent):
            raise Aborted
        if transport.early_hints:
            wire.head(self._head(103, [("Link", EARLY_HINTS_LINK)], dated=False))
        extra = [("x-request-id", request.request_id)]
        answer = transport.answer
        if answer is not None:
            response = Response(answer.status, answer.body, answer.content_type)
            limits = core.sim.rate_limit_headers(number, request)
            self._send(response, extra + limits, answer.headers)
        else:
            try:
                result = core.sim.handle(request, core.api_key)
            except Exception:
                logger.exception("FakeOpenAIServer failed on %s %s", request.method, request.path)
                message = "FakeOpenAIServer internal error (a bug in the simulator; see the log)."
                result = Response.json({"error": _plain(message, "server_error")}, 500)
            extra += core.sim.rate_limit_headers(number, request)
            if isinstance(result, StreamPlan):
                self._stream(result, extra)
            else:
                self._send(result, extra)
        wire.finish()

    def _out(self) -> Wire:
        if self._wire is None:  # a protocol error, answered before any request was read
            self._wire = Wire(self.connection, self.server.core.stopping)
        return self._wire

    def _head(
        self, status: int, headers: Iterable[tuple[str, str]], *, dated: bool = True
    ) -> bytes:
        reason = self.responses.get(status, ("",))[0]
        lines = [f"HTTP/1.1 {status} {reason}".rstrip()]
        if dated:
            lines.append(f"Server: {self.server_version}")
            lines.append(f"Date: {self.date_time_string()}")
        lines.extend(f"{name}: {value}" for name, value in headers)
        return b"".join(_header_line(line) for line in lines) + b"\r\n"

    def _send(
        self,
        response: Response,
        extra: Sequence[tuple[str, str]] = (),
        overrides: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Write a whole response (head and body), keeping the connection."""
        no_body = response.status < 200 or response.status in (204, 304)
        body = b"" if no_body else response.body
        merged: dict[str, tuple[str, str]] = {}
        base = [("Content-Type", response.content_type)] if not no_body else []
        base.append(("Content-Length", str(len(body))))
        for name, value in [*base, *extra, *response.headers, *overrides]:
            merged[name.lower()] = (name, value)
        if self.close_connection:
            merged["connection"] = ("Connection", "close")
        head = self._head(response.status, merged.values())
        self.server.core.count_status(response.status)
        self._out().send(head, b"" if self.command == "HEAD" else body)

    def _stream(self, plan: StreamPlan, extra: Sequence[tuple[str, str]]) -> None:
        core = self.server.core
        wire = self._out()
        fault, scripted = core.faults.take_stream()
        if scripted is not None:
            plan = StreamPlan(list(scripted), len(scripted), plan.terminator, plan.error_event)
        events = plan.events if plan.terminator is None else [*plan.events, plan.terminator]
        headers = [
            ("Content-Type", "text/event-stream; charset=utf-8"),
            ("Transfer-Encoding", "chunked"),
            ("Cache-Control", "no-cache"),
            *extra,
        ]
        wire.head(self._head(200, headers))
        core.count_status(200)
        if self.command == "HEAD":
            return
        trigger = -1
        if fault is not None:
            # Past the last event a fault replaces the terminator, or follows a stream that has
            # none (Responses), so it is always seen.
            last = plan.closing if fault.kind == "eof" else len(plan.events)
            trigger = min(fault.after_chunks, last)
        for index, event in enumerate(events):
            if index == trigger and fault is not None:
                self._stream_fault(wire, fault, plan, index)
                return
            if plan.release is not None and index < len(plan.events):  # paced by its job
                if not self._released(plan.release, index):
                    break  # a cancelled background job: its stream ends where the job stopped
            elif index and core.chunk_delay > 0 and core.stopping.wait(core.chunk_delay):
                raise Aborted
            wire.body(_chunk(event))
        else:
            if trigger == len(events) and fault is not None:
                self._stream_fault(wire, fault, plan, trigger)
                return
        wire.body(b"0\r\n\r\n")

    def _released(self, release: Release, index: int) -> bool:
        """Wait for event ``index`` of a live stream; False when it will never come."""
        core = self.server.core
        wire = self._out()
        while not release.wait(index, _LIVE_POLL):
            if release.withheld(index):
                return False
            if core.stopping.is_set() or wire.client_gone():
                raise Aborted
        return True

    def _stream_fault(self, wire: Wire, fault: StreamFault, plan: StreamPlan, index: int) -> None:
        if fault.kind == "drop":
            raise Aborted
        if fault.kind == "malformed":
            wire.body(_chunk(MALFORMED_EVENT))
        elif fault.kind == "error_event":
            event = plan.error_event(index) if plan.error_event is not None else ERROR_EVENT
            wire.body(_chunk(event))
        elif fault.kind == "stall":
            wire.hold(None)
            raise Aborted
        wire.body(b"0\r\n\r\n")  # "eof", or after the bad event: the body still ends properly


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def _header_line(line: str) -> bytes:
    """Latin-1 as HTTP has it; text beyond it (a hostile Location, say) goes out as UTF-8."""
    try:
        return line.encode("latin-1") + b"\r\n"
    except UnicodeEncodeError:
        return line.encode("utf-8") + b"\r\n"


def _plain(message: str, error_type: str = "invalid_request_error") -> dict[str, Any]:
    return {"message": message, "type": error_type, "param": None, "code": None}
