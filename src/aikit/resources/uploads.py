"""``client.uploads``: the Uploads API, for files larger than one request may carry (create,
add parts, complete, cancel), and ``upload_file``, which does all of it for one file."""

from __future__ import annotations

import hashlib
import os
import pathlib
import time
from collections.abc import Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any

from .._batch_parameters import (
    DEFAULT_PART_SIZE,
    OpenAIUploadFileParameters,
    OpenAIUploadParameters,
)
from .._batch_results import OpenAIUploadPartResult, OpenAIUploadResult
from .._http.multipart import FilePart, FileTypes, MultipartBody, file_part
from .._parameters_base import OpenAIParameters
from .._settings import check_int
from . import Params, Resource, path_id, require_id

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..types import (
        UploadAddPartOptions,
        UploadCancelOptions,
        UploadCompleteOptions,
        UploadCreateOptions,
        UploadFileOptions,
    )

__all__ = ["Uploads"]


def _text(value: object, argument: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"`{argument}` must be a str, not {type(value).__name__}")
    if not value:
        raise ValueError(f"Expected a non-empty value for `{argument}`")
    return value


class Uploads(Resource):
    """``client.uploads``: one file sent in parts of up to 64 MB (8 GB in all), completed
    into a file usable like any uploaded one."""

    __slots__ = ()

    def create(
        self, filename: str, purpose: str, bytes: int, mime_type: str,
        params: Params = None, **kwargs: Unpack[UploadCreateOptions],
    ) -> OpenAIUploadResult:
        """POST /uploads: an upload of ``bytes`` bytes, to which parts are then added."""
        body: dict[str, Any] = {
            "filename": _text(filename, "filename"),
            "purpose": _text(purpose, "purpose"),
            "bytes": check_int(bytes, "bytes", 0),
            "mime_type": _text(mime_type, "mime_type"),
        }
        p = OpenAIUploadParameters.coerce(params, **kwargs)
        body.update(p.body())
        return self._client._request("POST", "/uploads", p, OpenAIUploadResult, json_body=body)

    def add_part(
        self, upload_id: str, data: FileTypes | FilePart, params: Params = None,
        **kwargs: Unpack[UploadAddPartOptions],
    ) -> OpenAIUploadPartResult:
        """POST /uploads/{id}/parts: one part (bytes, a path or a binary file object; at
        most 64 MB for OpenAI). Parts may be added in any order, even at the same time."""
        segment = path_id(upload_id, "upload_id")
        if data is None:
            raise TypeError("Expected a value for `data` (bytes, a path or a file object)")
        if isinstance(data, (bytes, bytearray, memoryview)):
            part = FilePart("part", "application/octet-stream", bytes(data))
        else:
            part = file_part(data)
        p = OpenAIParameters.coerce(params, **kwargs)
        body = MultipartBody([], [("data", part)])
        return self._client._request("POST", f"/uploads/{segment}/parts", p,
                                     OpenAIUploadPartResult, body=body,
                                     content_type=body.content_type)

    def complete(
        self, upload_id: str, part_ids: Sequence[str], md5: str | None = None,
        params: Params = None, **kwargs: Unpack[UploadCompleteOptions],
    ) -> OpenAIUploadResult:
        """POST /uploads/{id}/complete: the parts, in this order, make the file
        (``result.file``); ``md5`` (hex) is checked by the server when given."""
        segment = path_id(upload_id, "upload_id")
        if isinstance(part_ids, str) or not isinstance(part_ids, Sequence):
            raise TypeError(f"`part_ids` must be a list of str, not {type(part_ids).__name__}")
        ids = [require_id(part, f"part_ids[{i}]") for i, part in enumerate(part_ids)]
        if not ids:
            raise ValueError("Expected at least one id in `part_ids`")
        body: dict[str, Any] = {"part_ids": ids}
        if md5 is not None:
            body["md5"] = _text(md5, "md5")
        p = OpenAIParameters.coerce(params, **kwargs)
        body.update(p.body())
        return self._client._request("POST", f"/uploads/{segment}/complete", p,
                                     OpenAIUploadResult, json_body=body)

    def cancel(
        self, upload_id: str, params: Params = None, **kwargs: Unpack[UploadCancelOptions]
    ) -> OpenAIUploadResult:
        """POST /uploads/{id}/cancel: no part may be added after this."""
        segment = path_id(upload_id, "upload_id")
        p = OpenAIParameters.coerce(params, **kwargs)
        return self._client._request("POST", f"/uploads/{segment}/cancel", p,
                                     OpenAIUploadResult)

    def upload_file(
        self, file: FileTypes, purpose: str, part_size: int = DEFAULT_PART_SIZE,
        params: Params = None, **kwargs: Unpack[UploadFileOptions],
    ) -> OpenAIUploadResult:
        """Create an upload, add the file in parts of ``part_size`` bytes, complete it (with
        its MD5); ``result.file`` is the file. Sync only: it returns when done.

        ``file`` is what ``files.create`` takes: a path, bytes, a binary file object or
        ``(filename, content)``. A failed step ends it (a started upload is cancelled); the
        result then holds that step's errors.
        """
        _text(purpose, "purpose")
        check_int(part_size, "part_size", 1)
        p = OpenAIUploadFileParameters.coerce(params, **kwargs)
        if p.is_async:
            raise ValueError("upload_file() runs sync and takes no callbacks; use create, "
                             "add_part and complete for callback mode")
        if file is None:
            raise TypeError("Expected a value for `file` (a path, bytes or a binary file object)")
        part = file_part(file, filename=p.filename)
        size = _size(part.source)
        if size == 0:
            raise ValueError("`file` is empty: an upload needs at least one byte")
        end = None if p.deadline is None else time.monotonic() + p.deadline

        def options() -> OpenAIParameters:
            """Each request's options; ``deadline`` is what is left of the whole upload's."""
            left = None if end is None else max(end - time.monotonic(), 0.001)
            return OpenAIParameters(
                timeout=p.timeout, max_retries=p.max_retries, extra_headers=p.extra_headers,
                extra_query=p.extra_query, http_agent=p.http_agent, deadline=left)

        created = self.create(part.filename, purpose, size, p.mime_type or part.content_type,
                              OpenAIUploadParameters(options(), expires_after=p.expires_after,
                                                     extra_body=p.extra_body))
        upload = created.upload
        if not created.success or upload is None or not upload.id:
            return _finish(created, p.throw)
        digest = hashlib.md5(usedforsecurity=False)
        part_ids: list[str] = []
        for number, chunk in enumerate(_chunks(part.source, size, part_size)):
            digest.update(chunk)
            added = self.add_part(upload.id, FilePart(f"part-{number}",
                                                      "application/octet-stream", chunk),
                                  options())
            added_part = added.part
            if not added.success or added_part is None or not added_part.id:
                self.cancel(upload.id, options())
                failed = OpenAIUploadResult()
                failed._complete(added._response, added.errors)
                failed._mark_terminated()
                return _finish(failed, p.throw)
            part_ids.append(added_part.id)
        completed = self.complete(upload.id, part_ids, digest.hexdigest(), options())
        return _finish(completed, p.throw)


def _finish(result: OpenAIUploadResult, throw: bool) -> OpenAIUploadResult:
    if throw:
        result.throw()
    return result


def _size(source: pathlib.Path | bytes | IO[bytes]) -> int:
    if isinstance(source, bytes):
        return len(source)
    if isinstance(source, pathlib.Path):
        return source.stat().st_size
    source.seek(0, os.SEEK_END)
    return source.tell()


def _chunks(source: pathlib.Path | bytes | IO[bytes], size: int, part_size: int
            ) -> Iterator[bytes]:
    """The content in parts of ``part_size`` bytes, one in memory at a time; exactly ``size``
    bytes in all (a file that changed meanwhile is an ``OSError``, as for ``files.create``)."""
    if isinstance(source, bytes):
        view = memoryview(source)
        for start in range(0, size, part_size):
            yield bytes(view[start:start + part_size])
        return
    if isinstance(source, pathlib.Path):
        with source.open("rb") as f:
            yield from _read_parts(f, size, part_size, source.name)
        return
    source.seek(0)
    yield from _read_parts(source, size, part_size, getattr(source, "name", "file"))


def _read_parts(f: IO[bytes], size: int, part_size: int, name: object) -> Iterator[bytes]:
    remaining = size
    while remaining > 0:
        want = min(part_size, remaining)
        pieces: list[bytes] = []
        got = 0
        while got < want:
            piece = f.read(want - got)
            if not piece:
                raise OSError(f"{name!r} shrank during upload (expected {size} bytes)")
            pieces.append(piece)
            got += len(piece)
        remaining -= want
        yield b"".join(pieces)
