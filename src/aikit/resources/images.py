"""``client.images``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..parameters import OpenAIImageParameters
from ..results import OpenAIImagesResult
from . import Params, Resource

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..types import ImageGenerateOptions

__all__ = ["Images"]


class Images(Resource):
    __slots__ = ()

    def generate(
        self, prompt: str, params: Params = None,
        **kwargs: Unpack[ImageGenerateOptions],
    ) -> OpenAIImagesResult:
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
