"""A Tk chat window that streams answers token by token, with a Stop button.

``process.tk.attach(root)`` makes the Tk thread a form process, so every aikit callback
(``on_data`` for each token, ``on_response``, ``on_error``, ``on_terminate``, the model list's
``on_response``) runs on the Tk thread from the event loop. The callbacks can therefore update
widgets directly: no ``after()`` plumbing, no queue, no lock, and the window never freezes
because the HTTP work runs on aikit's I/O threads.

    python samples/tk_chat.py [--model gpt-4o-mini] [--self-test]

``ChatWindow`` is importable and drivable (``send(text)``, ``stop()``) so tests can run it.
"""

from __future__ import annotations

import sys
import time
import tkinter as tk
from collections.abc import Sequence
from tkinter import ttk

from _common import DEFAULT_MODEL, SELF_TEST_TIMEOUT, open_client, parse_args

from aikit import (
    OpenAI,
    OpenAIChatCompletionsStreamResult,
    OpenAIModelListResult,
    process,
)

SELF_TEST_PROMPT = "Hello from the Tk self-test"


class ChatWindow:
    """The chat UI on ``root``; callbacks of its requests all run on the Tk thread."""

    def __init__(self, root: tk.Tk, client: OpenAI, model: str = DEFAULT_MODEL) -> None:
        self.root = root
        self.client = client
        self.model = model
        self.form = process.tk.attach(root)  # callbacks now come through Tk's event loop
        self.history: list[dict[str, str]] = []
        #: The stream in progress (None when idle), and the last finished one.
        self.result: OpenAIChatCompletionsStreamResult | None = None
        self.last_result: OpenAIChatCompletionsStreamResult | None = None
        self.chunks = 0  # on_data deliveries of the current answer
        self.models_loaded = False
        self._build()
        self.load_models()

    # -- layout --------------------------------------------------------------------------

    def _build(self) -> None:
        root = self.root
        root.title("aikit: Tk chat")
        root.geometry("600x400")
        root.minsize(420, 260)

        top = ttk.Frame(root, padding=(8, 8, 8, 0))
        top.pack(side="top", fill="x")
        ttk.Label(top, text="Model:").pack(side="left")
        self.model_box = ttk.Combobox(top, values=[self.model], state="readonly", width=32)
        self.model_box.set(self.model)
        self.model_box.pack(side="left", padx=(6, 0))

        self.status = ttk.Label(root, text="Loading the model list...", anchor="w",
                                padding=(8, 2))
        self.status.pack(side="bottom", fill="x")

        bottom = ttk.Frame(root, padding=(8, 4))
        bottom.pack(side="bottom", fill="x")
        self.entry = ttk.Entry(bottom)
        self.entry.pack(side="left", fill="x", expand=True)
        self.entry.bind("<Return>", lambda _event: self._send_entry())
        self.send_button = ttk.Button(bottom, text="Send", command=self._send_entry)
        self.send_button.pack(side="left", padx=(6, 0))
        self.stop_button = ttk.Button(bottom, text="Stop", command=self.stop, state="disabled")
        self.stop_button.pack(side="left", padx=(6, 0))

        middle = ttk.Frame(root, padding=(8, 8, 8, 0))
        middle.pack(side="top", fill="both", expand=True)
        self.text = tk.Text(middle, wrap="word", height=12, width=60, background="white",
                            foreground="black")
        scroll = ttk.Scrollbar(middle, orient="vertical", command=self.text.yview)
        self.text.configure(yscrollcommand=scroll.set)
        scroll.pack(side="right", fill="y")
        self.text.pack(side="left", fill="both", expand=True)
        self.text.tag_configure("user", foreground="#1f4e99")
        self.text.tag_configure("error", foreground="#b00020")
        self.entry.focus_set()

    # -- actions -------------------------------------------------------------------------

    @property
    def selected_model(self) -> str:
        return self.model_box.get() or self.model

    def load_models(self) -> None:
        """Fill the model list; the callback runs on the Tk thread when the answer is in."""
        self.client.models.list(on_response=self._on_models, on_error=self._on_models_error)

    def send(self, text: str) -> OpenAIChatCompletionsStreamResult | None:
        """Send ``text`` and stream the answer into the window; None if empty or busy."""
        text = text.strip()
        if not text or self.result is not None:
            return None
        self.history.append({"role": "user", "content": text})
        self._append(f"You: {text}\n", "user")
        self._append("Assistant: ")
        self.text.mark_set("answer", "end-1c")  # where this answer starts
        self.text.mark_gravity("answer", "left")
        self.chunks = 0
        self.result = self.client.chat.completions.create(
            list(self.history),
            model=self.selected_model,
            stream=True,
            on_data=self._on_data,
            on_response=self._on_response,
            on_error=self._on_error,
            on_terminate=self._on_terminate,
        )
        self.send_button.configure(state="disabled")
        self.stop_button.configure(state="normal")
        self._set_status(f"Streaming from {self.selected_model}...")
        return self.result

    def stop(self) -> None:
        """Abort the running stream: on_error (terminated) then on_terminate follow."""
        if self.result is not None:
            self.result.terminate()
            self._set_status("Stopping...")

    def answer_text(self) -> str:
        """The text of the current (or last) answer as shown in the window."""
        try:
            return self.text.get("answer", "end-1c").rstrip("\n")
        except tk.TclError:  # no answer yet
            return ""

    def transcript(self) -> str:
        return self.text.get("1.0", "end-1c")

    # -- callbacks (all on the Tk thread) --------------------------------------------------

    def _on_models(self, result: OpenAIModelListResult) -> None:
        ids = [m.id for m in result.models if m.id]
        self.model_box.configure(values=[self.model, *(i for i in ids if i != self.model)])
        self.models_loaded = True
        if self.result is None:
            self._set_status(f"{len(ids)} models available. Type a message and press Send.")

    def _on_models_error(self, result: OpenAIModelListResult) -> None:
        self.models_loaded = True
        errors = "; ".join(e.message for e in result.errors) or f"HTTP status {result.status}"
        self._set_status(f"Could not list the models: {errors}", error=True)

    def _on_data(self, chunk: OpenAIChatCompletionsStreamResult) -> None:
        delta = chunk.choice.delta.text if chunk.choice and chunk.choice.delta else ""
        if delta:
            self.chunks += 1
            self._append(delta)

    def _on_response(self, result: OpenAIChatCompletionsStreamResult) -> None:
        final = result.choice.text if result.choice is not None else ""
        if self.answer_text() != final:
            # A form attached with coalesce_data=True may skip chunks: the final result always
            # holds the whole message, so show that.
            self.text.delete("answer", "end-1c")
            self._append(final)
        self.history.append({"role": "assistant", "content": final})
        reason = result.choice.finish_reason if result.choice is not None else None
        self._set_status(f"Done: {self.chunks} chunks, finish reason {reason}.")

    def _on_error(self, result: OpenAIChatCompletionsStreamResult) -> None:
        error = result.errors[0] if result.errors else None
        stopped = error is not None and error.kind == "terminated"
        message = error.message if error is not None else f"HTTP status {result.status}"
        self._append(f"\n[{'stopped' if stopped else 'error'}: {message}]", "error")
        self._set_status("Stopped." if stopped else f"Error: {message}", error=not stopped)
        if self.history and self.history[-1]["role"] == "user":
            self.history.pop()  # not answered: don't send it as context next time

    def _on_terminate(self, result: OpenAIChatCompletionsStreamResult) -> None:
        self._append("\n\n")
        self.last_result = result
        self.result = None
        self.send_button.configure(state="normal")
        self.stop_button.configure(state="disabled")

    # -- helpers -------------------------------------------------------------------------

    def _send_entry(self) -> None:
        if self.send(self.entry.get()) is not None:
            self.entry.delete(0, "end")

    def _append(self, text: str, tag: str = "") -> None:
        self.text.insert("end", text, tag)
        self.text.see("end")

    def _set_status(self, text: str, error: bool = False) -> None:
        self.status.configure(text=text, foreground="#b00020" if error else "")


def self_test(root: tk.Tk, window: ChatWindow, timeout: float) -> int:
    """Send one prompt, wait for the streamed answer in the window, print it, close."""
    deadline = time.monotonic() + timeout
    outcome = [1]

    def check() -> None:
        finished = window.last_result
        if finished is not None and window.models_loaded:
            answer = window.answer_text()
            final = finished.choice.text if finished.choice is not None else ""
            print("--- window text ---")
            print(window.transcript())
            print("--- end ---")
            if finished.success and answer and answer == final:
                print(f"tk_chat: OK ({window.chunks} chunks streamed into the window)")
                outcome[0] = 0
            else:
                errors = "; ".join(str(e) for e in finished.errors) or "empty answer"
                print(f"tk_chat: FAILED: {errors}")
            root.destroy()
        elif time.monotonic() > deadline:
            print(f"tk_chat: FAILED: no answer within {timeout:.0f} s")
            print(window.transcript())
            root.destroy()
        else:
            root.after(20, check)

    root.after(0, lambda: window.send(SELF_TEST_PROMPT))
    root.after(20, check)
    root.mainloop()
    return outcome[0]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args("A Tk chat window streaming answers from an OpenAI-compatible API.", argv)
    with open_client("tk_chat") as client:
        try:
            root = tk.Tk()
        except tk.TclError as error:
            print(f"tk_chat: cannot open a window (is DISPLAY set?): {error}")
            return 2
        window = ChatWindow(root, client, args.model)
        if args.self_test:
            return self_test(root, window, SELF_TEST_TIMEOUT)
        root.mainloop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
