"""Options of the Batch and Uploads calls, and of ``batches.run`` (the whole-job helper).

As every parameter class: keywords or one 4D dict (camelCase keys too), execution options
never sent, unmodelled keys sent as given, near misses refused (``_parameters_base``).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

import attrs

from ._parameters_base import OpenAIParameters, near_miss, optional
from ._records import snake_case
from ._settings import check_callable, check_int, check_mapping, check_seconds, check_str
from .parameters import _ListParameters

__all__ = [
    "DEFAULT_MAX_BATCH_BYTES",
    "DEFAULT_MAX_BATCH_LINES",
    "DEFAULT_PART_SIZE",
    "DEFAULT_UPLOAD_LIMIT",
    "OpenAIBatchListParameters",
    "OpenAIBatchParameters",
    "OpenAIBatchRunParameters",
    "OpenAIUploadFileParameters",
    "OpenAIUploadParameters",
]

#: The Batch API's limits per input file: 50,000 requests and 200 MB.
DEFAULT_MAX_BATCH_LINES = 50_000
DEFAULT_MAX_BATCH_BYTES = 200_000_000
#: Files larger than this go through the Uploads API (the Files API takes up to 512 MB).
DEFAULT_UPLOAD_LIMIT = 512_000_000
#: The Uploads API's largest part: 64 MB.
DEFAULT_PART_SIZE = 64 * 2**20

Callback = Callable[[Any], object]
_RUN_CALLBACKS = ("on_progress", "on_result", "on_terminate")
_RUN_CALLBACK_NAMES = (*_RUN_CALLBACKS, "onProgress", "onResult", "onTerminate")


@attrs.define(eq=False, kw_only=True)
class OpenAIBatchParameters(OpenAIParameters):
    """Options of ``batches.create()`` (``input_file_id``, ``endpoint`` and
    ``completion_window`` are its arguments)."""

    metadata: dict[str, str] | None = attrs.field(default=None, validator=optional(check_mapping))
    #: ``{"anchor": "created_at", "seconds": N}``: when the output and error files expire.
    output_expires_after: dict[str, Any] | None = attrs.field(
        default=None, validator=optional(check_mapping)
    )

    PLAIN_FIELDS = ("metadata", "output_expires_after")


@attrs.define(eq=False, kw_only=True)
class OpenAIBatchListParameters(_ListParameters):
    """Options of ``batches.list()`` (``after``, ``limit``)."""


@attrs.define(eq=False, kw_only=True)
class OpenAIUploadParameters(OpenAIParameters):
    """Options of ``uploads.create()`` (``filename``, ``purpose``, ``bytes`` and
    ``mime_type`` are its arguments)."""

    expires_after: dict[str, Any] | None = attrs.field(
        default=None, validator=optional(check_mapping)
    )

    PLAIN_FIELDS = ("expires_after",)


@attrs.define(eq=False, kw_only=True)
class OpenAIUploadFileParameters(OpenAIUploadParameters):
    """Options of ``uploads.upload_file()``: the file's name and type when the content does
    not say (bytes, a file object), and the call options of every request it sends;
    ``deadline`` bounds the whole upload."""

    filename: str | None = attrs.field(default=None, validator=optional(check_str))
    mime_type: str | None = attrs.field(default=None, validator=optional(check_str))


def _check_run_callback(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        check_callable(value, attribute.name)


@attrs.define(eq=False, kw_only=True)
class OpenAIBatchRunParameters(OpenAIParameters):
    """Options of ``batches.run()``.

    Callbacks (any one means callback mode): ``on_progress(progress)`` on each change of a
    batch, ``on_result(item)`` once per request, ``on_terminate(summary)`` once at the end.
    ``timeout``, ``max_retries``, ``extra_headers``, ``extra_query`` and ``http_agent`` apply
    to every request the job sends; ``extra_body`` goes over each ``batches.create`` body.
    """

    on_progress: Callback | None = attrs.field(default=None, validator=_check_run_callback)
    on_result: Callback | None = attrs.field(default=None, validator=_check_run_callback)
    #: Seconds between polls at first; the interval grows while nothing changes.
    poll_interval: float = attrs.field(
        default=5.0, validator=lambda _i, a, v: check_seconds(v, a.name)
    )
    #: Requests per batch input file.
    max_lines: int = attrs.field(
        default=DEFAULT_MAX_BATCH_LINES, validator=lambda _i, a, v: check_int(v, a.name, 1)
    )
    #: Bytes per batch input file.
    max_bytes: int = attrs.field(
        default=DEFAULT_MAX_BATCH_BYTES, validator=lambda _i, a, v: check_int(v, a.name, 1)
    )
    #: A file larger than this goes through the Uploads API.
    upload_limit: int = attrs.field(
        default=DEFAULT_UPLOAD_LIMIT, validator=lambda _i, a, v: check_int(v, a.name, 1)
    )
    completion_window: str = attrs.field(
        default="24h", validator=lambda _i, a, v: check_str(v, a.name)
    )
    metadata: dict[str, str] | None = attrs.field(default=None, validator=optional(check_mapping))
    output_expires_after: dict[str, Any] | None = attrs.field(
        default=None, validator=optional(check_mapping)
    )

    def _check(self) -> None:
        for key, value in self.extra.items():
            snake = snake_case(key)
            if callable(value) or snake.startswith("on_"):
                hint = difflib.get_close_matches(key, _RUN_CALLBACK_NAMES, n=1)
                did_you_mean = f" (did you mean {hint[0]!r}?)" if hint else ""
                raise ValueError(
                    f"unknown callback {key!r}{did_you_mean}; batches.run() takes "
                    "on_progress, on_result and on_terminate"
                )
            near = near_miss(snake, self._field_names())
            if near is not None:
                raise ValueError(
                    f"unknown parameter {key!r} (did you mean {near!r}?); nothing was sent"
                )
        for name in ("on_response", "on_error", "formula", "on_data"):
            if getattr(self, name) is not None:
                raise ValueError(
                    f"batches.run() does not take {name}: its callbacks are on_progress, "
                    "on_result and on_terminate"
                )
        if self.deadline is not None:
            raise ValueError(
                "batches.run() does not take a deadline (a batch may run for 24 hours); "
                "cancel the job instead"
            )
        if self.extra:
            unknown = ", ".join(repr(k) for k in self.extra)
            raise ValueError(f"batches.run() got unknown options: {unknown}")

    @property
    def is_async(self) -> bool:
        return any(getattr(self, name) is not None for name in _RUN_CALLBACKS)

    def request_options(self) -> OpenAIParameters:
        """The call options of each request the job sends (no callbacks, no body)."""
        return OpenAIParameters(
            timeout=self.timeout, max_retries=self.max_retries,
            extra_headers=self.extra_headers, extra_query=self.extra_query,
            http_agent=self.http_agent,
        )
