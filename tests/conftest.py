"""Shared fixtures: the embedded server plugin, a clean environment, worker cleanup."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # The plugin is registered by the package's entry point once installed; a plain checkout
    # on sys.path loads it here instead.
    pm = config.pluginmanager
    if not pm.has_plugin("aikit") and not pm.has_plugin("aikit.testing.plugin"):
        pm.import_plugin("aikit.testing.plugin")


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No OPENAI_*/AIKIT_* or proxy variable of the machine leaks into a test."""
    import os

    for name in list(os.environ):
        upper = name.upper()
        if upper.startswith(("OPENAI_", "AIKIT_")) or upper in (
            "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
        ):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture(autouse=True)
def _stop_workers() -> Iterator[None]:
    yield
    from aikit.process._registry import shutdown_workers

    shutdown_workers(10.0)
