"""``client.embeddings``."""

from __future__ import annotations

from typing import Any

from ..parameters import OpenAIEmbeddingsParameters
from ..results import OpenAIEmbeddingsResult
from . import Resource

__all__ = ["Embeddings"]


def check_input(value: Any) -> Any:
    """A non-empty str or a non-empty list (of str or token lists); raises naming ``input``."""
    if isinstance(value, str):
        if not value:
            raise ValueError("Expected a non-empty value for `input`")
        return value
    if isinstance(value, (list, tuple)):
        if not value:
            raise ValueError("Expected a non-empty value for `input`")
        return list(value)
    raise TypeError(f"`input` must be a str or a list, not {type(value).__name__}")


class Embeddings(Resource):
    __slots__ = ()

    def create(
        self, input: Any, model: str = "", params: Any = None, **kwargs: Any
    ) -> OpenAIEmbeddingsResult:
        """POST /embeddings; ``encoding_format="base64"`` is decoded to float vectors."""
        check_input(input)
        if not isinstance(model, str):
            raise TypeError(f"`model` must be a str, not {type(model).__name__}")
        p = OpenAIEmbeddingsParameters.coerce(params, **kwargs)
        body = p.body()
        body["input"] = input
        body["model"] = model or "text-embedding-3-small"
        return self._client._request(
            "POST", "/embeddings", p, OpenAIEmbeddingsResult, json_body=body
        )
