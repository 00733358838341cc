"""SQLiteStore: processes of one machine share their budgets through one SQLite file."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from typing import Any

from ._store import Change, State, T, decode, encode

__all__ = ["SQLiteStore"]

_TABLE = "aikit_limits"
#: Connections a forked child inherited: kept (never closed nor used) so that closing them
#: cannot disturb the parent's use of the file.
_INHERITED: list[Any] = []


class SQLiteStore:
    """Budgets in an SQLite database file, shared by every process that opens the same
    ``path`` on this machine (and by their threads).

    One row per key in the table ``aikit_limits``; each update is one ``BEGIN IMMEDIATE``
    transaction (the write lock is taken before reading, so updates of all processes are
    serialised), in WAL mode. The clock is ``time.time()``: every process of the machine
    reads the same one. ``timeout`` bounds the wait for another process's transaction.
    Safe after ``fork()``: the child opens its own connection. ``sqlite3`` is imported only
    when a store is made.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        self.path = os.fspath(path)
        self.timeout = float(timeout)
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._conn: Any = None
        with self._lock:
            self._connection()  # a bad path fails here, not on the first call

    def _connection(self) -> Any:
        conn = self._conn
        if conn is None:
            import sqlite3

            conn = sqlite3.connect(
                self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
            )
            # Processes opening the file at the same moment: switching to WAL takes an
            # exclusive lock, and SQLite may answer "database is locked" at once instead of
            # waiting for it, so the setup is retried within ``timeout``.
            deadline = time.monotonic() + self.timeout
            while True:
                try:
                    self._set_up(conn)
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() >= deadline:
                        conn.close()
                        raise
                    time.sleep(0.02)
                except BaseException:
                    conn.close()
                    raise
            self._conn = conn
        return conn

    @staticmethod
    def _set_up(conn: Any) -> None:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {_TABLE} "
            "(key TEXT PRIMARY KEY, state TEXT NOT NULL, expires REAL NOT NULL)"
        )
        conn.execute(f"DELETE FROM {_TABLE} WHERE expires <= ?", (time.time(),))

    def update(self, key: str, change: Change[T]) -> T:
        if self._pid != os.getpid():
            self.reset_after_fork()
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(f"SELECT state FROM {_TABLE} WHERE key = ?", (key,)).fetchone()
                now = time.time()
                old: State | None = decode(row[0]) if row is not None else None
                if old is not None and old[0] <= now:
                    old = None
                new, result = change(old, now)
                if new is None:
                    if row is not None:
                        conn.execute(f"DELETE FROM {_TABLE} WHERE key = ?", (key,))
                elif new is not old:
                    conn.execute(
                        f"INSERT OR REPLACE INTO {_TABLE} (key, state, expires) VALUES (?, ?, ?)",
                        (key, encode(new), new[0]),
                    )
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(Exception):
                    conn.execute("ROLLBACK")
                raise
        return result

    def reset_after_fork(self) -> None:
        """In a forked child: a new lock and, on first use, a new connection."""
        self._lock = threading.Lock()
        self._pid = os.getpid()
        if self._conn is not None:
            _INHERITED.append(self._conn)
            self._conn = None

    def close(self) -> None:
        """Close this process's connection (the next update opens a new one)."""
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None and self._pid == os.getpid():
            conn.close()

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"
