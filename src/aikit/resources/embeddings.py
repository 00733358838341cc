"""``client.embeddings``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._settings import check_str
from ..parameters import OpenAIEmbeddingsParameters
from ..results import OpenAIEmbeddingsResult
from . import Params, Resource

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..types import EmbeddingCreateOptions

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
        self,
        input: str | Sequence[str] | Sequence[int] | Sequence[Sequence[int]],
        model: str = "",
        params: Params = None,
        **kwargs: Unpack[EmbeddingCreateOptions],
    ) -> OpenAIEmbeddingsResult:
        """POST /embeddings; ``encoding_format="base64"`` is decoded to float vectors.

        ``model`` is sent as given, ``""`` included, as 4D does: there is no default embedding
        model to guess (OpenAI answers 400 without one; a local server may use its own).
        """
        check_input(input)
        p = OpenAIEmbeddingsParameters.coerce(params, **kwargs)
        body = p.body()
        body["input"] = input
        body["model"] = check_str(model, "model")
        return self._client._request(
            "POST", "/embeddings", p, OpenAIEmbeddingsResult, json_body=body
        )
