"""pytest plugin: ``aikit_server`` and ``aikit_client`` fixtures backed by FakeOpenAIServer.

Registered through the ``pytest11`` entry point (name ``aikit``). A project may also list it in
``pytest_plugins``; the hook below makes loading it both ways harmless instead of pytest's
"Plugin already registered under a different name" error.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from ._server import FakeOpenAIServer

if TYPE_CHECKING:
    from aikit import OpenAI

__all__ = ["TEST_API_KEY", "aikit_client", "aikit_server"]

#: The key the ``aikit_server`` fixture expects (and ``aikit_client`` sends).
TEST_API_KEY = "sk-test-aikit-0000"
_ENTRY_POINT_NAME = "aikit"


@pytest.fixture
def aikit_server() -> Iterator[FakeOpenAIServer]:
    """A running FakeOpenAIServer expecting ``TEST_API_KEY``, stopped after the test."""
    with FakeOpenAIServer(api_key=TEST_API_KEY) as server:
        yield server


@pytest.fixture
def aikit_client(aikit_server: FakeOpenAIServer) -> Iterator[OpenAI]:
    """An ``aikit.OpenAI`` client pointed at ``aikit_server``, closed after the test."""
    # Looked up at fixture time: aikit.testing imports nothing of the client, so the
    # simulator and the aikit_server fixture keep working whatever state the client is in.
    openai_class: type[OpenAI] = importlib.import_module("aikit").OpenAI
    client = openai_class(api_key=aikit_server.api_key, base_url=aikit_server.url)
    try:
        yield client
    finally:
        client.close()


def pytest_plugin_registered(
    plugin: object, plugin_name: str, manager: pytest.PytestPluginManager
) -> None:
    """Block this module's other name once it is registered under one of them.

    The entry point registers it as ``aikit`` and ``pytest_plugins``/``-p`` as
    ``aikit.testing.plugin``; pluggy refuses one module under two names, and pytest skips
    blocked names, so blocking the other one lets both declarations coexist.
    """
    if plugin is not sys.modules.get(__name__):
        return
    for name in (_ENTRY_POINT_NAME, __name__):
        if (
            name != plugin_name
            and manager.get_plugin(name) is None
            and not manager.is_blocked(name)
        ):
            manager.set_blocked(name)
