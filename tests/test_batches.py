"""The Batch API over the simulator: the plain calls, and ``batches.run`` (split, upload, poll,
map back by custom_id; sync and callback mode, every callback on the owner; expired,
cancelled and failing batches; bad input sends nothing)."""

from __future__ import annotations

import collections
import io
import json
import threading
import time
from typing import Any

import pytest
import requests

from aikit import (
    BatchJob,
    OpenAI,
    OpenAIBatchItem,
    OpenAIBatchProgress,
    OpenAIBatchRequest,
    OpenAIBatchSummary,
    OpenAIChatCompletionsResult,
    OpenAIEmbeddingsResult,
    OpenAIModerationResult,
    OpenAIResponsesResult,
    OpenAIResult,
    process,
)
from aikit._batch_jsonl import parse_lines, write_batch_files
from aikit.testing import FakeOpenAIServer

from .helpers import TIMEOUT, Recorder, in_worker

POLL = 0.02


def chat(n: int, prefix: str = "r") -> list[dict[str, Any]]:
    return [{"custom_id": f"{prefix}{i}",
             "body": {"model": "gpt-4o-mini",
                      "messages": [{"role": "user", "content": f"hello {i}"}]}}
            for i in range(n)]


def jsonl(lines: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def posts(server: FakeOpenAIServer, path: str) -> list[Any]:
    return [r for r in server.requests if r.method == "POST" and r.path.startswith(path)]


# -- the plain calls ------------------------------------------------------------------------


def test_create_retrieve_list_cancel(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    aikit_server.batch_step = 0.2
    uploaded = aikit_client.files.create(("in.jsonl", jsonl(
        [{**line, "method": "POST", "url": "/v1/chat/completions"} for line in chat(3)])), "batch")
    assert uploaded.success, uploaded.errors
    assert uploaded.file is not None and uploaded.file.id
    created = aikit_client.batches.create(uploaded.file.id, "/v1/chat/completions",
                                          metadata={"job": "t1"})
    assert created.success, created.errors
    batch = created.batch
    assert batch is not None and batch.id and batch.status == "validating"
    assert not batch.is_terminal
    assert batch.input_file_id == uploaded.file.id and batch.metadata == {"job": "t1"}
    sent = aikit_server.last_request
    assert sent is not None and sent.json == {
        "input_file_id": uploaded.file.id, "endpoint": "/v1/chat/completions",
        "completion_window": "24h", "metadata": {"job": "t1"}}

    again = aikit_client.batches.retrieve(batch.id)
    assert again.success and again.batch is not None and again.batch.id == batch.id
    listed = aikit_client.batches.list(limit=10)
    assert listed.success and [b.id for b in listed.batches] == [batch.id]
    assert listed.first_id == batch.id and listed.has_more is False

    cancelled = aikit_client.batches.cancel(batch.id)
    assert cancelled.success, cancelled.errors
    assert cancelled.batch is not None and cancelled.batch.status == "cancelling"
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        final = aikit_client.batches.retrieve(batch.id).batch
        assert final is not None
        if final.is_terminal:
            break
        time.sleep(0.05)
    assert final.status == "cancelled" and final.request_counts is not None


def test_short_endpoint_and_callbacks(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    file_id = aikit_client.files.create(("in.jsonl", jsonl([])), "batch").file
    assert file_id is not None and file_id.id
    rec = Recorder()
    _, worker = in_worker(lambda: aikit_client.batches.create(
        file_id.id, "embeddings", params={"onResponse": rec.callback("on_response"),
                                          "onTerminate": rec.callback("on_terminate")}))
    rec.wait()
    assert rec.names == ["on_response", "on_terminate"] and rec.threads == {worker}
    assert aikit_server.last_request is not None
    assert aikit_server.last_request.json["endpoint"] == "/v1/embeddings"


def test_plain_calls_refuse_bad_input_and_send_nothing(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    with pytest.raises(ValueError, match="input_file_id"):
        aikit_client.batches.create("", "/v1/chat/completions")
    with pytest.raises(TypeError, match="endpoint"):
        aikit_client.batches.create("file-1", None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="did you mean 'metadata'"):
        aikit_client.batches.create("file-1", "/v1/embeddings", metdata={})  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="batch_id"):
        aikit_client.batches.retrieve("..")
    with pytest.raises(ValueError, match="batch_id"):
        aikit_client.batches.cancel("")
    assert aikit_server.requests == []


def test_an_api_error_is_a_failed_result(aikit_client: OpenAI) -> None:
    result = aikit_client.batches.retrieve("batch_nope")
    assert not result.success and result.batch is None
    assert result.errors[0].is_not_found_error


# -- batches.run: mapping, sync -------------------------------------------------------------


def test_run_sync_maps_chat_results_by_custom_id(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    requests_ = [
        *chat(6),
        OpenAIBatchRequest(custom_id="obj", body={
            "model": "gpt-4o-mini", "messages": [{"role": "user", "content": "as object"}]}),
        OpenAIBatchRequest({"custom_id": "dict4d", "body": {
            "model": "gpt-4o-mini", "messages": [{"role": "user", "content": "4D form"}]}}),
    ]
    summary = aikit_client.batches.run(requests_, poll_interval=POLL)
    assert isinstance(summary, OpenAIBatchSummary)
    assert summary.success, summary.errors
    ids = [f"r{i}" for i in range(6)] + ["obj", "dict4d"]
    assert summary.completed == ids and summary.failed == summary.missing == []
    assert set(summary.results) == set(ids)
    for i in range(6):
        result = summary.results[f"r{i}"]
        assert isinstance(result, OpenAIChatCompletionsResult) and result.success
        assert result.choice is not None and result.choice.text == f"Echo: hello {i}"
        assert result.status == 200 and result.request_id
    assert summary.results["obj"].choice.text == "Echo: as object"  # type: ignore[attr-defined]
    assert summary.results["dict4d"].choice.text == "Echo: 4D form"  # type: ignore[attr-defined]
    [batch] = summary.batches
    assert batch.status == "completed" and batch.request_counts is not None
    assert batch.request_counts.completed == 8
    assert summary.request_counts.completed == 8
    # The input file: one JSONL line per request, in the Batch API's shape.
    [upload] = posts(aikit_server, "/v1/files")
    assert b'"url":"/v1/chat/completions"' in upload.body and b'"method":"POST"' in upload.body


@pytest.mark.parametrize(("endpoint", "body", "kind"), [
    ("/v1/embeddings", {"model": "text-embedding-3-small", "input": "x"}, OpenAIEmbeddingsResult),
    ("/v1/responses", {"model": "gpt-4o-mini", "input": "hi"}, OpenAIResponsesResult),
    ("/v1/moderations", {"input": "hi"}, OpenAIModerationResult),
])
def test_run_gives_results_of_the_endpoints_class(
    aikit_client: OpenAI, endpoint: str, body: dict[str, Any], kind: type[OpenAIResult]
) -> None:
    summary = aikit_client.batches.run(
        [{"custom_id": f"e{i}", "body": body} for i in range(3)], endpoint, poll_interval=POLL)
    assert summary.success, summary.errors
    for i in range(3):
        result = summary.results[f"e{i}"]
        assert type(result) is kind and result.success
    first = summary.results["e0"]
    if isinstance(first, OpenAIEmbeddingsResult):
        assert first.vector
    if isinstance(first, OpenAIResponsesResult):
        assert first.response is not None and first.response.output_text


def test_failed_lines_give_failed_results_with_errors(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    aikit_server.fail_batch_lines(["r1", "r3"], status=500)
    aikit_server.fail_batch_lines(["r4"], status=400)
    summary = aikit_client.batches.run(chat(6), poll_interval=POLL)
    assert summary.failed == ["r1", "r3", "r4"]
    assert summary.completed == ["r0", "r2", "r5"] and summary.missing == []
    assert summary.errors == [] and not summary.success
    for custom_id, status in (("r1", 500), ("r3", 500), ("r4", 400)):
        result = summary.results[custom_id]
        assert isinstance(result, OpenAIChatCompletionsResult)
        assert not result.success and result.status == status
        assert result.errors and result.errors[0].status == status
        assert result.errors[0].message
    assert summary.results["r0"].success


# -- splitting ------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_120000_line_job_is_three_batches_and_each_line_comes_back_once(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    n = 120_000
    seen: list[str] = []
    texts: dict[str, str] = {}
    rec = Recorder()

    def on_result(item: OpenAIBatchItem) -> None:
        seen.append(item.custom_id)
        if item.custom_id.endswith("7"):
            result = item.result
            assert isinstance(result, OpenAIChatCompletionsResult)
            texts[item.custom_id] = result.choice.text if result.choice else ""

    started = time.monotonic()
    in_worker(lambda: aikit_client.batches.run(
        chat(n), on_result=on_result, on_terminate=rec.callback("on_terminate"),
        poll_interval=0.05, max_lines=50_000))
    rec.wait(120.0)
    summary: OpenAIBatchSummary = rec.events[-1][2]
    assert summary.success, (summary.errors, len(summary.missing), len(summary.failed))
    counts = collections.Counter(seen)
    assert len(counts) == n and set(counts.values()) == {1}
    assert len(summary.completed) == n
    assert [b.request_counts.total for b in summary.batches  # type: ignore[union-attr]
            ] == [50_000, 50_000, 20_000]
    assert len(posts(aikit_server, "/v1/batches")) == 3
    assert all(texts[cid] == f"Echo: hello {cid[1:]}" for cid in texts)
    assert len(texts) == n // 10
    assert time.monotonic() - started < 120


def test_files_split_at_max_lines_and_max_bytes() -> None:
    items = chat(25)
    files = write_batch_files(items, "/v1/chat/completions", 10, 10**9)
    try:
        assert [len(f.ids) for f in files] == [10, 10, 5]
        lines = files[0].file.read().splitlines()
        assert json.loads(lines[0]) == {"custom_id": "r0", "method": "POST",
                                        "url": "/v1/chat/completions", "body": items[0]["body"]}
    finally:
        for f in files:
            f.close()
    one = len(json.dumps({"custom_id": "r10", "method": "POST", "url": "/v1/chat/completions",
                          "body": items[10]["body"]}, separators=(",", ":"))) + 1
    files = write_batch_files(items, "/v1/chat/completions", 1000, one * 4)
    try:
        assert all(f.size <= one * 4 for f in files) and len(files) >= 7
        assert [cid for f in files for cid in f.ids] == [f"r{i}" for i in range(25)]
        assert all(f.size == len(f.file.read()) for f in files)
    finally:
        for f in files:
            f.close()


def test_run_splits_and_uploads_each_file(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    summary = aikit_client.batches.run(chat(23), poll_interval=POLL, max_lines=10,
                                       metadata={"job": "split"})
    assert summary.success, summary.errors
    assert [b.request_counts.total for b in summary.batches] == [10, 10, 3]  # type: ignore[union-attr]
    assert all(b.metadata == {"job": "split"} for b in summary.batches)
    assert len(posts(aikit_server, "/v1/files")) == 3
    assert summary.completed == [f"r{i}" for i in range(23)]


def test_over_upload_limit_goes_through_the_uploads_api(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    aikit_server.max_file_bytes = 1000  # POST /v1/files would get 413
    summary = aikit_client.batches.run(chat(20), poll_interval=POLL, upload_limit=1000)
    assert summary.success, summary.errors
    assert posts(aikit_server, "/v1/files") == []
    assert len(posts(aikit_server, "/v1/uploads")) == 3  # create, one part, complete
    assert [r.path for r in posts(aikit_server, "/v1/uploads")][1].endswith("/parts")
    assert len(summary.completed) == 20


# -- ends other than completed --------------------------------------------------------------


def test_an_expired_batch_keeps_its_partial_output(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    aikit_server.batch_step = 0.05
    aikit_server.batch_lines_per_step = 2
    aikit_server.expire_batches_after = 0.4  # a full run would take over 2 s
    summary = aikit_client.batches.run(chat(80), poll_interval=POLL)
    [batch] = summary.batches
    assert batch.status == "expired"
    assert summary.completed and summary.missing and summary.failed == []
    assert summary.completed + summary.missing == sorted(
        summary.completed + summary.missing, key=lambda c: int(c[1:]))
    assert len(summary.completed) + len(summary.missing) == 80
    assert set(summary.results) == set(summary.completed)
    assert all(r.success for r in summary.results.values())
    assert not summary.success and summary.errors == []


def test_a_cancelled_job_keeps_its_partial_output(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    aikit_server.batch_step = 0.05
    aikit_server.batch_lines_per_step = 2
    rec = Recorder()
    box: dict[str, BatchJob] = {}

    def on_progress(progress: OpenAIBatchProgress) -> None:
        rec.callback("on_progress")(progress)
        if progress.done >= 4:
            box["job"].cancel()

    def issue() -> BatchJob:
        job = aikit_client.batches.run(
            chat(60), on_progress=on_progress, on_result=rec.callback("on_result"),
            on_terminate=rec.callback("on_terminate"), poll_interval=POLL)
        box["job"] = job
        return job

    job, _ = in_worker(issue)
    assert job.wait(TIMEOUT)
    rec.wait()
    summary = job.summary
    assert summary is not None and summary.cancelled and not summary.success
    assert [b.status for b in summary.batches] == ["cancelled"]
    assert summary.completed and summary.missing
    assert len(summary.completed) + len(summary.missing) == 60
    delivered = [r.custom_id for n, _, r in rec.events if n == "on_result"]
    assert sorted(delivered) == sorted(summary.completed)
    assert summary.results == {}  # handed to on_result instead
    assert len(posts(aikit_server, "/v1/batches/")) == 1  # one cancel


# -- callback mode --------------------------------------------------------------------------


def test_every_callback_runs_on_the_owner_in_order(aikit_client: OpenAI) -> None:
    rec = Recorder()
    job, worker = in_worker(lambda: aikit_client.batches.run(
        chat(30), poll_interval=POLL, max_lines=10,
        **rec.callbacks("on_progress", "on_result", "on_terminate")))  # type: ignore[arg-type]
    assert isinstance(job, BatchJob)
    rec.wait()
    assert job.wait(TIMEOUT) and job.done
    assert rec.threads == {worker}
    names = rec.names
    assert names[-1] == "on_terminate" and names.count("on_terminate") == 1
    assert names.count("on_result") == 30 and "on_progress" in names
    results = [r for n, _, r in rec.events if n == "on_result"]
    assert sorted(r.custom_id for r in results) == sorted(f"r{i}" for i in range(30))
    assert all(r.result.success and r.batch_id for r in results)
    progress = [p for n, _, p in rec.events if n == "on_progress"]
    assert progress[-1].total == 30 and len(progress[-1].batches) == 3
    summary = rec.events[-1][2]
    assert summary is job.summary and summary.success and summary.results == {}
    time.sleep(0.1)
    assert rec.names == names  # nothing after on_terminate
    assert not [t for t in threading.enumerate() if t.name.startswith("aikit-batch")]


def test_wait_on_the_owner_thread_runs_the_callbacks(aikit_client: OpenAI) -> None:
    rec = Recorder()
    job = aikit_client.batches.run(chat(3), poll_interval=POLL,
                                   on_result=rec.callback("on_result"),
                                   on_terminate=rec.callback("on_terminate"))
    assert isinstance(job, BatchJob) and not job.done
    assert job.wait(TIMEOUT)
    assert rec.names == ["on_result"] * 3 + ["on_terminate"]
    assert rec.threads == {threading.get_ident()}


def test_owner_by_name_and_wait_from_another_thread(aikit_client: OpenAI) -> None:
    rec = Recorder()
    job = aikit_client.batches.run(chat(2), poll_interval=POLL, owner="batch-owner",
                                   on_terminate=rec.callback("on_terminate"))
    assert job.wait(TIMEOUT)  # not the owner's thread: a plain wait
    assert job.summary is not None and job.summary.success
    assert sorted(job.summary.results) == ["r0", "r1"]  # no on_result: kept in the summary
    assert rec.threads != {threading.get_ident()}


def test_a_plain_thread_gets_no_process_error_and_nothing_is_sent(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    box: dict[str, BaseException] = {}

    def body() -> None:
        try:
            aikit_client.batches.run(chat(2), on_terminate=print)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=body)
    thread.start()
    thread.join(TIMEOUT)
    assert isinstance(box["error"], process.NoProcessError)
    assert aikit_server.requests == []


def test_an_upload_failure_still_ends_with_on_terminate(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    aikit_server.max_file_bytes = 500
    rec = Recorder()
    _, worker = in_worker(lambda: aikit_client.batches.run(
        chat(10), poll_interval=POLL, **rec.callbacks("on_result", "on_terminate")))  # type: ignore[arg-type]
    rec.wait()
    assert rec.names == ["on_terminate"] and rec.threads == {worker}
    summary = rec.events[0][2]
    assert summary.errors and summary.errors[0].status == 413
    assert summary.missing == [f"r{i}" for i in range(10)] and summary.batches == []


def test_a_batch_creation_failure_keeps_the_batches_already_created(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    calls = {"n": 0}

    class FailSecondCreate(requests.Session):
        def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
                    ) -> requests.Response:
            if method == "POST" and str(url).endswith("/batches"):
                calls["n"] += 1
                if calls["n"] == 2:
                    aikit_server.fail_next(400)
            return super().request(method, url, *args, **kwargs)

    with FailSecondCreate() as session:
        summary = aikit_client.batches.run(chat(25), poll_interval=POLL, max_lines=10,
                                           http_agent=session)
    assert [e.status for e in summary.errors] == [400]
    assert len(summary.batches) == 1 and summary.batches[0].status == "completed"
    assert summary.completed == [f"r{i}" for i in range(10)]
    assert summary.missing == [f"r{i}" for i in range(10, 25)]


def test_a_batch_that_fails_validation_is_an_error_and_its_requests_are_missing(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    aikit_server.batch_max_lines = 5
    summary = aikit_client.batches.run(chat(8), poll_interval=POLL)
    assert [b.status for b in summary.batches] == ["failed"]
    assert len(summary.errors) == 1 and summary.errors[0].kind == "api"
    assert "failed" in str(summary.errors[0]) and summary.batches[0].id in str(summary.errors[0])
    assert summary.missing == [f"r{i}" for i in range(8)] and summary.completed == []


def test_throw_raises_the_first_error_in_sync_mode(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    aikit_server.max_file_bytes = 10
    with pytest.raises(Exception, match="413"):
        aikit_client.batches.run(chat(2), poll_interval=POLL, throw=True)


def test_a_killed_owner_stops_the_job(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    aikit_server.batch_step = 0.05
    aikit_server.batch_lines_per_step = 1
    rec = Recorder()
    job, _ = in_worker(lambda: aikit_client.batches.run(
        chat(50), poll_interval=POLL, **rec.callbacks("on_result", "on_terminate")),  # type: ignore[arg-type]
        name="doomed-batch")
    process.kill_worker("doomed-batch")
    assert job.wait(TIMEOUT)
    assert job.summary is not None and job.summary.errors[-1].kind == "cancelled"
    assert "on_terminate" not in rec.names


def test_close_ends_a_running_job(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    aikit_server.batch_step = 0.2
    rec = Recorder()
    in_worker(lambda: aikit_client.batches.run(
        chat(5), poll_interval=POLL, on_terminate=rec.callback("on_terminate")))
    deadline = time.monotonic() + TIMEOUT
    while not posts(aikit_server, "/v1/batches") and time.monotonic() < deadline:
        time.sleep(0.01)
    aikit_client.close()
    rec.wait()
    summary = rec.events[0][2]
    assert summary.errors and summary.errors[-1].kind == "terminated"
    assert summary.missing == [f"r{i}" for i in range(5)]


# -- bad input ------------------------------------------------------------------------------


BAD: list[tuple[Any, type[Exception], str]] = [
    ([*chat(2), chat(1)[0]], ValueError, r"requests\[2\]`: custom_id 'r0' is used twice"),
    ([{"custom_id": "a", "body": "text"}], TypeError, r"requests\[0\]` \(custom_id 'a'\): `body`"),
    ([{"body": {}}], ValueError, r"requests\[0\]` needs a non-empty str `custom_id`"),
    ([*chat(1), 42], TypeError, r"requests\[1\]` must be an OpenAIBatchRequest"),
    ([{"custom_id": "a", "body": {}, "url": "/v1/embeddings"}], ValueError,
     r"`url` '/v1/embeddings' is not the batch's endpoint"),
    ([{"custom_id": "a", "body": {"x": object()}}], TypeError, r"custom_id 'a'.*as JSON"),
    ([{"custom_id": "a", "body": {"x": "y" * 600}}], ValueError, r"more than max_bytes"),
    ([], ValueError, "at least one request"),
    ("r0", TypeError, "`requests` must be a list"),
]


@pytest.mark.parametrize(("requests_", "error", "match"), BAD)
def test_bad_input_raises_naming_the_item_and_nothing_is_sent(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI, requests_: Any,
    error: type[Exception], match: str,
) -> None:
    with pytest.raises(error, match=match):
        aikit_client.batches.run(requests_, max_bytes=500, on_terminate=print)
    assert aikit_server.requests == []


def test_bad_options_raise_and_nothing_is_sent(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    run = aikit_client.batches.run
    with pytest.raises(ValueError, match="did you mean 'on_result'"):
        run(chat(1), on_reslt=print)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="did you mean 'max_lines'"):
        run(chat(1), max_line=3)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="does not take on_response"):
        run(chat(1), "/v1/chat/completions", {"onResponse": print})
    with pytest.raises(ValueError, match="deadline"):
        run(chat(1), "/v1/chat/completions", {"deadline": 5})
    with pytest.raises(ValueError, match="poll_interval"):
        run(chat(1), poll_interval=0)
    with pytest.raises(TypeError, match="on_progress"):
        run(chat(1), on_progress=3)  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="endpoint"):
        run(chat(1), "/v1")
    assert aikit_server.requests == []


def test_4d_params_dict_with_camel_case_keys(aikit_client: OpenAI) -> None:
    rec = Recorder()
    in_worker(lambda: aikit_client.batches.run(chat(2), "/v1/chat/completions", {
        "onResult": rec.callback("on_result"), "onTerminate": rec.callback("on_terminate"),
        "pollInterval": POLL, "maxLines": 1}))
    rec.wait()
    assert rec.names == ["on_result", "on_result", "on_terminate"]
    assert len(rec.events[-1][2].batches) == 2


# -- reading lines --------------------------------------------------------------------------


def test_lines_are_read_into_results_whatever_their_shape() -> None:
    body = {"id": "c1", "choices": [{"index": 0, "message": {"role": "assistant",
                                                            "content": "ok"}}]}
    lines = [
        {"custom_id": "ok", "response": {"status_code": 200, "request_id": "req_1",
                                         "body": body}, "error": None},
        {"custom_id": "http", "response": {"status_code": 429, "body": {
            "error": {"message": "slow down", "code": "rate_limit_exceeded"}}}, "error": None},
        {"custom_id": "err", "response": None, "error": {"code": "invalid_request",
                                                         "message": "bad line"}},
        {"custom_id": "expired", "response": None,
         "error": {"code": "batch_expired", "message": "not run"}},
    ]
    content = io.BytesIO()
    for line in lines:
        content.write(json.dumps(line).encode() + b"\n")
    content.write(b"not json\n\n")
    parsed = {p.custom_id: p for p in parse_lines(content.getvalue(),
                                                  OpenAIChatCompletionsResult)}
    assert list(parsed) == ["ok", "http", "err", "expired"]
    ok = parsed["ok"].result
    assert isinstance(ok, OpenAIChatCompletionsResult) and ok.success and ok.terminated
    assert ok.choice is not None and ok.choice.text == "ok" and ok.request_id == "req_1"
    assert json.loads(ok.content) == body
    http = parsed["http"].result
    assert http is not None and not http.success and http.status == 429
    assert http.errors[0].code == "rate_limit_exceeded" and http.errors[0].is_rate_limit_error
    err = parsed["err"].result
    assert err is not None and not err.success and err.status is None
    assert err.errors[0].code == "invalid_request" and err.errors[0].message == "bad line"
    assert parsed["expired"].ran is False and parsed["expired"].result is None
