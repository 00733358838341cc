"""FakeOpenAIServer Batch API (input checks, background runs, cancel, expiry) and Uploads API."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable
from typing import Any

import pytest
import requests

from aikit.testing import FakeOpenAIServer

from ._support import chat_body

_DONE = ("completed", "failed", "expired", "cancelled")


def request_line(custom_id: str, text: str = "hi", url: str = "/v1/chat/completions") -> str:
    body = chat_body(text) if url == "/v1/chat/completions" else {"model": "m", "input": text}
    return json.dumps({"custom_id": custom_id, "method": "POST", "url": url, "body": body})


def upload(
    http: requests.Session, server: FakeOpenAIServer, content: bytes, purpose: str = "batch"
) -> str:
    files = {"file": ("input.jsonl", content)}
    response = http.post(server.url + "/files", data={"purpose": purpose}, files=files)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def create(
    http: requests.Session,
    server: FakeOpenAIServer,
    lines: Iterable[str],
    endpoint: str = "/v1/chat/completions",
    **extra: Any,
) -> dict[str, Any]:
    file_id = upload(http, server, ("\n".join(lines) + "\n").encode())
    body = {"input_file_id": file_id, "endpoint": endpoint, "completion_window": "24h", **extra}
    response = http.post(server.url + "/batches", json=body)
    assert response.status_code == 200, response.text
    batch: dict[str, Any] = response.json()
    return batch


def retrieve(http: requests.Session, server: FakeOpenAIServer, batch_id: str) -> dict[str, Any]:
    response = http.get(f"{server.url}/batches/{batch_id}")
    assert response.status_code == 200
    batch: dict[str, Any] = response.json()
    return batch


def wait_done(
    http: requests.Session,
    server: FakeOpenAIServer,
    batch_id: str,
    timeout: float = 10.0,
    poll: float = 0.02,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (batch := retrieve(http, server, batch_id))["status"] not in _DONE:
        assert time.monotonic() < deadline, f"batch still {batch['status']}"
        time.sleep(poll)
    return batch


def file_lines(http: requests.Session, server: FakeOpenAIServer, file_id: str) -> list[Any]:
    response = http.get(f"{server.url}/files/{file_id}/content")
    assert response.status_code == 200
    return [json.loads(line) for line in response.content.splitlines()]


# -- a batch's life -------------------------------------------------------------------------


def test_batch_goes_through_every_status(server: FakeOpenAIServer, http: requests.Session) -> None:
    server.batch_step = 0.1
    server.batch_lines_per_step = 4
    server.reply_next("scripted")  # batch lines leave the chat scripts alone
    ids = [f"req-{index}" for index in range(10)]
    batch = create(http, server, (request_line(i, f"hello {i}") for i in ids), metadata={"a": "b"})
    assert batch["status"] == "validating" and batch["id"].startswith("batch_")
    assert batch["object"] == "batch" and batch["metadata"] == {"a": "b"}
    assert batch["request_counts"] == {"total": 0, "completed": 0, "failed": 0}
    assert batch["expires_at"] == batch["created_at"] + 86400
    statuses = [batch["status"]]
    counts = []
    deadline = time.monotonic() + 10
    while batch["status"] not in _DONE:
        assert time.monotonic() < deadline
        time.sleep(0.01)
        batch = retrieve(http, server, batch["id"])
        if batch["status"] != statuses[-1]:
            statuses.append(batch["status"])
        if batch["status"] == "in_progress":
            counts.append(batch["request_counts"]["completed"])
    assert statuses == ["validating", "in_progress", "finalizing", "completed"]
    assert counts == sorted(counts) and any(0 < count < 10 for count in counts)  # step by step
    assert batch["request_counts"] == {"total": 10, "completed": 10, "failed": 0}
    assert batch["model"] == "gpt-4o-mini"
    assert batch["error_file_id"] is None and batch["errors"] is None
    for stamp in ("in_progress_at", "finalizing_at", "completed_at"):
        assert batch[stamp] >= batch["created_at"]
    assert batch["failed_at"] is None and batch["cancelled_at"] is None

    output = file_lines(http, server, batch["output_file_id"])
    assert [line["custom_id"] for line in output] != ids  # no order is promised
    by_id = {line["custom_id"]: line for line in output}
    assert sorted(by_id) == sorted(ids)
    for custom_id, line in by_id.items():
        assert line["id"].startswith("batch_req_") and line["error"] is None
        response = line["response"]
        assert response["status_code"] == 200 and response["request_id"].startswith("req_")
        message = response["body"]["choices"][0]["message"]["content"]
        assert message == f"Echo: hello {custom_id}"
    info = http.get(f"{server.url}/files/{batch['output_file_id']}").json()
    assert info["purpose"] == "batch_output"
    assert info["filename"] == f"{batch['id']}_output.jsonl"
    listed = http.get(server.url + "/files", params={"purpose": "batch_output"}).json()
    assert [item["id"] for item in listed["data"]] == [batch["output_file_id"]]
    # The scripted reply is still there for the next real request.
    chat = http.post(server.url + "/chat/completions", json=chat_body()).json()
    assert chat["choices"][0]["message"]["content"] == "scripted"


def test_other_endpoints_and_failed_lines(server: FakeOpenAIServer, http: requests.Session) -> None:
    lines = [request_line("a", "one", "/v1/responses"), request_line("b", "two", "/v1/responses")]
    done = wait_done(http, server, create(http, server, lines, "/v1/responses")["id"])
    output = file_lines(http, server, done["output_file_id"])
    texts = {
        line["custom_id"]: line["response"]["body"]["output"][-1]["content"][0]["text"]
        for line in output
    }
    assert texts == {"a": "Echo: one", "b": "Echo: two"}

    bad = [
        json.dumps({"custom_id": "ok", "method": "POST", "url": "/v1/embeddings", "body": {}}),
        json.dumps(
            {
                "custom_id": "streamed",
                "method": "POST",
                "url": "/v1/embeddings",
                "body": {"model": "m", "input": "x", "stream": True},
            }
        ),
        json.dumps(
            {
                "custom_id": "good",
                "method": "POST",
                "url": "/v1/embeddings",
                "body": {"model": "m", "input": "x"},
            }
        ),
    ]
    done = wait_done(http, server, create(http, server, bad, "/v1/embeddings")["id"])
    assert done["status"] == "completed"
    assert done["request_counts"] == {"total": 3, "completed": 1, "failed": 2}
    errors = {line["custom_id"]: line for line in file_lines(http, server, done["error_file_id"])}
    assert errors["ok"]["response"]["status_code"] == 400
    assert errors["ok"]["response"]["body"]["error"]["param"] == "model"
    assert errors["streamed"]["response"]["body"]["error"]["param"] == "stream"
    (good,) = file_lines(http, server, done["output_file_id"])
    assert good["custom_id"] == "good" and good["response"]["body"]["object"] == "list"


def test_fail_batch_lines(server: FakeOpenAIServer, http: requests.Session) -> None:
    server.fail_batch_lines(["r1", "r3"], status=429)
    server.fail_batch_lines(["r4"])
    ids = [f"r{index}" for index in range(6)]
    done = wait_done(http, server, create(http, server, map(request_line, ids))["id"])
    assert done["status"] == "completed"
    assert done["request_counts"] == {"total": 6, "completed": 3, "failed": 3}
    errors = {line["custom_id"]: line for line in file_lines(http, server, done["error_file_id"])}
    assert {key: line["response"]["status_code"] for key, line in errors.items()} == {
        "r1": 429,
        "r3": 429,
        "r4": 500,
    }
    assert errors["r1"]["response"]["body"]["error"]["code"] == "rate_limit_exceeded"
    assert errors["r4"]["error"] is None
    output = file_lines(http, server, done["output_file_id"])
    assert sorted(line["custom_id"] for line in output) == ["r0", "r2", "r5"]
    with pytest.raises(TypeError):
        server.fail_batch_lines("r1")
    with pytest.raises(ValueError):
        server.fail_batch_lines(["r1"], status=200)
    server.clear()  # forgets the failing lines
    done = wait_done(http, server, create(http, server, map(request_line, ids))["id"])
    assert done["request_counts"]["failed"] == 0 and done["error_file_id"] is None


# -- input checks -----------------------------------------------------------------------------


def test_invalid_input_file_fails_the_batch_with_line_numbers(
    server: FakeOpenAIServer, http: requests.Session
) -> None:
    lines = [
        request_line("one"),
        "{not json",
        json.dumps({"method": "POST", "url": "/v1/chat/completions", "body": {}}),
        request_line("one"),
        request_line("two", url="/v1/embeddings"),
        json.dumps({"custom_id": "3", "method": "GET", "url": "/v1/chat/completions", "body": {}}),
        "",
        request_line("fine"),
    ]
    done = wait_done(http, server, create(http, server, lines)["id"])
    assert done["status"] == "failed" and done["failed_at"] is not None
    assert done["output_file_id"] is None and done["in_progress_at"] is None
    errors = done["errors"]
    assert errors["object"] == "list"
    assert [(e["line"], e["code"]) for e in errors["data"]] == [
        (2, "invalid_json_line"),
        (3, "missing_required_parameter"),
        (4, "duplicate_custom_id"),
        (5, "invalid_url"),
        (6, "invalid_method"),
    ]
    assert errors["data"][1]["param"] == "custom_id"


def test_file_level_checks(server: FakeOpenAIServer, http: requests.Session) -> None:
    def failed_with(file_id: str) -> dict[str, Any]:
        body = {
            "input_file_id": file_id,
            "endpoint": "/v1/chat/completions",
            "completion_window": "24h",
        }
        batch = http.post(server.url + "/batches", json=body).json()
        done = wait_done(http, server, batch["id"])
        assert done["status"] == "failed"
        (error,) = done["errors"]["data"]
        assert error["line"] is None
        return dict(error)

    content = ("\n".join(request_line(f"r{i}") for i in range(4)) + "\n").encode()
    assert failed_with(upload(http, server, content, "assistants"))["code"] == (
        "invalid_file_purpose"
    )
    assert failed_with(upload(http, server, b"\n\n"))["code"] == "empty_file"
    server.batch_max_lines = 3
    assert failed_with(upload(http, server, content))["code"] == "too_many_tasks"
    server.batch_max_lines = 4
    server.batch_max_bytes = 100
    assert failed_with(upload(http, server, content))["code"] == "file_too_large"
    server.batch_max_bytes = len(content)
    done = wait_done(http, server, create(http, server, content.decode().splitlines())["id"])
    assert done["status"] == "completed"


@pytest.mark.parametrize(
    ("change", "status", "param"),
    [
        ({"endpoint": "/v1/files"}, 400, "endpoint"),
        ({"completion_window": "1h"}, 400, "completion_window"),
        ({"input_file_id": None}, 400, "input_file_id"),
        ({"input_file_id": "file-nope"}, 404, "input_file_id"),
        ({"metadata": {"a": 1}}, 400, "metadata"),
        ({"output_expires_after": {"anchor": "created_at", "seconds": 5}}, 400, None),
    ],
)
def test_create_errors(
    server: FakeOpenAIServer,
    http: requests.Session,
    change: dict[str, Any],
    status: int,
    param: str | None,
) -> None:
    file_id = upload(http, server, request_line("a").encode())
    body = {
        "input_file_id": file_id,
        "endpoint": "/v1/chat/completions",
        "completion_window": "24h",
    }
    body.update(change)
    body = {key: value for key, value in body.items() if value is not None}
    response = http.post(server.url + "/batches", json=body)
    assert response.status_code == status
    if param is not None:
        assert response.json()["error"]["param"] == param


# -- ending early ---------------------------------------------------------------------------


def test_expiry_keeps_partial_output(server: FakeOpenAIServer, http: requests.Session) -> None:
    server.batch_step = 0.05
    server.batch_lines_per_step = 2
    server.expire_batches_after = 0.5
    server.fail_batch_lines(["r1"])
    done = wait_done(
        http, server, create(http, server, (request_line(f"r{i}") for i in range(40)))["id"]
    )
    assert done["status"] == "expired" and done["expired_at"] is not None
    counts = done["request_counts"]
    assert counts["total"] == 40
    assert 2 <= counts["completed"] + counts["failed"] < 40
    assert counts["failed"] == 1  # r1 runs in the first step
    output = file_lines(http, server, done["output_file_id"])
    assert len(output) == counts["completed"]
    assert len(file_lines(http, server, done["error_file_id"])) == 1


def test_cancel_keeps_partial_output(server: FakeOpenAIServer, http: requests.Session) -> None:
    server.batch_step = 0.05
    server.batch_lines_per_step = 2
    batch = create(http, server, (request_line(f"r{i}") for i in range(40)))
    deadline = time.monotonic() + 5
    while retrieve(http, server, batch["id"])["request_counts"]["completed"] < 4:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    server.batch_step = 0.5  # the wait from cancelling to cancelled
    cancelling = http.post(f"{server.url}/batches/{batch['id']}/cancel").json()
    assert cancelling["status"] == "cancelling" and cancelling["cancelling_at"] is not None
    again = http.post(f"{server.url}/batches/{batch['id']}/cancel")
    assert again.status_code == 200 and again.json()["status"] == "cancelling"
    done = wait_done(http, server, batch["id"])
    assert done["status"] == "cancelled" and done["cancelled_at"] is not None
    completed = done["request_counts"]["completed"]
    assert 4 <= completed < 40
    assert len(file_lines(http, server, done["output_file_id"])) == completed
    refused = http.post(f"{server.url}/batches/{batch['id']}/cancel")
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == "Cannot cancel a batch with status 'cancelled'."


def test_cancel_while_validating_and_after_completion(
    server: FakeOpenAIServer, http: requests.Session
) -> None:
    server.batch_step = 0.2
    batch = create(http, server, [request_line("a")])
    assert http.post(f"{server.url}/batches/{batch['id']}/cancel").json()["status"] == "cancelling"
    done = wait_done(http, server, batch["id"])
    assert done["status"] == "cancelled" and done["in_progress_at"] is None
    assert done["output_file_id"] is None and done["request_counts"]["completed"] == 0
    server.batch_step = 0
    finished = wait_done(http, server, create(http, server, [request_line("b")])["id"])
    refused = http.post(f"{server.url}/batches/{finished['id']}/cancel")
    assert refused.status_code == 400
    assert "status 'completed'" in refused.json()["error"]["message"]


def test_list_and_retrieve(server: FakeOpenAIServer, http: requests.Session) -> None:
    ids = [create(http, server, [request_line("a")])["id"] for _ in range(3)]
    page = http.get(server.url + "/batches", params={"limit": 2}).json()
    assert page["object"] == "list" and page["has_more"] is True
    assert [b["id"] for b in page["data"]] == [ids[2], ids[1]]  # newest first
    assert page["first_id"] == ids[2] and page["last_id"] == ids[1]
    rest = http.get(server.url + "/batches", params={"after": page["last_id"]}).json()
    assert [b["id"] for b in rest["data"]] == [ids[0]] and rest["has_more"] is False
    assert retrieve(http, server, ids[0])["id"] == ids[0]
    missing = http.get(server.url + "/batches/batch_nope")
    assert missing.status_code == 404
    server.reset()
    assert http.get(server.url + "/batches").json()["data"] == []


def test_batches_run_side_by_side(server: FakeOpenAIServer, http: requests.Session) -> None:
    batches = [
        create(http, server, (request_line(f"{part}-{i}", f"n {i}") for i in range(3000)))
        for part in range(3)
    ]
    done = [wait_done(http, server, batch["id"]) for batch in batches]
    for batch in done:
        assert batch["status"] == "completed"
        assert batch["request_counts"] == {"total": 3000, "completed": 3000, "failed": 0}
    output = file_lines(http, server, done[1]["output_file_id"])
    assert {line["custom_id"] for line in output} == {f"1-{i}" for i in range(3000)}
    texts = {line["custom_id"]: line["response"]["body"]["choices"][0] for line in output}
    assert texts["1-7"]["message"]["content"] == "Echo: n 7"


def test_a_batch_of_120000_lines(server: FakeOpenAIServer, http: requests.Session) -> None:
    """120,000 requests at the default pace (the line limit raised from OpenAI's 50,000)."""
    server.batch_max_lines = 120_000
    started = time.monotonic()
    batch = create(http, server, (request_line(str(i)) for i in range(120_000)))
    done = wait_done(http, server, batch["id"], timeout=60, poll=0.1)
    assert time.monotonic() - started < 30
    assert done["status"] == "completed"
    assert done["request_counts"] == {"total": 120_000, "completed": 120_000, "failed": 0}
    output = http.get(f"{server.url}/files/{done['output_file_id']}").json()
    assert output["purpose"] == "batch_output" and output["bytes"] > 120_000 * 500


# -- uploads ------------------------------------------------------------------------------------


def start_upload(
    http: requests.Session, server: FakeOpenAIServer, size: int, purpose: str = "batch"
) -> dict[str, Any]:
    body = {"filename": "big.jsonl", "purpose": purpose, "bytes": size, "mime_type": "text/jsonl"}
    response = http.post(server.url + "/uploads", json=body)
    assert response.status_code == 200, response.text
    upload_object: dict[str, Any] = response.json()
    return upload_object


def add_part(
    http: requests.Session, server: FakeOpenAIServer, upload_id: str, data: bytes
) -> requests.Response:
    return http.post(f"{server.url}/uploads/{upload_id}/parts", files={"data": data})


def test_upload_in_parts(server: FakeOpenAIServer, http: requests.Session) -> None:
    pieces = [b"\x00\xff binary\r\n--", b"second \x80 part", b"third"]
    created = start_upload(http, server, sum(map(len, pieces)), "assistants")
    assert created["object"] == "upload" and created["status"] == "pending"
    assert created["id"].startswith("upload_") and created["file"] is None
    assert created["expires_at"] == created["created_at"] + 3600
    parts = [add_part(http, server, created["id"], piece).json() for piece in pieces]
    assert all(p["object"] == "upload.part" and p["upload_id"] == created["id"] for p in parts)
    order = [parts[2]["id"], parts[0]["id"], parts[1]["id"]]
    expected = pieces[2] + pieces[0] + pieces[1]
    body = {"part_ids": order, "md5": hashlib.md5(expected).hexdigest()}
    completed = http.post(f"{server.url}/uploads/{created['id']}/complete", json=body).json()
    assert completed["status"] == "completed"
    file_object = completed["file"]
    assert file_object["bytes"] == len(expected) and file_object["purpose"] == "assistants"
    assert file_object["filename"] == "big.jsonl"
    content = http.get(f"{server.url}/files/{file_object['id']}/content").content
    assert content == expected
    again = http.post(f"{server.url}/uploads/{created['id']}/complete", json=body)
    assert again.status_code == 400


def test_uploaded_file_is_a_batch_input(server: FakeOpenAIServer, http: requests.Session) -> None:
    content = ("\n".join(request_line(f"r{i}") for i in range(50)) + "\n").encode()
    created = start_upload(http, server, len(content))
    half = len(content) // 2
    part_ids = [
        add_part(http, server, created["id"], c).json()["id"]
        for c in (content[:half], content[half:])
    ]
    completed = http.post(
        f"{server.url}/uploads/{created['id']}/complete", json={"part_ids": part_ids}
    ).json()
    body = {
        "input_file_id": completed["file"]["id"],
        "endpoint": "/v1/chat/completions",
        "completion_window": "24h",
    }
    batch = http.post(server.url + "/batches", json=body).json()
    assert wait_done(http, server, batch["id"])["request_counts"]["completed"] == 50


def test_upload_errors(server: FakeOpenAIServer, http: requests.Session) -> None:
    created = start_upload(http, server, 10)
    part = add_part(http, server, created["id"], b"12345").json()
    complete = f"{server.url}/uploads/{created['id']}/complete"
    short = http.post(complete, json={"part_ids": [part["id"]]})
    assert short.status_code == 400 and "does not match" in short.json()["error"]["message"]
    assert http.post(complete, json={"part_ids": ["part_nope"]}).status_code == 400
    assert http.post(complete, json={"part_ids": [part["id"], part["id"]]}).status_code == 400
    other = add_part(http, server, created["id"], b"67890").json()
    wrong_md5 = http.post(complete, json={"part_ids": [part["id"], other["id"]], "md5": "0" * 32})
    assert wrong_md5.status_code == 400 and wrong_md5.json()["error"]["param"] == "md5"
    cancelled = http.post(f"{server.url}/uploads/{created['id']}/cancel").json()
    assert cancelled["status"] == "cancelled"
    assert add_part(http, server, created["id"], b"x").status_code == 400
    assert http.post(complete, json={"part_ids": [part["id"]]}).status_code == 400
    assert http.post(f"{server.url}/uploads/upload_nope/cancel").status_code == 404
    assert http.post(f"{server.url}/uploads/{created['id']}/parts", files={}).status_code == 400
    for bad in ({"purpose": "nope"}, {"bytes": -1}, {"mime_type": None}):
        body = {"filename": "f", "purpose": "batch", "bytes": 1, "mime_type": "text/plain"}
        body.update(bad)
        body = {key: value for key, value in body.items() if value is not None}
        assert http.post(server.url + "/uploads", json=body).status_code == 400


def test_max_file_bytes(server: FakeOpenAIServer, http: requests.Session) -> None:
    assert server.max_file_bytes == 512 * 2**20
    server.max_file_bytes = 100
    assert upload(http, server, b"x" * 100)
    response = http.post(
        server.url + "/files", data={"purpose": "batch"}, files={"file": ("f", b"x" * 101)}
    )
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "file_too_large" and error["type"] == "invalid_request_error"
    assert error["message"].startswith("File is too large")
    # The Uploads API takes it.
    created = start_upload(http, server, 101)
    part = add_part(http, server, created["id"], b"x" * 101).json()
    done = http.post(
        f"{server.url}/uploads/{created['id']}/complete", json={"part_ids": [part["id"]]}
    )
    assert done.json()["file"]["bytes"] == 101
    with pytest.raises(ValueError):
        server.max_file_bytes = 0
