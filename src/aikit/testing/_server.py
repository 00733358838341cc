"""FakeOpenAIServer: a local HTTP server speaking OpenAI's wire protocol, for tests and demos.

Like ``moto`` for boto3 it is a simulator, named as such: replies are deterministic (an echo
unless scripted), and faults (HTTP errors, redirects, delays, slow or cut responses, broken
streams, hostile bodies) can be scripted per request, so a client's error handling can be
tested over real sockets. Only the standard library is used (and aikit's key masking), so it
runs wherever aikit's tests run.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterable
from types import TracebackType

from ._handler import Core, Handler, HTTPServer, HTTPServer6
from ._records import RecordedRequest
from ._scripting import FaultScripting

__all__ = ["FakeOpenAIServer"]


class FakeOpenAIServer(FaultScripting):
    """An OpenAI-compatible simulator on 127.0.0.1, with scriptable replies and faults.

    ``api_key=None`` accepts any key (or none); otherwise requests need
    ``Authorization: Bearer <api_key>`` and get OpenAI's 401 body without it. Use it as a
    context manager or call ``start()``/``stop()``.

    Scripts are FIFOs consumed by requests in the order they *arrive*; each request takes at
    most one entry of each family, so faults of different families combine:

    - delay (``delay_next``): wait before answering;
    - answer (``fail_next``, ``redirect_next``, ``raw_next``, ``gzip_bomb_next``): sent
      instead of the endpoint's own answer;
    - cut (``drop_next``, ``truncate_next``, ``stall_next``): end the response early;
    - pace (``trickle_next``) and interim (``early_hints_next``);
    - for streamed replies only, stream fault (``stream_fault_next``) and stream events
      (``stream_raw_next``); for chat completions and responses, reply (``reply_next``;
      ``refusal``, ``reasoning`` and ``status`` for responses); the pace of background
      responses (``background_step``).

    So ``delay_next(1); fail_next(429)`` gives one slow 429. A drop before the first byte
    leaves the other families queued for the next request. Script a fault before starting the
    call it is meant for, or after its request shows in ``requests`` (a request has taken all
    but its stream and reply scripts by then): a call still in flight may not have arrived.

    Beyond scripts, the server can play OpenAI's limits and long-running APIs:

    - ``set_rate_limits(requests_per_minute=None, tokens_per_minute=None)``: per-key token
      buckets with real 429s and ``x-ratelimit-*`` headers; ``status_counts`` counts the
      answers by status (e.g. the 429s a client met);
    - the Batch API (``/v1/batches``: create from a ``purpose: "batch"`` JSONL file, list,
      retrieve, cancel), run in the background at the pace of ``batch_step`` (0.01 s) and
      ``batch_lines_per_step`` (5000), with ``expire_batches_after`` (None),
      ``batch_max_lines`` (50,000), ``batch_max_bytes`` (200 MB) and ``fail_batch_lines``;
      output and error files (purpose ``batch_output``) list their lines in a shuffled order;
    - the Uploads API (``/v1/uploads``, its parts, complete, cancel) for files over
      ``max_file_bytes`` (512 MB), which ``POST /v1/files`` refuses with 413.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        models: Iterable[str] = (),
    ) -> None:
        self._core = Core(api_key, models)
        self._host = host
        self._requested_port = port
        self._httpd: HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None

    @property
    def api_key(self) -> str | None:
        """The key requests must send (None: any key or none)."""
        return self._core.api_key

    @api_key.setter
    def api_key(self, value: str | None) -> None:
        self._core.api_key = value

    @property
    def chunk_delay(self) -> float:
        """Seconds to wait between streamed chunks (slow streams for UI and cancel tests)."""
        return self._core.chunk_delay

    @chunk_delay.setter
    def chunk_delay(self, value: float) -> None:
        self._core.chunk_delay = value

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> FakeOpenAIServer:
        """Bind and serve in a background daemon thread; returns self."""
        if self._httpd is not None:
            raise RuntimeError("FakeOpenAIServer is already running")
        self._core.stopping.clear()
        server_class = HTTPServer6 if ":" in self._host else HTTPServer
        httpd = server_class((self._host, self._requested_port), Handler)
        httpd.core = self._core
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

    def _accept_loop(self, httpd: HTTPServer, wake: socket.socket) -> None:
        """Accept connections until stop() writes to ``wake``.

        Unlike ``serve_forever`` there is no polling interval, so stop() returns at once
        (it runs after every test that uses the fixture).
        """
        stopping = self._core.stopping
        with selectors.DefaultSelector() as selector:
            selector.register(httpd, selectors.EVENT_READ)
            selector.register(wake, selectors.EVENT_READ)
            while not stopping.is_set():
                for key, _ in selector.select():
                    if key.fileobj is httpd and not stopping.is_set():
                        httpd.handle_request()

    def stop(self) -> None:
        """Stop serving, cut open connections (ending delays and stalls), join the threads."""
        httpd, thread, wake = self._httpd, self._thread, self._wake
        if httpd is None or wake is None:
            return
        core = self._core
        core.stopping.set()
        wake_reader, wake_writer = wake
        with contextlib.suppress(OSError):
            wake_writer.send(b"x")
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)
        httpd.server_close()
        wake_reader.close()
        wake_writer.close()
        with core.connections_lock:
            connections = dict(core.connections)
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
    def url(self) -> str:
        """The base URL to give a client, ending in ``/v1``."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}/v1"

    @property
    def open_connections(self) -> int:
        """Client connections open right now: lets a test check that a client closed its own."""
        with self._core.connections_lock:
            return len(self._core.connections)

    @property
    def total_connections(self) -> int:
        """Client connections accepted since the server was created: lets a test check that a
        client reused its connections (or opened a new one after a cut)."""
        with self._core.connections_lock:
            return self._core.accepted

    # -- recorded requests ------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, oldest first."""
        with self._core.requests_lock:
            return list(self._core.requests)

    @property
    def status_counts(self) -> Counter[int]:
        """How many answers of each HTTP status the server has sent (a copy), every endpoint
        and scripted answer included; e.g. ``status_counts[429]``. ``clear()`` resets it."""
        with self._core.requests_lock:
            return Counter(self._core.status_counts)

    @property
    def last_request(self) -> RecordedRequest | None:
        """The most recent request, or None."""
        with self._core.requests_lock:
            return self._core.requests[-1] if self._core.requests else None

    def clear(self) -> None:
        """Forget recorded requests, ``status_counts`` and every scripted reply and fault not
        yet used (``fail_batch_lines`` included)."""
        with self._core.requests_lock:
            self._core.requests.clear()
            self._core.status_counts.clear()
        self._core.faults.clear()
        self._core.sim.state.clear_replies()

    def reset(self) -> None:
        """``clear()``, and also forget stored completions, files, images, batches (stopping
        their runs), uploads and models seen, and refill every rate-limit bucket (the limits
        and the pace settings stay)."""
        self.clear()
        self._core.sim.state.clear()
        self._core.sim.limits.refill_all()
