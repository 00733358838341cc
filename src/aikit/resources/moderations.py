"""``client.moderations``."""

from __future__ import annotations

from typing import Any

from ..parameters import OpenAIModerationParameters
from ..results import OpenAIModerationResult
from . import Resource
from .embeddings import check_input

__all__ = ["Moderations"]


class Moderations(Resource):
    __slots__ = ()

    def create(
        self, input: Any, model: str = "", params: Any = None, **kwargs: Any
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
