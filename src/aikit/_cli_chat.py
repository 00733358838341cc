"""``aikit chat`` (and ``aikit "prompt"``) and ``aikit logs``: prompts, stdin, conversations."""

from __future__ import annotations

import argparse
import os
import stat
import sys
from typing import Any

from ._cli_common import CLIError, UsageError, check, make_client, note, print_json

__all__ = ["add_chat_parsers", "cmd_chat", "cmd_logs", "read_stdin"]

CHAT_EPILOG = """examples:
  aikit chat "Why is 42 special?"
  aikit "Why is 42 special?"                  (chat is the default command)
  cat notes.txt | aikit chat "Summarise"      (sends the prompt, a blank line, then stdin)
  aikit chat -c "And in French?"              (continues the last conversation)
  aikit --base-url http://127.0.0.1:8080/v1 chat -m llama --max-tokens 200 "Hi"
"""

LOGS_EPILOG = """examples:
  aikit logs             the last 3 exchanges, newest last
  aikit logs -n 10 --json
"""


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def add_chat_parsers(sub: Any, common: argparse.ArgumentParser, formatter: Any) -> None:
    chat = sub.add_parser(
        "chat", parents=[common], formatter_class=formatter, epilog=CHAT_EPILOG,
        help="send a prompt, stream the answer (the default command)",
        description="Send PROMPT (and stdin, when it is piped) and stream the answer. Each "
                    "exchange is kept in the conversation log (see 'aikit logs').")
    chat.add_argument("prompt", nargs="?", default=None,
                      help="the prompt; stdin is appended after a blank line when piped")
    chat.add_argument("-s", "--system", default="", help="system prompt")
    chat.add_argument("--temperature", type=float, default=None, help="sampling temperature")
    chat.add_argument("--max-tokens", type=_positive_int, default=None,
                      help="longest answer in tokens (sent as max_tokens)")
    chat.add_argument("-c", "--continue", dest="continue_", action="store_true",
                      help="continue the last conversation")
    chat.add_argument("--cid", default=None, help="continue the conversation with this id")
    chat.add_argument("--no-log", action="store_true",
                      help="do not store this exchange in the conversation log")
    chat.add_argument("--no-stream", action="store_true", help="wait for the whole answer")
    chat.add_argument("--api", choices=("chat", "responses"), default="chat",
                      help="Chat Completions or the Responses API")
    logs = sub.add_parser(
        "logs", parents=[common], formatter_class=formatter, epilog=LOGS_EPILOG,
        help="show the last exchanges of the conversation log",
        description="List the last N exchanges of the conversation log, newest last. The log "
                    "is $AIKIT_DATA_DIR/logs.db, else logs.db in the user data directory.")
    logs.add_argument("-n", "--count", type=_positive_int, default=3,
                      help="how many exchanges")


def read_stdin() -> str | None:
    """stdin's text when it is a pipe or a file (never a terminal): None otherwise."""
    try:
        fd = sys.stdin.fileno()
        mode = os.fstat(fd).st_mode
    except (AttributeError, OSError, ValueError):
        return None
    if not (stat.S_ISFIFO(mode) or stat.S_ISREG(mode) or stat.S_ISSOCK(mode)):
        return None
    return sys.stdin.read()


def _prompt(args: argparse.Namespace) -> str:
    piped = read_stdin()
    if args.prompt is not None and piped:
        return f"{args.prompt}\n\n{piped}"
    if args.prompt is not None:
        return str(args.prompt)
    if piped:
        return piped
    raise UsageError("a prompt is required: aikit chat \"PROMPT\" (or pipe text to stdin)")


def _history(args: argparse.Namespace) -> tuple[str | None, list[dict[str, Any]]]:
    """The conversation to continue (its id, its exchanges), or (None, [])."""
    if not (args.continue_ or args.cid):
        return None, []
    from ._cli_log import ConversationLog, LogError

    try:
        with ConversationLog() as log:
            cid = args.cid or log.last_cid()
            if cid is None:
                raise CLIError(f"no conversation to continue: the log {log.path} is empty")
            exchanges = log.conversation(cid)
    except LogError as exc:
        raise CLIError(str(exc)) from None
    if not exchanges:
        raise CLIError(f"no conversation with id {cid!r} (see 'aikit logs')")
    return cid, exchanges


def _record(args: argparse.Namespace, cid: str | None, system: str, prompt: str,
            response: str, result: Any) -> None:
    if args.no_log:
        return
    from ._cli_log import ConversationLog, LogError, new_cid

    body = getattr(result, "body", None)
    model = args.model or (body.get("model") if isinstance(body, dict) else None) or ""
    cid = cid or new_cid()
    try:
        with ConversationLog() as log:
            log.add(cid, str(model), system, prompt, response)
    except LogError as exc:  # the answer is printed already: warn, do not fail
        print(f"aikit: warning: {exc}", file=sys.stderr)
        return
    if args.verbose:
        note(f"conversation {cid}")


def _options(args: argparse.Namespace, responses: bool) -> dict[str, Any]:
    options: dict[str, Any] = {"model": args.model} if args.model else {}
    if args.temperature is not None:
        options["temperature"] = args.temperature
    if args.max_tokens is not None:
        options["max_output_tokens" if responses else "max_tokens"] = args.max_tokens
    return options


def cmd_chat(args: argparse.Namespace) -> None:
    prompt = _prompt(args)
    cid, history = _history(args)
    system = args.system or next((h["system"] for h in history if h["system"]), "")
    turns: list[dict[str, str]] = []
    for h in history:
        turns += [{"role": "user", "content": h["prompt"]},
                  {"role": "assistant", "content": h["response"]}]
    turns.append({"role": "user", "content": prompt})
    responses = args.api == "responses"
    options = _options(args, responses)
    if responses:
        if system:
            options["instructions"] = system
        request: Any = turns if history else prompt
    else:
        request = ([{"role": "system", "content": system}] if system else []) + turns
    with make_client(args) as client:
        api: Any = client.responses if responses else client.chat.completions
        if args.json or args.no_stream:
            result = check(api.create(request, **options))
            text = (result.output_text if responses  # type: ignore[attr-defined]
                    else result.choice.text if result.choice else "")  # type: ignore[attr-defined]
            if args.json:
                print_json(result.body)
            else:
                print(text)
            _record(args, cid, system, prompt, text or "", result)
            return
        parts: list[str] = []
        with api.stream(request, **options) as stream:
            try:
                for item in stream:
                    delta = _delta(item, responses)
                    if delta:
                        parts.append(delta)
                        print(delta, end="", flush=True)
            except KeyboardInterrupt:
                print(flush=True)  # the shell prompt starts on a new line
                raise
            print(flush=True)
            check(stream.result)
        _record(args, cid, system, prompt, "".join(parts), stream.result)


def _delta(item: Any, responses: bool) -> str:
    if responses:
        event = item.event
        if event is not None and event.type == "response.output_text.delta":
            delta = getattr(event, "delta", None)
            return delta if isinstance(delta, str) else ""
        return ""
    choice = item.choice
    if choice is not None and choice.delta is not None:
        return str(choice.delta.text or "")
    return ""


def cmd_logs(args: argparse.Namespace) -> None:
    from ._cli_log import ConversationLog, LogError

    try:
        with ConversationLog() as log:
            rows = log.last(args.count)
    except LogError as exc:
        raise CLIError(str(exc)) from None
    if args.json:
        print_json(rows)
        return
    for row in rows:
        model = f"  model {row['model']}" if row["model"] else ""
        print(f"# {row['time']}  conversation {row['cid']}{model}")
        if row["system"]:
            print(f"system: {row['system']}")
        print(f"> {row['prompt']}")
        print(row["response"])
        print()
