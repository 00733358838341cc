"""``client.models``: list and retrieve."""

from __future__ import annotations

from typing import Any

from .._parameters_base import OpenAIParameters
from ..results import OpenAIModelListResult, OpenAIModelResult
from . import Resource, path_id

__all__ = ["Models"]


class Models(Resource):
    __slots__ = ()

    def list(self, params: Any = None, **kwargs: Any) -> OpenAIModelListResult:
        """GET /models."""
        p = OpenAIParameters.coerce(params, **kwargs)
        return self._client._request("GET", "/models", p, OpenAIModelListResult)

    def retrieve(self, model: str, params: Any = None, **kwargs: Any) -> OpenAIModelResult:
        """GET /models/{model}; the id is URL-encoded (``ft:...`` and ``org/name`` ids work)."""
        segment = path_id(model, "model")
        p = OpenAIParameters.coerce(params, **kwargs)
        return self._client._request("GET", f"/models/{segment}", p, OpenAIModelResult)
