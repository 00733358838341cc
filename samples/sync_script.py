"""Plain synchronous calls, as a script would make them: no callbacks, no threads.

Each call blocks and returns a finished result. HTTP and network failures do not raise: they
are in ``result.success`` / ``result.errors``, so a script checks one place. The last step asks
for a model that does not exist, to show what a failure looks like.

    python samples/sync_script.py [--model gpt-4o-mini] [--self-test]
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from _common import open_client, parse_args

from aikit import OpenAI, OpenAIResult


def report_errors(what: str, result: OpenAIResult) -> None:
    """Print every error of a failed result, with the fields worth logging."""
    for error in result.errors:
        print(f"  {what} failed: status={error.status} code={error.code} message={error.message}")


def run(client: OpenAI, model: str) -> bool:
    """Make one call of each kind; True when every call that should succeed did."""
    ok = True

    print("1. models.list()")
    models = client.models.list()
    if models.success:
        names = ", ".join(m.id or "?" for m in models.models[:3])
        print(f"  {len(models.models)} models, e.g. {names}")
    else:
        report_errors("models.list", models)
        ok = False

    print(f"2. chat.completions.create(model={model!r})")
    messages = [
        {"role": "system", "content": "You are a helpful assistant. Answer in one sentence."},
        {"role": "user", "content": "Why is 42 a special number?"},
    ]
    chat = client.chat.completions.create(messages, model=model)
    if chat.success and chat.choice is not None:
        print(f"  answer: {chat.choice.text}")
        tokens = (chat.usage or {}).get("total_tokens")
        print(f"  finish reason: {chat.choice.finish_reason}, total tokens: {tokens}")
    else:
        report_errors("chat", chat)
        ok = False

    print("3. chat.completions.stream(): chunks arrive on this thread as the loop pulls them")
    print("  ", end="")
    with client.chat.completions.stream(
        [{"role": "user", "content": "Count from one to five"}], model=model
    ) as stream:
        for chunk in stream:
            if chunk.choice is not None and chunk.choice.delta is not None:
                print(chunk.choice.delta.text, end="", flush=True)
    print()
    if not stream.result.success:  # the accumulated final result: full text or the errors
        report_errors("stream", stream.result)
        ok = False

    print("4. embeddings.create()")
    embeddings = client.embeddings.create(["apple", "pear"], "text-embedding-3-small")
    if embeddings.success:
        vectors = embeddings.vectors
        print(f"  {len(vectors)} vectors of {len(vectors[0]) if vectors else 0} dimensions")
    else:
        report_errors("embeddings", embeddings)
        ok = False

    print("5. models.retrieve('no-such-model'): an expected failure, reported, not raised")
    missing = client.models.retrieve("no-such-model")
    if missing.success:
        print("  unexpectedly found it")
        ok = False
    else:
        report_errors("models.retrieve", missing)
        if not any(e.is_not_found_error for e in missing.errors):
            print("  (expected a 404 not-found error)")
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0] if __doc__ else "", argv)
    with open_client("sync_script") as client:
        ok = run(client, args.model)
    print("sync_script: OK" if ok else "sync_script: some calls failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
