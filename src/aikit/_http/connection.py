"""urllib3 pool and connection classes that make every socket abortable and skip 1xx answers.

- The socket is handed to the calling thread's ``Abortable`` *before* ``connect``, so
  ``terminate()`` or a deadline frees an I/O thread stuck connecting to a silent host.
- A pooled connection is handed over when it is taken from the pool, for the same reason.
- Interim ``1xx`` answers (103 Early Hints, ...) are skipped like ``100 Continue``: the result
  is the final answer, never a hint.
"""

from __future__ import annotations

import http.client
import socket
import sys
import threading
from typing import Any

import requests.adapters
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from .abort import Abortable

__all__ = ["Adapter", "current_control", "set_control"]

_local = threading.local()


def set_control(control: Abortable | None) -> None:
    """The Abortable of the call this thread is sending (None when done)."""
    _local.control = control


def current_control() -> Abortable | None:
    control: Abortable | None = getattr(_local, "control", None)
    return control


class _InterimSkippingResponse(http.client.HTTPResponse):
    """``http.client`` skips only ``100 Continue``; skip every other interim answer too."""

    def _read_status(self) -> tuple[str, int, str]:
        while True:
            version, status, reason = super()._read_status()  # type: ignore[misc]
            if 100 < status < 200 and status != 101:
                http.client.parse_headers(self.fp)  # the hint's headers: read and dropped
                continue
            return version, status, reason


def _connect(conn: HTTPConnection) -> socket.socket:
    """urllib3's ``create_connection``, except that the socket reaches the call's Abortable
    before ``connect`` blocks."""
    control = current_control()
    host = conn._dns_host.strip("[]")
    err: OSError | None = None
    try:
        infos = socket.getaddrinfo(host, conn.port, 0, socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise NameResolutionError(conn.host, conn, exc) from exc
    for family, socktype, proto, _name, address in infos:
        sock = socket.socket(family, socktype, proto)
        try:
            for option in conn.socket_options or ():
                sock.setsockopt(*option)
            timeout = conn.timeout
            if timeout is None or isinstance(timeout, (int, float)):
                sock.settimeout(timeout)
            if conn.source_address:
                sock.bind(conn.source_address)
            if control is not None:
                control.attach(sock)
            sock.connect(address)
            return sock
        except TimeoutError as exc:
            sock.close()
            raise ConnectTimeoutError(
                conn, f"Connection to {conn.host} timed out (connect timeout={conn.timeout})"
            ) from exc
        except OSError as exc:
            sock.close()
            err = exc
    raise NewConnectionError(conn, f"Failed to establish a new connection: {err}")


class _Connection(HTTPConnection):
    response_class = _InterimSkippingResponse

    def _new_conn(self) -> socket.socket:
        sock = _connect(self)
        sys.audit("http.client.connect", self, self.host, self.port)
        return sock


class _TLSConnection(HTTPSConnection):
    response_class = _InterimSkippingResponse
    _handshake_handle: socket.socket | None = None

    def _new_conn(self) -> socket.socket:
        sock = _connect(self)
        sys.audit("http.client.connect", self, self.host, self.port)
        control = current_control()
        if control is not None:
            # Wrapping for TLS detaches ``sock``; a duplicate of its descriptor still reaches
            # the same connection, so an abort can cut the handshake too.
            self._handshake_handle = sock.dup()
            control.attach(self._handshake_handle)
        return sock

    def connect(self) -> None:
        try:
            super().connect()
        finally:
            handle, self._handshake_handle = self._handshake_handle, None
            control = current_control()
            if control is not None and self.sock is not None:
                control.attach(self.sock)  # the wrapped socket from now on
            if handle is not None:
                handle.close()


class _TrackingMixin:
    """Hand every connection taken from the pool to the current call's Abortable."""

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)  # type: ignore[misc]
        control = current_control()
        if control is not None and conn.sock is not None:
            control.attach(conn.sock)
        return conn


class _HTTPPool(_TrackingMixin, HTTPConnectionPool):
    ConnectionCls = _Connection


class _HTTPSPool(_TrackingMixin, HTTPSConnectionPool):
    ConnectionCls = _TLSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class Adapter(requests.adapters.HTTPAdapter):
    """requests' adapter with aikit's pools (direct and through a proxy)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager

    def close_pools(self) -> None:
        """Close the connections of every pool, direct and proxied, right now."""
        for manager in (self.poolmanager, *self.proxy_manager.values()):
            pools = manager.pools
            for key in list(pools.keys()):
                pool = pools.get(key)
                if pool is not None:
                    pool.close()

