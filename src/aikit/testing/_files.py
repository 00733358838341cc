"""The Files endpoints: multipart upload, list, retrieve, delete, and content download."""

from __future__ import annotations

import time
from collections.abc import Mapping

from ._api import APIError, Response, invalid, missing, paginate
from ._content import JSONDict
from ._records import RecordedRequest
from ._state import SimState, StoredFile

_FILE_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")


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
    if purpose not in _FILE_PURPOSES:
        supported = ", ".join(f"'{p}'" for p in _FILE_PURPOSES)
        raise invalid("purpose", f"Invalid value: '{purpose}'. Supported values are: {supported}.")
    upload = request.files.get("file")
    if upload is None:
        if "file" in request.form:
            raise invalid("file", "Invalid 'file': expected a file upload (with a filename).", None)
        raise missing("file")
    created = int(time.time())
    info: JSONDict = {
        "id": f"file-fake{state.next_number('file')}",
        "object": "file",
        "bytes": len(upload.content),
        "created_at": created,
        "filename": upload.filename,
        "purpose": purpose,
        "status": "processed",
    }
    expiry = _file_expiry(request.form)
    if expiry is not None:
        info["expires_at"] = created + expiry
    with state.lock:
        state.files[info["id"]] = StoredFile(info, upload.content)
    return Response.json(info)


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
    if not 3600 <= value <= 2_592_000:
        raise invalid(
            "expires_after", "Invalid 'expires_after[seconds]': must be between 3600 and 2592000."
        )
    return value
