"""A conversation in which the model calls a Python function (a "tool") to answer.

``client.chat.create(system_prompt)`` keeps the history; ``register_tool`` offers a function to
the model; when the model asks for it, the helper runs the function, sends its result back and
returns the model's final answer, all inside one ``prompt()``.

Without OPENAI_API_KEY / OPENAI_BASE_URL this starts aikit's embedded simulator
(``aikit.testing.FakeOpenAIServer``, not a model) and scripts it to ask for the tool; its final
answer quotes the tool output ("Tool said: ..."). With a key, a real model decides to call it.

    python samples/tools_chat.py [--model gpt-4o-mini] [--self-test]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

try:
    import aikit  # noqa: F401  (only checks that it is importable)
except ImportError:  # a plain checkout: let `python samples/x.py` find the package beside it
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from aikit import OpenAI
from aikit.testing import FakeOpenAIServer

WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather of a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}


def get_weather(args: dict[str, Any]) -> dict[str, Any]:
    """The tool: a real program would query a weather service here."""
    city = str(args.get("city", "?"))
    print(f"  [tool] get_weather({city!r}) called")
    return {"city": city, "temperature_c": 21, "sky": "sunny"}


@contextlib.contextmanager
def open_client() -> Iterator[tuple[OpenAI, FakeOpenAIServer | None]]:
    """The configured API, or the embedded simulator (said on the first line)."""
    if os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL"):
        with OpenAI() as client:
            print(f"tools_chat: using {client.base_url}", flush=True)
            yield client, None
        return
    with FakeOpenAIServer() as server:
        print(
            f"tools_chat: no API key configured: using the embedded simulator at {server.url} "
            "(aikit.testing.FakeOpenAIServer: scripted and echo replies, not a model); set "
            "OPENAI_API_KEY to use the real API",
            flush=True,
        )
        with OpenAI("sk-sample-simulator", server.url) as client:
            yield client, server


def run(client: OpenAI, server: FakeOpenAIServer | None, model: str) -> bool:
    """One tool-calling turn; True when the final answer uses the tool's output."""
    chat = client.chat.create("You are a weather assistant. Use the tools.", model=model)
    chat.register_tool(WEATHER_TOOL, get_weather)
    if server is not None:  # the simulator asks for the tool as a model would
        server.reply_next(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}])

    question = "What is the weather in Paris right now?"
    print(f"user: {question}")
    result = chat.prompt(question)
    if not result.success:
        for error in chat.last_errors or result.errors:
            print(f"  failed: {error}")
        return False
    answer = result.choice.text if result.choice is not None else ""
    print(f"assistant: {answer}")
    print("history:")
    for message in chat.messages:
        body = message.to_body()
        shown = body.get("content") or json.dumps(body.get("tool_calls"))
        print(f"  {body['role']:>9}: {shown}")
    tool_answers = [m for m in chat.messages if m.role == "tool"]
    return bool(tool_answers) and "21" in answer


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--model", default="gpt-4o-mini", help="chat model")
    parser.add_argument("--self-test", action="store_true",
                        help="exit 0 only if the final answer quotes the tool output")
    args = parser.parse_args(argv)
    with open_client() as (client, server):
        ok = run(client, server, args.model)
    print("tools_chat: OK" if ok else "tools_chat: the answer does not use the tool output")
    return 0 if ok or not args.self_test else 1


if __name__ == "__main__":
    sys.exit(main())
