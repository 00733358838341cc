"""Fixtures for the FakeOpenAIServer tests: a keyless server and a proxy-free session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from aikit.testing import FakeOpenAIServer


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    """A server that accepts any key, so tests can focus on one behaviour at a time."""
    with FakeOpenAIServer() as fake:
        yield fake


@pytest.fixture
def http() -> Iterator[requests.Session]:
    """A requests session that ignores proxy variables (the server is on 127.0.0.1)."""
    with requests.Session() as session:
        session.trust_env = False
        yield session
