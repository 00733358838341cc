"""Command line: ``aikit [chat] PROMPT`` and ``aikit models|embed|image|moderate|files|logs|
providers|serve|demo|batch``.

Options of every command go before or after the command name. Errors print one line on stderr
and exit 1 (2 for bad options or a missing key: then nothing is sent); ``--json`` prints the
raw response body; Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from ._cli_batch import add_batch_parser, cmd_batch
from ._cli_chat import add_chat_parsers, cmd_chat, cmd_logs
from ._cli_common import CLIError, check, error_line, make_client, print_json, verbose

__all__ = ["main"]


#: ``aikit embed`` without ``--model`` (the API itself has no default embedding model).
DEFAULT_EMBEDDING_MODEL = "text-embedding-3-small"

_CLIError = CLIError  # the name commands used before the split


def cmd_models(args: argparse.Namespace) -> None:
    with make_client(args) as client:
        result = check(client.models.list())
    if args.json:
        print_json(result.body)
        return
    for model in result.models:  # type: ignore[attr-defined]
        print(model.id)


def cmd_embed(args: argparse.Namespace) -> None:
    with make_client(args) as client:
        result = check(
            client.embeddings.create(args.text, args.model or DEFAULT_EMBEDDING_MODEL)
        )
    if args.json:
        print_json(result.body)
        return
    for embedding in result.embeddings:  # type: ignore[attr-defined]
        # A server that does not pool gives one vector per token: one line each.
        rows = embedding.embedding if embedding.per_token else [embedding.embedding]
        for row in rows:
            print(" ".join(f"{x:.6f}" for x in row))


def _save_image(folder: Path, prefix: str, data: bytes, start: int) -> tuple[Path, int]:
    """Write ``data`` as ``<prefix><i><ext>`` with the first ``i >= start`` whose file does not
    exist yet (created exclusively: an existing file is never overwritten)."""
    from .results import _image_extension

    ext = _image_extension(data)
    for i in range(start, start + 100_000):
        path = folder / f"{prefix}{i}{ext}"
        try:
            with open(path, "xb") as f:
                f.write(data)
        except FileExistsError:
            continue
        return path, i + 1
    raise CLIError(f"no free file name {prefix}N{ext} in {folder}")


def cmd_image(args: argparse.Namespace) -> None:
    folder = Path(args.out)
    if folder.exists() and not folder.is_dir():
        raise CLIError(f"--out {args.out}: not a folder")
    with make_client(args) as client:
        result = check(client.images.generate(
            args.prompt, response_format="b64_json", **_model_kwargs(args)))
    if args.json:
        print_json(result.body)
        return
    folder.mkdir(parents=True, exist_ok=True)
    index = 0
    for image in result.images:  # type: ignore[attr-defined]
        data = image.as_bytes()
        if data is None:
            continue
        path, index = _save_image(folder, args.prefix, data, index)
        print(path)


def _model_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return {"model": args.model} if args.model else {}


def cmd_moderate(args: argparse.Namespace) -> None:
    with make_client(args) as client:
        result = check(client.moderations.create(args.text, args.model or ""))
    if args.json:
        print_json(result.body)
        return
    item = result.moderation.item  # type: ignore[attr-defined]
    flagged = [k for k, v in (item.categories or {}).items() if v]
    print("flagged: " + ", ".join(flagged) if item.flagged else "not flagged")


def cmd_files(args: argparse.Namespace) -> None:
    if args.action == "upload":
        path = Path(args.path)
        if path.is_dir():
            raise CLIError(f"{args.path}: is a folder; upload one file at a time")
        if not path.is_file():
            raise CLIError(f"{args.path}: no such file")
    with make_client(args) as client:
        files = client.files
        if args.action == "upload":
            result = check(files.create(args.path, args.purpose))
        elif args.action == "list":
            result = check(files.list(purpose=args.purpose) if args.purpose else files.list())
        elif args.action == "get":
            result = check(files.retrieve(args.file_id))
        elif args.action == "delete":
            result = check(files.delete(args.file_id))
        else:
            result = check(files.content(args.file_id))
            if not args.json:
                sys.stdout.flush()
                sys.stdout.buffer.write(result.content)
                sys.stdout.buffer.flush()
                return
    if args.json or args.action not in ("upload", "list", "get"):
        print_json(result.body)
        return
    found = result.files if args.action == "list" else [result.file]  # type: ignore[attr-defined]
    for f in found:
        print(f"{f.id}\t{f.bytes}\t{f.purpose}\t{f.filename}")


def cmd_providers(args: argparse.Namespace) -> None:
    from ._logging import mask_key
    from .providers import OpenAIProviders

    providers = OpenAIProviders()
    if providers.errors:
        raise CLIError("; ".join(providers.errors))
    rows = []
    for name in providers.list():
        entry = providers.get(name) or {}
        key = entry.get("apiKey") or entry.get("api_key") or ""
        rows.append({"name": name, "baseURL": entry.get("baseURL") or entry.get("base_url"),
                     "apiKey": mask_key(key) if key else ""})
    aliases = providers.model_aliases()
    if args.json:
        print_json({"file": str(providers.path) if providers.path else None,
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
    "logs": cmd_logs,
    "embed": cmd_embed,
    "image": cmd_image,
    "moderate": cmd_moderate,
    "files": cmd_files,
    "providers": cmd_providers,
    "serve": cmd_serve,
    "demo": cmd_demo,
    "batch": cmd_batch,  # returns its exit status
}




class _Formatter(argparse.HelpFormatter):
    """``(default: X)`` after each option that has a default worth showing; example epilogs
    kept as written, descriptions wrapped."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if ("%(default)" in text or default in (None, False, "", argparse.SUPPRESS)
                or (action.option_strings == [] and action.nargs in ("?", "*"))):
            return text
        return f"{text} (default: %(default)s)"

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("example"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


#: Options of every command whose value is the next argument (to find the command name).
_VALUE_OPTIONS = frozenset({"--base-url", "--api-key", "--provider", "-m", "--model",
                            "--timeout", "-s", "--system", "--temperature", "--max-tokens",
                            "--cid", "--api"})

EPILOG = """examples:
  aikit "Why is 42 special?"                 a prompt: same as aikit chat "..."
  cat notes.txt | aikit "Summarise"          stdin follows the prompt
  aikit -c "Shorter, please"                 continue the last conversation
  aikit --base-url http://127.0.0.1:8080/v1 models
  aikit COMMAND --help                       the options of one command
"""

_EXAMPLES = {
    "models": "aikit models\n  aikit --json models",
    "embed": "aikit embed 'apple' 'pear'\n  aikit embed -m text-embedding-3-large 'apple'",
    "image": "aikit image 'a red cat' --out pictures    (writes pictures/image0.png, or the "
             "next free number)",
    "moderate": "aikit moderate 'some text'",
    "files": "aikit files upload notes.txt\n  aikit files list\n  aikit files content file-abc",
    "providers": "aikit providers\n  aikit --provider ollama chat 'Hi'",
    "serve": "aikit serve --port 8080",
    "demo": "aikit demo",
    "batch": "aikit batch run requests.jsonl --out results.jsonl\n"
             "  aikit batch run requests.jsonl --out results.jsonl --resume",
}


def _epilog(name: str) -> str:
    return f"example:\n  {_EXAMPLES[name]}\n"


def _common_options(defaults: bool) -> argparse.ArgumentParser:
    """The options of every command. The top-level parser holds the defaults; a command's
    parser gets ``SUPPRESS``, so an option given before the command name is not overwritten."""
    def d(value: object) -> object:
        return value if defaults else argparse.SUPPRESS

    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("options of every command (before or after its name)")
    group.add_argument("--base-url", default=d(None),
                       help="API base URL; unset: $OPENAI_BASE_URL, else OpenAI")
    group.add_argument("--api-key", default=d(None), help="API key; unset: $OPENAI_API_KEY")
    group.add_argument("--provider", default=d(None), help="provider name from AIProviders.json")
    group.add_argument("-m", "--model", default=d(None), help="model id, alias or provider:model")
    group.add_argument("--json", action="store_true", default=d(False),
                       help="print the raw JSON response")
    group.add_argument("--timeout", type=_seconds, default=d(None),
                       help="seconds to wait for the server (then one attempt, no retries); "
                            "unset: 600")
    group.add_argument("-v", "--verbose", action="store_true", default=d(False),
                       help="print each request (method, URL, status, time) on stderr")
    return common


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    common = _common_options(defaults=False)
    parser = argparse.ArgumentParser(
        prog="aikit", description="OpenAI-compatible API client. A prompt without a command "
        "name is sent to 'chat'.", parents=[_common_options(defaults=True)],
        formatter_class=_Formatter, epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"aikit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help: str, description: str | None = None) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(
            name, parents=[common], help=help, description=description or help[0].upper()
            + help[1:] + ".", formatter_class=_Formatter, epilog=_epilog(name))
        return p

    add_chat_parsers(sub, common, _Formatter)
    add("models", "list the server's models, one id per line")
    embed = add("embed", "print embedding vectors, one line of numbers per vector")
    embed.add_argument("text", nargs="+", help="the texts to embed")
    image = add("image", "generate images into a folder",
                "Generate images and save them as PREFIX0.png, PREFIX1.png ... in --out; an "
                "existing file is never overwritten: the next free number is used. Prints "
                "the paths.")
    image.add_argument("prompt", help="what to draw")
    image.add_argument("--out", default=".", help="folder")
    image.add_argument("--prefix", default="image", help="file names start with this")
    moderate = add("moderate", "classify text: 'not flagged' or the flagged categories")
    moderate.add_argument("text", help="the text to classify")
    files = add("files", "upload, list, get, delete files or print their content")
    actions = files.add_subparsers(dest="action", required=True, metavar="ACTION")
    upload = actions.add_parser("upload", parents=[common], formatter_class=_Formatter,
                                help="upload one file", description="Upload one file.",
                                epilog="example:\n  aikit files upload notes.txt")
    upload.add_argument("path", help="the file")
    upload.add_argument("--purpose", default="user_data", help="the file's purpose")
    listing = actions.add_parser("list", parents=[common], formatter_class=_Formatter,
                                 help="id, size, purpose and name of each file",
                                 description="List the files: id, size, purpose and name.",
                                 epilog="example:\n  aikit files list --purpose batch")
    listing.add_argument("--purpose", default="", help="only files of this purpose")
    for action, what in (("get", "id, size, purpose and name of one file"),
                         ("delete", "delete a file (prints the JSON answer)"),
                         ("content", "write a file's content to stdout")):
        actions.add_parser(
            action, parents=[common], formatter_class=_Formatter, help=what,
            description=what[0].upper() + what[1:] + ".",
            epilog=f"example:\n  aikit files {action} file-abc123",
        ).add_argument("file_id", help="the file's id")
    add("providers", "list providers (keys masked) and model aliases",
        "List the providers of AIProviders.json (keys masked) and the model aliases.")
    serve = add("serve", "run the embedded OpenAI simulator on 127.0.0.1",
                "Run the embedded OpenAI simulator on 127.0.0.1 until Ctrl-C; the first line "
                "of output is its base URL.")
    serve.add_argument("--port", type=int, default=0, help="port (0: any free one)")
    serve.add_argument("--server-key", default=None, help="key the simulator expects")
    add("demo", "a short tour (against the embedded simulator when nothing is configured)")
    add_batch_parser(sub, common)
    batch = sub.choices["batch"]
    batch.description = "Run a JSONL file of requests (Batch API line format)."
    batch.epilog = _epilog("batch")
    batch.formatter_class = _Formatter
    run = _subparser(batch, "run")
    run.epilog = _epilog("batch")
    run.formatter_class = argparse.RawDescriptionHelpFormatter  # its defaults are in its help
    return parser


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser = action.choices[name]
            return found
    raise KeyError(name)


def _with_default_command(argv: list[str]) -> list[str]:
    """``aikit "prompt"`` -> ``aikit chat "prompt"``: when the first argument that is neither
    an option nor an option's value is not a command name (or there is none and stdin is
    piped)."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in ("-h", "--help", "--version", "--"):
            return argv
        if arg.startswith("-") and arg != "-":
            skip = arg in _VALUE_OPTIONS
            continue
        return argv if arg in COMMANDS else ["chat", *argv]
    return ["chat", *argv] if _stdin_piped() else argv


def _stdin_piped() -> bool:
    import stat

    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (AttributeError, OSError, ValueError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(_with_default_command(args_list))
    try:
        with verbose(args.verbose):
            status = COMMANDS[args.command](args)
        sys.stdout.flush()
    except CLIError as exc:
        print(error_line(str(exc)), file=sys.stderr)
        return exc.status
    except BrokenPipeError:
        # `aikit models | head -1`: the reader left. Quietly, and no second error when
        # Python flushes stdout at exit.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 141
    except (TypeError, ValueError, OSError) as exc:
        print(error_line(str(exc) or type(exc).__name__), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return status or 0
