"""A misspelt keyword on every endpoint method, and values of the wrong type: each line with
``# E: text`` must get an error whose "message  [code]" contains ``text``, and no other line
may get one.

Checked by tests/test_typing.py (never run).
"""

from aikit import OpenAI, OpenAIEmbeddingsParameters, OpenAIModelListResult

client = OpenAI("sk-test", "http://127.0.0.1:1/v1")
msgs: list[dict[str, str]] = [{"role": "user", "content": "hi"}]
helper = client.chat.create("You are terse.")


def f(result: OpenAIModelListResult) -> None:
    print(len(result.models))


client.models.list(formla=f)  # E: formla
client.models.retrieve("m", timout=1)  # E: timout
client.chat.completions.retrieve("id", timout=1)  # E: timout
client.chat.completions.update("id", {"k": "v"}, timout=1)  # E: timout
client.chat.completions.delete("id", timout=1)  # E: timout
client.chat.completions.list(limt=3)  # E: limt
client.chat.completions.messages.list("id", ordr="asc")  # E: ordr
client.chat.completions.stream(msgs, temprature=1)  # E: temprature
client.embeddings.create("x", "m", dimensons=3)  # E: dimensons
client.images.generate("p", sze="1x1")  # E: sze
client.moderations.create("x", timout=3)  # E: timout
client.files.create(b"x", "batch", expires_afer={})  # E: expires_afer
client.files.list(purpse="batch")  # E: purpse
client.files.retrieve("f", timout=1)  # E: timout
client.files.delete("f", timout=1)  # E: timout
client.files.content("f", timout=1)  # E: timout
helper.prompt("hi", "extra")  # E: [call-arg]
client.chat.vision.create("u").prompt("t", temprature=1)  # E: temprature

# A value of the wrong type, and a parameters class built with a misspelt field.
client.embeddings.create("x", "m", dimensions="8")  # E: [arg-type]
OpenAIEmbeddingsParameters(dimensons=8)  # E: [call-arg]
