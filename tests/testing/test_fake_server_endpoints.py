"""FakeOpenAIServer embeddings, images, moderations and files (multipart uploads)."""

from __future__ import annotations

import base64
import math
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from urllib3 import encode_multipart_formdata

from aikit.testing import FakeOpenAIServer

from ._support import RawConnection

# -- embeddings -------------------------------------------------------------------------------


def embed(http: requests.Session, server: FakeOpenAIServer, **body: Any) -> requests.Response:
    return http.post(server.url + "/embeddings", json={"model": "text-embedding-3-small", **body})


def test_embeddings_are_deterministic_unit_vectors(
    server: FakeOpenAIServer, http: requests.Session
) -> None:
    body = embed(http, server, input="hello world").json()
    assert body["object"] == "list"
    assert body["model"] == "text-embedding-3-small"
    assert body["usage"] == {"prompt_tokens": 2, "total_tokens": 2}
    (item,) = body["data"]
    assert item["object"] == "embedding" and item["index"] == 0
    vector = item["embedding"]
    assert len(vector) == 8
    assert math.isclose(math.fsum(v * v for v in vector), 1.0, rel_tol=1e-5)
    assert embed(http, server, input="hello world").json()["data"][0]["embedding"] == vector
    many = embed(http, server, input=["hello world", "other", "x y z"], dimensions=16).json()
    assert [d["index"] for d in many["data"]] == [0, 1, 2]
    assert all(len(d["embedding"]) == 16 for d in many["data"])
    assert many["data"][0]["embedding"] != many["data"][1]["embedding"]
    assert many["usage"]["prompt_tokens"] == 6


def test_embeddings_base64_and_token_inputs(
    server: FakeOpenAIServer, http: requests.Session
) -> None:
    floats = embed(http, server, input="abc").json()["data"][0]["embedding"]
    encoded = embed(http, server, input="abc", encoding_format="base64").json()
    raw = base64.b64decode(encoded["data"][0]["embedding"])
    assert list(struct.unpack("<8f", raw)) == floats
    tokens = embed(http, server, input=[1, 2, 3]).json()
    assert len(tokens["data"]) == 1 and tokens["usage"]["prompt_tokens"] == 3
    arrays = embed(http, server, input=[[1, 2], [3]]).json()
    assert len(arrays["data"]) == 2 and arrays["usage"]["total_tokens"] == 3


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "m"}, "input"),
        ({"input": "x"}, "model"),
        ({"model": "m", "input": ""}, "input"),
        ({"model": "m", "input": []}, "input"),
        ({"model": "m", "input": [1, "a"]}, "input"),
        ({"model": "m", "input": "x", "dimensions": 0}, "dimensions"),
        ({"model": "m", "input": "x", "encoding_format": "hex"}, "encoding_format"),
    ],
)
def test_embeddings_errors(
    server: FakeOpenAIServer, http: requests.Session, body: dict[str, Any], param: str
) -> None:
    response = http.post(server.url + "/embeddings", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


# -- images -----------------------------------------------------------------------------------


def decode_png(data: bytes) -> tuple[int, int, bytes]:
    """Check a PNG's framing and CRCs; return width, height and the raw scanlines."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks = 8, {}
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        payload = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert zlib.crc32(kind + payload) & 0xFFFFFFFF == crc
        chunks[kind] = payload
        position += 12 + length
    assert set(chunks) == {b"IHDR", b"IDAT", b"IEND"}
    width, height, depth, color = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, color) == (8, 2)
    return width, height, zlib.decompress(chunks[b"IDAT"])


def test_images_b64_json_is_a_valid_png(server: FakeOpenAIServer, http: requests.Session) -> None:
    body = {"prompt": "a red fox", "response_format": "b64_json", "n": 2, "model": "dall-e-3"}
    result = http.post(server.url + "/images/generations", json=body).json()
    assert isinstance(result["created"], int)
    assert len(result["data"]) == 2
    first = result["data"][0]
    assert first["revised_prompt"] == "a red fox"
    assert "url" not in first
    width, height, rows = decode_png(base64.b64decode(first["b64_json"]))
    assert (width, height) == (8, 8)
    assert len(rows) == 8 * (1 + 8 * 3)
    pixel = rows[1:4]
    assert rows == (b"\x00" + pixel * 8) * 8  # one solid colour
    assert result["data"][1]["b64_json"] != first["b64_json"]
    assert result["usage"]["input_tokens"] == 3


def test_images_urls_are_served_without_a_key(http: requests.Session) -> None:
    with FakeOpenAIServer(api_key="sk-image-test-0000") as server:
        headers = {"Authorization": "Bearer sk-image-test-0000"}
        result = http.post(
            server.url + "/images/generations", json={"prompt": "a fox"}, headers=headers
        ).json()
        url = result["data"][0]["url"]
        assert url.startswith(server.url + "/files-images/") and url.endswith(".png")
        image = http.get(url)  # like a pre-signed link: no key
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/png"
        assert decode_png(image.content)[:2] == (8, 8)
        assert http.get(server.url + "/files-images/img-nope.png").status_code == 404


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "prompt"),
        ({"prompt": " "}, "prompt"),
        ({"prompt": "x", "n": 11}, "n"),
        ({"prompt": "x", "response_format": "gif"}, "response_format"),
    ],
)
def test_images_errors(
    server: FakeOpenAIServer, http: requests.Session, body: dict[str, Any], param: str
) -> None:
    response = http.post(server.url + "/images/generations", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


# -- moderations ------------------------------------------------------------------------------

CATEGORIES = {
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
}


def test_moderation_flags_trigger_words(server: FakeOpenAIServer, http: requests.Session) -> None:
    url = server.url + "/moderations"
    result = http.post(url, json={"input": "I want to kill them."}).json()
    assert result["id"].startswith("modr-")
    assert result["model"] == "omni-moderation-latest"
    (flagged,) = result["results"]
    assert flagged["flagged"] is True
    assert flagged["categories"]["violence"] is True
    assert flagged["categories"]["sexual"] is False
    for key in ("categories", "category_scores", "category_applied_input_types"):
        assert set(flagged[key]) == CATEGORIES
    assert flagged["category_scores"]["violence"] > 0.5 > flagged["category_scores"]["sexual"]
    assert flagged["category_applied_input_types"]["violence"] == ["text"]
    again = http.post(url, json={"input": "I want to kill them."}).json()
    assert again["results"] == result["results"] and again["id"] != result["id"]

    several = http.post(url, json={"input": ["hello", "I hate this"], "model": "m"}).json()
    assert several["model"] == "m"
    assert [r["flagged"] for r in several["results"]] == [False, True]
    assert several["results"][1]["categories"]["hate"] is True

    parts = [
        {"type": "text", "text": "a calm lake"},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
    ]
    multimodal = http.post(url, json={"input": parts}).json()["results"]
    assert len(multimodal) == 1 and multimodal[0]["flagged"] is False
    assert multimodal[0]["category_applied_input_types"]["violence"] == ["text", "image"]
    assert multimodal[0]["category_applied_input_types"]["hate"] == ["text"]


@pytest.mark.parametrize("body", [{}, {"input": 3}, {"input": [{"type": "audio"}]}])
def test_moderation_errors(
    server: FakeOpenAIServer, http: requests.Session, body: dict[str, Any]
) -> None:
    response = http.post(server.url + "/moderations", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["param"].startswith("input")


# -- files ------------------------------------------------------------------------------------

ALL_BYTES = bytes(range(256)) + b"\r\n--boundary\r\n\r\n--" + bytes(range(255, -1, -1))


def upload(
    http: requests.Session,
    server: FakeOpenAIServer,
    content: bytes = b"{}\n",
    filename: str = "data.jsonl",
    purpose: str = "batch",
    fields: dict[str, str] | None = None,
) -> requests.Response:
    return http.post(
        server.url + "/files",
        files={"file": (filename, content, "application/jsonl")},
        data={"purpose": purpose, **(fields or {})},
    )


def test_file_upload_records_and_returns_the_file_object(
    server: FakeOpenAIServer, http: requests.Session
) -> None:
    response = upload(http, server, ALL_BYTES, "naïve data.bin", "user_data")
    assert response.status_code == 200, response.text
    info = response.json()
    assert info["id"].startswith("file-")
    assert info["object"] == "file"
    assert info["bytes"] == len(ALL_BYTES)
    assert info["filename"] == "naïve data.bin"
    assert info["purpose"] == "user_data"
    assert info["status"] == "processed"
    assert isinstance(info["created_at"], int)
    assert "expires_at" not in info
    request = server.requests[-1]
    assert request.form == {"purpose": "user_data"}
    filename, content_type, content = request.files["file"]
    assert (filename, content_type, content) == ("naïve data.bin", "application/jsonl", ALL_BYTES)
    assert request.json is None

    expiring = upload(
        http,
        server,
        fields={"expires_after[anchor]": "created_at", "expires_after[seconds]": "3600"},
    ).json()
    assert expiring["expires_at"] == expiring["created_at"] + 3600


def test_chunked_multipart_upload(server: FakeOpenAIServer, http: requests.Session) -> None:
    body, content_type = encode_multipart_formdata(
        [("purpose", "fine-tune"), ("file", ("big.jsonl", ALL_BYTES * 64, "application/x-ndjson"))]
    )

    def pieces() -> Iterator[bytes]:
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    response = http.post(
        server.url + "/files", data=pieces(), headers={"Content-Type": content_type}
    )
    assert response.status_code == 200, response.text
    request = server.requests[-1]
    assert request.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in request.headers
    assert request.files["file"] == ("big.jsonl", "application/x-ndjson", ALL_BYTES * 64)
    file_id = response.json()["id"]
    content = http.get(f"{server.url}/files/{file_id}/content")
    assert content.content == ALL_BYTES * 64


def test_files_list_retrieve_content_delete(
    server: FakeOpenAIServer, http: requests.Session
) -> None:
    ids = [
        upload(http, server, b"a", "a.jsonl", "batch").json()["id"],
        upload(http, server, b"bb", "b.txt", "assistants").json()["id"],
        upload(http, server, b"ccc", "c.jsonl", "batch").json()["id"],
    ]
    url = server.url + "/files"
    listing = http.get(url).json()
    assert listing["object"] == "list"
    assert [f["id"] for f in listing["data"]] == ids[::-1]  # newest first by default
    assert listing["first_id"] == ids[2] and listing["last_id"] == ids[0]
    assert listing["has_more"] is False
    batch = http.get(url, params={"purpose": "batch", "order": "asc"}).json()
    assert [f["id"] for f in batch["data"]] == [ids[0], ids[2]]
    page = http.get(url, params={"limit": 1, "after": ids[2]}).json()
    assert [f["id"] for f in page["data"]] == [ids[1]] and page["has_more"] is True

    one = http.get(f"{url}/{ids[1]}").json()
    assert one == listing["data"][1]
    content = http.get(f"{url}/{ids[1]}/content")
    assert content.content == b"bb"
    assert content.headers["content-type"] == "application/octet-stream"
    assert http.delete(f"{url}/{ids[1]}").json() == {
        "id": ids[1],
        "object": "file",
        "deleted": True,
    }
    for response in (
        http.get(f"{url}/{ids[1]}"),
        http.get(f"{url}/{ids[1]}/content"),
        http.delete(f"{url}/{ids[1]}"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["message"] == f"No such File object: {ids[1]}"
    assert len(http.get(url).json()["data"]) == 2


def test_file_upload_errors(server: FakeOpenAIServer, http: requests.Session) -> None:
    url = server.url + "/files"
    no_purpose = http.post(url, files={"file": ("a.txt", b"x")})
    assert (no_purpose.status_code, no_purpose.json()["error"]["param"]) == (400, "purpose")
    no_file = http.post(url, files={"purpose": (None, "batch")})
    assert (no_file.status_code, no_file.json()["error"]["param"]) == (400, "file")
    text_file = http.post(url, files={"purpose": (None, "batch"), "file": (None, "not a file")})
    assert (text_file.status_code, text_file.json()["error"]["param"]) == (400, "file")
    bad_purpose = upload(http, server, purpose="memes")
    assert bad_purpose.json()["error"]["param"] == "purpose"
    bad_expiry = upload(http, server, fields={"expires_after[anchor]": "created_at"})
    assert bad_expiry.json()["error"]["param"] == "expires_after"
    short_expiry = upload(
        http, server, fields={"expires_after[anchor]": "created_at", "expires_after[seconds]": "60"}
    )
    assert short_expiry.json()["error"]["param"] == "expires_after"
    assert http.post(url, json={"purpose": "batch"}).status_code == 415
    garbled = http.post(
        url, data=b"nope", headers={"Content-Type": "multipart/form-data; boundary=z"}
    )
    assert garbled.status_code == 400
    assert http.get(url).json()["data"] == []


def test_upload_with_expect_100_continue(server: FakeOpenAIServer) -> None:
    body, content_type = encode_multipart_formdata(
        [("purpose", "batch"), ("file", ("e.jsonl", b"{}", "application/jsonl"))]
    )
    with RawConnection(server) as raw:
        raw.sock.sendall(
            b"POST /v1/files HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
            + f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        )
        status, _ = raw.read_head()
        assert status == 100
        raw.sock.sendall(body)
        status, headers = raw.read_head()
        assert status == 200
        assert b'"filename":"e.jsonl"' in raw.read_body(headers)
