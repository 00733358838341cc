"""A Qt (PySide6) chat window that streams answers token by token, with a Stop button.

``process.qt.attach(window)`` makes the Qt GUI thread a form process, so every aikit callback
(``on_data`` per token, ``on_response``, ``on_error``, ``on_terminate``, the model list's
``on_response``) runs on the GUI thread from Qt's event loop and may touch widgets directly:
no signals to declare, no QThread, no lock. Closing the window cancels its requests.

    pip install 'aikit-sdk[qt]'
    python samples/qt_chat.py [--model gpt-4o-mini] [--self-test]

``ChatWindow`` is importable and drivable (``send(text)``, ``stop()``) so tests can run it;
``--self-test`` works headless with ``QT_QPA_PLATFORM=offscreen``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

from _common import DEFAULT_MODEL, SELF_TEST_TIMEOUT, open_client, parse_args

try:
    from PySide6.QtCore import QCoreApplication, QTimer
    from PySide6.QtGui import QCloseEvent, QColor, QTextCharFormat, QTextCursor
    from PySide6.QtWidgets import (
        QApplication,
        QComboBox,
        QHBoxLayout,
        QLabel,
        QLineEdit,
        QPlainTextEdit,
        QPushButton,
        QVBoxLayout,
        QWidget,
    )
except ImportError:  # pragma: no cover - depends on the environment
    sys.exit("qt_chat needs PySide6: pip install 'aikit-sdk[qt]'")

from aikit import (
    OpenAI,
    OpenAIChatCompletionsStreamResult,
    OpenAIModelListResult,
    process,
)

SELF_TEST_PROMPT = "Hello from the Qt self-test"
ERROR_COLOR = "#b00020"


class ChatWindow(QWidget):  # type: ignore[misc, unused-ignore]  # QWidget: Any without PySide6
    """The chat UI; callbacks of its requests all run on the Qt GUI thread."""

    def __init__(
        self, client: OpenAI, model: str = DEFAULT_MODEL, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.client = client
        self.model = model
        self.history: list[dict[str, str]] = []
        #: The stream in progress (None when idle), and the last finished one.
        self.result: OpenAIChatCompletionsStreamResult | None = None
        self.last_result: OpenAIChatCompletionsStreamResult | None = None
        self.chunks = 0  # on_data deliveries of the current answer
        self.models_loaded = False
        self._answer_pos = 0  # document position where the current answer starts
        self._build()
        self.form = process.qt.attach(self)  # callbacks now come through Qt's event loop
        self.load_models()

    # -- layout --------------------------------------------------------------------------

    def _build(self) -> None:
        self.setWindowTitle("aikit: Qt chat")
        self.resize(600, 400)
        self.model_box = QComboBox()
        self.model_box.addItem(self.model)
        top = QHBoxLayout()
        top.addWidget(QLabel("Model:"))
        top.addWidget(self.model_box, 1)

        self.view = QPlainTextEdit()
        self.view.setReadOnly(True)

        self.entry = QLineEdit()
        self.entry.setPlaceholderText("Type a message")
        self.entry.returnPressed.connect(self._send_entry)
        self.send_button = QPushButton("Send")
        self.send_button.clicked.connect(self._send_entry)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        bottom = QHBoxLayout()
        bottom.addWidget(self.entry, 1)
        bottom.addWidget(self.send_button)
        bottom.addWidget(self.stop_button)

        self.status = QLabel("Loading the model list...")
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addLayout(bottom)
        layout.addWidget(self.status)

    # -- actions -------------------------------------------------------------------------

    @property
    def selected_model(self) -> str:
        return self.model_box.currentText() or self.model

    def load_models(self) -> None:
        """Fill the model list; the callback runs on the GUI thread when the answer is in."""
        self.client.models.list(on_response=self._on_models, on_error=self._on_models_error)

    def send(self, text: str) -> OpenAIChatCompletionsStreamResult | None:
        """Send ``text`` and stream the answer into the window; None if empty or busy."""
        text = text.strip()
        if not text or self.result is not None:
            return None
        self.history.append({"role": "user", "content": text})
        self._append(f"You: {text}\n", "#1f4e99")
        self._answer_pos = self._append("Assistant: ")
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
        self.send_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self._set_status(f"Streaming from {self.selected_model}...")
        return self.result

    def stop(self) -> None:
        """Abort the running stream: on_error (terminated) then on_terminate follow."""
        if self.result is not None:
            self.result.terminate()
            self._set_status("Stopping...")

    def answer_text(self) -> str:
        """The text of the current (or last) answer as shown in the window."""
        selected: str = self._answer_cursor().selectedText()  # typed even without PySide6
        return selected.replace("\u2029", "\n").rstrip("\n")

    def transcript(self) -> str:
        return str(self.view.toPlainText())

    def closeEvent(self, event: QCloseEvent) -> None:  # Qt's name: called when closing
        self.form.close()  # cancels this window's requests: no callback reaches a dead window
        super().closeEvent(event)

    # -- callbacks (all on the GUI thread) -------------------------------------------------

    def _on_models(self, result: OpenAIModelListResult) -> None:
        ids = [m.id for m in result.models if m.id and m.id != self.model]
        self.model_box.addItems(ids)
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
            self._answer_cursor().insertText(final)
        self.history.append({"role": "assistant", "content": final})
        reason = result.choice.finish_reason if result.choice is not None else None
        self._set_status(f"Done: {self.chunks} chunks, finish reason {reason}.")

    def _on_error(self, result: OpenAIChatCompletionsStreamResult) -> None:
        error = result.errors[0] if result.errors else None
        stopped = error is not None and error.kind == "terminated"
        message = error.message if error is not None else f"HTTP status {result.status}"
        self._append(f"\n[{'stopped' if stopped else 'error'}: {message}]", ERROR_COLOR)
        self._set_status("Stopped." if stopped else f"Error: {message}", error=not stopped)
        if self.history and self.history[-1]["role"] == "user":
            self.history.pop()  # not answered: don't send it as context next time

    def _on_terminate(self, result: OpenAIChatCompletionsStreamResult) -> None:
        self._append("\n\n")
        self.last_result = result
        self.result = None
        self.send_button.setEnabled(True)
        self.stop_button.setEnabled(False)

    # -- helpers -------------------------------------------------------------------------

    def _send_entry(self) -> None:
        if self.send(self.entry.text()) is not None:
            self.entry.clear()

    def _append(self, text: str, color: str | None = None) -> int:
        """Insert at the end (wherever the user clicked); returns the end position."""
        cursor = self.view.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        fmt = QTextCharFormat()
        if color:
            fmt.setForeground(QColor(color))
        cursor.insertText(text, fmt)
        self.view.setTextCursor(cursor)
        self.view.ensureCursorVisible()
        return int(cursor.position())

    def _answer_cursor(self) -> QTextCursor:
        cursor = self.view.textCursor()
        cursor.setPosition(self._answer_pos)
        cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        return cursor

    def _set_status(self, text: str, error: bool = False) -> None:
        self.status.setStyleSheet(f"color: {ERROR_COLOR}" if error else "")
        self.status.setText(text)


def self_test(app: QCoreApplication, window: ChatWindow, timeout: float) -> int:
    """Send one prompt, wait for the streamed answer in the window, print it, close."""
    deadline = time.monotonic() + timeout
    outcome = [1]
    timer = QTimer()

    def finish() -> None:
        timer.stop()
        window.close()
        app.quit()

    def check() -> None:
        finished = window.last_result
        if finished is not None and window.models_loaded:
            answer = window.answer_text()
            final = finished.choice.text if finished.choice is not None else ""
            print("--- window text ---")
            print(window.transcript())
            print("--- end ---")
            if finished.success and answer and answer == final:
                print(f"qt_chat: OK ({window.chunks} chunks streamed into the window)")
                outcome[0] = 0
            else:
                errors = "; ".join(str(e) for e in finished.errors) or "empty answer"
                print(f"qt_chat: FAILED: {errors}")
            finish()
        elif time.monotonic() > deadline:
            print(f"qt_chat: FAILED: no answer within {timeout:.0f} s")
            print(window.transcript())
            finish()

    timer.timeout.connect(check)
    timer.start(20)
    QTimer.singleShot(0, lambda: window.send(SELF_TEST_PROMPT))
    app.exec()
    return outcome[0]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args("A Qt chat window streaming answers from an OpenAI-compatible API.", argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    with open_client("qt_chat") as client:
        window = ChatWindow(client, args.model)
        window.show()
        if args.self_test:
            return self_test(app, window, SELF_TEST_TIMEOUT)
        app.exec()
    return 0


if __name__ == "__main__":
    sys.exit(main())
