"""aikit: an OpenAI-compatible client whose callbacks run in the caller's own process.

Everything public is importable from here. The chat/vision helpers and the provider
configuration load on first use, so ``import aikit`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import process
from ._batch_parameters import (
    OpenAIBatchListParameters,
    OpenAIBatchParameters,
    OpenAIBatchRunParameters,
    OpenAIUploadFileParameters,
    OpenAIUploadParameters,
)
from ._batch_results import (
    OpenAIBatch,
    OpenAIBatchItem,
    OpenAIBatchListResult,
    OpenAIBatchProgress,
    OpenAIBatchRequest,
    OpenAIBatchRequestCounts,
    OpenAIBatchResult,
    OpenAIBatchSummary,
    OpenAIUpload,
    OpenAIUploadPart,
    OpenAIUploadPartResult,
    OpenAIUploadResult,
)
from ._logging import setup_from_env
from ._version import __version__
from .client import OpenAI
from .errors import ErrorKind, OpenAIError, RetryInfo
from .objects import (
    OpenAIChoice,
    OpenAIEmbedding,
    OpenAIFile,
    OpenAIFileDeleted,
    OpenAIImage,
    OpenAIMessage,
    OpenAIModel,
    OpenAIModeration,
    OpenAIModerationItem,
    OpenAIResponse,
    OpenAIResponseDeleted,
    OpenAIResponseFunctionCall,
    OpenAIResponseItem,
    OpenAIResponseMessage,
    OpenAIResponseReasoning,
    OpenAITool,
)
from .parameters import (
    OpenAIChatCompletionsListParameters,
    OpenAIChatCompletionsMessagesParameters,
    OpenAIChatCompletionsParameters,
    OpenAIEmbeddingsParameters,
    OpenAIFileListParameters,
    OpenAIFileParameters,
    OpenAIImageParameters,
    OpenAIModerationParameters,
    OpenAIParameters,
    OpenAIResponsesCompactParameters,
    OpenAIResponsesInputItemsParameters,
    OpenAIResponsesInputTokensParameters,
    OpenAIResponsesParameters,
    OpenAIResponsesRetrieveParameters,
)
from .results import (
    OpenAIChatCompletionsResult,
    OpenAIChatCompletionsStreamResult,
    OpenAIEmbeddingsResult,
    OpenAIFileDeletedResult,
    OpenAIFileListResult,
    OpenAIFileResult,
    OpenAIImagesResult,
    OpenAIModelListResult,
    OpenAIModelResult,
    OpenAIModerationResult,
    OpenAIResponseDeletedResult,
    OpenAIResponsesInputItemsResult,
    OpenAIResponsesInputTokensResult,
    OpenAIResponsesResult,
    OpenAIResponsesStreamResult,
    OpenAIResult,
    RateLimit,
)

if TYPE_CHECKING:
    from ._batch_job import BatchJob
    from ._headers import Headers
    from ._responses_stream import ResponsesStream
    from ._streaming import ChatStream
    from .helpers.chat_helper import OpenAIChatHelper
    from .helpers.conversation import OpenAIResponsesConversation
    from .helpers.vision import OpenAIVision, OpenAIVisionHelper
    from .providers import OpenAIProviders

__all__ = [
    "BatchJob",
    "ChatStream",
    "ErrorKind",
    "Headers",
    "OpenAI",
    "OpenAIBatch",
    "OpenAIBatchItem",
    "OpenAIBatchListParameters",
    "OpenAIBatchListResult",
    "OpenAIBatchParameters",
    "OpenAIBatchProgress",
    "OpenAIBatchRequest",
    "OpenAIBatchRequestCounts",
    "OpenAIBatchResult",
    "OpenAIBatchRunParameters",
    "OpenAIBatchSummary",
    "OpenAIChatCompletionsListParameters",
    "OpenAIChatCompletionsMessagesParameters",
    "OpenAIChatCompletionsParameters",
    "OpenAIChatCompletionsResult",
    "OpenAIChatCompletionsStreamResult",
    "OpenAIChatHelper",
    "OpenAIChoice",
    "OpenAIEmbedding",
    "OpenAIEmbeddingsParameters",
    "OpenAIEmbeddingsResult",
    "OpenAIError",
    "OpenAIFile",
    "OpenAIFileDeleted",
    "OpenAIFileDeletedResult",
    "OpenAIFileListParameters",
    "OpenAIFileListResult",
    "OpenAIFileParameters",
    "OpenAIFileResult",
    "OpenAIImage",
    "OpenAIImageParameters",
    "OpenAIImagesResult",
    "OpenAIMessage",
    "OpenAIModel",
    "OpenAIModelListResult",
    "OpenAIModelResult",
    "OpenAIModeration",
    "OpenAIModerationItem",
    "OpenAIModerationParameters",
    "OpenAIModerationResult",
    "OpenAIParameters",
    "OpenAIProviders",
    "OpenAIResponse",
    "OpenAIResponseDeleted",
    "OpenAIResponseDeletedResult",
    "OpenAIResponseFunctionCall",
    "OpenAIResponseItem",
    "OpenAIResponseMessage",
    "OpenAIResponseReasoning",
    "OpenAIResponsesCompactParameters",
    "OpenAIResponsesConversation",
    "OpenAIResponsesInputItemsParameters",
    "OpenAIResponsesInputItemsResult",
    "OpenAIResponsesInputTokensParameters",
    "OpenAIResponsesInputTokensResult",
    "OpenAIResponsesParameters",
    "OpenAIResponsesResult",
    "OpenAIResponsesRetrieveParameters",
    "OpenAIResponsesStreamResult",
    "OpenAIResult",
    "OpenAITool",
    "OpenAIUpload",
    "OpenAIUploadFileParameters",
    "OpenAIUploadParameters",
    "OpenAIUploadPart",
    "OpenAIUploadPartResult",
    "OpenAIUploadResult",
    "OpenAIVision",
    "OpenAIVisionHelper",
    "RateLimit",
    "ResponsesStream",
    "RetryInfo",
    "__version__",
    "process",
]

_LAZY = {
    "BatchJob": "_batch_job",
    "ChatStream": "_streaming",
    "Headers": "_headers",
    "OpenAIChatHelper": "helpers.chat_helper",
    "OpenAIVision": "helpers.vision",
    "OpenAIVisionHelper": "helpers.vision",
    "OpenAIProviders": "providers",
    "OpenAIResponsesConversation": "helpers.conversation",
    "ResponsesStream": "_responses_stream",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'aikit' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


setup_from_env()
