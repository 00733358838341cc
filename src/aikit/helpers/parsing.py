"""``parse()`` of both APIs: send with a strict JSON schema, then build ``result.parsed``.

In callback mode the instance is built on the owner's thread before the user's callbacks run,
so ``on_response`` already sees ``parsed``; the callback sequence stays the one of
``deliver_final`` (a refusal or an answer that does not fit goes to ``on_error``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from .._lifecycle.calls import deliver_final
from .._parameters_base import OpenAIParameters
from ..errors import ErrorKind, OpenAIError

__all__ = ["apply_parsed", "parse_result"]

R = TypeVar("R")
P = TypeVar("P", bound=OpenAIParameters)
#: ``(text, refusal)`` of a result: the answer's text, and the refusal when the model refused.
TextOf = Callable[[Any], "tuple[str | None, str | None]"]


def apply_parsed(result: Any, cls: type, text_of: TextOf) -> None:
    """Set ``result.parsed`` from the answer; on a refusal or an answer that does not fit,
    leave it None and add the error to ``result.errors``."""
    from .structured import parse_as

    result.parsed = None
    if not result.success:
        return
    text, refusal = text_of(result)
    error: OpenAIError | None = None
    if refusal is not None:
        error = OpenAIError(f"The model refused: {refusal}", kind=ErrorKind.REFUSAL)
    elif not text:
        error = OpenAIError("The answer has no text to parse.", kind=ErrorKind.PARSE)
    else:
        try:
            result.parsed = parse_as(cls, text)
        except (ValueError, TypeError) as exc:
            error = OpenAIError(f"The answer is not a {cls.__name__}: {exc}",
                                kind=ErrorKind.PARSE)
    if error is not None:
        result._errors = [*(result._errors or []), error]


def parse_result(send: Callable[[P], R], params: P, cls: type, text_of: TextOf) -> R:
    """``send(params)`` in the mode ``params`` asks for, with ``parsed`` set on the result."""
    if not params.is_async:
        throw = params.throw
        request = type(params).coerce(params, throw=False)
        result = send(request)
        apply_parsed(result, cls, text_of)
        if throw:
            result.throw()  # type: ignore[attr-defined]
        return result
    user = params
    request = type(params).coerce(params, on_response=None, on_error=None, formula=None)

    def finish(result: Any) -> None:  # on the owner's thread, before the user's callbacks
        apply_parsed(result, cls, text_of)
        deliver_final(user, result)

    request.on_terminate = finish
    if user.formula is not None and getattr(user, "stream", False):
        request.on_data = _chunks_to(user)
    return send(request)


def _chunks_to(user: OpenAIParameters) -> Callable[[Any], None]:
    """A stream's chunks for a user who set ``formula`` (4D: it gets chunks too)."""
    from .._lifecycle.calls import invoke

    def each(chunk: Any) -> None:
        invoke(user.on_data, chunk)
        invoke(user.formula, chunk)

    return each
