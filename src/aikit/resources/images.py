"""``client.images``."""

from __future__ import annotations

from typing import Any

from ..parameters import OpenAIImageParameters
from ..results import OpenAIImagesResult
from . import Resource

__all__ = ["Images"]


class Images(Resource):
    __slots__ = ()

    def generate(self, prompt: str, params: Any = None, **kwargs: Any) -> OpenAIImagesResult:
        """POST /images/generations."""
        if not isinstance(prompt, str):
            raise TypeError(f"`prompt` must be a str, not {type(prompt).__name__}")
        if not prompt:
            raise ValueError("Expected a non-empty value for `prompt`")
        p = OpenAIImageParameters.coerce(params, **kwargs)
        body = p.body()
        body["prompt"] = prompt
        return self._client._request(
            "POST", "/images/generations", p, OpenAIImagesResult, json_body=body
        )
