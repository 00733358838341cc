"""aikit: an OpenAI-compatible client whose callbacks run in the caller's own process."""

from __future__ import annotations

from . import process
from ._logging import setup_from_env
from ._version import __version__
from .client import OpenAI
from .errors import OpenAIError
from .parameters import OpenAIParameters
from .results import OpenAIModelListResult, OpenAIModelResult, OpenAIResult

__all__ = [
    "OpenAI",
    "OpenAIError",
    "OpenAIModelListResult",
    "OpenAIModelResult",
    "OpenAIParameters",
    "OpenAIResult",
    "__version__",
    "process",
]

setup_from_env()
