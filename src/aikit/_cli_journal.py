"""The output lines of ``aikit batch run`` and its crash-safe journal, a SQLite database next
to the output file.

The output file (JSONL, appended as lines finish) and the journal move together:

1. the finished lines are appended to the output, flushed and ``fsync``-ed;
2. then one transaction records their custom_ids and the output's new byte length.

The first ``out_size`` bytes of the output are therefore always exactly the lines the journal
records. A process killed at any moment leaves at most some bytes after ``out_size`` (a partial
line, or whole lines whose transaction never committed): opening with ``resume=True`` truncates
the output back to ``out_size`` and those lines are sent again, as they were never finished.
A line the journal records is never sent again, never lost and never written twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

__all__ = ["Entry", "Journal", "JournalError", "entry", "journal_path", "output_line"]

#: A finished line: its custom_id, whether it succeeded, its output line.
Entry = tuple[str, bool, bytes]

SCHEMA_VERSION = "1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS done (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    custom_id TEXT NOT NULL UNIQUE,
    ok INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY,
    state TEXT NOT NULL DEFAULT 'created'
);
"""


# -- output lines (the Batch API's format) -------------------------------------------------

def output_line(custom_id: str, response: dict[str, Any] | None,
                error: dict[str, Any] | None, line_id: str | None = None) -> bytes:
    """One output line: ``{"id", "custom_id", "response", "error"}`` and a newline."""
    record = {"id": line_id or f"batch_req_{uuid.uuid4().hex}", "custom_id": custom_id,
              "response": response, "error": error}
    try:
        text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        return text.encode() + b"\n"
    except UnicodeEncodeError:  # a lone surrogate from the input: escape it
        return json.dumps(record, separators=(",", ":")).encode("ascii") + b"\n"


def entry(custom_id: str, outcome: Any) -> Entry | None:
    """The output line of a finished request (a result, or the exception that stopped it
    being sent); None for a call ended by close() or Ctrl-C: it is not finished."""
    if isinstance(outcome, BaseException):
        return custom_id, False, output_line(
            custom_id, None, {"code": "request", "message": str(outcome)})
    errors = outcome.errors
    status = outcome.status
    if errors and errors[0].kind in ("terminated", "cancelled"):
        return None
    if status is None or (errors and status < 300):  # no (complete) answer
        first = errors[0] if errors else None
        error = {"code": (first.code or str(first.kind)) if first else "unknown",
                 "message": first.message if first else "no response"}
        return custom_id, False, output_line(custom_id, None, error)
    body = outcome.body
    if body is None and outcome.content:
        body = outcome.content.decode("utf-8", "replace")
    response = {"status_code": status, "request_id": outcome.request_id or "", "body": body}
    return custom_id, bool(outcome.success), output_line(custom_id, response, None)


class JournalError(Exception):
    """The output or its journal cannot be used as asked: a one-line message, exit status 2."""


def journal_path(out: Path) -> Path:
    return out.with_name(out.name + ".journal")


def _lock(handle: IO[bytes], out: Path) -> None:
    """An exclusive advisory lock on the output (POSIX only): two runs never share one."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory lock
        return
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise JournalError(f"{out} is in use by another `aikit batch run`") from None


class Journal:
    """The output file and its journal, opened together (see the module docstring)."""

    def __init__(self, out: Path, db: sqlite3.Connection, handle: IO[bytes]) -> None:
        self.out = out
        self.path = journal_path(out)
        self._db = db
        self._out = handle
        self.size = self._meta_int("out_size")
        #: custom_id -> succeeded, for every line in the output.
        self.done: dict[str, bool] = {}
        self.failed = 0
        self._reload()

    # -- opening ------------------------------------------------------------------------
    @classmethod
    def open(cls, out: Path, *, resume: bool, meta: dict[str, str]) -> Journal:
        """A fresh output and journal, or (``resume``) the existing ones made consistent.

        ``meta`` (mode, endpoint ...) is stored on creation and must match on resume.
        """
        try:
            return cls._open(out, resume, meta)
        except (OSError, sqlite3.Error) as exc:
            raise JournalError(f"cannot open {out} and its journal: {exc}") from None

    @classmethod
    def _open(cls, out: Path, resume: bool, meta: dict[str, str]) -> Journal:
        path = journal_path(out)
        hint = f"use --resume to continue, or remove {out} and {path.name} to start over"
        if not resume and path.exists():
            raise JournalError(f"{path} exists: {hint}")
        if not resume and out.exists():
            raise JournalError(f"{out} exists: {hint}")
        fresh = not path.exists()
        if fresh and out.exists() and out.stat().st_size > 0:
            raise JournalError(f"{out} exists but has no journal ({path.name}): "
                               "it cannot be resumed; remove it to start over")
        # The journal first: a run killed before the output exists resumes from an empty one.
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            known = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone()
            if not known and not fresh and out.exists() and out.stat().st_size > 0:
                raise JournalError(f"{path} is not an aikit batch journal")
            if not known:  # new, or killed while it was being created (nothing sent yet)
                rows = {**meta, "version": SCHEMA_VERSION, "out_size": "0"}
                with _transaction(db):  # the tables and their first rows, all or nothing
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            db.execute(statement)
                    db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", rows.items())
            else:
                _check_meta(db, path, meta)
            handle = _open_output(out, path, db)
        except BaseException:
            db.close()
            raise
        return cls(out, db, handle)

    # -- reading ------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _meta_int(self, key: str) -> int:
        return int(self.meta(key) or 0)

    def _reload(self) -> None:
        self.done = {cid: bool(ok) for cid, ok in
                     self._db.execute("SELECT custom_id, ok FROM done ORDER BY seq")}
        #: How many of them failed.
        self.failed = sum(1 for ok in self.done.values() if not ok)

    # -- writing ------------------------------------------------------------------------
    def append(self, entries: Sequence[Entry]) -> None:
        """Append finished lines ``(custom_id, ok, line)``: output + fsync, then one commit."""
        if not entries:
            return
        data = b"".join(line for _, _, line in entries)
        self._out.seek(self.size)
        self._out.write(data)
        self._out.flush()
        os.fsync(self._out.fileno())
        size = self.size + len(data)
        with _transaction(self._db):
            self._db.executemany("INSERT INTO done (custom_id, ok) VALUES (?, ?)",
                                 [(cid, int(ok)) for cid, ok, _ in entries])
            self._db.execute("UPDATE meta SET value=? WHERE key='out_size'", (str(size),))
        self.size = size
        for cid, ok, _ in entries:
            self.done[cid] = ok
            self.failed += not ok

    def repair(self) -> None:
        """After an interruption inside ``append``: back to what the journal says (the same
        truncation a resume does), so the output holds only recorded lines."""
        if self._db.in_transaction:
            self._db.rollback()
        self.size = self._meta_int("out_size")
        self._out.truncate(self.size)
        self._out.flush()
        os.fsync(self._out.fileno())
        self._reload()

    # -- Batch API runs -----------------------------------------------------------------
    def add_batch(self, batch_id: str) -> None:
        """A Batch API batch was created: a resumed run reads it back instead of sending its
        lines again."""
        with _transaction(self._db):
            self._db.execute("INSERT OR IGNORE INTO batches (batch_id) VALUES (?)", (batch_id,))

    def set_batch_state(self, batch_id: str, state: str) -> None:
        with _transaction(self._db):
            self._db.execute("UPDATE batches SET state=? WHERE batch_id=?", (state, batch_id))

    def batches(self) -> list[tuple[str, str]]:
        """``(batch_id, state)`` of every batch created, oldest first; state ``created`` or
        ``collected`` (ended, its lines written)."""
        rows = self._db.execute("SELECT batch_id, state FROM batches ORDER BY rowid")
        return [(str(bid), str(state)) for bid, state in rows]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._out.close()
        with contextlib.suppress(Exception):
            self._db.close()


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Any:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.rollback()
        raise
    db.commit()


def _check_meta(db: sqlite3.Connection, path: Path, meta: dict[str, str]) -> None:
    stored = dict(db.execute("SELECT key, value FROM meta").fetchall())
    if stored.get("version") != SCHEMA_VERSION:
        raise JournalError(f"{path}: unknown journal version {stored.get('version')!r}")
    for key, value in meta.items():
        if key in stored and stored[key] != value:
            raise JournalError(f"{path} was written with {key} {stored[key]!r}, "
                               f"not {value!r}: resume with the same options")


def _open_output(out: Path, path: Path, db: sqlite3.Connection) -> IO[bytes]:
    """Open (or create) the output, locked, truncated to the journal's ``out_size``."""
    size = int(db.execute("SELECT value FROM meta WHERE key='out_size'").fetchone()[0])
    try:
        handle = open(out, "r+b")  # noqa: SIM115 - kept open for the whole run
    except FileNotFoundError:
        if size:
            raise JournalError(f"{out} is missing but {path.name} records {size} bytes of it: "
                               "remove the journal to start over") from None
        handle = open(out, "w+b")  # noqa: SIM115
    try:
        _lock(handle, out)
        actual = os.fstat(handle.fileno()).st_size
        if actual < size:
            raise JournalError(f"{out} is shorter ({actual} bytes) than {path.name} records "
                               f"({size}): it was changed outside aikit")
        if actual > size:  # lines written but never committed: they were not finished
            handle.truncate(size)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        handle.close()
        raise
    return handle
