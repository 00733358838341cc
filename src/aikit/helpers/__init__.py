"""Conveniences over the two APIs: the chat helper (history, tools), vision, the Responses
conversation (``previous_response_id``, tools), and structured outputs."""

from __future__ import annotations

from .chat_helper import OpenAIChatHelper
from .conversation import OpenAIResponsesConversation
from .vision import OpenAIVision, OpenAIVisionHelper

__all__ = ["OpenAIChatHelper", "OpenAIResponsesConversation", "OpenAIVision", "OpenAIVisionHelper"]
