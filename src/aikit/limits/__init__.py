"""Client-side rate limits: where their budgets live.

``OpenAI(requests_per_minute=..., tokens_per_minute=..., limit_store=...,
adaptive_limits=True)`` paces its calls per origin and model: token buckets of the given
budgets, pacing from the server's ``x-ratelimit-*`` headers when its remaining budget runs
low, and one shared cool-down after a 429. The state of those budgets lives in a store:

- ``InProcessStore()`` (the default, one per client): the threads of one process;
- ``SQLiteStore(path)``: the processes of one machine (one SQLite file);
- ``RedisStore(url)``: machines (one Redis server; ``pip install 'aikit-sdk[redis]'``).

Any object with the ``Store`` protocol's ``update(key, change)`` works: see
docs/architecture/limits.md ("Writing a store"). Nothing here imports ``sqlite3`` or
``redis`` until a store of theirs is made.
"""

from __future__ import annotations

from ._redis import RedisStore
from ._sqlite import SQLiteStore
from ._store import Change, InProcessStore, State, Store

__all__ = ["Change", "InProcessStore", "RedisStore", "SQLiteStore", "State", "Store"]
