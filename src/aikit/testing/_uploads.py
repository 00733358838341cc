"""The Uploads API: a file too large for one request, sent in parts and then assembled.

``POST /uploads`` announces the file (name, purpose, size, MIME type); each ``POST
/uploads/{id}/parts`` adds one part (multipart field ``data``, at most 64 MB); ``POST
/uploads/{id}/complete`` joins the parts in the order of its ``part_ids`` into a normal file
(the upload's ``file``), provided they add up to the announced size (and ``md5``, if sent);
``POST /uploads/{id}/cancel`` drops it. Binary parts must be file parts (with a filename, as
OpenAI's SDKs and ``requests`` send them); a plain text field is taken as UTF-8.
"""

from __future__ import annotations

import hashlib
import time

from ._api import APIError, Response, int_param, invalid, json_object, missing
from ._content import JSONDict
from ._files import FILE_PURPOSES, json_expiry, store_file
from ._records import RecordedRequest
from ._state import SimState, StoredUpload

MAX_PART_BYTES = 64 * 2**20
MAX_UPLOAD_BYTES = 8 * 2**30
_UPLOAD_LIFETIME = 3600


def create_upload(state: SimState, request: RecordedRequest, params: dict[str, str]) -> Response:
    body = json_object(request)
    filename = _required_str(body, "filename")
    purpose = _required_str(body, "purpose")
    if purpose not in FILE_PURPOSES:
        supported = ", ".join(f"'{p}'" for p in FILE_PURPOSES)
        raise invalid("purpose", f"Invalid value: '{purpose}'. Supported values are: {supported}.")
    if "bytes" not in body:
        raise missing("bytes")
    size = int_param(body.get("bytes"), "bytes", 0, 0, MAX_UPLOAD_BYTES)
    _required_str(body, "mime_type")
    expiry = json_expiry(body.get("expires_after"), "expires_after")
    created = int(time.time())
    upload: JSONDict = {
        "id": f"upload_fake{state.next_number('upload')}",
        "object": "upload",
        "bytes": size,
        "created_at": created,
        "filename": filename,
        "purpose": purpose,
        "status": "pending",
        "expires_at": created + _UPLOAD_LIFETIME,
        "file": None,
    }
    if expiry is not None:
        upload["file_expires_after"] = expiry  # kept for the file; not part of the object
    with state.lock:
        state.uploads[upload["id"]] = StoredUpload(upload)
        return Response.json(_public(upload))


def add_part(state: SimState, request: RecordedRequest, params: dict[str, str]) -> Response:
    upload_file = request.files.get("data")
    if upload_file is not None:
        data = upload_file.content
    elif "data" in request.form:
        data = request.form["data"].encode()
    else:
        raise missing("data")
    if len(data) > MAX_PART_BYTES:
        raise invalid(
            "data",
            f"Invalid 'data': a part may have at most {MAX_PART_BYTES} bytes, got {len(data)}.",
            "part_too_large",
        )
    part: JSONDict = {
        "id": f"part_fake{state.next_number('upload_part')}",
        "object": "upload.part",
        "created_at": int(time.time()),
        "upload_id": params["id"],
    }
    with state.lock:
        stored = _pending(state, params["id"], "add a part to")
        stored.parts[part["id"]] = data
    return Response.json(part)


def complete_upload(state: SimState, request: RecordedRequest, params: dict[str, str]) -> Response:
    body = json_object(request)
    part_ids = body.get("part_ids")
    if part_ids is None:
        raise missing("part_ids")
    if not isinstance(part_ids, list) or not all(isinstance(p, str) for p in part_ids):
        raise invalid(
            "part_ids", "Invalid 'part_ids': expected an array of strings.", "invalid_type"
        )
    md5 = body.get("md5")
    if md5 is not None and not isinstance(md5, str):
        raise invalid("md5", "Invalid type for 'md5': expected a string.", "invalid_type")
    with state.lock:
        stored = _pending(state, params["id"], "complete")
        unknown = [part_id for part_id in part_ids if part_id not in stored.parts]
        if unknown:
            raise invalid("part_ids", f"Invalid 'part_ids': no part '{unknown[0]}' in this upload.")
        if len(set(part_ids)) != len(part_ids):
            raise invalid("part_ids", "Invalid 'part_ids': a part is listed more than once.")
        content = b"".join(stored.parts[part_id] for part_id in part_ids)
        upload = stored.upload
    if len(content) != upload["bytes"]:
        raise invalid(
            "part_ids",
            f"The number of bytes uploaded upon completion ({len(content)}) does not match "
            f"the number of bytes specified when creating the upload ({upload['bytes']}).",
            "upload_size_mismatch",
        )
    if md5 and hashlib.md5(content, usedforsecurity=False).hexdigest() != md5.lower():
        raise invalid("md5", "The md5 checksum does not match the uploaded bytes.", "md5_mismatch")
    with state.lock:
        stored = _pending(state, params["id"], "complete")  # not completed or cancelled since
        stored.upload["status"] = "completed"
        stored.parts.clear()
    expiry = upload.get("file_expires_after")
    info = store_file(state, upload["filename"], upload["purpose"], content, expiry)
    with state.lock:
        upload["file"] = info
        return Response.json(_public(upload))


def cancel_upload(state: SimState, request: RecordedRequest, params: dict[str, str]) -> Response:
    with state.lock:
        stored = _pending(state, params["id"], "cancel")
        stored.upload["status"] = "cancelled"
        stored.parts.clear()
        return Response.json(_public(stored.upload))


def _pending(state: SimState, upload_id: str, action: str) -> StoredUpload:
    """The upload, which must still be pending (the caller holds the state lock)."""
    stored = state.uploads.get(upload_id)
    if stored is None:
        raise APIError(404, f"No upload found with id '{upload_id}'.", "upload_id")
    status = stored.upload["status"]
    if status != "pending":
        raise APIError(400, f"Cannot {action} an upload with status '{status}'.")
    return stored


def _public(upload: JSONDict) -> JSONDict:
    return {key: value for key, value in upload.items() if key != "file_expires_after"}


def _required_str(body: JSONDict, name: str) -> str:
    value = body.get(name)
    if value is None:
        raise missing(name)
    if not isinstance(value, str) or not value:
        raise invalid(name, f"Invalid type for '{name}': expected a string.", "invalid_type")
    return value
