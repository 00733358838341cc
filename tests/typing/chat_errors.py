"""Mistakes in chat code that mypy must report: each ``# E: text`` line must get an error whose
"message  [code]" contains ``text``, and no other line may get one.

Checked by tests/test_typing.py (never run).
"""

from aikit import (
    OpenAI,
    OpenAIChatCompletionsResult,
    OpenAIChatCompletionsStreamResult,
    OpenAIEmbeddingsResult,
    OpenAIMessage,
)

client = OpenAI("sk-test", "http://127.0.0.1:1/v1")
msgs: list[dict[str, str]] = [{"role": "user", "content": "hi"}]


def on_embeddings(result: OpenAIEmbeddingsResult) -> None:
    print(result.vector)


# A misspelt option, a value of the wrong type, a callback for another endpoint's result.
client.chat.completions.create(msgs, temprature=0.5)  # E: [call-overload]
client.chat.completions.create(msgs, temperature="hot")  # E: [call-overload]
client.chat.completions.create(msgs, on_response=on_embeddings)  # E: "on_response" to "create"
client.chat.completions.create(msgs, stream=True, on_data=on_embeddings)  # E: "on_data" to "create"

# A plain call does not return the stream result class.
x: OpenAIChatCompletionsStreamResult = client.chat.completions.create(msgs)  # E: [assignment]

# Data classes have a typed constructor and no catch-all attribute.
OpenAIMessage(rol="user")  # E: [call-arg]
msg = OpenAIMessage(role="user", content="hi")
print(msg.contnt)  # E: [attr-defined]

r: OpenAIChatCompletionsResult = client.chat.completions.create(msgs)
print(r.choices[0].mesage)  # E: [attr-defined]
print(r.choice.text)  # E: [union-attr]
if r.choice is not None:
    print(r.choice.text)

helper = client.chat.create("You are terse.")
print(helper.prompt("hi").choices[0].mesage)  # E: [attr-defined]

# The Responses API: a misspelt option, a callback for another result class.
client.responses.create("hi", instrucions="x")  # E: [call-overload]
client.responses.create("hi", stream=True, on_data=on_embeddings)  # E: "on_data" to "create"
client.responses.retrieve("resp_1", strating_after=3)  # E: [call-overload]
client.responses.input_items.list("resp_1", ordr="asc")  # E: ordr
client.responses.input_tokens.count("hi", instrucions="x")  # E: instrucions
client.responses.compact("hi", previous_respone_id="x")  # E: previous_respone_id
client.responses.delete("resp_1", timout=1)  # E: timout
client.responses.stream("hi", temprature=1)  # E: temprature
