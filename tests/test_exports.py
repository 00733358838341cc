"""The public surface (``aikit.__all__``, every name importable) and a cheap ``import aikit``."""

from __future__ import annotations

import subprocess
import sys

import aikit

NAMES = [
    "OpenAI", "OpenAIParameters", "OpenAIChatCompletionsParameters", "OpenAIResult",
    "OpenAIChatCompletionsResult", "OpenAIChatCompletionsStreamResult", "OpenAIError",
    "OpenAIMessage", "OpenAIChoice", "OpenAITool", "OpenAIEmbedding", "OpenAIImage",
    "OpenAIModel", "OpenAIModeration", "OpenAIFile", "OpenAIFileDeleted", "OpenAIChatHelper",
    "OpenAIVisionHelper", "OpenAIProviders", "OpenAIModelListResult", "OpenAIModelResult",
    "OpenAIEmbeddingsResult", "OpenAIImagesResult", "OpenAIModerationResult",
    "OpenAIFileResult", "OpenAIFileListResult", "OpenAIFileDeletedResult", "process",
    "ErrorKind",
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
