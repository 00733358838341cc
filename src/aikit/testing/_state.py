"""What the simulated API remembers between requests, and the replies scripted for it.

One ``SimState`` per server, shared by every endpoint module; its one lock is never held while
waiting, so endpoints may take it freely around reads and writes. Background responses run as
``Job``s (see ``_background``) and batches as ``BatchRun``s (see ``_batch_run``), which keep
their own locks.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._background import Job
from ._content import JSONDict

if TYPE_CHECKING:
    from ._batch_run import BatchRun

REPLY_STATUSES: tuple[str, ...] = ("completed", "failed", "incomplete")
#: Seconds between two steps (stream events) of a background response, unless set otherwise.
DEFAULT_BACKGROUND_STEP = 0.05
#: Seconds between two processing steps of a batch, and the input lines one step processes.
DEFAULT_BATCH_STEP = 0.01
DEFAULT_BATCH_LINES_PER_STEP = 5000
#: OpenAI's limits on a batch input file, and the largest file ``POST /v1/files`` accepts.
BATCH_MAX_LINES = 50_000
BATCH_MAX_BYTES = 200 * 2**20
MAX_FILE_BYTES = 512 * 2**20

DEFAULT_MODELS: tuple[str, ...] = (
    "fake-gpt-4o-mini",
    "fake-gpt-4o",
    "fake-text-embedding-3-small",
    "fake-dall-e-3",
    "fake-omni-moderation-latest",
)


@dataclass(frozen=True)
class ScriptedToolCall:
    name: str
    arguments: str
    id: str | None = None


@dataclass(frozen=True)
class ScriptedReply:
    """The next chat or Responses reply: text (None = echo), tool calls, and overrides.

    ``chunks`` fixes the exact content pieces of a stream (``stream_tokens_next``).
    ``refusal`` replaces the text by a refusal, ``reasoning`` adds a reasoning summary (Responses
    only), and ``status`` ends a response as failed or incomplete (Responses only).
    """

    text: str | None = None
    tool_calls: tuple[ScriptedToolCall, ...] = ()
    finish_reason: str | None = None
    usage: JSONDict | None = None
    chunks: tuple[str, ...] | None = None
    refusal: str | None = None
    reasoning: str | None = None
    status: str = "completed"


def scripted_call(call: Mapping[str, Any]) -> ScriptedToolCall:
    """Check one ``reply_next(tool_calls=...)`` item; arguments become a JSON string."""
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


@dataclass
class StoredCompletion:
    completion: JSONDict
    messages: list[JSONDict]


@dataclass
class StoredFile:
    info: JSONDict
    content: bytes


@dataclass
class StoredUpload:
    """An upload (``/v1/uploads``) and its parts by id, until it is completed or cancelled."""

    upload: JSONDict
    parts: dict[str, bytes] = field(default_factory=dict)


@dataclass
class StoredResponse:
    """A response kept for retrieve, ``previous_response_id`` and its input items.

    ``response`` is the final object (for a background job, the one it will end with);
    ``context`` is the conversation as the model saw it, this response's output included.
    """

    response: JSONDict
    input_items: list[JSONDict]
    context: list[JSONDict]
    job: Job | None = None

    def current(self) -> JSONDict:
        """The response as a retrieve shows it now (a job's state changes as it runs)."""
        return self.job.snapshot() if self.job is not None else self.response


class SimState:
    """Counters, models seen, stored objects and scripted replies; thread-safe (``lock``)."""

    def __init__(self, models: Iterable[str] = ()) -> None:
        self.lock = threading.Lock()
        self.models: dict[str, None] = dict.fromkeys([*DEFAULT_MODELS, *models])
        self.completions: dict[str, StoredCompletion] = {}
        self.files: dict[str, StoredFile] = {}
        self.images: dict[str, bytes] = {}
        self.responses: dict[str, StoredResponse] = {}
        self.background_step = DEFAULT_BACKGROUND_STEP
        self.batches: dict[str, BatchRun] = {}
        self.uploads: dict[str, StoredUpload] = {}
        self.batch_step = DEFAULT_BATCH_STEP
        self.batch_lines_per_step = DEFAULT_BATCH_LINES_PER_STEP
        self.expire_batches_after: float | None = None
        self.batch_max_lines = BATCH_MAX_LINES
        self.batch_max_bytes = BATCH_MAX_BYTES
        self.max_file_bytes = MAX_FILE_BYTES
        #: custom_id -> HTTP status of the batch lines scripted to fail (``fail_batch_lines``).
        self.failing_batch_lines: dict[str, int] = {}
        self._local = threading.local()
        #: Set when the server stops: background jobs halt and live streams end with it.
        self.stopping = threading.Event()
        self._replies: deque[ScriptedReply] = deque()
        self._counters: dict[str, int] = {}
        self._tokens_used = 0

    def next_number(self, kind: str) -> int:
        """The next value of a per-kind counter (request ids, completion ids, ...), from 1."""
        with self.lock:
            number = self._counters.get(kind, 0) + 1
            self._counters[kind] = number
            return number

    @property
    def tokens_used(self) -> int:
        with self.lock:
            return self._tokens_used

    def use_tokens(self, count: int) -> None:
        with self.lock:
            self._tokens_used += count

    def remember_model(self, model: str) -> None:
        """A model a request named shows in ``/v1/models`` from then on."""
        with self.lock:
            self.models.setdefault(model, None)

    def add_replies(self, reply: ScriptedReply, times: int) -> None:
        with self.lock:
            self._replies.extend([reply] * times)

    def take_reply(self) -> ScriptedReply:
        """The next scripted chat reply, or the default (echo) one (always, while
        ``unscripted``)."""
        if getattr(self._local, "unscripted", False):
            return ScriptedReply()
        with self.lock:
            return self._replies.popleft() if self._replies else ScriptedReply()

    @contextlib.contextmanager
    def unscripted(self) -> Iterator[None]:
        """Within this block, this thread's requests take no scripted reply (batch lines)."""
        self._local.unscripted = True
        try:
            yield
        finally:
            self._local.unscripted = False

    def clear_replies(self) -> None:
        with self.lock:
            self._replies.clear()
            self.failing_batch_lines.clear()

    def clear(self) -> None:
        """Forget stored completions, files, images, responses (cancelling their background
        jobs), batches (halting their runs), uploads and models seen (not the scripts)."""
        with self.lock:
            for stored in self.responses.values():
                if stored.job is not None:
                    stored.job.cancel()
            for run in self.batches.values():
                run.halt()
            self.responses.clear()
            self.batches.clear()
            self.uploads.clear()
            self.completions.clear()
            self.files.clear()
            self.images.clear()
            self.models = dict.fromkeys(DEFAULT_MODELS)
            self._tokens_used = 0
