"""``client.moderations``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..parameters import OpenAIModerationParameters
from ..results import OpenAIModerationResult
from . import Params, Resource
from .embeddings import check_input

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..types import ModerationCreateOptions

__all__ = ["Moderations"]


class Moderations(Resource):
    __slots__ = ()

    def create(
        self,
        input: str | Sequence[str] | Sequence[Mapping[str, Any]],
        model: str = "",
        params: Params = None,
        **kwargs: Unpack[ModerationCreateOptions],
    ) -> OpenAIModerationResult:
        """POST /moderations; ``input`` is text, a list of texts, or content parts."""
        check_input(input)
        if not isinstance(model, str):
            raise TypeError(f"`model` must be a str, not {type(model).__name__}")
        p = OpenAIModerationParameters.coerce(params, **kwargs)
        body = p.body()
        body["input"] = input
        if model:
            body["model"] = model
        return self._client._request(
            "POST", "/moderations", p, OpenAIModerationResult, json_body=body
        )
