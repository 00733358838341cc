"""Background responses: a job plays the planned events of one response, a step at a time.

A response created with ``background: true`` is answered at once (status ``queued``); its job
then releases the response's stream events, the first at once and then one every
``background_step`` seconds, on a daemon thread that ends when the events run out, when the job
is cancelled, or when the server stops. A retrieve shows the state the released events reached
(queued until ``response.in_progress``, in progress until the terminal event, then the final
response); a stream, the create request's or a resumed one, sends each event once released.
"""

from __future__ import annotations

import threading
import time

from ._content import JSONDict

_POLL = 0.05  # how often a waiting job checks that the server still runs


def response_view(final: JSONDict, status: str) -> JSONDict:
    """The response before it ends (``queued``, ``in_progress``) or once ``cancelled``: no
    output, no usage (the spec has no null usage)."""
    view = {key: value for key, value in final.items() if key != "usage"}
    view.update(status=status, completed_at=None, error=None, incomplete_details=None, output=[])
    return view


class Job:
    """The run of one background response; thread-safe, and a ``Release`` for its streams."""

    def __init__(
        self,
        final: JSONDict,
        events: list[bytes],
        in_progress_at: int,
        step: float,
        stopping: threading.Event,
    ) -> None:
        self.final = final
        self.events = events
        self._in_progress_at = in_progress_at
        self._step = step
        self._stopping = stopping
        self._changed = threading.Condition()
        self._released = 0
        self._cancelled = False
        self._ended = False
        self._views = {
            status: response_view(final, status)
            for status in ("queued", "in_progress", "cancelled")
        }

    def start(self) -> None:
        name = f"FakeOpenAIServer-job:{self.final['id']}"
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def _run(self) -> None:
        try:
            for index in range(len(self.events)):
                if index and not self._pause():
                    return
                with self._changed:
                    if self._cancelled:
                        return
                    self._released = index + 1
                    self._changed.notify_all()
        finally:
            with self._changed:
                self._ended = True
                self._changed.notify_all()

    def _pause(self) -> bool:
        """Wait one step; False when the job must end instead (cancelled, or server stopped)."""
        deadline = time.monotonic() + self._step
        with self._changed:
            while not self._cancelled and not self._stopping.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return True
                self._changed.wait(min(remaining, _POLL))
        return False

    def snapshot(self) -> JSONDict:
        """The response as it stands now."""
        with self._changed:
            if self._cancelled:
                return self._views["cancelled"]
            if self._released >= len(self.events):
                return self.final
            if self._released > self._in_progress_at:
                return self._views["in_progress"]
            return self._views["queued"]

    @property
    def queued(self) -> JSONDict:
        """The response as the create request answers it."""
        return self._views["queued"]

    def cancel(self) -> JSONDict:
        """Cancel a queued or running job at once (no event is released after); a finished
        job is left as it ended. Returns the response as it then stands."""
        with self._changed:
            if self._released < len(self.events):
                self._cancelled = True
                self._changed.notify_all()
        return self.snapshot()

    def wait(self, index: int, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for event ``index``; True once it is released."""
        with self._changed:
            self._changed.wait_for(
                lambda: self._released > index or self._cancelled or self._ended, timeout
            )
            return self._released > index

    def withheld(self, index: int) -> bool:
        """True when event ``index`` will never be released (cancelled, or server stopped)."""
        with self._changed:
            return self._released <= index and (self._cancelled or self._ended)

    def release_from(self, start: int) -> Shifted:
        """The release of a stream that resumes at event ``start``."""
        return Shifted(self, start)


class Shifted:
    """A job's release seen from a stream that starts at event ``start``."""

    def __init__(self, job: Job, start: int) -> None:
        self._job = job
        self._start = start

    def wait(self, index: int, timeout: float) -> bool:
        return self._job.wait(self._start + index, timeout)

    def withheld(self, index: int) -> bool:
        return self._job.withheld(self._start + index)
