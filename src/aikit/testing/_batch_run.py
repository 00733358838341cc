"""The run of one batch, on a daemon thread: validate, process its lines step by step, finish.

The pace is the server's: the run waits ``batch_step`` seconds, checks the input file
(``validating``), then waits a step before each group of ``batch_lines_per_step`` lines
(``in_progress``; ``request_counts`` grow after each group), then one step more
(``finalizing``) before it stores its files and ends ``completed``. Each line's body goes
through the simulator's own endpoint for its url, with no scripted reply (echoes, schema
instances), unless ``fail_batch_lines`` scripted its ``custom_id`` to fail. Answers below 400
go to the output file, the others to the error file, in a seeded shuffle of the input order
(OpenAI promises no order: clients map lines back by ``custom_id``).

A cancel makes the batch ``cancelling`` at once and ``cancelled`` a step later; a batch not
done ``expire_batches_after`` seconds after its creation ends ``expired``. Both keep the
lines processed so far in their files; lines never run count neither completed nor failed.
The run ends early, as it stands, when the server stops or ``reset()`` forgets the batch.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable

from . import _chat, _media, _responses
from ._api import APIError, Response, StreamPlan, dump_json
from ._batch_input import check_input
from ._content import JSONDict, default_error_body
from ._files import store_file
from ._records import Headers, RecordedRequest
from ._state import SimState

logger = logging.getLogger("aikit.testing")

Handler = Callable[[SimState, RecordedRequest, dict[str, str]], "Response | StreamPlan"]

#: The endpoint each batch url runs through (``/v1/completions`` has none: its lines get 404).
BATCH_HANDLERS: dict[str, Handler | None] = {
    "/v1/responses": _responses.create_response,
    "/v1/chat/completions": _chat.create_chat_completion,
    "/v1/embeddings": _media.create_embeddings,
    "/v1/completions": None,
    "/v1/moderations": _media.create_moderation,
}
_ACTIVE = ("validating", "in_progress")
_NO_HEADERS = Headers()
_POLL = 0.05  # how often a waiting run checks that it may go on


class BatchRun:
    """One batch: its object (``snapshot``), its thread, cancel and halt; thread-safe."""

    def __init__(
        self, state: SimState, batch: JSONDict, content: bytes, purpose: str, expiry: int | None
    ) -> None:
        self._state = state
        self._batch = batch
        self._content: bytes | None = content
        self._purpose = purpose
        self._expiry = expiry
        self._created = time.monotonic()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._cancelling = False
        self._halted = False
        self._outputs: list[bytes] = []
        self._errors: list[bytes] = []

    @property
    def id(self) -> str:
        return str(self._batch["id"])

    def start(self) -> None:
        name = f"FakeOpenAIServer-batch:{self.id}"
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def snapshot(self) -> JSONDict:
        """The batch object as it stands now."""
        with self._lock:
            return dict(self._batch, request_counts=dict(self._batch["request_counts"]))

    def cancel(self) -> JSONDict:
        """Start cancelling a validating or running batch; 400 for a batch already done."""
        with self._lock:
            status = self._batch["status"]
            if status in _ACTIVE:
                self._cancelling = True
                self._set("cancelling")
                self._wake.set()
            elif status != "cancelling":
                raise APIError(400, f"Cannot cancel a batch with status '{status}'.")
        return self.snapshot()

    def halt(self) -> None:
        """Stop the run where it stands (the server forgets the batch)."""
        self._halted = True
        self._wake.set()

    # -- the run ----------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._steps()
        except Exception:  # a bug: the batch fails visibly instead of hanging in its status
            logger.exception("FakeOpenAIServer batch %s failed", self.id)
            with self._lock:
                self._set("failed")

    def _steps(self) -> None:
        if not self._wait() or self._ends_early():
            return
        state = self._state
        content, self._content = self._content or b"", None
        checked = check_input(
            content,
            self._purpose,
            str(self._batch["endpoint"]),
            state.batch_max_lines,
            state.batch_max_bytes,
        )
        del content
        if self._ends_early():  # cancelled or expired while its file was being checked
            return
        with self._lock:
            if checked.errors:
                self._batch["errors"] = {"object": "list", "data": checked.errors}
                self._set("failed")
                return
            if checked.model is not None:
                self._batch["model"] = checked.model
            self._batch["request_counts"]["total"] = len(checked.lines)
            self._set("in_progress")
        lines, start = checked.lines, 0
        while start < len(lines):
            if not self._wait() or self._ends_early():
                return
            size = max(1, state.batch_lines_per_step)
            self._process(lines[start : start + size])
            start += size
        with self._lock:
            self._set("finalizing")
        if not self._wait() or self._ends_early():
            return
        self._finish("completed")

    def _wait(self, interruptible: bool = True) -> bool:
        """Wait one step (less if a cancel comes); False when the run must stop at once."""
        deadline = time.monotonic() + self._state.batch_step
        while not self._halted and not self._state.stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (interruptible and self._cancelling):
                return True
            # Once set by a cancel, ``_wake`` stays set: a wait that a cancel may not cut
            # short sleeps on the server's stop instead.
            wake = self._wake if interruptible else self._state.stopping
            wake.wait(min(remaining, _POLL))
        return False

    def _ends_early(self) -> bool:
        """End the run cancelled (a step after the cancel) or expired; True if it ended."""
        if self._cancelling:
            if self._wait(interruptible=False):
                self._finish("cancelled")
            return True
        limit = self._state.expire_batches_after
        if limit is not None and time.monotonic() - self._created >= limit:
            self._finish("expired")
            return True
        return False

    def _process(self, lines: list[bytes]) -> None:
        outputs: list[bytes] = []
        errors: list[bytes] = []
        with self._state.lock:
            failing = dict(self._state.failing_batch_lines)
        with self._state.unscripted():
            for raw in lines:
                ok, line = self._execute(raw, failing)
                (outputs if ok else errors).append(line)
        with self._lock:
            self._outputs += outputs
            self._errors += errors
            counts = self._batch["request_counts"]
            counts["completed"] += len(outputs)
            counts["failed"] += len(errors)

    def _execute(self, raw: bytes, failing: dict[str, int]) -> tuple[bool, bytes]:
        """Run one request line: whether it succeeded, and its output line."""
        state = self._state
        item = json.loads(raw)
        custom_id, url, body = item["custom_id"], item["url"], item["body"]
        number = state.next_number("batch_req")
        request_id = f"req_batch{number}"
        status = failing.get(custom_id)
        if status is not None:
            response = Response.json(default_error_body(status), status)
        else:
            response = _answer(state, url, body, request_id)
        line = b'{"id":"batch_req_fake%d","custom_id":%s,"response":{"status_code":%d,' % (
            number,
            dump_json(custom_id),
            response.status,
        )
        line += b'"request_id":"%s","body":%s},"error":null}' % (
            request_id.encode(),
            response.body or b"null",
        )
        return response.status < 400, line

    def _finish(self, status: str) -> None:
        """Store the output and error files of the lines processed, and end in ``status``."""
        with self._lock:
            outputs, errors = self._outputs, self._errors
            self._outputs, self._errors = [], []
        shuffle = random.Random(self.id).shuffle
        ids: dict[str, str] = {}
        for key, lines in (("output", outputs), ("error", errors)):
            if lines:
                shuffle(lines)
                content = b"\n".join(lines) + b"\n"
                name = f"{self.id}_{key}.jsonl"
                info = store_file(self._state, name, "batch_output", content, self._expiry)
                ids[f"{key}_file_id"] = info["id"]
        with self._lock:
            self._batch.update(ids)
            self._set(status)

    def _set(self, status: str) -> None:
        """Enter ``status`` and stamp its time (the caller holds the lock); a cancelling batch
        goes on only to an end."""
        if self._cancelling and status in ("in_progress", "finalizing"):
            return
        self._batch["status"] = status
        self._batch[f"{status}_at"] = int(time.time())


def _answer(state: SimState, url: str, body: JSONDict, request_id: str) -> Response:
    """The endpoint's answer to one batch request (streams and background runs refused)."""
    handler = BATCH_HANDLERS.get(url)
    if handler is None:
        return APIError(404, f"Invalid URL (POST {url})").response()
    for flag in ("stream", "background"):
        if body.get(flag):
            return APIError(
                400, f"'{flag}' is not supported in batch requests.", flag, "invalid_value"
            ).response()
    request = RecordedRequest(
        method="POST",
        path=url,
        raw_query="",
        query={},
        headers=_NO_HEADERS,
        body=b"",
        json=body,
        request_id=request_id,
    )
    try:
        result = handler(state, request, {})
    except APIError as exc:
        return exc.response()
    except Exception:
        logger.exception("FakeOpenAIServer failed on a batch request to %s", url)
        return Response.json(default_error_body(500), 500)
    if isinstance(result, StreamPlan):  # not reached: streams are refused above
        return APIError(400, "Streaming is not supported in batch requests.").response()
    return result
