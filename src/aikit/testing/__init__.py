"""Test helpers for aikit users: an OpenAI-compatible simulator and pytest fixtures.

``FakeOpenAIServer`` is a real HTTP server on 127.0.0.1 that speaks OpenAI's wire protocol
with deterministic replies and scriptable faults (like ``moto`` for boto3: a simulator, never a
model). The pytest plugin (``aikit.testing.plugin``) provides the ``aikit_server`` and
``aikit_client`` fixtures. Standard library only, plus aikit's key masking: the simulator uses
nothing of the client, so it keeps working whatever state the client is in.
"""

from __future__ import annotations

from ._records import Headers, RecordedRequest, UploadedFile
from ._serve import serve
from ._server import FakeOpenAIServer

__all__ = ["FakeOpenAIServer", "Headers", "RecordedRequest", "UploadedFile", "serve"]
