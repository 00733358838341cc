"""The Files endpoints: multipart upload, list, retrieve, delete, and content download.

A file larger than ``max_file_bytes`` gets OpenAI's 413 (the Uploads API, ``_uploads``, takes
it in parts). Uploads and batches store their files here too (``store_file``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ._api import APIError, Response, invalid, missing, paginate
from ._content import JSONDict
from ._records import RecordedRequest
from ._state import SimState, StoredFile

FILE_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")


def create_file(state: SimState, request: RecordedRequest, params: dict[str, str]) -> Response:
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise APIError(
            415,
            f"Invalid Content-Type header ({content_type or 'none'}), expected "
            "multipart/form-data.",
        )
    if not request.form and not request.files:
        raise APIError(400, "Could not parse the multipart/form-data body.")
    purpose = request.form.get("purpose")
    if purpose is None:
        raise missing("purpose")
    if purpose not in FILE_PURPOSES:
        supported = ", ".join(f"'{p}'" for p in FILE_PURPOSES)
        raise invalid("purpose", f"Invalid value: '{purpose}'. Supported values are: {supported}.")
    upload = request.files.get("file")
    if upload is None:
        if "file" in request.form:
            raise invalid("file", "Invalid 'file': expected a file upload (with a filename).", None)
        raise missing("file")
    limit = state.max_file_bytes
    if len(upload.content) > limit:
        raise APIError(
            413,
            f"File is too large ({len(upload.content)} bytes): the maximum size of a file "
            f"uploaded in one request is {limit} bytes. Use the Uploads API for larger files.",
            "file",
            "file_too_large",
        )
    expiry = _file_expiry(request.form)
    return Response.json(store_file(state, upload.filename, purpose, upload.content, expiry))


def store_file(
    state: SimState, filename: str, purpose: str, content: bytes, expiry: int | None = None
) -> JSONDict:
    """Store a file (its ``expires_at`` ``expiry`` seconds after now, if given); its object."""
    created = int(time.time())
    info: JSONDict = {
        "id": f"file-fake{state.next_number('file')}",
        "object": "file",
        "bytes": len(content),
        "created_at": created,
        "filename": filename,
        "purpose": purpose,
        "status": "processed",
    }
    if expiry is not None:
        info["expires_at"] = created + expiry
    with state.lock:
        state.files[info["id"]] = StoredFile(info, content)
    return dict(info)


def _stored_file(state: SimState, file_id: str) -> StoredFile:
    stored = state.files.get(file_id)
    if stored is None:
        raise APIError(404, f"No such File object: {file_id}", "id")
    return stored


def list_files(state: SimState, request: RecordedRequest, params: dict[str, str]) -> Response:
    purpose = request.query.get("purpose")
    with state.lock:
        items = [
            dict(stored.info)
            for stored in state.files.values()
            if not purpose or stored.info["purpose"] == purpose
        ]
    return Response.json(paginate(items, request.query, 10_000, 10_000, "desc"))


def retrieve_file(state: SimState, request: RecordedRequest, params: dict[str, str]) -> Response:
    with state.lock:
        return Response.json(_stored_file(state, params["id"]).info)


def delete_file(state: SimState, request: RecordedRequest, params: dict[str, str]) -> Response:
    file_id = params["id"]
    with state.lock:
        _stored_file(state, file_id)
        del state.files[file_id]
    return Response.json({"id": file_id, "object": "file", "deleted": True})


def file_content(state: SimState, request: RecordedRequest, params: dict[str, str]) -> Response:
    with state.lock:
        stored = _stored_file(state, params["id"])
    filename = str(stored.info["filename"]).replace('"', "")
    return Response(
        200,
        stored.content,
        "application/octet-stream",
        [("Content-Disposition", f'attachment; filename="{filename}"')],
    )


def _file_expiry(form: Mapping[str, str]) -> int | None:
    anchor = form.get("expires_after[anchor]")
    seconds = form.get("expires_after[seconds]")
    if anchor is None and seconds is None:
        return None
    if anchor != "created_at" or seconds is None:
        raise invalid(
            "expires_after",
            "Invalid 'expires_after': expected anchor 'created_at' and a number of seconds.",
        )
    try:
        value = int(seconds)
    except ValueError:
        raise invalid(
            "expires_after", "Invalid 'expires_after[seconds]': not an integer."
        ) from None
    return _expiry_range(value, "expires_after")


def json_expiry(value: Any, param: str) -> int | None:
    """The seconds of an ``expires_after``-style object of a JSON body, or None if absent."""
    if value is None:
        return None
    seconds = value.get("seconds") if isinstance(value, dict) else None
    if (
        not isinstance(value, dict)
        or value.get("anchor") != "created_at"
        or isinstance(seconds, bool)
        or not isinstance(seconds, int)
    ):
        raise invalid(
            param, f"Invalid '{param}': expected anchor 'created_at' and a number of seconds."
        )
    return _expiry_range(seconds, param)


def _expiry_range(value: int, param: str) -> int:
    if not 3600 <= value <= 2_592_000:
        raise invalid(param, f"Invalid '{param}[seconds]': must be between 3600 and 2592000.")
    return value
