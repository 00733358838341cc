"""API resources: each builds a request and hands it to the client; none imports requests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import quote

if TYPE_CHECKING:
    from .._parameters_base import OpenAIParameters
    from ..client import OpenAI

__all__ = ["Params", "Resource", "path_id", "require_id"]

#: The ``params`` argument of every method: a 4D dict (camelCase or snake_case keys), or a
#: parameters object; the method's keyword arguments are merged over it.
Params: TypeAlias = "Mapping[str, Any] | OpenAIParameters | None"


class Resource:
    __slots__ = ("_client",)

    def __init__(self, client: OpenAI) -> None:
        self._client = client


def require_id(value: object, argument: str) -> str:
    """A non-empty str id, or ValueError/TypeError naming ``argument`` (nothing is sent).

    ``"."`` and ``".."`` are refused too: percent-encoding leaves them as they are, and URL
    normalisation then removes them, so ``files.delete(".")`` would send ``DELETE /files/``
    (and ``".."`` would climb out of the resource altogether).
    """
    if not isinstance(value, str):
        raise TypeError(f"`{argument}` must be a str, not {type(value).__name__}")
    if not value:
        raise ValueError(f"Expected a non-empty value for `{argument}`")
    if value in (".", ".."):
        raise ValueError(f"`{argument}` cannot be {value!r}: it is not an id but a path step")
    return value


def path_id(value: object, argument: str) -> str:
    """A validated id, URL-encoded for use as one path segment."""
    return quote(require_id(value, argument), safe="")
