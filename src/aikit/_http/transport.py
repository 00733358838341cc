"""The only module that sends with requests: one attempt of one request, bounded in time and
memory, with every failure turned into an ``OpenAIError``.

What an attempt guarantees (docs/architecture/lifecycle.md, "One attempt"):
- its ``timeout`` bounds connect, the wait for headers and the body read *in total*: the
  watchdog shuts the socket down when it passes, so a trickling server cannot hold it;
- redirects are followed here, not by requests, so that a cross-origin hop drops every header
  that carries a credential, and a bad ``Location`` is an error result;
- a body, a decompressed body or one stream event larger than ``max_bytes`` is an error;
- an error after the answer started carries the answer's status, so it is never retried.
"""

from __future__ import annotations

import functools
import http.client
import http.cookiejar
import os
import socket
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from requests.structures import CaseInsensitiveDict

from .._headers import Headers
from ..errors import ErrorKind, OpenAIError
from .abort import Abortable, aborted_error, watchdog
from .connection import Adapter, set_control
from .response import HTTPResponse

if TYPE_CHECKING:
    from .request import RequestSpec

__all__ = ["StreamHandle", "Transport", "origin_of"]

MAX_REDIRECTS = 10
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CREDENTIAL_HEADERS = frozenset({"authorization", "x-api-key", "api-key", "proxy-authorization"})
_READ_SIZE = 65536
#: Sockets cannot wait for ever: ``timeout=1e12`` ("no limit") waits this long instead.
_MAX_SOCKET_TIMEOUT = 1e9
#: What sending and reading can raise: requests', urllib3's and http.client's errors, socket
#: errors, and ValueError (a URL, port or header value that cannot be sent).
_IO_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError,
              http.client.HTTPException, OSError, ValueError)


class StreamHandle:
    """An open ``text/event-stream`` answer: iterate raw chunks, then ``close()``."""

    def __init__(
        self, response: requests.Response, meta: HTTPResponse, control: Abortable, origin: str
    ) -> None:
        self._response = response
        self.meta = meta
        self._control = control  # stays attached: terminate() must cut a blocked read
        self._origin = origin

    def chunks(self) -> Iterator[bytes]:
        """Raw body bytes as they arrive, at most 64 KiB at a time (a hostile chunk size
        cannot make one read huge); failures become ``OpenAIError``.

        A chunked body that needs no decoding (what OpenAI sends) is unframed here, straight
        from the socket's buffer and under urllib3's own error handling: ``read_chunked``
        costs about as much per event as parsing the event. Other bodies go through urllib3.
        """
        raw = self._response.raw
        try:
            if raw.chunked and raw.supports_chunked_reads():
                source = getattr(raw, "_fp", None)  # the http.client response...
                fp = getattr(source, "fp", None)  # ...and its buffered socket file
                catcher = getattr(raw, "_error_catcher", None)
                if source is None or fp is None or catcher is None or raw.headers.get(
                    "content-encoding"
                ):
                    yield from raw.read_chunked(_READ_SIZE, decode_content=True)
                else:
                    # As read_chunked does, except that frames already buffered are cut from
                    # one peek (not three reads each), a chunk's data is otherwise yielded as
                    # it arrives (read1), and a size line is bounded too. Errors are raised as
                    # read_chunked raises them, for the catcher to map (ProtocolError).
                    with catcher():
                        readline, read, read1, peek = fp.readline, fp.read, fp.read1, fp.peek
                        while True:
                            view = peek(1)  # the buffered bytes: waits only when there are none
                            frames = []
                            pos, size_of, ended = 0, len(view), False
                            while True:
                                eol = view.find(b"\n", pos)
                                if eol < 0:
                                    break
                                try:
                                    left = int(view[pos:eol].split(b";", 1)[0], 16)
                                except ValueError:
                                    break  # left to the path below, which raises
                                start = eol + 1
                                if not left and view.startswith(b"\r\n", start):
                                    pos, ended = start + 2, True  # the end, without trailers
                                    break
                                if left <= 0 or start + left + 2 > size_of:
                                    break  # a bad size, trailers, or not all there yet
                                frames.append(view[start : start + left])
                                pos = start + left + 2  # past the CRLF (not checked, as urllib3)
                            if frames or ended:
                                read(pos)
                                if ended:
                                    # The body is read: the connection goes back to the pool
                                    # now, since the reader stops at [DONE] and would close it.
                                    source.close()
                                    self._control.detach()  # an abort must not cut it any more
                                    raw.release_conn()
                                yield from frames
                                if ended:
                                    break
                                continue
                            line = readline(_READ_SIZE)
                            try:
                                left = int(line.split(b";", 1)[0], 16)
                            except ValueError:
                                raise http.client.IncompleteRead(line[:80]) from None
                            if left < 0:
                                raise ValueError("negative chunk size")  # as read_chunked fails
                            if line[-1:] != b"\n":  # cut short, or endless
                                raise http.client.IncompleteRead(line[:80])
                            if not left:
                                while line and line != b"\r\n":  # trailers, up to a blank line
                                    line = readline(_READ_SIZE)
                                source.close()  # as read_chunked ends: the connection is reusable
                                break
                            while left:
                                data = read1(min(left, _READ_SIZE))
                                if not data:
                                    raise http.client.IncompleteRead(b"")
                                left -= len(data)
                                yield data
                            if len(read(2)) < 2:  # the CRLF after the data
                                raise http.client.IncompleteRead(b"")
            else:
                while True:
                    data = raw.read1(_READ_SIZE)
                    if not data:
                        break
                    yield data
            raw.release_conn()  # a complete stream leaves a reusable connection
        except _IO_ERRORS as exc:
            raise _stream_error(exc, self._control, self._origin) from None

    def close(self) -> None:
        self._response.close()
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
        adapter = Adapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        self.session = session
        self._proxies = dict(proxies or {})
        self._verify = verify
        self._environments: dict[str, tuple[dict[str, str], bool | str]] = {}

    def _environment(self, url: str) -> tuple[dict[str, str], bool | str]:
        """Proxies and TLS verification for ``url``'s origin: explicit options first, then
        the environment, as requests' ``trust_env`` would do."""
        origin = origin_of(url)
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
        """Close every pooled connection now. urllib3 only drops its pools here and closes
        their sockets when a pool is garbage collected, which a response still referenced
        (say by a failed result's traceback) would postpone indefinitely."""
        for adapter in set(self.session.adapters.values()):
            if isinstance(adapter, Adapter):
                adapter.close_pools()
        self.session.close()

    def send(self, spec: RequestSpec, control: Abortable) -> HTTPResponse | StreamHandle:
        """One attempt. Returns the answer (body read in full), or a StreamHandle for a 2xx
        ``text/event-stream`` answer to a stream request. Raises OpenAIError otherwise."""
        if control.aborted:
            raise aborted_error(control.reason)
        control.attempt_expired = False
        timer = watchdog.schedule(time.monotonic() + spec.timeout, control.expire_attempt)
        set_control(control)
        response: requests.Response | None = None
        keep_open = False
        origin = origin_of(spec.url)
        try:
            response, origin, headers = self._follow(spec)
            content_type = headers.get("content-type", "")
            if spec.stream and response.status_code < 300 and "text/event-stream" in content_type:
                keep_open = True
                meta = HTTPResponse(response.status_code, response.reason or "", headers)
                return StreamHandle(response, meta, control, origin)
            content = _read_body(response, headers, spec.max_bytes)
            try:
                parsed = HTTPResponse.parse_body(content, content_type)
            except RecursionError:
                raise OpenAIError(
                    f"The answer's JSON is nested too deeply to decode ({origin}).",
                    status=response.status_code, kind=ErrorKind.PROTOCOL,
                ) from None
            return HTTPResponse(response.status_code, response.reason or "", headers,
                                content, parsed)
        except OpenAIError:
            if response is not None:
                response.close()
            raise
        except _IO_ERRORS as exc:  # anything else is a bug: the lifecycle reports it as one
            if response is None:
                raise _map_error(exc, control, origin, None, spec.secrets) from None
            response.close()
            status = response.status_code
            if status >= 300 and not control.aborted:
                # An error answer whose body broke: its status says it all (a 503 stays
                # retryable), so it is the answer, with no body.
                return HTTPResponse(status, response.reason or "", headers)
            raise _map_error(exc, control, origin, status, spec.secrets) from None
        finally:
            watchdog.cancel(timer)
            set_control(None)
            if not keep_open:
                control.detach()

    def _send_once(
        self, method: str, url: str, headers: Mapping[str, str], body: Any, seconds: float,
        proxies: dict[str, str], verify: bool | str,
    ) -> requests.Response:
        """One HTTP exchange through the session's adapter, without ``Session.request``.

        The session would only add what aikit turned off or does itself (cookies, netrc and
        environment lookups, hooks, redirects) and costs about a sixth of a local call; the
        request is prepared the same way, with the session's default headers under ours.
        """
        merged = CaseInsensitiveDict(self.session.headers)
        merged.update(headers)
        prepared = requests.PreparedRequest()
        prepared.prepare(method=method, url=url, headers=merged, data=body)
        adapter = self.session.get_adapter(url)  # InvalidSchema for a scheme it cannot send
        return adapter.send(prepared, stream=True, timeout=(seconds, seconds), verify=verify,
                            proxies=proxies)

    def _follow(self, spec: RequestSpec) -> tuple[requests.Response, str, Headers]:
        """Send, following up to ``MAX_REDIRECTS`` redirects; the final answer's headers are
        read, its body is not. Returns it with its origin and its headers."""
        method, url, headers, body = spec.method, spec.url, spec.headers, spec.body
        seconds = min(spec.timeout, _MAX_SOCKET_TIMEOUT)
        origin = origin_of(url)
        for _ in range(MAX_REDIRECTS + 1):
            proxies, verify = self._environment(url)
            if spec.session is not None:  # the caller's own session (4D httpAgent)
                response = spec.session.request(
                    method, url, headers=headers, data=body, timeout=(seconds, seconds),
                    stream=True, proxies=proxies, verify=verify, allow_redirects=False,
                )
            else:
                response = self._send_once(method, url, headers, body, seconds, proxies, verify)
            headers_in = Headers(response.raw.headers.items())
            location = headers_in.get("location")
            if response.status_code not in _REDIRECTS or location is None:
                return response, origin, headers_in
            response.close()
            status = response.status_code
            try:
                url = urljoin(url, location)
                scheme = urlsplit(url).scheme
                urlsplit(url).port  # noqa: B018 - raises ValueError on a bad port
            except ValueError:
                raise OpenAIError(f"Redirected to an invalid URL ({origin}).", status=status,
                                  kind=ErrorKind.PROTOCOL) from None
            if scheme not in ("http", "https"):
                raise OpenAIError(f"Redirected to a non-HTTP URL ({origin}).", status=status,
                                  kind=ErrorKind.PROTOCOL)
            hop = origin_of(url)
            if hop != origin:
                headers = _without_credentials(headers, spec.secrets)
                origin = hop
            if status == 303 or (status in (301, 302) and method == "POST"):
                method, body = "GET", None
                headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        raise OpenAIError(f"More than {MAX_REDIRECTS} redirects ({origin}).",
                          kind=ErrorKind.PROTOCOL)


def _without_credentials(headers: Mapping[str, str], secrets: tuple[str, ...]) -> dict[str, str]:
    """The headers a cross-origin hop may carry: no known credential header, and no header
    whose value holds one of the call's secrets (a key in a custom header)."""
    return {
        name: value for name, value in headers.items()
        if name.lower() not in _CREDENTIAL_HEADERS
        and not any(secret in value for secret in secrets)
    }


def _read_body(response: requests.Response, headers: Headers, max_bytes: int) -> bytes:
    """The whole (decoded) body, refusing more than ``max_bytes`` as soon as it is exceeded."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(response.status_code, max_bytes)
    parts: list[bytes] = []
    total = 0
    for part in response.iter_content(_READ_SIZE):
        total += len(part)
        if total > max_bytes:
            raise _too_large(response.status_code, max_bytes)
        parts.append(part)
    response.close()
    return b"".join(parts)


def _too_large(status: int | None, max_bytes: int) -> OpenAIError:
    return OpenAIError(f"The answer is larger than max_response_bytes ({max_bytes} bytes).",
                       status=status, kind=ErrorKind.TOO_LARGE)


@functools.lru_cache(maxsize=512)
def origin_of(url: str) -> str:
    """``scheme://host[:port]`` without credentials; never raises, even on a bad URL.
    Cached: a client calls a handful of URLs over and over."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "an invalid URL"
    return f"{parts.scheme}://{host}:{port}" if port else f"{parts.scheme}://{host}"


def _map_error(
    exc: BaseException, control: Abortable, where: str, status: int | None,
    secrets: tuple[str, ...],
) -> OpenAIError:
    """The single translation of what an attempt raised. ``status`` is set once the answer
    started: such errors are never retried. Never shows a header or a credential."""
    if control.aborted:
        return aborted_error(control.reason, status)
    if control.attempt_expired or _is_timeout(exc):
        return OpenAIError(f"Request timed out ({where}).", status=status, kind=ErrorKind.TIMEOUT)
    if status is not None:
        return OpenAIError(f"The answer was cut short ({where}).", status=status,
                           kind=ErrorKind.PROTOCOL)
    if isinstance(exc, requests.exceptions.ConnectionError) and not isinstance(
        exc, requests.exceptions.InvalidURL
    ):
        return OpenAIError(f"Connection error ({where}): {_reason(exc)}",
                           kind=ErrorKind.CONNECTION)
    return OpenAIError(f"Could not send the request ({where}): {type(exc).__name__}: "
                       f"{_scrub(str(exc), secrets)}", kind=ErrorKind.REQUEST)


def _stream_error(exc: BaseException, control: Abortable, where: str) -> OpenAIError:
    """A failure while reading a started stream (no status: the 200 was only a beginning)."""
    if control.aborted:
        return aborted_error(control.reason)
    if _is_timeout(exc):
        return OpenAIError(f"Stream stalled: no data within the timeout ({where}).",
                           kind=ErrorKind.TIMEOUT)
    return OpenAIError(f"Stream interrupted ({where}): {type(exc).__name__}",
                       kind=ErrorKind.STREAM)


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text[:300]


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
