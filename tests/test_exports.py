"""The public surface (``aikit.__all__``, every name importable) and a cheap ``import aikit``."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys

import pytest

import aikit

NAMES = [
    "OpenAI", "OpenAIParameters", "OpenAIChatCompletionsParameters", "OpenAIResult",
    "OpenAIChatCompletionsResult", "OpenAIChatCompletionsStreamResult", "OpenAIError",
    "OpenAIMessage", "OpenAIChoice", "OpenAITool", "OpenAIEmbedding", "OpenAIImage",
    "OpenAIModel", "OpenAIModeration", "OpenAIFile", "OpenAIFileDeleted", "OpenAIChatHelper",
    "OpenAIVisionHelper", "OpenAIProviders", "OpenAIModelListResult", "OpenAIModelResult",
    "OpenAIEmbeddingsResult", "OpenAIImagesResult", "OpenAIModerationResult",
    "OpenAIFileResult", "OpenAIFileListResult", "OpenAIFileDeletedResult", "process",
    "ErrorKind", "ChatStream", "Headers", "OpenAIVision", "RateLimit",
]


def test_all_is_sorted_and_complete() -> None:
    assert aikit.__all__ == sorted(aikit.__all__)
    for name in NAMES:
        assert name in aikit.__all__
    for name in aikit.__all__:
        assert getattr(aikit, name) is not None


def test_import_is_cheap() -> None:
    code = ("import sys, aikit; heavy = {'requests', 'tenacity', 'tkinter', 'PySide6', "
            "'urllib3'} & set(sys.modules); print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


PUBLIC_MODULES = [
    "aikit.process", "aikit.process.tk", "aikit.process.asyncio", "aikit.testing",
    "aikit.helpers", "aikit.resources", "aikit.results", "aikit.parameters", "aikit.objects",
    "aikit.errors", "aikit.providers", "aikit.types", "aikit.client", "aikit.cli",
    "aikit.helpers.chat_helper", "aikit.helpers.history", "aikit.helpers.tools",
    "aikit.helpers.vision", "aikit.resources.chat", "aikit.resources.embeddings",
    "aikit.resources.files", "aikit.resources.images", "aikit.resources.models",
    "aikit.resources.moderations", "aikit.testing.plugin", "aikit.resources.responses",
    "aikit.helpers.structured", "aikit.helpers.parsing", "aikit.helpers.conversation",
    "aikit.resources.batches", "aikit.resources.uploads", "aikit.limits",
]
#: Public modules not imported here: the Qt adapter needs PySide6 (tests/process/test_qt_form.py).
NOT_IMPORTED = {"aikit.process.qt"}


def test_every_public_module_is_checked() -> None:
    """A module or subpackage added without an underscore must be listed above."""
    found = {
        m.name for m in pkgutil.walk_packages(aikit.__path__, "aikit.")
        if not any(part.startswith("_") for part in m.name.split("."))
    }
    assert found - NOT_IMPORTED == set(PUBLIC_MODULES)


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_every_public_module_has_a_complete_sorted_all(name: str) -> None:
    """Each subpackage's ``__all__`` lists only names it really has, sorted, and every public
    class it defines itself (module-level helper functions may stay internal)."""
    module = importlib.import_module(name)
    exported = module.__all__
    assert exported == sorted(set(exported))
    for attr in exported:
        assert getattr(module, attr) is not None
    own = [
        attr for attr, value in vars(module).items()
        if not attr.startswith("_")
        and inspect.isclass(value)
        and getattr(value, "__module__", None) == name
    ]
    assert sorted(set(own) - set(exported)) == []
