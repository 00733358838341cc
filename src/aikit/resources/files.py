"""``client.files``: multipart upload streamed from disk, list, retrieve, delete, content."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._http.multipart import FileTypes, MultipartBody, file_part
from .._parameters_base import OpenAIParameters
from .._results_base import OpenAIResult
from ..parameters import OpenAIFileListParameters, OpenAIFileParameters
from ..results import OpenAIFileDeletedResult, OpenAIFileListResult, OpenAIFileResult
from . import Params, Resource, path_id

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..types import (
        FileCreateOptions,
        FileDeleteOptions,
        FileListOptions,
        FileRetrieveOptions,
        ResultOptions,
    )

__all__ = ["Files"]


class Files(Resource):
    __slots__ = ()

    def create(
        self,
        file: FileTypes,
        purpose: str,
        params: Params = None,
        **kwargs: Unpack[FileCreateOptions],
    ) -> OpenAIFileResult:
        """POST /files. ``file``: a path, bytes, a binary file object, or ``(filename, data)``.

        Name bytes with ``filename=``: the API reads the file type from the extension, and
        unnamed content goes as ``file.pdf``, as in 4D. A retry re-sends the whole file.
        """
        if not isinstance(purpose, str):
            raise TypeError(f"`purpose` must be a str, not {type(purpose).__name__}")
        if not purpose:
            raise ValueError("Expected a non-empty value for `purpose`")
        p = OpenAIFileParameters.coerce(params, **kwargs)
        if file is None:
            raise TypeError("Expected a non-empty value for `file` (a path, bytes or a binary "
                            "file object)")
        part = file_part(file, filename=p.filename)
        fields = [*p.form_fields(), ("purpose", purpose)]
        body = MultipartBody(fields, [("file", part)])
        return self._client._request(
            "POST", "/files", p, OpenAIFileResult, body=body, content_type=body.content_type
        )

    def list(
        self, params: Params = None, **kwargs: Unpack[FileListOptions]
    ) -> OpenAIFileListResult:
        """GET /files (after, limit, order, purpose)."""
        p = OpenAIFileListParameters.coerce(params, **kwargs)
        return self._client._request("GET", "/files", p, OpenAIFileListResult, query=p.query())

    def retrieve(
        self, file_id: str, params: Params = None,
        **kwargs: Unpack[FileRetrieveOptions],
    ) -> OpenAIFileResult:
        """GET /files/{id}."""
        segment = path_id(file_id, "file_id")
        p = OpenAIParameters.coerce(params, **kwargs)
        return self._client._request("GET", f"/files/{segment}", p, OpenAIFileResult)

    def delete(
        self, file_id: str, params: Params = None,
        **kwargs: Unpack[FileDeleteOptions],
    ) -> OpenAIFileDeletedResult:
        """DELETE /files/{id}."""
        segment = path_id(file_id, "file_id")
        p = OpenAIParameters.coerce(params, **kwargs)
        return self._client._request("DELETE", f"/files/{segment}", p, OpenAIFileDeletedResult)

    def content(
        self, file_id: str, params: Params = None,
        **kwargs: Unpack[ResultOptions],
    ) -> OpenAIResult:
        """GET /files/{id}/content; the bytes are ``result.content``."""
        segment = path_id(file_id, "file_id")
        p = OpenAIParameters.coerce(params, **kwargs)
        return self._client._request("GET", f"/files/{segment}/content", p, OpenAIResult)
