"""The only module that calls requests: sending, reading with deadlines, aborting, and turning
every requests/urllib3 exception into an ``OpenAIError``.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import os
import socket
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.adapters
import urllib3
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from .._headers import Headers
from ..errors import OpenAIError
from .response import HTTPResponse

__all__ = ["Abortable", "StreamHandle", "Transport"]

_local = threading.local()


class Abortable:
    """Per-call abort switch: remembers the connection in use so another thread can cut it."""

    __slots__ = ("_conn", "_lock", "event")

    def __init__(self) -> None:
        #: Set once aborted; retry back-off sleeps on it so an abort also cuts the wait.
        self.event = threading.Event()
        self._conn: Any = None
        self._lock = threading.Lock()

    @property
    def aborted(self) -> bool:
        return self.event.is_set()

    def attach(self, conn: Any) -> None:
        with self._lock:
            self._conn = conn
        if self.event.is_set():
            _shutdown(conn)

    def detach(self) -> None:
        with self._lock:
            self._conn = None

    def abort(self) -> None:
        """Close the socket under a blocked read or write; safe from any thread."""
        with self._lock:
            self.event.set()
            conn = self._conn
        if conn is not None:
            _shutdown(conn)


def _shutdown(conn: Any) -> None:
    sock = getattr(conn, "sock", None)
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class _TrackingMixin:
    """Pool mixin: hand every connection taken from the pool to the current call's Abortable."""

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)  # type: ignore[misc]
        control: Abortable | None = getattr(_local, "control", None)
        if control is not None:
            control.attach(conn)
        return conn


class _HTTPPool(_TrackingMixin, HTTPConnectionPool):
    pass


class _HTTPSPool(_TrackingMixin, HTTPSConnectionPool):
    pass


class _Adapter(requests.adapters.HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        manager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
        return manager


class StreamHandle:
    """An open ``text/event-stream`` response; iterate raw chunks, then ``close()``."""

    def __init__(
        self, response: requests.Response, meta: HTTPResponse, control: Abortable | None
    ) -> None:
        self._response = response
        self.meta = meta
        self._control = control  # stays attached: terminate() must cut a blocked read

    def chunks(self) -> Iterator[bytes]:
        """Raw body bytes as they arrive; transport failures become OpenAIError(kind="stream")."""
        try:
            yield from self._response.iter_content(chunk_size=None)
        except requests.exceptions.RequestException as exc:
            raise _map_error(exc, self._response.url, streaming=True) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise _map_error(exc, self._response.url, streaming=True) from exc

    def close(self) -> None:
        self._response.close()
        if self._control is not None:
            self._control.detach()


class Transport:
    """One ``requests.Session`` shared by all threads of a client (cookies disabled).

    The environment (``HTTP(S)_PROXY``, ``NO_PROXY``, ``REQUESTS_CA_BUNDLE``,
    ``CURL_CA_BUNDLE``) is read once per origin and cached, instead of by requests on every
    call; and ``~/.netrc`` is never consulted, since requests would let a netrc entry replace
    the ``Authorization`` header aikit sets.
    """

    def __init__(
        self,
        *,
        pool_size: int,
        proxies: Mapping[str, str] | None = None,
        verify: bool | str | None = None,
    ) -> None:
        session = requests.Session()
        session.trust_env = False  # see the class docstring: _environment() does its part
        session.cookies.set_policy(_NoCookies())
        adapter = _Adapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        self.session = session
        self._proxies = dict(proxies or {})
        self._verify = verify
        self._environments: dict[str, tuple[dict[str, str], bool | str]] = {}

    def _environment(self, url: str) -> tuple[dict[str, str], bool | str]:
        """Proxies and TLS verification for ``url``'s origin: explicit options first, then
        the environment, as requests' ``trust_env`` would do."""
        origin = _origin(url)
        found = self._environments.get(origin)
        if found is None:
            proxies = dict(self._proxies)
            for scheme, proxy in requests.utils.get_environ_proxies(url).items():
                proxies.setdefault(scheme, proxy)
            verify: bool | str = self._verify if self._verify is not None else (
                os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
            )
            found = self._environments[origin] = (proxies, verify)
        return found

    def close(self) -> None:
        self.session.close()

    def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | Iterable[bytes] | None,
        timeout: float,
        *,
        control: Abortable | None = None,
        stream: bool = False,
        session: requests.Session | None = None,
    ) -> HTTPResponse | StreamHandle:
        """Send once. Returns the response (body read within ``timeout`` in total), or a
        StreamHandle for a 2xx ``text/event-stream`` answer. Raises OpenAIError otherwise."""
        deadline = time.monotonic() + timeout
        _local.control = control
        streaming = False
        try:
            if control is not None and control.aborted:
                raise OpenAIError("Request terminated.", kind="terminated")
            proxies, verify = self._environment(url)
            try:
                response = (session or self.session).request(
                    method,
                    url,
                    headers=dict(headers),
                    data=body,
                    timeout=(timeout, timeout),
                    stream=True,
                    proxies=proxies,
                    verify=verify,
                )
            except requests.exceptions.RequestException as exc:
                raise _map_error(exc, url, aborted=_aborted(control)) from exc
            try:
                content_type = response.headers.get("content-type", "")
                meta_headers = Headers(response.headers)
                if stream and response.status_code < 300 and "text/event-stream" in content_type:
                    meta = HTTPResponse(response.status_code, response.reason or "", meta_headers)
                    streaming = True
                    return StreamHandle(response, meta, control)
                content = _read_body(response, deadline)
            except requests.exceptions.RequestException as exc:
                response.close()
                raise _map_error(exc, url, aborted=_aborted(control)) from exc
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                response.close()
                raise _map_error(exc, url, aborted=_aborted(control)) from exc
            return HTTPResponse(
                status=response.status_code,
                reason=response.reason or "",
                headers=meta_headers,
                content=content,
                json=HTTPResponse.parse_body(content, content_type),
            )
        finally:
            _local.control = None
            if control is not None and not streaming:
                control.detach()


def _aborted(control: Abortable | None) -> bool:
    return control is not None and control.aborted


def _read_body(response: requests.Response, deadline: float) -> bytes:
    """Read the whole body, failing when the total deadline passes between reads."""
    parts: list[bytes] = []
    for part in response.iter_content(chunk_size=65536):
        parts.append(part)
        if time.monotonic() > deadline:
            response.close()
            raise requests.exceptions.ReadTimeout("total deadline exceeded")
    response.close()
    return b"".join(parts)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def _map_error(
    exc: BaseException, url: str, *, aborted: bool = False, streaming: bool = False
) -> OpenAIError:
    """The single translation of transport exceptions (DESIGN §6): never leaks the URL's
    credentials or any header, keeps the original as ``__cause__``."""
    where = _origin(url)
    if aborted:
        return OpenAIError("Request terminated.", kind="terminated")
    if _is_timeout(exc):
        text = "Stream stalled: no data within the timeout" if streaming else "Request timed out"
        return OpenAIError(f"{text} ({where}).", kind="timeout")
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                        requests.exceptions.InvalidSchema)):
        return OpenAIError(f"Invalid URL: {where or url!r}", kind="request")
    if streaming:
        return OpenAIError(f"Stream interrupted ({where}): {type(exc).__name__}", kind="stream")
    return OpenAIError(f"Connection error ({where}): {_reason(exc)}", kind="connection")


def _is_timeout(exc: BaseException) -> bool:
    if isinstance(exc, (requests.exceptions.Timeout, socket.timeout, TimeoutError,
                        urllib3.exceptions.TimeoutError)):
        return True
    inner = exc.args[0] if exc.args else None
    return isinstance(inner, urllib3.exceptions.TimeoutError) or (
        isinstance(inner, BaseException) and inner is not exc and _is_timeout(inner)
    )


def _reason(exc: BaseException) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Connection reset", "Remote end closed",
                   "Connection aborted", "Name or service not known", "timed out"):
        if marker in text:
            return marker
    return type(exc).__name__


class _NoCookies(http.cookiejar.CookiePolicy):
    """A cookie policy that accepts nothing: the shared session must stay stateless."""

    netscape = True
    rfc2965 = False
    hide_cookie2 = False

    def set_ok(self, cookie: Any, request: Any) -> bool:
        return False

    def return_ok(self, cookie: Any, request: Any) -> bool:
        return False

    def domain_return_ok(self, domain: str, request: Any) -> bool:
        return False

    def path_return_ok(self, path: str, request: Any) -> bool:
        return False
