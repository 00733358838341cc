"""Models, embeddings, images (and their download links) and moderations.

Every answer is a pure function of the request (see ``_content``), so a test can predict it.
"""

from __future__ import annotations

import base64
import time
from typing import Any

from ._api import APIError, Response, int_param, invalid, json_object, missing, required_model
from ._content import (
    JSONDict,
    color_for,
    count_tokens,
    embedding_vector,
    float32_bytes,
    moderation_result,
    png_bytes,
)
from ._records import RecordedRequest
from ._state import SimState

_MODEL_CREATED = 1_700_000_000


def list_models(state: SimState, request: RecordedRequest, params: dict[str, str]) -> Response:
    with state.lock:
        ids = list(state.models)
    return Response.json({"object": "list", "data": [_model_object(i) for i in ids]})


def retrieve_model(state: SimState, request: RecordedRequest, params: dict[str, str]) -> Response:
    model = params["model"]
    with state.lock:
        known = model in state.models
    if not known:
        raise APIError(
            404,
            f"The model '{model}' does not exist or you do not have access to it.",
            code="model_not_found",
        )
    return Response.json(_model_object(model))


def create_embeddings(
    state: SimState, request: RecordedRequest, params: dict[str, str]
) -> Response:
    body = json_object(request)
    model = required_model(body)
    raw = body.get("input")
    if raw is None:
        raise missing("input")
    texts, tokens = _embedding_inputs(raw)
    dimensions = int_param(body.get("dimensions"), "dimensions", 8, 1, 8192)
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise invalid(
            "encoding_format",
            f"Invalid 'encoding_format': '{encoding}'. Expected 'float' or 'base64'.",
        )
    state.remember_model(model)
    data: list[JSONDict] = []
    for index, text in enumerate(texts):
        vector = embedding_vector(text, dimensions)
        embedding: Any = (
            base64.b64encode(float32_bytes(vector)).decode("ascii")
            if encoding == "base64"
            else vector
        )
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    state.use_tokens(tokens)
    return Response.json(
        {
            "object": "list",
            "data": data,
            "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )


def create_images(state: SimState, request: RecordedRequest, params: dict[str, str]) -> Response:
    body = json_object(request)
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise missing("prompt")
    n = int_param(body.get("n"), "n", 1, 1, 10)
    response_format = body.get("response_format") or "url"
    if response_format not in ("url", "b64_json"):
        raise invalid(
            "response_format",
            f"Invalid 'response_format': '{response_format}'. Expected 'url' or 'b64_json'.",
        )
    model = body.get("model")
    if isinstance(model, str) and model:
        state.remember_model(model)
    host = request.headers.get("host", "127.0.0.1")
    data: list[JSONDict] = []
    for index in range(n):
        image = png_bytes(color_for(f"{index}:{prompt}"))
        item: JSONDict = {"revised_prompt": prompt}
        if response_format == "b64_json":
            item["b64_json"] = base64.b64encode(image).decode("ascii")
        else:
            image_id = f"img-fake{state.next_number('image')}"
            with state.lock:
                state.images[image_id] = image
            item["url"] = f"http://{host}/v1/files-images/{image_id}.png"
        data.append(item)
    prompt_tokens = count_tokens(prompt)
    return Response.json(
        {
            "created": int(time.time()),
            "data": data,
            "output_format": "png",
            "usage": {
                "total_tokens": prompt_tokens + 64 * n,
                "input_tokens": prompt_tokens,
                "output_tokens": 64 * n,
                "input_tokens_details": {"text_tokens": prompt_tokens, "image_tokens": 0},
            },
        }
    )


def download_image(state: SimState, request: RecordedRequest, params: dict[str, str]) -> Response:
    name = params["name"]
    image_id = name[: -len(".png")] if name.endswith(".png") else name
    with state.lock:
        image = state.images.get(image_id)
    if image is None:
        raise APIError(404, f"No image found with id '{image_id}'.")
    return Response(200, image, "image/png")


def create_moderation(
    state: SimState, request: RecordedRequest, params: dict[str, str]
) -> Response:
    body = json_object(request)
    raw = body.get("input")
    if raw is None:
        raise missing("input")
    groups: list[tuple[list[str], bool]]
    if isinstance(raw, str):
        groups = [([raw], False)]
    elif isinstance(raw, list) and raw and all(isinstance(item, str) for item in raw):
        groups = [([item], False) for item in raw]
    elif isinstance(raw, list) and raw and all(isinstance(item, dict) for item in raw):
        texts: list[str] = []
        has_image = False
        for index, part in enumerate(raw):
            if part.get("type") == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif part.get("type") == "image_url" and isinstance(part.get("image_url"), dict):
                has_image = True
            else:
                raise invalid(f"input[{index}]", f"Invalid 'input[{index}]': unknown part.")
        groups = [(texts, has_image)]
    else:
        raise invalid(
            "input",
            "Invalid 'input': expected a string, an array of strings or of input parts.",
            "invalid_type",
        )
    model = body.get("model") or "omni-moderation-latest"
    if not isinstance(model, str):
        raise invalid("model", "Invalid type for 'model': expected a string.", "invalid_type")
    state.remember_model(model)
    return Response.json(
        {
            "id": f"modr-fake{state.next_number('moderation')}",
            "model": model,
            "results": [moderation_result(texts, image) for texts, image in groups],
        }
    )


def _model_object(model: str) -> JSONDict:
    return {
        "id": model,
        "object": "model",
        "created": _MODEL_CREATED,
        "owned_by": "aikit-testing",
    }


def _embedding_inputs(raw: Any) -> tuple[list[str], int]:
    """The texts to embed (token arrays become their decimal text) and their token count."""
    error = invalid(
        "input",
        "Invalid 'input': expected a non-empty string, array of strings, array of tokens "
        "or array of token arrays.",
    )
    if isinstance(raw, str):
        if not raw:
            raise error
        return [raw], count_tokens(raw)
    if not isinstance(raw, list) or not raw:
        raise error
    if all(isinstance(item, str) and item for item in raw):
        return list(raw), sum(count_tokens(item) for item in raw)
    if all(isinstance(item, int) and not isinstance(item, bool) for item in raw):
        return [" ".join(map(str, raw))], len(raw)
    if all(
        isinstance(item, list)
        and item
        and all(isinstance(t, int) and not isinstance(t, bool) for t in item)
        for item in raw
    ):
        return [" ".join(map(str, item)) for item in raw], sum(len(item) for item in raw)
    raise error
