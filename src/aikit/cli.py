"""Command line: ``aikit models|chat|embed|image|moderate|files|providers|serve|demo|batch``.

Errors print one line on stderr and exit 1; ``--json`` prints the raw response body.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from . import __version__
from ._cli_batch import add_batch_parser, cmd_batch
from ._results_base import OpenAIResult
from .client import OpenAI

__all__ = ["main"]


#: ``aikit embed`` without ``--model`` (the API itself has no default embedding model).
DEFAULT_EMBEDDING_MODEL = "text-embedding-3-small"


class _CLIError(Exception):
    """A user-facing failure: printed as one line, exit status 1."""


def _client(args: argparse.Namespace) -> OpenAI:
    kwargs: dict[str, Any] = {}
    if args.api_key:
        kwargs["api_key"] = args.api_key
    if args.base_url:
        kwargs["base_url"] = args.base_url
    if args.provider:
        kwargs["provider"] = args.provider
    return OpenAI(**kwargs)


def _check(result: OpenAIResult) -> OpenAIResult:
    if not result.success:
        errors = result.errors
        raise _CLIError(str(errors[0]) if errors else f"request failed (status {result.status})")
    return result


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def cmd_models(args: argparse.Namespace) -> None:
    with _client(args) as client:
        result = _check(client.models.list())
    if args.json:
        _print_json(result.body)
        return
    for model in result.models:  # type: ignore[attr-defined]
        print(model.id)


def _model_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return {"model": args.model} if args.model else {}


def _chat_responses(args: argparse.Namespace) -> None:
    """``chat --api responses``: the same prompt through the Responses API."""
    options: dict[str, Any] = _model_kwargs(args)
    if args.system:
        options["instructions"] = args.system
    with _client(args) as client:
        if args.json or args.no_stream:
            result = _check(client.responses.create(args.prompt, **options))
            if args.json:
                _print_json(result.body)
            else:
                print(result.output_text)  # type: ignore[attr-defined]
            return
        with client.responses.stream(args.prompt, **options) as stream:
            for item in stream:
                delta = getattr(item.event, "delta", None)
                if item.event is not None and item.event.type == "response.output_text.delta":
                    print(delta if isinstance(delta, str) else "", end="", flush=True)
            print()
            _check(stream.result)


def cmd_chat(args: argparse.Namespace) -> None:
    if args.api == "responses":
        _chat_responses(args)
        return
    messages: list[dict[str, str]] = []
    if args.system:
        messages.append({"role": "system", "content": args.system})
    messages.append({"role": "user", "content": args.prompt})
    with _client(args) as client:
        if args.json or args.no_stream:
            result = _check(client.chat.completions.create(messages, **_model_kwargs(args)))
            if args.json:
                _print_json(result.body)
            else:
                print(result.choice.text if result.choice else "")  # type: ignore[attr-defined]
            return
        with client.chat.completions.stream(messages, **_model_kwargs(args)) as stream:
            for chunk in stream:
                choice = chunk.choice
                if choice is not None and choice.delta is not None:
                    print(choice.delta.text, end="", flush=True)
            print()
            _check(stream.result)


def cmd_embed(args: argparse.Namespace) -> None:
    with _client(args) as client:
        result = _check(
            client.embeddings.create(args.text, args.model or DEFAULT_EMBEDDING_MODEL)
        )
    if args.json:
        _print_json(result.body)
        return
    for embedding in result.embeddings:  # type: ignore[attr-defined]
        # A server that does not pool gives one vector per token: one line each.
        rows = embedding.embedding if embedding.per_token else [embedding.embedding]
        for row in rows:
            print(" ".join(f"{x:.6f}" for x in row))


def cmd_image(args: argparse.Namespace) -> None:
    with _client(args) as client:
        result = _check(client.images.generate(
            args.prompt, response_format="b64_json", **_model_kwargs(args)))
    if args.json:
        _print_json(result.body)
        return
    saved = result.save_images_to_disk(args.out, prefix=args.prefix)  # type: ignore[attr-defined]
    for path in saved:
        print(path)


def cmd_moderate(args: argparse.Namespace) -> None:
    with _client(args) as client:
        result = _check(client.moderations.create(args.text, args.model or ""))
    if args.json:
        _print_json(result.body)
        return
    item = result.moderation.item  # type: ignore[attr-defined]
    flagged = [k for k, v in (item.categories or {}).items() if v]
    print("flagged: " + ", ".join(flagged) if item.flagged else "not flagged")


def cmd_files(args: argparse.Namespace) -> None:
    with _client(args) as client:
        files = client.files
        if args.action == "upload":
            result = _check(files.create(args.path, args.purpose))
        elif args.action == "list":
            result = _check(files.list(purpose=args.purpose) if args.purpose else files.list())
        elif args.action == "get":
            result = _check(files.retrieve(args.file_id))
        elif args.action == "delete":
            result = _check(files.delete(args.file_id))
        else:
            result = _check(files.content(args.file_id))
            if not args.json:
                sys.stdout.buffer.write(result.content)
                return
    if args.json or args.action not in ("upload", "list", "get"):
        _print_json(result.body)
        return
    found = result.files if args.action == "list" else [result.file]  # type: ignore[attr-defined]
    for f in found:
        print(f"{f.id}\t{f.bytes}\t{f.purpose}\t{f.filename}")


def cmd_providers(args: argparse.Namespace) -> None:
    from ._logging import mask_key
    from .providers import OpenAIProviders

    providers = OpenAIProviders()
    if providers.errors:
        raise _CLIError("; ".join(providers.errors))
    rows = []
    for name in providers.list():
        entry = providers.get(name) or {}
        key = entry.get("apiKey") or entry.get("api_key") or ""
        rows.append({"name": name, "baseURL": entry.get("baseURL") or entry.get("base_url"),
                     "apiKey": mask_key(key) if key else ""})
    aliases = providers.model_aliases()
    if args.json:
        _print_json({"file": str(providers.path) if providers.path else None,
                     "providers": rows, "models": aliases})
        return
    print(f"file: {providers.path or '(none found)'}")
    for row in rows:
        print(f"{row['name']}\t{row['baseURL']}\t{row['apiKey'] or '(no key)'}")
    for alias in aliases:
        print(f"alias {alias['name']} -> {alias['provider']}:{alias['model']}")


def cmd_serve(args: argparse.Namespace) -> None:
    from .testing import serve

    serve(host="127.0.0.1", port=args.port, api_key=args.server_key)


def cmd_demo(args: argparse.Namespace) -> None:
    from ._demo import run_demo

    run_demo(args)


COMMANDS: dict[str, Callable[[argparse.Namespace], int | None]] = {
    "models": cmd_models,
    "chat": cmd_chat,
    "embed": cmd_embed,
    "image": cmd_image,
    "moderate": cmd_moderate,
    "files": cmd_files,
    "providers": cmd_providers,
    "serve": cmd_serve,
    "demo": cmd_demo,
    "batch": cmd_batch,  # returns its exit status
}


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--base-url", help="API base URL (default: $OPENAI_BASE_URL or OpenAI)")
    common.add_argument("--api-key", help="API key (default: $OPENAI_API_KEY)")
    common.add_argument("--provider", help="provider name from AIProviders.json")
    common.add_argument("--model", help="model id, alias or provider:model")
    common.add_argument("--json", action="store_true", help="print the raw JSON response")
    parser = argparse.ArgumentParser(
        prog="aikit", description="OpenAI-compatible API client.", parents=[common]
    )
    parser.add_argument("--version", action="version", version=f"aikit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("models", parents=[common], help="list models")
    chat = sub.add_parser("chat", parents=[common], help="send a prompt, stream the answer")
    chat.add_argument("prompt")
    chat.add_argument("--system", default="", help="system prompt")
    chat.add_argument("--no-stream", action="store_true", help="wait for the whole answer")
    chat.add_argument("--api", choices=("chat", "responses"), default="chat",
                      help="Chat Completions (default) or the Responses API")
    embed = sub.add_parser("embed", parents=[common], help="print embedding vectors")
    embed.add_argument("text", nargs="+")
    image = sub.add_parser("image", parents=[common], help="generate images into a folder")
    image.add_argument("prompt")
    image.add_argument("--out", default=".", help="folder (default: current)")
    image.add_argument("--prefix", default="image")
    moderate = sub.add_parser("moderate", parents=[common], help="classify text")
    moderate.add_argument("text")
    files = sub.add_parser("files", parents=[common], help="upload, list, get, delete, content")
    actions = files.add_subparsers(dest="action", required=True)
    upload = actions.add_parser("upload", parents=[common])
    upload.add_argument("path")
    upload.add_argument("--purpose", default="user_data")
    listing = actions.add_parser("list", parents=[common])
    listing.add_argument("--purpose", default="")
    for action in ("get", "delete", "content"):
        actions.add_parser(action, parents=[common]).add_argument("file_id")
    sub.add_parser("providers", parents=[common], help="list providers and model aliases")
    serve = sub.add_parser("serve", parents=[common],
                           help="run the embedded OpenAI simulator on 127.0.0.1")
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument("--server-key", default=None, help="key the simulator expects")
    sub.add_parser("demo", parents=[common],
                   help="a short tour (against the embedded simulator when nothing is configured)")
    add_batch_parser(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status = COMMANDS[args.command](args)
    except _CLIError as exc:
        print(f"aikit: error: {exc}", file=sys.stderr)
        return 1
    except (TypeError, ValueError, FileNotFoundError) as exc:
        print(f"aikit: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return status or 0
