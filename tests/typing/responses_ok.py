"""The Responses API as a typed user program: no error at all, and these revealed types.

Checked by tests/test_typing.py (never run).
"""

from dataclasses import dataclass

from typing_extensions import reveal_type

from aikit import (
    OpenAI,
    OpenAIResponse,
    OpenAIResponsesConversation,
    OpenAIResponsesResult,
    OpenAIResponsesStreamResult,
    OpenAITool,
    ResponsesStream,
)
from aikit.types import OpenAIResponsesEvent, ResponseTextDeltaEvent

client = OpenAI("sk-test", "http://127.0.0.1:1/v1")


@dataclass
class City:
    name: str


def on_event(item: OpenAIResponsesStreamResult) -> None:
    if isinstance(item.event, ResponseTextDeltaEvent):
        print(item.event.delta)


def on_done(result: OpenAIResponsesResult) -> None:
    print(result.output_text)


def weather(city: str) -> str:
    """The weather in a city."""
    return city


r = client.responses.create("hi", model="gpt-4o-mini", instructions="Be brief.",
                            reasoning={"effort": "low"}, max_output_tokens=64)
reveal_type(r)  # R: OpenAIResponsesResult
reveal_type(r.response)  # R: OpenAIResponse | None
reveal_type(r.output_text)  # R: str
s = client.responses.create("hi", stream=True, on_data=on_event, on_terminate=on_done)
reveal_type(s)  # R: OpenAIResponsesStreamResult
reveal_type(s.event)  # R: OpenAIResponsesEvent | None
reveal_type(s.snapshot)  # R: OpenAIResponse | None
with client.responses.stream("hi") as stream:
    reveal_type(stream)  # R: ResponsesStream
    for item in stream:
        reveal_type(item)  # R: OpenAIResponsesStreamResult
    reveal_type(stream.result)  # R: OpenAIResponsesStreamResult
client.responses.create("hi", background=True, on_data=on_event, on_response=on_done)
reveal_type(client.responses.retrieve("resp_1"))  # R: OpenAIResponsesResult
resumed = client.responses.retrieve("resp_1", stream=True, starting_after=3)
reveal_type(resumed)  # R: OpenAIResponsesStreamResult
reveal_type(client.responses.parse("a city", text_format=City))  # R: OpenAIResponsesResult
parsed = client.chat.completions.parse([{"role": "user", "content": "x"}], response_format=City)
reveal_type(parsed.parsed)  # R: Any
conversation = client.responses.conversation(instructions="Be brief.", max_tool_rounds=3,
                                             tools=[OpenAITool.from_function(weather)])
reveal_type(conversation)  # R: OpenAIResponsesConversation
reveal_type(conversation.prompt("and tomorrow?"))  # R: OpenAIResponsesResult
first: OpenAIResponse | None = r.response
event: OpenAIResponsesEvent | None = s.event
stream_type: type[ResponsesStream] = ResponsesStream
conv_type: type[OpenAIResponsesConversation] = OpenAIResponsesConversation
