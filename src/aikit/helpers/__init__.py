"""Conveniences over chat completions: the stateful chat helper (with tools) and vision."""

from __future__ import annotations

from .chat_helper import OpenAIChatHelper
from .vision import OpenAIVision, OpenAIVisionHelper

__all__ = ["OpenAIChatHelper", "OpenAIVision", "OpenAIVisionHelper"]
