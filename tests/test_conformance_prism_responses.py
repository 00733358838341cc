"""Request conformance of the Responses API: every request aikit sends to ``/v1/responses*``.

Stoplight Prism (``tests/prism``) mocks the API from ``openai-openapi.aikit-v2.prism.yaml`` (the
v1 file has no Responses API) and validates each request: a body or query string the spec
rejects gets 422 (415 for a wrong Content-Type) with Prism's ``validation`` list. Each case
drives one SDK call in sync mode and asserts twice that the request was accepted: on the
result's status, and on Prism's log (no request violation logged for it; see `PrismLog`).

Streams: aikit asks for ``Accept: text/event-stream`` and Prism cannot mock SSE, so it
answers a valid stream request with 500 ``NO_COMPLEX_OBJECT_TEXT`` (406 on GET
/responses/{id}, whose spec declares only JSON), in both cases after validating the request:
an invalid one still gets 422 (see the oracle tests). With ``Accept: application/json`` it
answers JSON, which aikit reads as one ``response.completed`` event.

Where Prism is blind (checked below by other means): aikit sends ``include`` in the query as
``include[]=v`` (as openai-python does) while the spec names the parameter ``include``, so Prism
ignores it; the tests replay the captured values in the spec's form. Unknown body fields are
accepted on every Responses endpoint.

Without Node.js the module skips; with Node.js but without ``npm ci`` in tests/prism it fails.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

import attrs
import pytest
import requests

from aikit import OpenAI
from aikit.objects import OpenAIMessage, OpenAIResponse, OpenAITool
from aikit.results import OpenAIResult
from tests.prism.fixture import API_KEY, SPEC_V2, PrismUnavailable, find_prism, prism_server

pytestmark = pytest.mark.prism

#: Statuses with which Prism reports a request that does not conform to the spec.
REJECTED = (415, 422)
#: Prism's answer to a valid request asking for ``text/event-stream``: it cannot mock SSE.
NO_SSE = (500, "NO_COMPLEX_OBJECT_TEXT")
#: ... and to one on an operation whose spec declares only a JSON answer (GET /responses/{id}).
NOT_ACCEPTABLE = (406, "NOT_ACCEPTABLE")
HAS_STRUCTURED = importlib.util.find_spec("aikit.helpers.structured") is not None

RESPONSE_ID = "resp_677efb5139a88190b512bc3fef8e535d"
IMAGE_URL = "https://example.com/images/otter.png"
FILE_ID = "file-abc123"


# -- the Prism log ---------------------------------------------------------------------------


class PrismLog:
    """Prism's log file: the request violations it logged for the calls since a mark.

    Prism logs a request's violations (``[VALIDATOR] ... Request body property ...``) just
    after answering, so reading the log at once can miss them. ``violations`` first sends a
    marker request (an unknown path, which Prism logs with its path and no violation) and
    waits until the marker is logged: whatever the earlier calls logged is written by then.
    Lines about Prism's own mocked *responses* (``Violation: response...``) are not requests'.
    """

    def __init__(self, path: Path, url: str) -> None:
        self.path = path
        self.root = url.removesuffix("/v1")

    def mark(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0

    def violations(self, since: int) -> list[str]:
        token = f"aikit-log-mark-{uuid.uuid4().hex}"
        requests.get(f"{self.root}/{token}", timeout=10)  # 404, logged with its path
        deadline = time.monotonic() + 10.0
        while True:
            with self.path.open("rb") as log:
                log.seek(since)
                text = log.read().decode("utf-8", "replace")
            end = text.find(token)
            if end >= 0:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"Prism did not log the marker request {token}")
            time.sleep(0.05)
        return [line.strip() for line in text[:end].splitlines() if _is_violation(line)]


def _is_violation(line: str) -> bool:
    if "[VALIDATOR]" in line:
        return "Violation: response" not in line
    return "errors#UNPROCESSABLE_ENTITY" in line or "errors#INVALID_CONTENT_TYPE" in line


@dataclasses.dataclass
class Prism:
    url: str
    log: PrismLog


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prism(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prism]:
    """One Prism mock server with the v2 spec for this module (it takes 8-20 s to start)."""
    unavailable: PrismUnavailable | None = None
    try:
        find_prism()
    except PrismUnavailable as exc:
        unavailable = exc
    if unavailable is not None:
        if unavailable.skip:
            pytest.skip(str(unavailable))
        pytest.fail(str(unavailable), pytrace=False)  # Node.js is here: Prism must be too
    log_path = tmp_path_factory.mktemp("prism-v2") / "prism.log"
    with prism_server(log_path, spec=SPEC_V2) as url:
        yield Prism(url, PrismLog(log_path, url))


class Capture:
    """A ``requests.Session`` for ``http_agent=`` that keeps each request it sent."""

    def __init__(self) -> None:
        self.session = requests.Session()
        self.session.trust_env = False
        self.sent: list[requests.PreparedRequest] = []
        self.session.hooks["response"].append(self._keep)

    def _keep(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.sent.append(response.request)

    @property
    def body(self) -> dict[str, Any]:
        """The JSON body of the last request."""
        raw = self.sent[-1].body
        assert isinstance(raw, (bytes, str)), raw
        value = json.loads(raw)
        assert isinstance(value, dict)
        return value

    @property
    def query(self) -> list[tuple[str, str]]:
        url = self.sent[-1].url
        assert isinstance(url, str)
        return parse_qsl(urlsplit(url).query)


@pytest.fixture
def capture() -> Iterator[Capture]:
    cap = Capture()
    yield cap
    cap.session.close()


@pytest.fixture
def client(prism: Prism, capture: Capture) -> Iterator[OpenAI]:
    with OpenAI(api_key=API_KEY, base_url=prism.url, max_retries=0,
                http_agent=capture.session) as c:
        yield c


def assert_accepted(result: OpenAIResult, call: str, prism: Prism, since: int) -> None:
    """Prism did not reject the request: not by its status, not in its log."""
    assert result.status is not None, f"{call}: no HTTP response: {result.errors}"
    body = result.body
    assert result.status not in REJECTED, (
        f"{call}: Prism rejected the request with {result.status}:\n{json.dumps(body, indent=2)}"
    )
    assert not (isinstance(body, dict) and "validation" in body), f"{call}: {body!r}"
    violations = prism.log.violations(since)
    assert violations == [], f"{call}: Prism logged request violations:\n" + "\n".join(violations)


def assert_conforms(result: OpenAIResult, call: str, prism: Prism, since: int) -> None:
    assert_accepted(result, call, prism, since)
    assert result.success, f"{call}: HTTP {result.status}: {result.body!r} {result.errors}"


def assert_stream_accepted(
    result: OpenAIResult, call: str, prism: Prism, since: int, no_sse: tuple[int, str] = NO_SSE
) -> None:
    """A stream request was accepted: Prism, unable to mock SSE, answers a valid one with
    ``no_sse`` (status and error type) after validating it (or JSON when asked for it)."""
    assert_accepted(result, call, prism, since)
    if result.status != 200:
        status, kind = no_sse
        assert result.status == status and kind in str(result.body), (
            f"{call}: unexpected answer {result.status}: {result.body!r}"
        )


# -- the calls -------------------------------------------------------------------------------

Case = Callable[[OpenAI], OpenAIResult]

WEATHER_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "City name"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["city", "unit"],
    "additionalProperties": False,
}
#: The tool as the Responses API reads it (spec FunctionTool: flat, name/parameters/strict).
FLAT_WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather of a city.",
    "parameters": WEATHER_PARAMETERS,
    "strict": True,
}
#: The same tool in the Chat Completions shape, which aikit flattens.
CHAT_WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather of a city.",
        "parameters": WEATHER_PARAMETERS,
        "strict": True,
    },
}
WEATHER_TOOL = OpenAITool(
    name="get_weather", description="Current weather of a city.", parameters=WEATHER_PARAMETERS
)
GREETING_FORMAT: dict[str, Any] = {
    "type": "json_schema",
    "name": "greeting",
    "description": "A greeting.",
    "schema": {
        "type": "object",
        "properties": {"text": {"type": "string"}},
        "required": ["text"],
        "additionalProperties": False,
    },
    "strict": True,
}
IMAGE_INPUT: list[dict[str, Any]] = [
    {
        "role": "user",
        "content": [
            {"type": "input_text", "text": "What is in this image?"},
            {"type": "input_image", "image_url": IMAGE_URL, "detail": "low"},
        ],
    }
]
FUNCTION_ROUND_TRIP: list[dict[str, Any]] = [
    {"role": "user", "content": "Weather in Paris?"},
    {
        "type": "function_call",
        "call_id": "call_1",
        "name": "get_weather",
        "arguments": '{"city":"Paris","unit":"celsius"}',
    },
    {"type": "function_call_output", "call_id": "call_1", "output": '{"temp": 21}'},
]
#: A completed response as the API returns it (``output_text`` parts carry ``logprobs``).
COMPLETED_RESPONSE: dict[str, Any] = {
    "id": RESPONSE_ID,
    "object": "response",
    "created_at": 1741476777,
    "status": "completed",
    "model": "gpt-4o-mini",
    "output": [
        {
            "type": "function_call",
            "id": "fc_1",
            "call_id": "call_1",
            "name": "get_weather",
            "arguments": '{"city":"Paris","unit":"celsius"}',
            "status": "completed",
        },
        {
            "type": "message",
            "id": "msg_1",
            "status": "completed",
            "role": "assistant",
            "content": [
                {"type": "output_text", "text": "Sunny.", "annotations": [], "logprobs": []}
            ],
        },
    ],
}


def _image_message() -> list[OpenAIMessage]:
    """A Chat-shaped message (text + image_url parts): aikit sends input_text/input_image."""
    message = OpenAIMessage(role="user", content="What is in this image?")
    message.add_image_url(IMAGE_URL)
    return [message]


def _mixed_messages() -> list[OpenAIMessage]:
    message = OpenAIMessage(role="user", content="Compare the image and the PDF.")
    message.add_image_url(IMAGE_URL, "high")
    message.add_file_id(FILE_ID)
    return [
        OpenAIMessage(role="system", content="You are terse."),
        OpenAIMessage(role="user", content="Hello."),
        OpenAIMessage(role="assistant", content="Hi."),
        message,
    ]


def _echo_response(client: OpenAI) -> OpenAIResult:
    previous = OpenAIResponse._from_dict(json.loads(json.dumps(COMPLETED_RESPONSE)))
    return client.responses.create(previous, tools=[WEATHER_TOOL])


CASES: list[Any] = [
    # methods
    pytest.param(lambda c: c.responses.create("Say hello."), id="create-plain"),
    pytest.param(
        lambda c: c.responses.create("Say hello.", {"model": "gpt-4o", "maxOutputTokens": 32}),
        id="create-4d-params-dict",
    ),
    pytest.param(lambda c: c.responses.retrieve(RESPONSE_ID), id="retrieve"),
    pytest.param(
        lambda c: c.responses.retrieve(
            RESPONSE_ID, include=["message.output_text.logprobs", "reasoning.encrypted_content"],
            include_obfuscation=False,
        ),
        id="retrieve-include",
    ),
    pytest.param(lambda c: c.responses.delete(RESPONSE_ID), id="delete"),
    pytest.param(lambda c: c.responses.cancel(RESPONSE_ID), id="cancel"),
    pytest.param(lambda c: c.responses.compact("Summarise our chat."), id="compact-input-str"),
    pytest.param(
        lambda c: c.responses.compact(
            [{"role": "user", "content": "Hello."}, {"role": "assistant", "content": "Hi."}],
            model="gpt-4o", instructions="Keep the facts.",
        ),
        id="compact-input-items",
    ),
    pytest.param(
        lambda c: c.responses.compact(previous_response_id=RESPONSE_ID),
        id="compact-previous-response-id",
    ),
    pytest.param(lambda c: c.responses.input_items.list(RESPONSE_ID), id="input_items.list"),
    pytest.param(
        lambda c: c.responses.input_items.list(
            RESPONSE_ID, limit=5, order="asc", after="msg_1",
            include=["message.input_image.image_url"],
        ),
        id="input_items.list-paged-include",
    ),
    pytest.param(lambda c: c.responses.input_tokens.count("Hello."), id="input_tokens.count"),
    pytest.param(
        lambda c: c.responses.input_tokens.count(
            FUNCTION_ROUND_TRIP,
            model="gpt-4o",
            instructions="Be brief.",
            tools=[CHAT_WEATHER_TOOL, WEATHER_TOOL, {"type": "web_search"}],
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
            parallel_tool_calls=False,
            text={"format": GREETING_FORMAT},
            truncation="auto",
        ),
        id="input_tokens.count-tools",
    ),
    # create: tools
    pytest.param(
        lambda c: c.responses.create("Weather in Paris?", tools=[CHAT_WEATHER_TOOL]),
        id="create-tool-chat-shape-dict",
    ),
    pytest.param(
        lambda c: c.responses.create("Weather in Paris?", tools=[FLAT_WEATHER_TOOL]),
        id="create-tool-flat-dict",
    ),
    pytest.param(
        lambda c: c.responses.create("Weather in Paris?", tools=[WEATHER_TOOL]),
        id="create-tool-OpenAITool",
    ),
    pytest.param(
        lambda c: c.responses.create("News today?", tools=[{"type": "web_search"}]),
        id="create-tool-web-search",
    ),
    pytest.param(
        lambda c: c.responses.create(
            "Weather in Paris?", tools=[WEATHER_TOOL, {"type": "web_search"}],
            tool_choice="required", parallel_tool_calls=True, max_tool_calls=3,
        ),
        id="create-tool-choice-string",
    ),
    pytest.param(
        lambda c: c.responses.create(
            "Weather in Paris?", tools=[WEATHER_TOOL],
            tool_choice={"type": "function", "function": {"name": "get_weather"}},
        ),
        id="create-tool-choice-chat-shape",
    ),
    # create: options
    pytest.param(
        lambda c: c.responses.create("Greet me.", text={"format": GREETING_FORMAT}),
        id="create-text-format-json-schema",
    ),
    pytest.param(
        lambda c: c.responses.create(
            "Why is the sky blue?", model="o3-mini", reasoning={"effort": "low", "summary": "auto"}
        ),
        id="create-reasoning",
    ),
    pytest.param(
        lambda c: c.responses.create(
            "Say hello.", include=["message.output_text.logprobs", "reasoning.encrypted_content"],
            top_logprobs=2,
        ),
        id="create-include",
    ),
    pytest.param(
        lambda c: c.responses.create("And then?", previous_response_id=RESPONSE_ID),
        id="create-previous-response-id",
    ),
    pytest.param(
        lambda c: c.responses.create("Write a long story.", background=True, store=True),
        id="create-background",
    ),
    pytest.param(
        lambda c: c.responses.create("Say hello.", metadata={"project": "aikit", "run": "1"}),
        id="create-metadata",
    ),
    pytest.param(
        lambda c: c.responses.create(
            "Say hello.", max_output_tokens=64, instructions="Answer in French."
        ),
        id="create-max-output-tokens-instructions",
    ),
    pytest.param(
        lambda c: c.responses.create(
            "Say hello.", temperature=0.5, top_p=0.9, truncation="disabled", service_tier="auto",
            safety_identifier="user-42", prompt_cache_key="greetings", user="user-42",
        ),
        id="create-sampling-and-identity",
    ),
    # create: input
    pytest.param(lambda c: c.responses.create(IMAGE_INPUT), id="create-input-text-image-parts"),
    pytest.param(
        lambda c: c.responses.create(_image_message()), id="create-input-OpenAIMessage-image"
    ),
    pytest.param(
        lambda c: c.responses.create(_mixed_messages()),
        id="create-input-OpenAIMessage-conversation-file",
    ),
    pytest.param(
        lambda c: c.responses.create(FUNCTION_ROUND_TRIP, tools=[WEATHER_TOOL]),
        id="create-input-function-call-output",
    ),
    pytest.param(_echo_response, id="create-input-previous-response-output"),
]


@pytest.mark.parametrize("call", CASES)
def test_request_conforms(
    client: OpenAI, prism: Prism, call: Case, request: pytest.FixtureRequest
) -> None:
    since = prism.log.mark()
    result = call(client)
    assert_conforms(result, request.node.callspec.id, prism, since)


# -- streams ---------------------------------------------------------------------------------


def test_create_stream_sync_mode(client: OpenAI, prism: Prism, capture: Capture) -> None:
    since = prism.log.mark()
    result = client.responses.create(
        "Say hello.", stream=True, stream_options={"include_obfuscation": False},
        max_output_tokens=64,
    )
    assert_stream_accepted(result, "create(stream=True)", prism, since)
    assert capture.body["stream"] is True
    assert capture.body["stream_options"] == {"include_obfuscation": False}


def test_stream_context_manager(client: OpenAI, prism: Prism, capture: Capture) -> None:
    since = prism.log.mark()
    with client.responses.stream(
        "Weather in Paris?", tools=[CHAT_WEATHER_TOOL], tool_choice="auto", instructions="Terse."
    ) as stream:
        events = list(stream)
    assert events == []  # Prism's 500: no event
    assert stream.result is not None
    assert_stream_accepted(stream.result, "stream()", prism, since)
    assert capture.body["stream"] is True
    assert capture.body["tools"] == [FLAT_WEATHER_TOOL]


def test_stream_answered_with_json_ends_in_one_event(client: OpenAI, prism: Prism) -> None:
    """Asked for JSON, Prism answers the mocked response: aikit's stream reads it as one
    ``response.completed`` event and a final result (the whole path, on a valid body)."""
    since = prism.log.mark()
    with client.responses.stream(
        "Say hello.", extra_headers={"Accept": "application/json"}
    ) as stream:
        events = list(stream)
    result = stream.result
    assert result is not None
    assert_conforms(result, "stream() answered with JSON", prism, since)
    assert [e.event.type if e.event else None for e in events] == ["response.completed"]
    assert result.response is not None and result.output_text


def test_retrieve_stream_resume(client: OpenAI, prism: Prism, capture: Capture) -> None:
    since = prism.log.mark()
    result = client.responses.retrieve(RESPONSE_ID, stream=True, starting_after=3)
    # the spec gives GET /responses/{id} no text/event-stream answer, hence 406 after the
    # query was validated (a bad ``starting_after`` gets 422: test_bad_resume_query_gets_422)
    assert_stream_accepted(result, "retrieve(stream=True)", prism, since, NOT_ACCEPTABLE)
    assert capture.query == [("stream", "true"), ("starting_after", "3")]


# -- what aikit sends: the Chat shapes are converted -----------------------------------------


@pytest.mark.parametrize(
    ("tools", "expected"),
    [
        pytest.param([CHAT_WEATHER_TOOL], [FLAT_WEATHER_TOOL], id="chat-shape-dict"),
        pytest.param([FLAT_WEATHER_TOOL], [FLAT_WEATHER_TOOL], id="flat-dict"),
        pytest.param(
            [WEATHER_TOOL], [FLAT_WEATHER_TOOL | {"strict": None}], id="OpenAITool"
        ),  # the spec requires ``strict`` (null allowed): aikit sends null when unset
        pytest.param([{"type": "web_search"}], [{"type": "web_search"}], id="web-search"),
    ],
)
def test_tools_are_sent_flat(
    client: OpenAI, prism: Prism, capture: Capture, tools: list[Any], expected: list[Any]
) -> None:
    since = prism.log.mark()
    result = client.responses.create("Weather in Paris?", tools=tools)
    assert_conforms(result, "create(tools=...)", prism, since)
    assert capture.body["tools"] == expected


def test_tool_choice_chat_shape_is_flattened(
    client: OpenAI, prism: Prism, capture: Capture
) -> None:
    since = prism.log.mark()
    result = client.responses.create(
        "Weather?", tools=[WEATHER_TOOL],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    assert_conforms(result, "create(tool_choice=chat shape)", prism, since)
    assert capture.body["tool_choice"] == {"type": "function", "name": "get_weather"}


def test_openai_message_parts_are_converted(
    client: OpenAI, prism: Prism, capture: Capture
) -> None:
    since = prism.log.mark()
    result = client.responses.create(_mixed_messages())
    assert_conforms(result, "create(OpenAIMessage input)", prism, since)
    assert capture.body["input"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Hello."},
        {"role": "assistant", "content": "Hi."},
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "Compare the image and the PDF."},
                {"type": "input_image", "image_url": IMAGE_URL, "detail": "high"},
                {"type": "input_file", "file_id": FILE_ID},
            ],
        },
    ]


# -- structured outputs ----------------------------------------------------------------------


@dataclasses.dataclass
class Place:
    city: str
    country: str
    population: int
    kind: Literal["capital", "town"]
    tags: list[str]
    nickname: str | None = None


@attrs.define
class Trip:
    title: str
    days: float
    stops: list[Place]
    notes: str | None = None


@pytest.mark.skipif(not HAS_STRUCTURED, reason="aikit.helpers.structured is not there yet")
def test_responses_parse_sends_a_schema_prism_accepts(
    client: OpenAI, prism: Prism, capture: Capture
) -> None:
    since = prism.log.mark()
    result = client.responses.parse("Describe Paris.", text_format=Place)
    # the mocked answer is no Place: the call fails to parse, but the request was accepted
    assert result.status == 200, (result.status, result.body)
    assert_accepted(result, "responses.parse", prism, since)
    fmt = capture.body["text"]["format"]
    assert fmt["type"] == "json_schema" and fmt["strict"] is True
    assert fmt["schema"]["type"] == "object"


@pytest.mark.skipif(not HAS_STRUCTURED, reason="aikit.helpers.structured is not there yet")
def test_chat_parse_sends_a_schema_prism_accepts(
    client: OpenAI, prism: Prism, capture: Capture
) -> None:
    since = prism.log.mark()
    result = client.chat.completions.parse(
        [{"role": "user", "content": "Plan a trip."}], response_format=Trip
    )
    assert result.status == 200, (result.status, result.body)
    assert_accepted(result, "chat.completions.parse", prism, since)
    fmt = capture.body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True


# -- where Prism is blind: include[] in the query ----------------------------------------------


def _get(prism: Prism, path: str, query: list[tuple[str, str]]) -> requests.Response:
    return requests.get(f"{prism.url}{path}", params=query,
                        headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10)


@pytest.mark.parametrize(
    ("path", "call"),
    [
        pytest.param(
            f"/responses/{RESPONSE_ID}",
            lambda c: c.responses.retrieve(
                RESPONSE_ID, include=["message.output_text.logprobs", "file_search_call.results"]
            ),
            id="retrieve",
        ),
        pytest.param(
            f"/responses/{RESPONSE_ID}/input_items",
            lambda c: c.responses.input_items.list(
                RESPONSE_ID, include=["message.input_image.image_url", "web_search_call.results"]
            ),
            id="input_items.list",
        ),
    ],
)
def test_include_query_values_match_spec(
    client: OpenAI, prism: Prism, capture: Capture, path: str, call: Case
) -> None:
    result = call(client)
    assert result.success, result.body
    sent = [value for key, value in capture.query if key == "include[]"]
    # brackets, as openai-python sends them; Prism only reads the spec's plain ``include``
    assert len(sent) == 2 and not any(key == "include" for key, _ in capture.query)
    replay = _get(prism, path, [("include", value) for value in sent])
    assert replay.status_code == 200, replay.text
    bogus = _get(prism, path, [("include", "no.such.field")])
    assert bogus.status_code == 422, bogus.text  # the replay is checked: a bad value is not
    assert bogus.json()["validation"][0]["location"][:2] == ["query", "include"]


# -- the oracle is awake ---------------------------------------------------------------------


def _locations(result: OpenAIResult) -> list[list[str]]:
    body = result.body
    assert isinstance(body, dict) and isinstance(body.get("validation"), list), body
    return [list(item.get("location", [])) for item in body["validation"]]


def test_wrong_type_through_extra_body_gets_422(client: OpenAI, prism: Prism) -> None:
    since = prism.log.mark()
    result = client.responses.create("Say hello.", extra_body={"max_output_tokens": "many"})
    assert result.status == 422, result.body
    assert ["body", "max_output_tokens"] in _locations(result)
    assert any("max_output_tokens" in line for line in prism.log.violations(since))


def test_wrong_type_in_a_stream_request_gets_422(client: OpenAI, prism: Prism) -> None:
    """The 500 Prism gives valid stream requests comes after validation: a bad one is 422."""
    since = prism.log.mark()
    with client.responses.stream("Say hello.", extra_body={"max_output_tokens": "many"}) as s:
        assert list(s) == []
    assert s.result is not None
    assert s.result.status == 422, s.result.body
    assert ["body", "max_output_tokens"] in _locations(s.result)
    assert prism.log.violations(since)


def test_chat_shaped_tool_sent_as_is_gets_422(client: OpenAI) -> None:
    # extra_body replaces aikit's flat ``tools``: the Chat shape is what the API refuses
    result = client.responses.create("Weather?", extra_body={"tools": [CHAT_WEATHER_TOOL]})
    assert result.status == 422, result.body
    assert ["body", "tools", "0"] in _locations(result)


def test_chat_shaped_tool_choice_sent_as_is_gets_422(client: OpenAI) -> None:
    result = client.responses.create(
        "Weather?", tools=[WEATHER_TOOL],
        extra_body={"tool_choice": {"type": "function", "function": {"name": "get_weather"}}},
    )
    assert result.status == 422, result.body
    assert ["body", "tool_choice"] in _locations(result)


def test_chat_shaped_content_part_sent_as_is_gets_422(prism: Prism) -> None:
    body = {
        "model": "gpt-4o-mini",
        "input": [{"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": IMAGE_URL}},
        ]}],
    }
    response = requests.post(f"{prism.url}/responses", json=body, timeout=10,
                             headers={"Authorization": f"Bearer {API_KEY}"})
    assert response.status_code == 422, response.text
    locations = [item["location"] for item in response.json()["validation"]]
    assert ["body", "input", "0", "content", "0", "type"] in locations


def test_bad_input_items_query_gets_422(client: OpenAI) -> None:
    result = client.responses.input_items.list(RESPONSE_ID, extra_query={"order": "up"})
    assert result.status == 422, result.body
    assert ["query", "order"] in _locations(result)


def test_bad_compact_body_gets_422(client: OpenAI) -> None:
    result = client.responses.compact("Hi.", extra_body={"previous_response_id": 5})
    assert result.status == 422, result.body
    assert ["body", "previous_response_id"] in _locations(result)


def test_bad_resume_query_gets_422(client: OpenAI, prism: Prism) -> None:
    """The 406 of a valid retrieve(stream=True) comes after validation: a bad query is 422."""
    since = prism.log.mark()
    result = client.responses.retrieve(
        RESPONSE_ID, stream=True, extra_query={"starting_after": "x"}
    )
    assert result.status == 422, result.body
    assert any(location[:2] == ["query", "starting_after"] for location in _locations(result))
    assert prism.log.violations(since)
