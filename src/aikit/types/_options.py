"""Keyword arguments of each method: the spec's request fields plus the call options, with
callbacks typed by the result class they receive (what ``**kwargs: Unpack[...]`` checks).

Written by hand, unlike ``_spec``: these are aikit's own options (docs/architecture/lifecycle.md
says what each does). Result classes are imported for type checkers only, so importing this
module costs nothing at run time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from ._spec import (
    ChatCompletionCreateFields,
    ChatCompletionListFields,
    ChatCompletionMessagesListFields,
    ChatCompletionParseFields,
    EmbeddingCreateFields,
    FileCreateFields,
    FileListFields,
    ImageGenerateFields,
    ModerationCreateFields,
    ResponseCompactFields,
    ResponseCreateFields,
    ResponseInputItemsListFields,
    ResponseInputTokensCountFields,
    ResponseRetrieveFields,
)

if TYPE_CHECKING:
    import requests

    from .._chat_results import OpenAIChatCompletionsResult, OpenAIChatCompletionsStreamResult
    from .._responses_results import (
        OpenAIResponseDeletedResult,
        OpenAIResponsesInputItemsResult,
        OpenAIResponsesInputTokensResult,
        OpenAIResponsesResult,
        OpenAIResponsesStreamResult,
    )
    from .._results_base import OpenAIResult
    from ..errors import RetryInfo
    from ..process import Owner
    from ..results import (
        OpenAIEmbeddingsResult,
        OpenAIFileDeletedResult,
        OpenAIFileListResult,
        OpenAIFileResult,
        OpenAIImagesResult,
        OpenAIModelListResult,
        OpenAIModelResult,
        OpenAIModerationResult,
    )

__all__ = [
    "CallOptions",
    "ChatCompletionCreateOptions",
    "ChatCompletionListOptions",
    "ChatCompletionMessagesListOptions",
    "ChatCompletionParseOptions",
    "ChatCompletionStreamOptions",
    "ChatCompletionSyncStreamOptions",
    "ChatHelperOptions",
    "EmbeddingCreateOptions",
    "FileCreateOptions",
    "FileDeleteOptions",
    "FileListOptions",
    "FileRetrieveOptions",
    "ImageGenerateOptions",
    "ModelListOptions",
    "ModelRetrieveOptions",
    "ModerationCreateOptions",
    "ResponseCompactOptions",
    "ResponseConversationOptions",
    "ResponseCreateOptions",
    "ResponseDeleteOptions",
    "ResponseInputItemsListOptions",
    "ResponseInputTokensCountOptions",
    "ResponseParseOptions",
    "ResponseRetrieveOptions",
    "ResponseStreamOptions",
    "ResponseSyncStreamOptions",
    "ResultOptions",
    "VisionPromptOptions",
]


class CallOptions(TypedDict, total=False):
    """Options every call takes; none of them is sent."""

    #: Raise the first error (sync mode) instead of only reporting it.
    throw: bool
    #: Seconds for connect and each read, and for a whole non-stream attempt.
    timeout: float
    #: Seconds from now for the whole call, retries and back-off included.
    deadline: float
    #: 0 disables retries for this call.
    max_retries: int
    extra_headers: Mapping[str, str]
    #: Sent as given, over every other body field.
    extra_body: Mapping[str, Any]
    #: Added as given to the query string.
    extra_query: Mapping[str, Any]
    #: Where callbacks run: a process, a form, a worker's name, or a process number.
    owner: Owner | str | int
    #: 4D ``httpAgent``: the session to send this call with.
    http_agent: requests.Session
    #: Told of each retry before its back-off: on the owner's thread in callback mode (before
    #: on_response/on_error), on the caller's thread in sync mode.
    on_retry: Callable[[RetryInfo], object]
    #: Callback mode: the call's group, per owner (and client), for ``exclusive``.
    group: str
    #: Callback mode: terminate the owner's older in-flight calls of ``group`` first (they end
    #: with on_error + on_terminate, kind ``terminated``); needs ``group``.
    exclusive: bool


class ResultOptions(CallOptions, total=False):
    """Calls answered by a plain ``OpenAIResult`` (``body``, ``content``)."""

    on_response: Callable[[OpenAIResult], object]
    on_error: Callable[[OpenAIResult], object]
    on_terminate: Callable[[OpenAIResult], object]
    formula: Callable[[OpenAIResult], object]


class ModelListOptions(CallOptions, total=False):
    on_response: Callable[[OpenAIModelListResult], object]
    on_error: Callable[[OpenAIModelListResult], object]
    on_terminate: Callable[[OpenAIModelListResult], object]
    formula: Callable[[OpenAIModelListResult], object]


class ModelRetrieveOptions(CallOptions, total=False):
    on_response: Callable[[OpenAIModelResult], object]
    on_error: Callable[[OpenAIModelResult], object]
    on_terminate: Callable[[OpenAIModelResult], object]
    formula: Callable[[OpenAIModelResult], object]


class ChatCompletionSyncStreamOptions(ChatCompletionCreateFields, CallOptions, total=False):
    """``chat.completions.stream()``: iterated on the caller's thread, so no callbacks."""


class ChatCompletionCreateOptions(ChatCompletionSyncStreamOptions, total=False):
    """``chat.completions.create()`` without ``stream=True``."""

    on_response: Callable[[OpenAIChatCompletionsResult], object]
    on_error: Callable[[OpenAIChatCompletionsResult], object]
    on_terminate: Callable[[OpenAIChatCompletionsResult], object]
    formula: Callable[[OpenAIChatCompletionsResult], object]
    #: Used only with ``stream=True``.
    on_data: Callable[[OpenAIChatCompletionsStreamResult], object]


class ChatCompletionStreamOptions(ChatCompletionSyncStreamOptions, total=False):
    """``chat.completions.create(..., stream=True)``: chunks and the final result are
    ``OpenAIChatCompletionsStreamResult``; ``formula`` receives both."""

    on_response: Callable[[OpenAIChatCompletionsStreamResult], object]
    on_error: Callable[[OpenAIChatCompletionsStreamResult], object]
    on_terminate: Callable[[OpenAIChatCompletionsStreamResult], object]
    formula: Callable[[OpenAIChatCompletionsStreamResult], object]
    on_data: Callable[[OpenAIChatCompletionsStreamResult], object]


class ChatCompletionParseOptions(ChatCompletionParseFields, CallOptions, total=False):
    """``chat.completions.parse()``: the class given replaces ``response_format``."""

    on_response: Callable[[OpenAIChatCompletionsResult], object]
    on_error: Callable[[OpenAIChatCompletionsResult], object]
    on_terminate: Callable[[OpenAIChatCompletionsResult], object]
    formula: Callable[[OpenAIChatCompletionsResult], object]


class ChatHelperOptions(ChatCompletionCreateOptions, total=False):
    """``chat.create(system_prompt, ...)``: the request options every prompt uses, plus the
    helper's own settings."""

    stream: bool
    number_of_messages: int
    auto_handle_tool_calls: bool
    max_tool_rounds: int


class VisionPromptOptions(ChatCompletionCreateOptions, total=False):
    """``OpenAIVisionHelper.prompt()``: the chat options, and the image's ``detail`` for this
    prompt."""

    detail: Literal["auto", "low", "high"]
    stream: bool


class ChatCompletionListOptions(ChatCompletionListFields, ResultOptions, total=False):
    pass


class ChatCompletionMessagesListOptions(
    ChatCompletionMessagesListFields, ResultOptions, total=False
):
    pass


class EmbeddingCreateOptions(EmbeddingCreateFields, CallOptions, total=False):
    on_response: Callable[[OpenAIEmbeddingsResult], object]
    on_error: Callable[[OpenAIEmbeddingsResult], object]
    on_terminate: Callable[[OpenAIEmbeddingsResult], object]
    formula: Callable[[OpenAIEmbeddingsResult], object]


class ImageGenerateOptions(ImageGenerateFields, CallOptions, total=False):
    on_response: Callable[[OpenAIImagesResult], object]
    on_error: Callable[[OpenAIImagesResult], object]
    on_terminate: Callable[[OpenAIImagesResult], object]
    formula: Callable[[OpenAIImagesResult], object]


class ModerationCreateOptions(ModerationCreateFields, CallOptions, total=False):
    on_response: Callable[[OpenAIModerationResult], object]
    on_error: Callable[[OpenAIModerationResult], object]
    on_terminate: Callable[[OpenAIModerationResult], object]
    formula: Callable[[OpenAIModerationResult], object]


class FileRetrieveOptions(CallOptions, total=False):
    on_response: Callable[[OpenAIFileResult], object]
    on_error: Callable[[OpenAIFileResult], object]
    on_terminate: Callable[[OpenAIFileResult], object]
    formula: Callable[[OpenAIFileResult], object]


class FileCreateOptions(FileCreateFields, FileRetrieveOptions, total=False):
    #: The name a ``bytes`` upload is sent under (not a form field).
    filename: str


class FileListOptions(FileListFields, CallOptions, total=False):
    on_response: Callable[[OpenAIFileListResult], object]
    on_error: Callable[[OpenAIFileListResult], object]
    on_terminate: Callable[[OpenAIFileListResult], object]
    formula: Callable[[OpenAIFileListResult], object]


class FileDeleteOptions(CallOptions, total=False):
    on_response: Callable[[OpenAIFileDeletedResult], object]
    on_error: Callable[[OpenAIFileDeletedResult], object]
    on_terminate: Callable[[OpenAIFileDeletedResult], object]
    formula: Callable[[OpenAIFileDeletedResult], object]


# -- the Responses API -------------------------------------------------------------------------


class ResponseSyncStreamOptions(ResponseCreateFields, CallOptions, total=False):
    """``responses.stream()``: iterated on the caller's thread, so no callbacks."""


class ResponseCreateOptions(ResponseSyncStreamOptions, total=False):
    """``responses.create()`` without ``stream=True``; a background response polled in
    callback mode gives each status change to ``on_data`` and ends with a stream result."""

    on_response: Callable[[OpenAIResponsesResult], object]
    on_error: Callable[[OpenAIResponsesResult], object]
    on_terminate: Callable[[OpenAIResponsesResult], object]
    formula: Callable[[OpenAIResponsesResult], object]
    on_data: Callable[[OpenAIResponsesStreamResult], object]


class ResponseStreamOptions(ResponseSyncStreamOptions, total=False):
    """``responses.create(..., stream=True)``: every event and the final result are
    ``OpenAIResponsesStreamResult``."""

    on_response: Callable[[OpenAIResponsesStreamResult], object]
    on_error: Callable[[OpenAIResponsesStreamResult], object]
    on_terminate: Callable[[OpenAIResponsesStreamResult], object]
    formula: Callable[[OpenAIResponsesStreamResult], object]
    on_data: Callable[[OpenAIResponsesStreamResult], object]


class ResponseParseOptions(ResponseCreateOptions, total=False):
    stream: bool


class ResponseConversationOptions(ResponseCreateOptions, total=False):
    """``responses.conversation()``: the options of every prompt, and the helper's own."""

    stream: bool
    max_tool_rounds: int


class ResponseRetrieveOptions(ResponseRetrieveFields, CallOptions, total=False):
    """``responses.retrieve()``; with ``stream=True`` the callbacks get stream results."""

    on_response: Callable[[OpenAIResponsesStreamResult], object]
    on_error: Callable[[OpenAIResponsesStreamResult], object]
    on_terminate: Callable[[OpenAIResponsesStreamResult], object]
    formula: Callable[[OpenAIResponsesStreamResult], object]
    on_data: Callable[[OpenAIResponsesStreamResult], object]


class ResponseDeleteOptions(CallOptions, total=False):
    on_response: Callable[[OpenAIResponseDeletedResult], object]
    on_error: Callable[[OpenAIResponseDeletedResult], object]
    on_terminate: Callable[[OpenAIResponseDeletedResult], object]
    formula: Callable[[OpenAIResponseDeletedResult], object]


class ResponseInputItemsListOptions(ResponseInputItemsListFields, CallOptions, total=False):
    on_response: Callable[[OpenAIResponsesInputItemsResult], object]
    on_error: Callable[[OpenAIResponsesInputItemsResult], object]
    on_terminate: Callable[[OpenAIResponsesInputItemsResult], object]
    formula: Callable[[OpenAIResponsesInputItemsResult], object]


class ResponseInputTokensCountOptions(ResponseInputTokensCountFields, CallOptions, total=False):
    on_response: Callable[[OpenAIResponsesInputTokensResult], object]
    on_error: Callable[[OpenAIResponsesInputTokensResult], object]
    on_terminate: Callable[[OpenAIResponsesInputTokensResult], object]
    formula: Callable[[OpenAIResponsesInputTokensResult], object]


class ResponseCompactOptions(ResponseCompactFields, CallOptions, total=False):
    on_response: Callable[[OpenAIResponsesResult], object]
    on_error: Callable[[OpenAIResponsesResult], object]
    on_terminate: Callable[[OpenAIResponsesResult], object]
    formula: Callable[[OpenAIResponsesResult], object]
