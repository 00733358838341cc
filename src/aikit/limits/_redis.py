"""RedisStore: machines share their budgets through one Redis server (optional extra)."""

from __future__ import annotations

import math
from typing import Any

from ._store import Change, State, T, decode, encode

__all__ = ["RedisStore"]

_MAX_CONFLICTS = 10_000


class RedisStore:
    """Budgets in Redis, shared by every client, process and machine that uses the same
    server and ``prefix``.

    One string per key (``prefix`` + the limiter's key), updated by an optimistic
    transaction: ``WATCH`` the key, read it and the server's ``TIME`` (the one clock every
    machine shares), compute, then ``MULTI``/``EXEC``; a conflict with another client runs
    the change again. Each key expires shortly after its state means nothing any more.

    Needs the ``redis`` package (``pip install 'aikit-sdk[redis]'``), imported only when a store
    is made. ``url`` is a ``redis://`` URL (it may hold a password: it is never shown), or
    pass ``client``, an existing ``redis.Redis``. Safe after ``fork()`` (redis-py's
    connection pool starts over in a child).
    """

    def __init__(
        self, url: str = "redis://127.0.0.1:6379/0", *, prefix: str = "aikit:limits:",
        client: Any = None,
    ) -> None:
        try:
            import redis
        except ImportError:
            raise ImportError(
                "RedisStore needs the redis package: pip install 'aikit-sdk[redis]'"
            ) from None
        self._watch_error: type[Exception] = redis.WatchError
        self._redis: Any = client if client is not None else redis.Redis.from_url(url)
        self.prefix = prefix

    def update(self, key: str, change: Change[T]) -> T:
        name = self.prefix + key
        with self._redis.pipeline() as pipe:
            for _ in range(_MAX_CONFLICTS):
                try:
                    pipe.watch(name)
                    raw = pipe.get(name)
                    seconds, micros = pipe.time()
                    now = float(seconds) + float(micros) / 1e6
                    old: State | None = decode(raw) if raw is not None else None
                    if old is not None and old[0] <= now:
                        old = None
                    new, result = change(old, now)
                    if new is old:
                        pipe.unwatch()
                        return result
                    pipe.multi()
                    if new is None:
                        pipe.delete(name)
                    else:
                        # kept a second past its last useful time (clock granularity)
                        keep_ms = max(1, math.ceil((new[0] - now) * 1000)) + 1000
                        pipe.set(name, encode(new), px=keep_ms)
                    pipe.execute()
                    return result
                except self._watch_error:
                    continue
        raise RuntimeError(f"RedisStore: key {name!r} kept changing; update abandoned")

    def close(self) -> None:
        """Close the connections of the Redis client (the next update reconnects)."""
        self._redis.close()

    def __repr__(self) -> str:
        return f"RedisStore(prefix={self.prefix!r})"
