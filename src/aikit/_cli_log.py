"""The conversation log of ``aikit chat``: one SQLite file in the user data directory.

Each exchange (conversation id, time, model, system prompt, prompt, response) is one row;
``aikit chat -c`` sends the earlier exchanges of the last conversation again, ``--cid ID``
those of a given one, and ``aikit logs`` lists the last few.

The directory: ``$AIKIT_DATA_DIR`` if set, else the platform's user data directory plus
``aikit`` (``$XDG_DATA_HOME`` or ``~/.local/share`` on Linux, ``~/Library/Application Support``
on macOS, ``%APPDATA%`` on Windows).
"""

from __future__ import annotations

import datetime as _dt
import os
import sqlite3
import sys
import uuid
from pathlib import Path
from typing import Any

__all__ = ["ConversationLog", "LogError", "data_dir", "log_path"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS exchanges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    cid TEXT NOT NULL,
    time TEXT NOT NULL,
    model TEXT NOT NULL DEFAULT '',
    system TEXT NOT NULL DEFAULT '',
    prompt TEXT NOT NULL,
    response TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS exchanges_cid ON exchanges (cid, id);
"""

_COLUMNS = ("id", "cid", "time", "model", "system", "prompt", "response")


class LogError(Exception):
    """The log cannot be opened or holds no such conversation: one line for the user."""


def data_dir() -> Path:
    """Where aikit keeps its files (not created here)."""
    override = os.environ.get("AIKIT_DATA_DIR")
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("APPDATA") or str(Path.home() / "AppData" / "Roaming")
        return Path(base) / "aikit"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "aikit"
    xdg = os.environ.get("XDG_DATA_HOME")
    return Path(xdg if xdg and os.path.isabs(xdg) else Path.home() / ".local" / "share") / "aikit"


def log_path() -> Path:
    return data_dir() / "logs.db"


def new_cid() -> str:
    return uuid.uuid4().hex[:16]


class ConversationLog:
    """The open log; use as a context manager."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or log_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), timeout=10)
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise LogError(f"cannot open the conversation log {self.path}: {exc}") from None

    def __enter__(self) -> ConversationLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def add(self, cid: str, model: str, system: str, prompt: str, response: str) -> None:
        now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        with self._db:
            self._db.execute(
                "INSERT INTO exchanges (cid, time, model, system, prompt, response)"
                " VALUES (?, ?, ?, ?, ?, ?)", (cid, now, model, system, prompt, response))

    def last_cid(self) -> str | None:
        row = self._db.execute("SELECT cid FROM exchanges ORDER BY id DESC LIMIT 1").fetchone()
        return str(row[0]) if row else None

    def conversation(self, cid: str) -> list[dict[str, Any]]:
        """The exchanges of ``cid``, oldest first."""
        rows = self._db.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM exchanges WHERE cid = ? ORDER BY id", (cid,))
        return [dict(zip(_COLUMNS, row, strict=True)) for row in rows]

    def last(self, n: int) -> list[dict[str, Any]]:
        """The last ``n`` exchanges, newest last."""
        rows = self._db.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM exchanges ORDER BY id DESC LIMIT ?", (n,))
        return [dict(zip(_COLUMNS, row, strict=True)) for row in rows][::-1]
