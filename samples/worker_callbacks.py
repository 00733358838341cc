"""Two workers that call each other, each receiving aikit callbacks on its own thread.

A worker is 4D's CALL WORKER process: a named thread with a FIFO mailbox. An aikit call made
in a worker delivers its callbacks to that same worker, one message at a time, so worker code
needs no lock: each object below is only ever touched by the worker that owns it.

- "asker" sends the questions in callback mode; on_response / on_terminate run on "asker",
  which hands each answer to "writer" with ``process.call_worker``.
- "writer" prints the answers, then lists the models with a callback of its own (run on
  "writer") and triggers the ``process.Signal`` the main thread is waiting on.
- The main thread kills both workers and exits.

    python samples/worker_callbacks.py [--model gpt-4o-mini] [--self-test]
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from functools import partial

from _common import SELF_TEST_TIMEOUT, open_client, parse_args

from aikit import OpenAI, OpenAIChatCompletionsResult, OpenAIModelListResult, process

QUESTIONS = [
    "Why is 42 a special number?",
    "Name a prime number between 10 and 20.",
    "What colour is the sky on a clear day?",
]

#: Callbacks that ran on the wrong process (list.append is atomic; read after the workers end).
misplaced: list[str] = []


def say(expected: str, message: str) -> None:
    """Print a line tagged with the process it runs in, and note it if that is not ``expected``."""
    me = process.current_process()
    if me.name != expected:
        misplaced.append(f"{message!r} ran in {me.name!r}, expected {expected!r}")
    sys.stdout.write(f"[{me.name} #{me.number} {me.kind}] {message}\n")  # one write per line
    sys.stdout.flush()


class Writer:
    """Lives on worker "writer": prints answers, then finishes the run."""

    def __init__(self, client: OpenAI, done: process.Signal) -> None:
        self.client = client
        self.done = done
        self.answers = 0
        self.failures = 0

    def write(self, question: str, answer: str) -> None:
        self.answers += 1
        say("writer", f"call_worker from asker: Q: {question} -> A: {answer}")

    def write_error(self, question: str, error: str) -> None:
        self.failures += 1
        say("writer", f"call_worker from asker: Q: {question} -> error: {error}")

    def finish(self) -> None:
        say("writer", f"{self.answers} answers, {self.failures} errors; now listing the models")
        self.client.models.list(on_terminate=self.on_models)  # callback comes back to "writer"

    def on_models(self, result: OpenAIModelListResult) -> None:
        if result.success:
            say("writer", f"on_terminate: {len(result.models)} models")
        else:
            say("writer", f"on_terminate: models.list failed: {result.errors}")
        self.done.trigger(result.success and self.failures == 0 and self.answers > 0)


class Asker:
    """Lives on worker "asker": sends the questions; their callbacks come back here."""

    def __init__(self, client: OpenAI, model: str, writer: Writer) -> None:
        self.client = client
        self.model = model
        self.writer = writer
        self.pending = 0

    def start(self) -> None:
        say("asker", f"sending {len(QUESTIONS)} questions in callback mode")
        for question in QUESTIONS:
            self.pending += 1
            self.client.chat.completions.create(
                [{"role": "user", "content": question}],
                model=self.model,
                on_response=partial(self.on_response, question),
                on_error=partial(self.on_error, question),
                on_terminate=self.on_terminate,
            )
        say("asker", "all sent; callbacks will run here when this message returns")

    def on_response(self, question: str, result: OpenAIChatCompletionsResult) -> None:
        answer = result.choice.text if result.choice is not None else ""
        say("asker", f"on_response for {question!r}")
        process.call_worker("writer", self.writer.write, question, answer)

    def on_error(self, question: str, result: OpenAIChatCompletionsResult) -> None:
        say("asker", f"on_error for {question!r}")
        error = "; ".join(str(e) for e in result.errors) or f"HTTP status {result.status}"
        process.call_worker("writer", self.writer.write_error, question, error)

    def on_terminate(self, result: OpenAIChatCompletionsResult) -> None:
        self.pending -= 1
        if self.pending == 0:  # every call ended, whatever its outcome
            process.call_worker("writer", self.writer.finish)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args("Two aikit workers calling each other, with callbacks.", argv)
    with open_client("worker_callbacks") as client:
        done = process.Signal()
        writer = Writer(client, done)
        asker = Asker(client, args.model, writer)
        say("main", "starting worker 'asker'; main waits on a process.Signal")
        process.call_worker("asker", asker.start)
        finished = done.wait(SELF_TEST_TIMEOUT if args.self_test else 300)
        process.kill_worker("asker")
        process.kill_worker("writer")
        say("main", "killed both workers")
    if not finished:
        print("worker_callbacks: timed out waiting for the workers")
        return 1
    for line in misplaced:
        print(f"worker_callbacks: callback on the wrong process: {line}")
    ok = bool(done.value) and not misplaced
    print("worker_callbacks: OK" if ok else "worker_callbacks: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
