"""Result classes: what every call returns and every callback receives.

This module exports every result class. The base class ``OpenAIResult`` and ``RateLimit`` are
defined in ``_results_base``, the chat completion results in ``_chat_results``; the results of
the other endpoints (models, embeddings, images, moderations, files) are defined here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import attrs

from ._chat_results import OpenAIChatCompletionsResult, OpenAIChatCompletionsStreamResult
from ._responses_results import (
    OpenAIResponseDeletedResult,
    OpenAIResponsesInputItemsResult,
    OpenAIResponsesInputTokensResult,
    OpenAIResponsesResult,
    OpenAIResponsesStreamResult,
)
from ._results_base import OpenAIListPage, OpenAIResult, RateLimit, body_dict
from .objects import (
    OpenAIEmbedding,
    OpenAIFile,
    OpenAIFileDeleted,
    OpenAIImage,
    OpenAIModel,
    OpenAIModeration,
    embedding_from_api,
)

__all__ = [
    "OpenAIChatCompletionsResult",
    "OpenAIChatCompletionsStreamResult",
    "OpenAIEmbeddingsResult",
    "OpenAIFileDeletedResult",
    "OpenAIFileListResult",
    "OpenAIFileResult",
    "OpenAIImagesResult",
    "OpenAIModelListResult",
    "OpenAIModelResult",
    "OpenAIModerationResult",
    "OpenAIResponseDeletedResult",
    "OpenAIResponsesInputItemsResult",
    "OpenAIResponsesInputTokensResult",
    "OpenAIResponsesResult",
    "OpenAIResponsesStreamResult",
    "OpenAIResult",
    "RateLimit",
]


@attrs.define(eq=False, repr=False)
class OpenAIModelListResult(OpenAIResult):
    """``models.list()``."""

    @property
    def models(self) -> list[OpenAIModel]:
        body = self.body
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            return []
        return [OpenAIModel(item) for item in data if isinstance(item, dict)]


@attrs.define(eq=False, repr=False)
class OpenAIModelResult(OpenAIResult):
    """``models.retrieve()``; understands Hugging Face's ``{"data": {...}}`` wrapper."""

    @property
    def model(self) -> OpenAIModel | None:
        body = self.body
        if not isinstance(body, dict):
            return None
        if isinstance(body.get("data"), dict):
            body = body["data"]
        return OpenAIModel(body) if isinstance(body.get("id"), str) else None



def _data_items(result: OpenAIResult) -> list[dict[str, Any]]:
    """The dict entries of ``body["data"]`` (list endpoints, embeddings, images)."""
    data = body_dict(result).get("data")
    if not isinstance(data, list):
        return []
    return [item for item in data if isinstance(item, dict)]


# -- embeddings, images, moderations --------------------------------------------------------


@attrs.define(eq=False, repr=False)
class OpenAIEmbeddingsResult(OpenAIResult):
    """``embeddings.create()``."""

    @property
    def embeddings(self) -> list[OpenAIEmbedding]:
        """One per input; see ``OpenAIEmbedding.per_token`` for servers that do not pool."""
        return [embedding_from_api(item) for item in _data_items(self)]

    @property
    def embedding(self) -> OpenAIEmbedding | None:
        items = _data_items(self)
        return embedding_from_api(items[0]) if items else None

    @property
    def vectors(self) -> list[list[float]]:
        """Each input's vector (a list of per-token vectors from a server that does not pool)."""
        return [e.embedding for e in self.embeddings]

    @property
    def vector(self) -> list[float] | None:
        """The first vector, or None."""
        embedding = self.embedding
        return embedding.embedding if embedding is not None else None

    @property
    def model(self) -> str:
        """The model that answered; ``""`` when the body has none."""
        model = body_dict(self).get("model")
        return "" if model is None else str(model)


_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", ".png"),
    (b"\xff\xd8\xff", ".jpg"),
    (b"GIF8", ".gif"),
)


def _image_extension(data: bytes) -> str:
    for magic, ext in _IMAGE_MAGIC:
        if data.startswith(magic):
            return ext
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    return ".png"


@attrs.define(eq=False, repr=False)
class OpenAIImagesResult(OpenAIResult):
    """``images.generate()``."""

    @property
    def images(self) -> list[OpenAIImage]:
        return [OpenAIImage(item) for item in _data_items(self)]

    @property
    def image(self) -> OpenAIImage | None:
        items = _data_items(self)
        return OpenAIImage(items[0]) if items else None

    def save_images_to_disk(
        self, folder: str | os.PathLike[str], prefix: str = "image"
    ) -> list[Path]:
        """Write each image as ``<prefix><i><ext>`` in ``folder`` (created if needed).

        The extension follows the bytes (PNG, JPEG, WebP, GIF; ``.png`` otherwise), not 4D's
        fixed ``.png``. Images whose bytes cannot be had are skipped but keep their index.
        Returns the files written.
        """
        if folder is None:
            raise TypeError("`folder` must be a path, not None")
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        for i, image in enumerate(self.images):
            data = image.as_bytes()
            if data is None:
                continue
            path = target / f"{prefix}{i}{_image_extension(data)}"
            path.write_bytes(data)
            written.append(path)
        return written


@attrs.define(eq=False, repr=False)
class OpenAIModerationResult(OpenAIResult):
    """``moderations.create()``."""

    @property
    def moderation(self) -> OpenAIModeration | None:
        body = body_dict(self)
        return OpenAIModeration(body) if isinstance(body.get("id"), str) else None


# -- files ----------------------------------------------------------------------------------


@attrs.define(eq=False, repr=False)
class OpenAIFileResult(OpenAIResult):
    """``files.create()`` and ``files.retrieve()``."""

    @property
    def file(self) -> OpenAIFile | None:
        body = body_dict(self)
        return OpenAIFile(body) if isinstance(body.get("id"), str) else None


@attrs.define(eq=False, repr=False)
class OpenAIFileListResult(OpenAIListPage):
    """``files.list()``; ``first_id``/``last_id`` are ``""`` when absent."""

    @property
    def files(self) -> list[OpenAIFile]:
        files: list[OpenAIFile] = []
        for item in _data_items(self):
            try:
                files.append(OpenAIFile(item))
            except (TypeError, ValueError):
                continue
        return files


@attrs.define(eq=False, repr=False)
class OpenAIFileDeletedResult(OpenAIResult):
    """``files.delete()``."""

    @property
    def deleted(self) -> OpenAIFileDeleted | None:
        body = body_dict(self)
        return OpenAIFileDeleted(body) if isinstance(body.get("id"), str) else None
