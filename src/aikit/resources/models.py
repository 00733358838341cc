"""``client.models``: list and retrieve."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._parameters_base import OpenAIParameters
from ..results import OpenAIModelListResult, OpenAIModelResult
from . import Params, Resource, path_id

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..types import ModelListOptions, ModelRetrieveOptions

__all__ = ["Models"]


class Models(Resource):
    __slots__ = ()

    def list(
        self, params: Params = None, **kwargs: Unpack[ModelListOptions]
    ) -> OpenAIModelListResult:
        """GET /models."""
        p = OpenAIParameters.coerce(params, **kwargs)
        return self._client._request("GET", "/models", p, OpenAIModelListResult)

    def retrieve(
        self, model: str, params: Params = None,
        **kwargs: Unpack[ModelRetrieveOptions],
    ) -> OpenAIModelResult:
        """GET /models/{model}; the id is URL-encoded (``ft:...`` and ``org/name`` ids work)."""
        segment = path_id(model, "model")
        p = OpenAIParameters.coerce(params, **kwargs)
        return self._client._request("GET", f"/models/{segment}", p, OpenAIModelResult)
