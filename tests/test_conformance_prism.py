"""Request conformance: every aikit call is checked against OpenAI's OpenAPI spec by Prism.

Stoplight Prism (``tests/prism``) mocks the API from ``openai-openapi.aikit-v1.prism.yaml`` and
validates each request: a body, query string, multipart form or Content-Type the spec rejects
gets 422 (or 415) with Prism's ``validation`` list. Each case below drives one SDK method in sync
mode, with typical and edge parameters, and asserts the request was accepted. The last tests
prove the oracle is awake: deliberately wrong requests do get 422/415.

Prism does not stream SSE, so ``stream=True`` is not exercised here. Without Node.js the module
skips; with Node.js but without ``npm ci`` in tests/prism it fails (see tests/prism/README.md).
"""

from __future__ import annotations

import email.parser
import email.policy
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from aikit import OpenAI
from aikit.objects import OpenAIMessage, OpenAITool
from aikit.results import OpenAIResult
from tests.prism.fixture import API_KEY, PrismUnavailable, find_prism, prism_server

pytestmark = pytest.mark.prism

#: Statuses with which Prism reports a request that does not conform to the spec.
REJECTED = (415, 422)

IMAGE_URL = "https://example.com/images/otter.png"
#: A 1x1 PNG as a data URL.
IMAGE_DATA_URL = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
COMPLETION_ID = "chatcmpl-abc123"
FILE_ID = "file-abc123"


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def prism_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (``http://127.0.0.1:PORT/v1``) of a Prism mock server for this session."""
    unavailable: PrismUnavailable | None = None
    try:
        find_prism()
    except PrismUnavailable as exc:
        unavailable = exc
    if unavailable is not None:
        if unavailable.skip:
            pytest.skip(str(unavailable))
        pytest.fail(str(unavailable), pytrace=False)  # Node.js is here: Prism must be too
    log_path = tmp_path_factory.mktemp("prism") / "prism.log"
    with prism_server(log_path) as url:
        yield url


@pytest.fixture
def client(prism_url: str) -> Iterator[OpenAI]:
    with OpenAI(api_key=API_KEY, base_url=prism_url, max_retries=0) as c:
        yield c


def assert_conforms(result: OpenAIResult, call: str) -> None:
    """The request reached Prism and Prism did not reject it; else show Prism's validation."""
    assert result.status is not None, f"{call}: no HTTP response: {result.errors}"
    assert result.status not in REJECTED, (
        f"{call}: Prism rejected the request with {result.status}:\n"
        f"{json.dumps(result.body, indent=2)}"
    )
    assert result.success, f"{call}: HTTP {result.status}: {result.body!r}"


# -- the calls -------------------------------------------------------------------------------

Case = Callable[[OpenAI, Path], OpenAIResult]
USER = [{"role": "user", "content": "Say hello."}]

WEATHER_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "City name"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["city", "unit"],
    "additionalProperties": False,
}
WEATHER_TOOL = OpenAITool(
    name="get_weather",
    description="Current weather of a city.",
    parameters=WEATHER_PARAMETERS,
    strict=True,
)
WEATHER_TOOL_OPENAI_DICT: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather of a city.",
        "parameters": WEATHER_PARAMETERS,
        "strict": True,
    },
}
TOOL_CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city":"Paris","unit":"celsius"}'},
}
CUSTOM_TOOL = {
    "type": "custom",
    "custom": {
        "name": "run_sql",
        "description": "Run one read-only SQL query.",
        "format": {"type": "text"},
    },
}
GRAMMAR_FORMAT = {
    "type": "grammar",
    "grammar": {"definition": r"^\d{4}-\d{2}-\d{2}$", "syntax": "regex"},
}


def _conversation() -> list[OpenAIMessage]:
    return [
        OpenAIMessage(role="system", content="You are terse."),
        OpenAIMessage(role="user", content="What is 6 x 7?"),
        OpenAIMessage(role="assistant", content="42."),
        OpenAIMessage(role="user", content="And 6 x 8?"),
    ]


def _tool_round_trip_dicts() -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 21}'},
    ]


def _tool_round_trip_messages() -> list[OpenAIMessage]:
    # content left unset: the SDK sends "content": null next to tool_calls
    return [
        OpenAIMessage(role="user", content="Weather in Paris?"),
        OpenAIMessage(role="assistant", tool_calls=[TOOL_CALL]),
        OpenAIMessage(
            role="tool",
            tool_call_id="call_1",
            content=[{"type": "text", "text": '{"temp": 21}'}],
        ),
    ]


def _image_message() -> list[OpenAIMessage]:
    message = OpenAIMessage(role="user", content="What is in this image?")
    message.add_image_url(IMAGE_URL, "low")
    return [message]


def _image_edge_message() -> list[OpenAIMessage]:
    message = OpenAIMessage(role="user")  # no text at all: only image parts
    message.add_image_url(IMAGE_DATA_URL, "high")
    message.add_image_url(IMAGE_URL)  # no detail
    message.add_image_url(IMAGE_URL, "huge")  # unknown detail: left out by the SDK
    return [message]


def _file_message() -> list[OpenAIMessage]:
    message = OpenAIMessage(role="user", content="Summarise this PDF.")
    message.add_file_id(FILE_ID)
    return [message]


def _upload_path(tmp: Path) -> Path:
    path = tmp / "notes.jsonl"
    path.write_bytes(b'{"prompt": "hi"}\n')
    return path


def _upload_file_object(client: OpenAI, tmp: Path) -> OpenAIResult:
    with _upload_path(tmp).open("rb") as handle:
        return client.files.create(handle, "user_data")


def _replay_response_message(client: OpenAI, tmp: Path) -> OpenAIResult:
    """The usual loop: append the returned assistant message and ask again."""
    first = client.chat.completions.create(USER)
    assert_conforms(first, "chat.create (first turn)")
    assert first.choice is not None and first.choice.message is not None
    return client.chat.completions.create(
        [*USER, first.choice.message, {"role": "user", "content": "Again."}]
    )


CASES: list[Any] = [
    # models
    pytest.param(lambda c, t: c.models.list(), id="models.list"),
    pytest.param(lambda c, t: c.models.retrieve("gpt-4o-mini"), id="models.retrieve"),
    pytest.param(
        lambda c, t: c.models.retrieve("ft:gpt-4o-mini:my-org:custom:abc123"),
        id="models.retrieve-fine-tuned-id",
    ),
    pytest.param(
        lambda c, t: c.models.retrieve("meta-llama/Llama-3.1-8B"), id="models.retrieve-slash-id"
    ),
    # chat.completions.create: messages
    pytest.param(lambda c, t: c.chat.completions.create(USER), id="chat.create-plain"),
    pytest.param(
        lambda c, t: c.chat.completions.create(_conversation(), model="gpt-4o"),
        id="chat.create-system-user-assistant",
    ),
    pytest.param(
        lambda c, t: c.chat.completions.create(
            [
                {"role": "developer", "content": "Answer in French."},
                {"role": "user", "content": [{"type": "text", "text": "Hello"}], "name": "ann"},
            ]
        ),
        id="chat.create-developer-and-text-parts",
    ),
    pytest.param(
        lambda c, t: c.chat.completions.create(
            [OpenAIMessage({"role": "user", "text": "Hi"})],
            {"model": "gpt-4o", "maxCompletionTokens": 64, "user": "user-42"},
            temperature=1.5,
        ),
        id="chat.create-4d-params-dict",
    ),
    pytest.param(_replay_response_message, id="chat.create-replay-response-message"),
    # tools
    pytest.param(
        lambda c, t: c.chat.completions.create(USER, tools=[WEATHER_TOOL], tool_choice="auto"),
        id="chat.create-OpenAITool-auto",
    ),
    pytest.param(
        lambda c, t: c.chat.completions.create(
            USER,
            tools=[WEATHER_TOOL_OPENAI_DICT],
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
        ),
        id="chat.create-openai-dict-tool-named-choice",
    ),
    pytest.param(
        lambda c, t: c.chat.completions.create(
            USER,
            tools=[
                {"type": "function", "strict": False, "function": {
                    "name": "get_weather", "parameters": WEATHER_PARAMETERS}},
                {"name": "now", "description": "The current time."},  # 4D flat, no parameters
                OpenAITool({"tool": {"name": "ping"}, "handler": print}),  # 4D compound
            ],
            tool_choice="required",
            parallel_tool_calls=False,
        ),
        id="chat.create-mixed-tool-shapes-required",
    ),
    pytest.param(
        lambda c, t: c.chat.completions.create(USER, tools=[], tool_choice="none"),
        id="chat.create-empty-tools-choice-none",
    ),
    pytest.param(
        lambda c, t: c.chat.completions.create(_tool_round_trip_dicts(), tools=[WEATHER_TOOL]),
        id="chat.create-tool-round-trip-dicts",
    ),
    pytest.param(
        lambda c, t: c.chat.completions.create(_tool_round_trip_messages(), tools=[WEATHER_TOOL]),
        id="chat.create-tool-round-trip-OpenAIMessage",
    ),
    # custom tools (spec: CustomToolChatCompletions)
    pytest.param(
        lambda c, t: c.chat.completions.create(
            USER,
            tools=[CUSTOM_TOOL],
            tool_choice={"type": "custom", "custom": {"name": "run_sql"}},
        ),
        id="chat.create-custom-tool-named-choice",
    ),
    pytest.param(
        lambda c, t: c.chat.completions.create(
            USER,
            tools=[
                OpenAITool(type="custom", name="date", format=GRAMMAR_FORMAT),  # 4D flat shape
                {"type": "custom", "custom": {"name": "free_text"}},  # no format
                WEATHER_TOOL,
            ],
        ),
        id="chat.create-custom-tool-grammar-and-flat",
    ),
    # content parts
    pytest.param(
        lambda c, t: c.chat.completions.create(_image_message()), id="chat.create-image-url-low"
    ),
    pytest.param(
        lambda c, t: c.chat.completions.create(_image_edge_message()),
        id="chat.create-image-parts-only",
    ),
    pytest.param(
        lambda c, t: c.chat.completions.create(_file_message()), id="chat.create-file-id-part"
    ),
    # response formats and options
    pytest.param(
        lambda c, t: c.chat.completions.create(
            USER,
            response_format={
                "type": "json_schema",
                "json_schema": {
                    "name": "greeting",
                    "description": "A greeting.",
                    "schema": {
                        "type": "object",
                        "properties": {"text": {"type": "string"}},
                        "required": ["text"],
                        "additionalProperties": False,
                    },
                    "strict": True,
                },
            },
        ),
        id="chat.create-response-format-json-schema",
    ),
    pytest.param(
        lambda c, t: c.chat.completions.create(
            USER, response_format={"type": "json_object"}
        ),
        id="chat.create-response-format-json-object",
    ),
    pytest.param(
        lambda c, t: c.chat.completions.create(
            USER, metadata={"project": "aikit", "run": "1"}, store=True
        ),
        id="chat.create-metadata-store",
    ),
    pytest.param(
        lambda c, t: c.chat.completions.create(
            USER,
            n=2,
            temperature=0,
            top_p=0.9,
            seed=42,
            stop=["\n\n", "END"],
            max_tokens=128,
            parallel_tool_calls=True,
            tools=[WEATHER_TOOL],
        ),
        id="chat.create-sampling-extras",
    ),
    pytest.param(
        lambda c, t: c.chat.completions.create(
            USER,
            model="o3-mini",
            stop="END",
            max_completion_tokens=256,
            reasoning_effort="low",
            service_tier="auto",
            frequency_penalty=0.5,
            presence_penalty=-0.5,
            logprobs=True,
            top_logprobs=3,
            logit_bias={"50256": -100},
            user="user-42",
        ),
        id="chat.create-more-options",
    ),
    pytest.param(
        lambda c, t: c.chat.completions.create(
            USER,
            prediction={"type": "content", "content": "Hello there."},
            modalities=["text"],
            stream=False,
            stream_options={"include_usage": True},  # not sent without stream
        ),
        id="chat.create-prediction-modalities",
    ),
    # stored completions
    pytest.param(
        lambda c, t: c.chat.completions.retrieve(COMPLETION_ID), id="chat.completions.retrieve"
    ),
    pytest.param(
        lambda c, t: c.chat.completions.update(COMPLETION_ID, {"k": "v"}),
        id="chat.completions.update",
    ),
    pytest.param(
        lambda c, t: c.chat.completions.delete(COMPLETION_ID), id="chat.completions.delete"
    ),
    pytest.param(lambda c, t: c.chat.completions.list(), id="chat.completions.list"),
    pytest.param(
        lambda c, t: c.chat.completions.list(
            after=COMPLETION_ID, limit=5, order="desc", model="gpt-4o-mini", metadata={"k": "v"}
        ),
        id="chat.completions.list-filters",
    ),
    pytest.param(
        lambda c, t: c.chat.completions.messages.list(COMPLETION_ID),
        id="chat.completions.messages.list",
    ),
    pytest.param(
        lambda c, t: c.chat.completions.messages.list(
            COMPLETION_ID, limit=10, order="asc", after="msg_1"
        ),
        id="chat.completions.messages.list-paged",
    ),
    # embeddings
    pytest.param(lambda c, t: c.embeddings.create("The quick brown fox"), id="embeddings-str"),
    pytest.param(
        lambda c, t: c.embeddings.create(["one", "two"], "text-embedding-3-large"),
        id="embeddings-list",
    ),
    pytest.param(
        lambda c, t: c.embeddings.create(
            "fox", "text-embedding-3-small", encoding_format="base64", dimensions=256,
            user="user-42",
        ),
        id="embeddings-base64-dimensions",
    ),
    pytest.param(
        lambda c, t: c.embeddings.create([[1212, 318, 257]], encoding_format="float"),
        id="embeddings-token-arrays",
    ),
    # images
    pytest.param(lambda c, t: c.images.generate("A cute baby sea otter"), id="images-defaults"),
    pytest.param(
        lambda c, t: c.images.generate(
            "A cute baby sea otter", model="dall-e-3", size="1792x1024", quality="hd",
            style="vivid", response_format="b64_json",
        ),
        id="images-dall-e-3-b64",
    ),
    pytest.param(
        lambda c, t: c.images.generate(
            "A cute baby sea otter", model="dall-e-2", n=2, size="512x512", quality="standard",
            response_format="url", user="user-42",
        ),
        id="images-dall-e-2-n2",
    ),
    pytest.param(
        lambda c, t: c.images.generate(
            "A cute baby sea otter", model="gpt-image-1", size="1536x1024", quality="high",
            background="transparent", output_format="webp", output_compression=80,
            moderation="low",
        ),
        id="images-gpt-image-1",
    ),
    pytest.param(
        lambda c, t: c.images.generate(
            "A cute baby sea otter", model="gpt-image-1", size="auto", quality="auto", n=10,
            output_format="jpeg", output_compression=0,
        ),
        id="images-gpt-image-1-edges",
    ),
    # moderations
    pytest.param(lambda c, t: c.moderations.create("I like otters."), id="moderations-str"),
    pytest.param(
        lambda c, t: c.moderations.create(["one", "two"], "omni-moderation-latest"),
        id="moderations-list",
    ),
    pytest.param(
        lambda c, t: c.moderations.create(
            [
                {"type": "text", "text": "Is this fine?"},
                {"type": "image_url", "image_url": {"url": IMAGE_URL}},
            ],
            "omni-moderation-latest",
        ),
        id="moderations-content-parts",
    ),
    # files
    pytest.param(
        lambda c, t: c.files.create(_upload_path(t), "assistants"), id="files.create-path"
    ),
    pytest.param(
        lambda c, t: c.files.create(str(_upload_path(t)), "fine-tune"), id="files.create-str-path"
    ),
    pytest.param(
        lambda c, t: c.files.create(b'{"custom_id": "1"}\n', "batch", filename="batch.jsonl"),
        id="files.create-bytes-filename",
    ),
    pytest.param(_upload_file_object, id="files.create-file-object"),
    pytest.param(
        lambda c, t: c.files.create(
            ("notes.txt", b"hello"),
            "assistants",
            expires_after={"anchor": "created_at", "seconds": 3600},
        ),
        id="files.create-tuple-expires-after",
    ),
    pytest.param(
        lambda c, t: c.files.create(
            io.BytesIO(b"%PDF-1.4\n"), "user_data", {"filename": "doc.pdf",
                                                     "expiresAfter": {"seconds": 2592000}},
        ),
        id="files.create-bytesio-4d-params",
    ),
    pytest.param(lambda c, t: c.files.list(), id="files.list"),
    pytest.param(
        lambda c, t: c.files.list(limit=10, order="asc", purpose="assistants", after=FILE_ID),
        id="files.list-filters",
    ),
    pytest.param(lambda c, t: c.files.retrieve(FILE_ID), id="files.retrieve"),
    pytest.param(lambda c, t: c.files.delete(FILE_ID), id="files.delete"),
    pytest.param(lambda c, t: c.files.content(FILE_ID), id="files.content"),
]


@pytest.mark.parametrize("call", CASES)
def test_request_conforms(
    client: OpenAI, tmp_path: Path, call: Case, request: pytest.FixtureRequest
) -> None:
    result = call(client, tmp_path)
    assert_conforms(result, request.node.callspec.id)


# -- the oracle is awake ---------------------------------------------------------------------


def _raw_post(url: str, body: Any) -> requests.Response:
    return requests.post(
        url, json=body, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10
    )


def _validation(response: requests.Response) -> list[dict[str, Any]]:
    payload = response.json()
    assert isinstance(payload, dict), payload
    found = payload.get("validation")
    assert isinstance(found, list), payload
    return found


def _locations(items: list[dict[str, Any]]) -> list[list[str]]:
    return [list(item.get("location", [])) for item in items]


def test_empty_messages_refused_by_sdk_and_by_prism(client: OpenAI, prism_url: str) -> None:
    with pytest.raises(ValueError, match="messages"):
        client.chat.completions.create([])
    response = _raw_post(f"{prism_url}/chat/completions", {"model": "gpt-4o-mini", "messages": []})
    assert response.status_code == 422, response.text
    assert ["body", "messages"] in _locations(_validation(response))


def test_wrong_temperature_type_refused_by_sdk_and_by_prism(
    client: OpenAI, prism_url: str
) -> None:
    with pytest.raises(TypeError, match="temperature"):
        client.chat.completions.create(USER, temperature="hot")
    response = _raw_post(
        f"{prism_url}/chat/completions",
        {"model": "gpt-4o-mini", "messages": USER, "temperature": "hot"},
    )
    assert response.status_code == 422, response.text
    assert ["body", "temperature"] in _locations(_validation(response))


def test_out_of_range_extra_key_sent_by_sdk_gets_422(client: OpenAI) -> None:
    # extra_body is sent as given, unchecked; Prism must catch a bad value through that path.
    # (The keyword frequency_penalty=5 is refused before sending: the field is modelled.)
    with pytest.raises(ValueError, match="frequency_penalty"):
        client.chat.completions.create(USER, frequency_penalty=5)
    result = client.chat.completions.create(USER, extra_body={"frequency_penalty": 5})
    assert result.status == 422, result.body
    assert ["body", "frequency_penalty"] in _locations(result.body["validation"])


def test_unknown_field_in_closed_schema_gets_422(client: OpenAI) -> None:
    result = client.embeddings.create("fox", no_such_field=1)
    assert result.status == 422, result.body


def test_bad_purpose_in_multipart_upload_gets_422(client: OpenAI) -> None:
    result = client.files.create(b"x", "not-a-purpose", filename="x.txt")
    assert result.status == 422, result.body
    assert ["body", "purpose"] in _locations(result.body["validation"])


def test_wrong_content_type_gets_415(prism_url: str) -> None:
    response = requests.post(
        f"{prism_url}/chat/completions",
        data=b"model=gpt-4o-mini",
        headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "text/plain"},
        timeout=10,
    )
    assert response.status_code == 415, response.text


# -- where Prism is blind, check the wire form against the spec ourselves ----------------------
# Prism only reads multipart fields named exactly like a schema property, so the form fields
# ``expires_after[anchor]`` / ``expires_after[seconds]`` are never validated; and the spec gives
# the ``metadata`` query parameter no ``style: deepObject``, so ``metadata[k]=v`` is ignored.


class _Capture:
    """A ``requests.Session`` for ``http_agent=`` that keeps each request it sent."""

    def __init__(self) -> None:
        self.session = requests.Session()
        self.session.trust_env = False
        self.sent: list[requests.PreparedRequest] = []
        self.session.hooks["response"].append(self._keep)

    def _keep(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.sent.append(response.request)


def _form_fields(prepared: requests.PreparedRequest) -> dict[str, str]:
    body: Any = prepared.body  # aikit's MultipartBody: iterable, re-readable
    raw = body if isinstance(body, bytes) else b"".join(body)
    head = f"Content-Type: {prepared.headers['Content-Type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if part.get_filename() is None and isinstance(name, str):
            payload = part.get_payload(decode=True)
            fields[name] = payload.decode() if isinstance(payload, bytes) else ""
    return fields


@pytest.mark.parametrize(
    ("expires_after", "seconds"),
    [
        ({"anchor": "created_at", "seconds": 3600}, "3600"),
        ({"seconds": 2592000}, "2592000"),  # the SDK fills in the only anchor
    ],
)
def test_upload_expires_after_fields_match_spec(
    client: OpenAI, expires_after: dict[str, Any], seconds: str
) -> None:
    capture = _Capture()
    result = client.files.create(
        b"hello", "user_data", filename="a.txt", expires_after=expires_after,
        http_agent=capture.session,
    )
    assert_conforms(result, "files.create")
    fields = _form_fields(capture.sent[-1])
    # spec FileExpirationAfter: anchor enum [created_at], seconds int64 in [3600, 2592000];
    # sent in the bracket form the official SDKs use for multipart objects.
    assert fields == {
        "expires_after[anchor]": "created_at",
        "expires_after[seconds]": seconds,
        "purpose": "user_data",
    }
    assert 3600 <= int(fields["expires_after[seconds]"]) <= 2592000


def test_chat_list_metadata_filter_is_bracketed_query(client: OpenAI) -> None:
    capture = _Capture()
    result = client.chat.completions.list(
        metadata={"k": "v", "team": "a b"}, limit=3, http_agent=capture.session
    )
    assert_conforms(result, "chat.completions.list")
    url = capture.sent[-1].url
    assert isinstance(url, str)
    query = parse_qsl(urlsplit(url).query)
    # spec: "metadata[key1]=value1&metadata[key2]=value2"
    assert ("metadata[k]", "v") in query
    assert ("metadata[team]", "a b") in query
    assert not any(key == "metadata" for key, _ in query)
