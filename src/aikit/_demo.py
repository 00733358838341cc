"""``aikit demo``: a short tour of sync calls, callbacks in a worker, and streaming.

With no key or base URL configured it runs against the embedded simulator and says so first.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import threading
from collections.abc import Iterator

from . import process
from ._logging import mask_key
from .client import OpenAI

__all__ = ["run_demo"]


def configured(args: argparse.Namespace) -> bool:
    """True when a key or base URL comes from the options or the environment."""
    return bool(
        args.api_key or args.base_url or args.provider
        or os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL")
    )


@contextlib.contextmanager
def _target(args: argparse.Namespace) -> Iterator[OpenAI]:
    if configured(args):
        client = OpenAI(
            args.api_key or None, args.base_url or None, provider=args.provider or None
        )
        print(f"aikit demo: using {client.base_url} (key {mask_key(client.api_key) or 'none'})")
        with client:
            yield client
        return
    from .testing import FakeOpenAIServer

    with FakeOpenAIServer() as server:
        print("aikit demo: no API key or base URL configured, so this runs against the embedded "
              f"simulator aikit.testing.FakeOpenAIServer at {server.url} (scripted echo replies, "
              "not a model)")
        with OpenAI("sk-demo-simulator", server.url) as client:
            yield client


def run_demo(args: argparse.Namespace) -> None:
    model = {"model": args.model} if args.model else {}
    with _target(args) as client:
        print("\n1. Sync call: models.list()")
        models = client.models.list()
        if not models.success:
            raise SystemExit(f"aikit demo: {models.errors[0]}")
        print("   " + ", ".join(str(m.id) for m in models.models[:5]))

        print("\n2. Sync chat")
        question = [{"role": "user", "content": "Why is 42 a special number?"}]
        answer = client.chat.completions.create(question, **model)
        print("   " + (answer.choice.text if answer.choice else str(answer.errors)))

        print("\n3. Callback mode in a worker: the callback runs on the worker's own thread")
        done = process.Signal()

        def ask() -> None:
            me = process.current_process()

            def on_response(result: object) -> None:
                here = process.current_process()
                print(f"   on_response ran in process {here.name!r} "
                      f"(same as caller: {here is me})")

            client.chat.completions.create(
                question, on_response=on_response, on_terminate=lambda r: done.trigger(), **model
            )

        process.call_worker("demo-worker", ask)
        done.wait(120)
        process.kill_worker("demo-worker")

        print("\n4. Streaming with on_data, delivered to the main thread by process.pump()")
        main = threading.get_ident()
        tokens: list[str] = []

        def on_data(chunk: object) -> None:
            assert threading.get_ident() == main
            choice = getattr(chunk, "choice", None)
            if choice is not None and choice.delta is not None and choice.delta.text:
                tokens.append(choice.delta.text)
                print(choice.delta.text, end="", flush=True)

        result = client.chat.completions.create(
            [{"role": "user", "content": "Count from one to ten in words"}],
            stream=True, on_data=on_data, on_terminate=lambda r: None, **model,
        )
        print("   ", end="")
        result.wait(120)
        print(f"\n   {len(tokens)} chunks; finish reason: "
              f"{result.choice.finish_reason if result.choice else None}")

        print("\n5. Embeddings")
        emb = client.embeddings.create(["apple", "pear"], "text-embedding-3-small")
        if emb.success:
            print(f"   {len(emb.vectors)} vectors of {len(emb.vector or [])} dimensions")
        else:
            print(f"   {emb.errors[0]}")
        print("\ndone.")
