"""Multipart bodies: exact layout, file normalisation, MIME table, and real sends with requests."""

from __future__ import annotations

import email.parser
import email.policy
import http.server
import io
import pathlib
import threading
from collections.abc import Iterator
from typing import Any, BinaryIO, cast

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from aikit._http.multipart import CHUNK_SIZE, FilePart, MultipartBody, file_part
from aikit._mime import MIME_TYPES, mime_type


def parse(body: MultipartBody) -> list[tuple[str, str | None, str, bytes]]:
    """Parse with the stdlib email parser: (name, filename, content type, payload) per part."""
    raw = b"".join(body)
    head = b"Content-Type: " + body.content_type.encode() + b"\r\n\r\n"
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
    assert msg.is_multipart()
    assert not msg.defects
    parts = []
    for part in msg.iter_parts():
        assert not part.defects
        assert part.get_content_disposition() == "form-data"
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        assert isinstance(name, str)
        assert isinstance(payload, bytes)
        parts.append((name, part.get_filename(), part.get_content_type(), payload))
    return parts


# --- exact bytes -----------------------------------------------------------------------------


def test_exact_layout() -> None:
    body = MultipartBody(
        [("purpose", "fine-tune"), ("expires_after[anchor]", "created_at")],
        [("file", file_part(("train.jsonl", b'{"a":1}\n')))],
        boundary="B0UND",
    )
    assert body.content_type == "multipart/form-data; boundary=B0UND"
    expected = (
        b"--B0UND\r\n"
        b'Content-Disposition: form-data; name="purpose"\r\n\r\n'
        b"fine-tune\r\n"
        b"--B0UND\r\n"
        b'Content-Disposition: form-data; name="expires_after[anchor]"\r\n\r\n'
        b"created_at\r\n"
        b"--B0UND\r\n"
        b'Content-Disposition: form-data; name="file"; filename="train.jsonl"\r\n'
        b"Content-Type: application/jsonl\r\n\r\n"
        b'{"a":1}\n\r\n'
        b"--B0UND--\r\n"
    )
    assert b"".join(body) == expected
    assert len(body) == len(expected)


def test_default_boundary_is_random_uuid_hex() -> None:
    a, b = MultipartBody([], []), MultipartBody([], [])
    assert len(a.boundary) == 32 and int(a.boundary, 16) >= 0
    assert a.boundary != b.boundary
    assert b"".join(a) == b"--" + a.boundary.encode() + b"--\r\n"


def test_names_and_filenames_are_escaped_like_browsers() -> None:
    part = file_part(('a"b\r\nc\u00e9.txt', b"x"))
    body = MultipartBody([('we"ird\nname', "v")], [("f\r", part)], boundary="b")
    raw = b"".join(body)
    assert b'name="we%22ird%0Aname"' in raw
    assert b'name="f%0D"; filename="a%22b%0D%0Ac\xc3\xa9.txt"' in raw
    assert b"Content-Type: text/plain\r\n" in raw


def test_field_values_are_utf8_and_untouched() -> None:
    body = MultipartBody([("v", "\u00e9\r\n\u20ac")], [], boundary="b")
    assert parse(body) == [("v", None, "text/plain", "\u00e9\r\n\u20ac".encode())]


@pytest.mark.parametrize("bad", ["", "a" * 71, "ends with space ", "semi;colon", "\u00e9", "a\r\n"])
def test_invalid_boundary(bad: str) -> None:
    with pytest.raises(ValueError, match="boundary"):
        MultipartBody([], [], boundary=bad)


def test_boundary_with_specials_is_quoted_in_content_type() -> None:
    body = MultipartBody([("k", "v")], [], boundary="a=b:c")
    assert body.content_type == 'multipart/form-data; boundary="a=b:c"'
    assert parse(body) == [("k", None, "text/plain", b"v")]


def test_content_type_with_line_break_is_rejected() -> None:
    part = FilePart("f", "text/plain\r\nX-Evil: 1", b"x")
    with pytest.raises(ValueError, match="line break"):
        MultipartBody([], [("file", part)])


def test_non_string_field_is_rejected() -> None:
    with pytest.raises(TypeError, match="fields"):
        MultipartBody([("n", 1)], [])  # type: ignore[list-item]


# --- streaming and re-iteration ----------------------------------------------------------------


def test_path_is_streamed_in_pieces_and_reread(tmp_path: pathlib.Path) -> None:
    content = bytes(range(256)) * 1000  # 256,000 bytes
    path = tmp_path / "big.pdf"
    path.write_bytes(content)
    body = MultipartBody([("purpose", "user_data")], [("file", file_part(path))])
    pieces = list(body)
    assert max(len(p) for p in pieces) <= CHUNK_SIZE
    assert len(pieces) >= 256_000 // CHUNK_SIZE
    assert sum(map(len, pieces)) == len(body)
    assert b"".join(body) == b"".join(pieces)  # a second iteration sends everything again
    assert parse(body)[1] == ("file", "big.pdf", "application/pdf", content)


def test_file_object_is_rewound_on_each_iteration() -> None:
    f = io.BytesIO(b"0123456789")
    f.read(4)  # already partly read: the whole file is still sent
    body = MultipartBody([], [("file", file_part(f))], boundary="b")
    first = b"".join(body)
    assert b"".join(body) == first
    assert b"\r\n\r\n0123456789\r\n--b--\r\n" in first
    assert len(body) == len(first)


def test_large_bytes_are_sent_whole_and_small_ones_inlined() -> None:
    big = b"x" * (CHUNK_SIZE + 1)
    body = MultipartBody([], [("a", file_part(b"small")), ("b", file_part(big))])
    pieces = list(body)
    assert big in pieces
    assert b"".join(pieces).count(b"small") == 1
    assert len(pieces) == 3  # headers (with the small file inlined), big, trailer


class NonSeekable(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.name = "/somewhere/pipe.csv"

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer: Any) -> int:
        return self._data.readinto(buffer)


def test_non_seekable_file_object_is_read_once_at_construction() -> None:
    part = file_part(cast(BinaryIO, NonSeekable(b"a,b\n")))
    assert part == FilePart("pipe.csv", "text/csv", b"a,b\n")


def test_file_that_changes_size_is_an_error(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"12345")
    body = MultipartBody([], [("file", file_part(path))])
    path.write_bytes(b"123")
    with pytest.raises(OSError, match="shrank"):
        b"".join(body)
    path.write_bytes(b"1234567")
    with pytest.raises(OSError, match="grew"):
        b"".join(body)


# --- file_part ---------------------------------------------------------------------------------


def test_file_part_from_path_forms(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "notes.MD"
    path.write_bytes(b"# hi")
    for form in (path, str(path)):
        assert file_part(form) == FilePart("notes.MD", "text/markdown", path)
    assert file_part(path, filename="x.txt") == FilePart("x.txt", "text/plain", path)


def test_file_part_from_bytes_like() -> None:
    for form in (b"abc", bytearray(b"abc"), memoryview(b"abc")):
        # 4D's name for unnamed bytes, with 4D's content type.
        assert file_part(form) == FilePart("file.pdf", "application/octet-stream", b"abc")
    assert file_part(b"abc", filename="a.png") == FilePart("a.png", "image/png", b"abc")
    assert file_part(b"abc", filename="").filename == "file.pdf"  # empty counts as not given
    assert file_part(("", b"abc"), filename="b.txt").filename == "b.txt"


def test_file_part_bytearray_is_a_snapshot() -> None:
    data = bytearray(b"abc")
    part = file_part(data)
    data += b"def"
    assert part.source == b"abc"


def test_file_part_from_file_objects(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "report.docx"
    path.write_bytes(b"PK")
    with path.open("rb") as f:
        part = file_part(f)
        assert part.filename == "report.docx"
        assert part.content_type == MIME_TYPES["docx"]
        assert part.source is f
    unnamed = file_part(io.BytesIO(b"x"))
    assert (unnamed.filename, unnamed.content_type) == ("file.pdf", "application/octet-stream")


def test_file_part_from_tuples(tmp_path: pathlib.Path) -> None:
    assert file_part(("a.json", b"{}")) == FilePart("a.json", "application/json", b"{}")
    assert file_part(("a.json", b"{}", "text/x-custom")) == FilePart(
        "a.json", "text/x-custom", b"{}"
    )
    assert file_part((None, b"{}"), filename="b.csv") == FilePart("b.csv", "text/csv", b"{}")
    path = tmp_path / "c.py"
    path.write_bytes(b"")
    assert file_part(("renamed.txt", path)) == FilePart("renamed.txt", "text/plain", path)
    assert file_part(("noext", b"")).content_type == "application/octet-stream"


def test_file_part_passthrough() -> None:
    part = FilePart("a.txt", "text/plain", b"")
    assert file_part(part) is part
    assert file_part(part, filename="b.txt").filename == "b.txt"


def test_missing_path_names_the_path(tmp_path: pathlib.Path) -> None:
    missing = tmp_path / "nope.pdf"
    with pytest.raises(FileNotFoundError, match=r"nope\.pdf"):
        file_part(missing)
    with pytest.raises(IsADirectoryError):
        file_part(tmp_path)


@pytest.mark.parametrize(
    "bad",
    [123, None, 1.5, ["a"], io.StringIO("text"), ("a",), ("a", b"", "t", "x"), (1, b"")],
)
def test_file_part_type_errors_name_the_argument(bad: Any) -> None:
    with pytest.raises(TypeError, match="file"):
        file_part(bad)


def test_text_mode_file_is_rejected(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("hello")
    with path.open() as f, pytest.raises(TypeError, match="binary"):
        file_part(f)  # type: ignore[arg-type]


# --- MIME table -------------------------------------------------------------------------------


def test_mime_type_lookup() -> None:
    assert mime_type("pdf") == "application/pdf"
    assert mime_type(".PDF") == "application/pdf"
    assert mime_type("Report.Final.DOCX") == MIME_TYPES["docx"]
    assert mime_type(pathlib.Path("dir.v2") / "photo.JPG") == "image/jpeg"
    assert mime_type("data.jsonl") == "application/jsonl"  # deliberate fix over 4D
    assert mime_type("dir.txt/README") == "application/octet-stream"
    assert mime_type("archive.unknown") == "application/octet-stream"
    assert mime_type("") == "application/octet-stream"


def test_mime_table_matches_4d() -> None:
    assert len(MIME_TYPES) == 31
    assert MIME_TYPES["jpeg"] == MIME_TYPES["jpg"] == "image/jpeg"
    assert MIME_TYPES["ts"] == "application/typescript"
    assert MIME_TYPES["pkl"] == "application/octet-stream"


# --- well-formedness (property) ----------------------------------------------------------------

# Printable ASCII without quote or backslash; no edge spaces and no <...> (the email parser
# used to read the body back strips both: email.utils.unquote drops enclosing angle brackets).
names = st.text(
    st.characters(min_codepoint=32, max_codepoint=126, blacklist_characters='"\\')
).filter(lambda s: s == s.strip() and not (s.startswith("<") and s.endswith(">")))


@settings(max_examples=100, deadline=None)
@given(
    fields=st.lists(st.tuples(names.filter(bool), st.text(max_size=20)), min_size=1, max_size=3),
    files=st.lists(st.tuples(names.filter(bool), names, st.binary(max_size=200)), max_size=3),
)
def test_any_body_parses_back(
    fields: list[tuple[str, str]], files: list[tuple[str, str, bytes]]
) -> None:
    body = MultipartBody(fields, [(n, file_part((fn or None, data))) for n, fn, data in files])
    assert len(body) == len(b"".join(body))
    parsed = parse(body)
    assert [(n, v.encode()) for n, v in fields] == [(p[0], p[3]) for p in parsed[: len(fields)]]
    assert [(n, fn or "file.pdf", data) for n, fn, data in files] == [
        (p[0], p[1], p[3]) for p in parsed[len(fields) :]
    ]


# --- real sends with requests ------------------------------------------------------------------


class _Recorder(http.server.BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]]

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.received.append((dict(self.headers.items()), self.rfile.read(length)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    received: list[tuple[dict[str, str], bytes]] = []
    handler = type("Handler", (_Recorder,), {"received": received})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1/files", received
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.mark.parametrize("kind", ["path", "file object", "bytes"])
def test_requests_sends_exact_bytes_with_content_length_twice(
    server: tuple[str, list[tuple[dict[str, str], bytes]]], tmp_path: pathlib.Path, kind: str
) -> None:
    url, received = server
    content = bytes(range(256)) * 700  # 179,200 bytes: several 64 KiB pieces
    path = tmp_path / "upload.pdf"
    path.write_bytes(content)
    with path.open("rb") as f, requests.Session() as session:
        session.trust_env = False  # no proxy from the environment
        source: Any = {"path": path, "file object": f, "bytes": ("upload.pdf", content)}[kind]
        body = MultipartBody([("purpose", "assistants")], [("file", file_part(source))])
        expected = b"".join(body)
        for _ in range(2):  # the second send stands for a retry
            response = session.post(url, data=body, headers={"Content-Type": body.content_type})
            assert response.status_code == 200
        assert not f.closed  # requests must not close the caller's file
        assert parse(body)[1] == ("file", "upload.pdf", "application/pdf", content)
    assert len(received) == 2
    for headers, got in received:
        assert headers["Content-Length"] == str(len(body)) == str(len(expected))
        assert "Transfer-Encoding" not in headers
        assert headers["Content-Type"] == body.content_type
        assert got == expected
