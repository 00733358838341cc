"""Qt (PySide6) adapter: the GUI thread becomes a form process.

A small QObject bridge is created on the GUI thread; posting emits its ``wake`` signal, which is
connected with an explicit ``QueuedConnection`` to the bridge's own slot, so the drain always
runs on the GUI thread's event loop, even when the GUI thread posts to itself. No
``QTimer.singleShot`` from foreign threads: timers need an event loop in the calling thread.
Deleting the widget (or the bridge) closes the form.
"""

from __future__ import annotations

try:
    from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal, Slot
    from shiboken6 import isValid
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "aikit.process.qt needs PySide6: install the extra with pip install 'aikit-sdk[qt]'"
    ) from exc

from aikit.process._forms import Form, _attached_form

__all__ = ["QtForm", "attach"]


class _Bridge(QObject):  # type: ignore[misc, unused-ignore]
    """Lives on the GUI thread; its slot is where queued wake-ups land."""

    wake = Signal()

    def __init__(self, form: QtForm) -> None:
        super().__init__()
        self._form = form
        self.wake.connect(self._on_wake, Qt.ConnectionType.QueuedConnection)

    @Slot()
    def _on_wake(self) -> None:
        self._form._run_drain()


class QtForm(Form):
    """A Qt widget's (or application's) GUI thread as a form; closed when it is deleted."""

    def __init__(self, target: QObject, *, coalesce_data: bool) -> None:
        self._target: QObject | None = target
        self._bridge: _Bridge | None = _Bridge(self)
        super().__init__(coalesce_data=coalesce_data)
        target.destroyed.connect(self._on_destroyed)
        self._bridge.destroyed.connect(self._on_destroyed)

    @property
    def target(self) -> QObject | None:
        """The attached widget or application (None once closed)."""
        return self._target

    def _wake(self) -> bool:
        bridge = self._bridge
        if self._closed or bridge is None:
            return False
        try:
            bridge.wake.emit()
        except RuntimeError:  # "Internal C++ object already deleted"
            self.close()
            return False
        return True

    def _run_drain(self) -> None:
        if not self._closed and self._drain():
            self._wake()  # queued again: the GUI gets to repaint between batches

    def _target_alive(self) -> bool:
        target, bridge = self._target, self._bridge
        return target is not None and bridge is not None and isValid(target) and isValid(bridge)

    def _on_destroyed(self, *_: object) -> None:
        self.close()

    def _on_close(self) -> None:
        bridge = self._bridge
        self._target = None
        if bridge is not None and self.owns_current_thread() and isValid(bridge):
            self._bridge = None
            bridge.deleteLater()


def attach(widget_or_app: QObject, coalesce_data: bool = False) -> QtForm:
    """Make the Qt GUI thread a form process; call it on that thread after creating the app.

    Messages run from Qt's event loop (``app.exec()`` or ``processEvents()``). Deleting the
    widget closes the form. Attaching the same object again returns the same form.
    """
    if not isinstance(widget_or_app, QObject):
        raise TypeError(
            f"widget_or_app must be a QWidget or QApplication, not {type(widget_or_app).__name__}"
        )
    app = QCoreApplication.instance()
    if app is None:
        raise RuntimeError("process.qt.attach() needs a QApplication: create it first")
    if QThread.currentThread() is not app.thread() or widget_or_app.thread() is not app.thread():
        raise RuntimeError("process.qt.attach() must be called on the Qt GUI thread")
    existing = _attached_form(QtForm)
    if isinstance(existing, QtForm) and existing.target is widget_or_app:
        return existing
    return QtForm(widget_or_app, coalesce_data=coalesce_data)
