"""FakeOpenAIServer: a local HTTP server speaking OpenAI's wire protocol, for tests and demos.

Like ``moto`` for boto3 it is a simulator, named as such: replies are deterministic (an echo
unless scripted), and faults (HTTP errors, delays, dropped connections, broken streams) can be
scripted per request, so a client's error handling can be tested over real sockets.
Only the standard library is used, so it runs wherever aikit's tests run.
"""

from __future__ import annotations

import contextlib
import json
import logging
import select
import selectors
import socket
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ._content import default_error_body
from ._records import Headers, MultipartError, RecordedRequest, UploadedFile, parse_multipart
from ._simulator import (
    ERROR_EVENT,
    MALFORMED_EVENT,
    STREAM_FAULT_KINDS,
    Failure,
    Response,
    ScriptedReply,
    ScriptedToolCall,
    Simulator,
    StreamFault,
    StreamPlan,
    dump_json,
)

__all__ = ["FakeOpenAIServer"]

logger = logging.getLogger("aikit.testing")

_MAX_LINE = 65_536
_POLL = 0.05


class _BadRequestBody(Exception):
    """The request body could not be read (bad Content-Length or chunked framing)."""


class _Dropped(Exception):
    """A scripted drop cut the response short; unwinds the handler."""


class FakeOpenAIServer:
    """An OpenAI-compatible simulator on 127.0.0.1, with scriptable replies and faults.

    ``api_key=None`` accepts any key (or none); otherwise requests need
    ``Authorization: Bearer <api_key>`` and get OpenAI's 401 body without it. Use it as a
    context manager or call ``start()``/``stop()``.

    Scripts are FIFOs consumed by requests in the order they *arrive*: each request takes at
    most one entry of each family. A request first waits its delay, then is dropped, or else
    gets its failure (delay, drop and fail apply to every endpoint; a reply script and a
    stream fault only to chat completions, and only when one is produced). So
    ``delay_next(1); fail_next(429)`` gives one slow 429. Script a fault before starting the
    call it is meant for, or after its request shows in ``requests`` (a request has taken its
    delay, drop and fail scripts by then): a call still in flight may not have arrived yet.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        models: Iterable[str] = (),
    ) -> None:
        self.api_key = api_key
        #: Seconds to wait between streamed chunks (slow streams for UI and cancel tests).
        self.chunk_delay: float = 0.0
        self._host = host
        self._requested_port = port
        self._sim = Simulator(models)
        self._requests: list[RecordedRequest] = []
        self._requests_lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._connections_lock = threading.Lock()

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> FakeOpenAIServer:
        """Bind and serve in a background daemon thread; returns self."""
        if self._httpd is not None:
            raise RuntimeError("FakeOpenAIServer is already running")
        self._stopping.clear()
        server_class = _HTTPServer6 if ":" in self._host else _HTTPServer
        httpd = server_class((self._host, self._requested_port), _Handler)
        httpd.fake = self
        self._httpd = httpd
        self._wake = wake = socket.socketpair()
        self._thread = threading.Thread(
            target=self._accept_loop,
            args=(httpd, wake[0]),
            name=f"FakeOpenAIServer:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def _accept_loop(self, httpd: _HTTPServer, wake: socket.socket) -> None:
        """Accept connections until stop() writes to ``wake``.

        Unlike ``serve_forever`` there is no polling interval, so stop() returns at once
        (it runs after every test that uses the fixture).
        """
        with selectors.DefaultSelector() as selector:
            selector.register(httpd, selectors.EVENT_READ)
            selector.register(wake, selectors.EVENT_READ)
            while not self._stopping.is_set():
                for key, _ in selector.select():
                    if key.fileobj is httpd and not self._stopping.is_set():
                        httpd.handle_request()

    def stop(self) -> None:
        """Stop serving, cut open connections (ending delays and stalls), join the threads."""
        httpd, thread, wake = self._httpd, self._thread, self._wake
        if httpd is None or wake is None:
            return
        self._stopping.set()
        wake_reader, wake_writer = wake
        with contextlib.suppress(OSError):
            wake_writer.send(b"x")
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)
        httpd.server_close()
        wake_reader.close()
        wake_writer.close()
        with self._connections_lock:
            connections = dict(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + 2.0
        for handler_thread in connections.values():
            if handler_thread is not threading.current_thread():
                handler_thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self._httpd = None
        self._thread = None
        self._wake = None

    def __enter__(self) -> FakeOpenAIServer:
        if self._httpd is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self._httpd is not None else "stopped"
        return f"<FakeOpenAIServer (simulator) {where}>"

    @property
    def port(self) -> int:
        """The bound port (chosen by the OS when 0 was asked)."""
        if self._httpd is None:
            raise RuntimeError("FakeOpenAIServer is not running; call start() first")
        return int(self._httpd.server_address[1])

    @property
    def open_connections(self) -> int:
        """Client connections open right now: lets a test check that a client closed its own."""
        with self._connections_lock:
            return len(self._connections)

    @property
    def url(self) -> str:
        """The base URL to give a client, ending in ``/v1``."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}/v1"

    # -- recorded requests ------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, oldest first."""
        with self._requests_lock:
            return list(self._requests)

    @property
    def last_request(self) -> RecordedRequest | None:
        """The most recent request, or None."""
        with self._requests_lock:
            return self._requests[-1] if self._requests else None

    def clear(self) -> None:
        """Forget recorded requests and every scripted reply and fault not yet used."""
        with self._requests_lock:
            self._requests.clear()
        self._sim.clear_scripts()

    def reset(self) -> None:
        """``clear()``, and also forget stored completions, files, images and models seen."""
        self.clear()
        self._sim.clear_state()

    # -- scripting --------------------------------------------------------------------------

    def fail_next(
        self,
        status: int,
        headers: Mapping[str, object] | None = None,
        body: Mapping[str, Any] | str | bytes | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests with ``status`` (any endpoint).

        ``body`` defaults to OpenAI's error body for that status; a mapping is sent as JSON,
        str/bytes as is. ``headers`` (e.g. ``retry-after``) override the default headers.
        """
        if not 100 <= status <= 599:
            raise ValueError(f"status must be an HTTP status code, got {status!r}")
        header_items = tuple(_header_items(headers))
        if body is None:
            payload, content_type = dump_json(default_error_body(status)), "application/json"
        elif isinstance(body, Mapping):
            payload, content_type = dump_json(dict(body)), "application/json"
        elif isinstance(body, (str, bytes)):
            payload = body.encode() if isinstance(body, str) else body
            content_type = _guess_content_type(payload)
        else:
            raise TypeError(f"body must be a dict, str or bytes, got {type(body).__name__}")
        failure = Failure(status, header_items, payload, content_type)
        with self._sim.lock:
            self._sim.failures.extend([failure] * _times(times))

    def delay_next(self, seconds: float, times: int = 1) -> None:
        """Make the next ``times`` requests wait ``seconds`` before any answer (stop() ends it)."""
        if seconds < 0:
            raise ValueError(f"seconds must be >= 0, got {seconds!r}")
        with self._sim.lock:
            self._sim.delays.extend([float(seconds)] * _times(times))

    def drop_next(self, times: int = 1, *, after_bytes: int = 0) -> None:
        """Read the next ``times`` requests, then close the connection.

        By default no response byte is sent (the client sees a connection error before any
        response). With ``after_bytes`` the first bytes of the response (status line, headers,
        body) are sent before the close: a truncated response.
        """
        if isinstance(after_bytes, bool) or not isinstance(after_bytes, int) or after_bytes < 0:
            raise ValueError(f"after_bytes must be an int >= 0, got {after_bytes!r}")
        with self._sim.lock:
            self._sim.drops.extend([after_bytes] * _times(times))

    def stream_fault_next(self, kind: str, after_chunks: int = 0) -> None:
        """Break the next streamed chat completion after ``after_chunks`` events.

        ``"drop"`` closes the socket (no ``[DONE]``, no final chunk of the chunked body);
        ``"malformed"`` sends ``data: {not json``; ``"error_event"`` sends an in-band
        ``{"error": ...}`` event; ``"stall"`` stops sending but keeps the socket open until the
        client leaves or the server stops. Non-streamed requests leave it queued.
        """
        if kind not in STREAM_FAULT_KINDS:
            raise ValueError(f"kind must be one of {STREAM_FAULT_KINDS}, got {kind!r}")
        if after_chunks < 0:
            raise ValueError(f"after_chunks must be >= 0, got {after_chunks!r}")
        with self._sim.lock:
            self._sim.stream_faults.append(StreamFault(kind, after_chunks))

    def reply_next(
        self,
        text: str | None = None,
        *,
        tool_calls: Sequence[Mapping[str, Any]] | None = None,
        finish_reason: str | None = None,
        usage: Mapping[str, Any] | None = None,
        times: int = 1,
    ) -> None:
        """Script the next ``times`` chat completion replies (streamed or not).

        ``text`` None with no tool calls keeps the echo text. ``tool_calls`` items are
        ``{"name": ..., "arguments": dict | JSON str, "id": optional}``; with them
        ``finish_reason`` defaults to ``"tool_calls"``, else ``"stop"``. ``usage`` replaces the
        computed usage object.
        """
        if text is not None and not isinstance(text, str):
            raise TypeError(f"text must be a str or None, got {type(text).__name__}")
        reply = ScriptedReply(
            text=text,
            tool_calls=tuple(_scripted_call(call) for call in tool_calls or ()),
            finish_reason=finish_reason,
            usage=dict(usage) if usage is not None else None,
        )
        with self._sim.lock:
            self._sim.replies.extend([reply] * _times(times))

    def stream_tokens_next(self, n: int, times: int = 1) -> None:
        """Script replies of exactly ``n`` content chunks, ``"tok0 "``, ``"tok1 "``, ...

        For long-stream tests: the non-streamed form of the same reply is the joined text.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n!r}")
        reply = ScriptedReply(chunks=tuple(f"tok{index} " for index in range(n)))
        with self._sim.lock:
            self._sim.replies.extend([reply] * _times(times))

    # -- used by the handler ----------------------------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._requests_lock:
            self._requests.append(request)

    def _track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections[connection] = threading.current_thread()

    def _untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.pop(connection, None)


def _times(times: int) -> int:
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise ValueError(f"times must be an int >= 1, got {times!r}")
    return times


def _header_items(headers: Mapping[str, object] | None) -> Iterable[tuple[str, str]]:
    for name, value in (headers or {}).items():
        text = str(value)
        if any(c in name + text for c in "\r\n") or not name:
            raise ValueError(f"invalid header {name!r}: {text!r}")
        yield name, text


def _guess_content_type(payload: bytes) -> str:
    try:
        json.loads(payload)
    except ValueError:
        return "text/plain; charset=utf-8"
    return "application/json"


def _scripted_call(call: Mapping[str, Any]) -> ScriptedToolCall:
    if not isinstance(call, Mapping):
        raise TypeError(f"each tool call must be a dict, got {type(call).__name__}")
    name = call.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"a tool call needs a non-empty 'name', got {call!r}")
    arguments = call.get("arguments", {})
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments)
    call_id = call.get("id")
    if call_id is not None and not isinstance(call_id, str):
        raise TypeError(f"a tool call 'id' must be a str, got {type(call_id).__name__}")
    return ScriptedToolCall(name, arguments, call_id)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False
    request_queue_size = 128  # load tests open dozens of connections at once
    timeout = 0.5  # handle_request() gives up if a connection vanished before accept()
    fake: FakeOpenAIServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Client disconnects are routine here (drops, aborted streams): log, don't print."""
        logger.debug("connection error from %s", client_address, exc_info=True)


class _HTTPServer6(_HTTPServer):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    """One connection; HTTP/1.1 keep-alive, so it may serve several requests in turn."""

    protocol_version = "HTTP/1.1"
    server_version = "aikit-FakeOpenAIServer/1"
    sys_version = ""
    server: _HTTPServer
    _byte_budget: int | None = None

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        fake = self.server.fake
        fake._track(self.connection)
        if fake._stopping.is_set():  # accepted just before stop(): refuse it at once
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._untrack(self.connection)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer http.server's own protocol errors (bad request line, unknown method) in JSON.

        Clients then see the same error shape and headers as for every other response,
        instead of an HTML page.
        """
        fake = self.server.fake
        self.close_connection = True
        number = fake._sim.next_number("request")
        extra = [("x-request-id", f"req_{number}"), *fake._sim.rate_limit_headers(number)]
        text = message or self.responses.get(code, ("HTTP error",))[0]
        with contextlib.suppress(OSError):
            self._send(Response.json({"error": _plain(text)}, code), extra)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    # -- request ----------------------------------------------------------------------------

    def _serve(self) -> None:
        fake = self.server.fake
        try:
            try:
                body = self._read_body()
            except _BadRequestBody as exc:
                self.close_connection = True  # the framing is lost: this connection is done
                number = fake._sim.next_number("request")
                extra = [("x-request-id", f"req_{number}"), *fake._sim.rate_limit_headers(number)]
                self._send(Response.json({"error": _plain(str(exc))}, 400), extra)
                return
            number = fake._sim.next_number("request")
            # Faults are taken before the request shows in ``requests``: a test that sees it
            # there can script the next fault without racing this request for it.
            faults = fake._sim.pop_transport_faults()
            request = self._build_record(body, f"req_{number}")
            fake._record(request)
            self._respond(fake, request, number, faults)
        except (OSError, _Dropped):  # the client went away, or a scripted drop cut us off
            self.close_connection = True
        finally:
            self._byte_budget = None

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

    def _respond(
        self,
        fake: FakeOpenAIServer,
        request: RecordedRequest,
        number: int,
        faults: tuple[float | None, int | None, Failure | None],
    ) -> None:
        delay, drop, failure = faults
        if delay and fake._stopping.wait(delay):
            self._abort()
            return
        if drop == 0 or fake._stopping.is_set():
            self._abort()
            return
        self._byte_budget = drop
        extra = [("x-request-id", request.request_id)]
        if failure is not None:
            response = Response(failure.status, failure.body, failure.content_type)
            self._send(response, extra + fake._sim.rate_limit_headers(number), failure.headers)
            return
        try:
            result = fake._sim.handle(request, fake.api_key)
        except Exception:
            logger.exception("FakeOpenAIServer failed on %s %s", request.method, request.path)
            message = "FakeOpenAIServer internal error (a bug in the simulator; see the log)."
            result = Response.json({"error": _plain(message, "server_error")}, 500)
        extra += fake._sim.rate_limit_headers(number)
        if isinstance(result, StreamPlan):
            self._stream(fake, result, extra)
        else:
            self._send(result, extra)

    def _head(self, status: int, headers: Iterable[tuple[str, str]]) -> bytes:
        reason = self.responses.get(status, ("",))[0]
        lines = [f"HTTP/1.1 {status} {reason}".rstrip()]
        lines.append(f"Server: {self.server_version}")
        lines.append(f"Date: {self.date_time_string()}")
        lines.extend(f"{name}: {value}" for name, value in headers)
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")

    def _send(
        self,
        response: Response,
        extra: Sequence[tuple[str, str]] = (),
        overrides: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Write a whole response in one send (head and body), keeping the connection."""
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
        self._write(head if self.command == "HEAD" else head + body)

    def _stream(
        self, fake: FakeOpenAIServer, plan: StreamPlan, extra: Sequence[tuple[str, str]]
    ) -> None:
        headers = [
            ("Content-Type", "text/event-stream; charset=utf-8"),
            ("Transfer-Encoding", "chunked"),
            ("Cache-Control", "no-cache"),
            *extra,
        ]
        self._write(self._head(200, headers))
        if self.command == "HEAD":
            return
        fault = plan.fault
        trigger = min(fault.after_chunks, len(plan.events) - 1) if fault else -1
        for index, event in enumerate(plan.events):
            if index == trigger and fault is not None:
                self._stream_fault(fake, fault.kind)
                return
            if index and fake.chunk_delay > 0 and fake._stopping.wait(fake.chunk_delay):
                self._abort()
                return
            self._write_chunk(event)
        self._write(b"0\r\n\r\n")

    def _write_chunk(self, data: bytes) -> None:
        self._write(b"%x\r\n%s\r\n" % (len(data), data))

    def _write(self, data: bytes) -> None:
        """Send bytes at once (the writer is unbuffered), honouring a scripted byte budget."""
        budget = self._byte_budget
        if budget is not None:
            if len(data) >= budget:
                self.wfile.write(data[:budget])
                self._abort()
                raise _Dropped
            self._byte_budget = budget - len(data)
        self.wfile.write(data)

    def _stream_fault(self, fake: FakeOpenAIServer, kind: str) -> None:
        if kind == "drop":
            self._abort()
        elif kind in ("malformed", "error_event"):
            self._write_chunk(MALFORMED_EVENT if kind == "malformed" else ERROR_EVENT)
            self._write(b"0\r\n\r\n")
        else:  # stall
            while not fake._stopping.wait(_POLL):
                if self._client_gone():
                    break
            self._abort()

    def _client_gone(self) -> bool:
        """True once the peer closed or reset the connection (EOF seen without consuming)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            return bool(self.connection.recv(1, socket.MSG_PEEK) == b"")
        except (OSError, ValueError):
            return True

    def _abort(self) -> None:
        """Close the connection at once, without (more) response bytes."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


def _plain(message: str, error_type: str = "invalid_request_error") -> dict[str, Any]:
    return {"message": message, "type": error_type, "param": None, "code": None}
