"""``OpenAIChatHelper``: a stateful conversation with trimming and automatic tool calls.

A port of 4D AIKit's ``OpenAIChatHelper`` (``client.chat.create(system_prompt)``), with these
4D bugs fixed:

- Each request gets a *copy* of ``helper.parameters`` in which the helper's own ``on_terminate``
  (and ``on_data`` when streaming) replaces the user's callbacks. The user's callbacks are then
  called exactly once per ``prompt()``, after any tool rounds, on the owner's thread — 4D
  rerouted every terminal callback to its handler and so processed a reply twice when two were
  set, and lost the reply of an asynchronous tool follow-up.
- Follow-up requests are sent from inside that internal callback, which runs on the owner, so
  every request of a prompt has the same owner (resolved once, at ``prompt()``).
- Tools given at construction are all kept; a tool without a handler is sent but unhandled.
- Every tool call gets one ``tool`` message (an error text for a call without a name), so the
  next request is always valid; automatic rounds stop after ``max_tool_rounds`` follow-ups.
- Trimming never leaves an orphan ``tool`` message, and an empty ``tools`` list is never sent.

The history (the reply as kept, trimming) is in ``history.py``, the tool machinery (shapes,
registration, running a call) in ``tools.py``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .._chat_parameters import OpenAIChatCompletionsParameters
from .._chat_results import OpenAIChatCompletionsResult
from .._lifecycle.calls import deliver_final, invoke
from .._logging import logger
from .._records import Record
from .._settings import check_int
from ..errors import OpenAIError
from ..objects import OpenAIMessage, OpenAITool
from .history import stored_message, trim_history
from .tools import execute_tool_call, iter_tool_specs, prepare_tool, tool_call_name

if TYPE_CHECKING:
    from ..process._registry import Owner
    from ..resources import Params
    from ..resources.chat import Chat

__all__ = ["DEFAULT_MAX_TOOL_ROUNDS", "DEFAULT_NUMBER_OF_MESSAGES", "OpenAIChatHelper"]

DEFAULT_NUMBER_OF_MESSAGES = 15
DEFAULT_MAX_TOOL_ROUNDS = 10

#: Helper settings that may be given with the parameters; they are never sent.
_HELPER_KEYS: dict[str, str] = {
    "number_of_messages": "number_of_messages",
    "numberOfMessages": "number_of_messages",
    "auto_handle_tool_calls": "auto_handle_tool_calls",
    "autoHandleToolCalls": "auto_handle_tool_calls",
    "max_tool_rounds": "max_tool_rounds",
    "maxToolRounds": "max_tool_rounds",
}

#: Request keys that only make sense next to tools (OpenAI rejects them without ``tools``).
_TOOL_ONLY_KEYS = ("tool_choice", "parallel_tool_calls")

Callback = Callable[[Any], Any]


def _copy_parameters(p: OpenAIChatCompletionsParameters) -> OpenAIChatCompletionsParameters:
    """A new parameters object (own ``tools`` list and ``extra`` dict); values are shared."""
    return OpenAIChatCompletionsParameters(p.to_dict())


def _failed(error: OpenAIError) -> OpenAIChatCompletionsResult:
    result = OpenAIChatCompletionsResult()
    result._complete(None, [error])
    result._mark_terminated()
    return result


class _Chain:
    """One ``prompt()``: its rounds, the user's callbacks (snapshot) and the request template."""

    __slots__ = ("formula", "generation", "on_data", "on_error", "on_response", "on_terminate",
                 "request", "rounds")

    def __init__(self, user: OpenAIChatCompletionsParameters, generation: int) -> None:
        self.on_response: Callback | None = user.on_response
        self.on_error: Callback | None = user.on_error
        self.on_terminate: Callback | None = user.on_terminate
        self.formula: Callback | None = user.formula
        self.on_data: Callback | None = user.on_data
        self.generation = generation
        self.rounds = 0  # follow-up requests sent after the first
        self.request = _copy_parameters(user)


class OpenAIChatHelper:
    """A conversation: ``prompt()`` sends the system prompt plus the kept history, appends the
    reply, answers tool calls with the registered handlers and trims the history.

    Modes follow ``parameters`` at each prompt:

    - sync (no callback): returns the final result, after any tool rounds;
    - callback (``on_response``/``on_error``/``on_terminate``/``formula``): returns the pending
      result of the *first* request at once; the user's callbacks fire exactly once, with the
      final result (another object when tools ran), on the owner's thread;
    - streaming (``stream=True`` + ``on_data``): the same, and ``on_data`` (and ``formula``)
      receive every chunk of every round. As in callback mode the pending result of the first
      request is returned (4D returned None).

    One prompt at a time: a second ``prompt()`` while a callback-mode one is still running
    interleaves their messages in the history.
    """

    def __init__(
        self,
        chat: Chat,
        system_prompt: str | OpenAIMessage | Mapping[str, Any] | None = "",
        params: Any = None,
        **kwargs: Any,
    ) -> None:
        self.chat = chat
        self.system_prompt = system_prompt
        self.messages: list[OpenAIMessage] = []
        self.last_errors: list[OpenAIError] = []
        self.auto_handle_tool_calls = True
        self._number_of_messages = DEFAULT_NUMBER_OF_MESSAGES
        self._max_tool_rounds = DEFAULT_MAX_TOOL_ROUNDS
        self._handlers: dict[str, Any] = {}
        self._generation = 0
        params, kwargs, settings = _split_helper_settings(params, kwargs)
        given = OpenAIChatCompletionsParameters.coerce(params, **kwargs)
        # A copy: registering tools must not change the caller's parameters object.
        self._parameters = _copy_parameters(given)
        construction_tools = list(given.tools or [])
        self._parameters.tools = None
        for name, value in settings.items():
            setattr(self, name, value)
        # 4D iterated the list it was mutating and dropped handler-less tools: all are kept.
        for tool in construction_tools:
            self.register_tool(tool)

    # -- settings --------------------------------------------------------------------------

    @property
    def system_prompt(self) -> OpenAIMessage:
        """The message sent first in every request, never counted nor trimmed. Set a str
        (a ``system`` message) or an OpenAIMessage, used as is (e.g. role ``developer``)."""
        return self._system_prompt

    @system_prompt.setter
    def system_prompt(self, value: str | OpenAIMessage | Mapping[str, Any] | None) -> None:
        if value is None:
            value = ""
        if isinstance(value, str):
            self._system_prompt = OpenAIMessage(role="system", content=value)
        elif isinstance(value, OpenAIMessage):
            self._system_prompt = value
        elif isinstance(value, Mapping):
            self._system_prompt = OpenAIMessage({"role": "system", **value})
        else:
            raise TypeError(
                f"`system_prompt` must be a str or an OpenAIMessage, not {type(value).__name__}"
            )

    @property
    def parameters(self) -> OpenAIChatCompletionsParameters:
        """The helper's own parameters (a copy of those given): edit them between prompts."""
        return self._parameters

    @parameters.setter
    def parameters(self, value: Params) -> None:
        """New parameters (copied); their ``tools``, if any, replace the registered ones."""
        old_tools = self._parameters.tools
        new = _copy_parameters(OpenAIChatCompletionsParameters.coerce(value))
        given = list(new.tools or [])
        new.tools = None if given else old_tools
        self._parameters = new
        if given:
            self._handlers.clear()
            for tool in given:
                self.register_tool(tool)

    @property
    def number_of_messages(self) -> int:
        """History kept after each reply (system prompt excluded); <= 0 keeps everything."""
        return self._number_of_messages

    @number_of_messages.setter
    def number_of_messages(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"`number_of_messages` must be an int, not {type(value).__name__}")
        self._number_of_messages = value

    @property
    def max_tool_rounds(self) -> int:
        """Follow-up requests allowed per prompt for automatic tool calls (0: none)."""
        return self._max_tool_rounds

    @max_tool_rounds.setter
    def max_tool_rounds(self, value: int) -> None:
        self._max_tool_rounds = check_int(value, "max_tool_rounds", 0)

    @property
    def tools(self) -> list[OpenAITool]:
        """The tools sent with each request (a copy of ``parameters.tools``)."""
        return list(self._parameters.tools or [])

    @property
    def tool_handlers(self) -> dict[str, Any]:
        """Tool name -> handler (a copy)."""
        return dict(self._handlers)

    # -- tools -----------------------------------------------------------------------------

    def register_tool(
        self, tool: OpenAITool | Mapping[str, Any], handler: object = None
    ) -> None:
        """Add (or replace, by name) one tool and the handler that answers its calls.

        ``tool`` is an ``OpenAITool`` or a dict in any shape it accepts (OpenAI, flat,
        ``{"tool", "handler"}``). ``handler`` is a function called with the parsed arguments
        dict, or an object whose method named after the tool is called; without one the
        tool's own ``handler`` is used, else the tool is sent but its calls get an error text.
        Invalid tools are logged and ignored (4D asserted).
        """
        spec = prepare_tool(tool, handler)
        if spec is not None:
            self._add(*spec)

    def register_tools(self, tools: object) -> None:
        """Register many tools at once; every 4D shape (see ``tools.iter_tool_specs``)."""
        for spec in iter_tool_specs(tools):
            self._add(*spec)

    def _add(self, tool: OpenAITool, handler: Any) -> None:
        """Replace semantics: a tool of the same name (a built-in of the same type) goes."""
        if tool.name:
            self.unregister_tool(tool.name)
            current = list(self._parameters.tools or [])
        else:  # a built-in tool (web_search, ...): one per type
            current = [t for t in self._parameters.tools or [] if t.name or t.type != tool.type]
        current.append(tool)
        self._parameters.tools = current
        if tool.name and handler is not None:
            self._handlers[tool.name] = handler

    def unregister_tool(self, name: str) -> None:
        """Remove the tool(s) and handler of that name (case-insensitive, as 4D compares)."""
        if not isinstance(name, str) or not name:
            return
        key = name.casefold()
        for registered in [n for n in self._handlers if n.casefold() == key]:
            del self._handlers[registered]
        kept = [t for t in self._parameters.tools or [] if (t.name or "").casefold() != key]
        self._parameters.tools = kept or None

    def unregister_tools(self) -> None:
        """Remove every tool (built-ins too) and handler; ``tools`` is then not sent at all."""
        self._handlers.clear()
        self._parameters.tools = None

    def reset(self) -> None:
        """Forget the history and the tools; the system prompt and parameters stay.

        A callback-mode prompt still running when this is called does not write its reply
        into the new history (its callbacks still fire).
        """
        self._generation += 1
        self.messages.clear()
        self.unregister_tools()

    # -- prompting -------------------------------------------------------------------------

    def prompt(
        self, prompt: str | OpenAIMessage | Mapping[str, Any]
    ) -> OpenAIChatCompletionsResult:
        """Send ``prompt`` (a user text, or a message) with the history; see the class doc for
        what is returned in each mode (an ``OpenAIChatCompletionsResult``)."""
        message = _to_message(prompt)
        chain = _Chain(self._parameters, self._generation)
        owner: Owner | None = None
        if self._parameters.is_async:
            from ..process._registry import resolve_owner

            owner = resolve_owner(self._parameters.owner)  # a plain thread fails before sending
        self.last_errors = []
        self.messages.append(message)
        request = chain.request
        request.on_response = request.on_error = request.formula = request.on_data = None
        request.throw = False  # raised at the end (sync), after the history is updated
        if owner is None:
            request.on_terminate = None
            return self._run_sync(chain)
        request.owner = owner
        request.on_terminate = functools.partial(self._round_end, chain)
        if request.stream and (chain.on_data is not None or chain.formula is not None):
            request.on_data = functools.partial(self._chunk, chain)
        return self._send(chain)

    def _send(self, chain: _Chain) -> OpenAIChatCompletionsResult:
        request = chain.request
        request.tools = list(self._parameters.tools or []) or None
        if request.tools is None:
            request.tool_choice = None
            for key in _TOOL_ONLY_KEYS:
                request.extra.pop(key, None)
        else:
            choice = self._parameters.tool_choice
            if chain.rounds and choice not in (None, "auto", "none"):
                choice = None  # a forced tool on follow-ups would loop until max_tool_rounds
            request.tool_choice = choice
            for key in _TOOL_ONLY_KEYS:
                if key in self._parameters.extra:
                    request.extra[key] = self._parameters.extra[key]
        return self.chat.completions.create([self._system_prompt, *self.messages], request)

    def _run_sync(self, chain: _Chain) -> OpenAIChatCompletionsResult:
        while True:
            result = self._send(chain)
            if not self._after_reply(result, chain):
                break
        if self._parameters.throw:
            result.throw()
        return result

    # -- callback mode: these run on the owner's thread ------------------------------------

    def _chunk(self, chain: _Chain, chunk: Any) -> None:
        invoke(chain.on_data, chunk)
        invoke(chain.formula, chunk)

    def _round_end(self, chain: _Chain, result: Any) -> None:
        """Internal ``on_terminate`` of each request: next round, or the user's callbacks."""
        try:
            if self._after_reply(result, chain):
                self._send(chain)
                return
        except Exception as exc:  # e.g. the client was closed between two rounds
            logger.exception("aikit: the chat helper could not continue the conversation")
            error = OpenAIError(f"Chat helper follow-up failed: {exc}", kind="cancelled")
            self.last_errors = [error]
            result = _failed(error)
        deliver_final(chain, result)

    # -- shared ----------------------------------------------------------------------------

    def _after_reply(self, result: Any, chain: _Chain) -> bool:
        """Record a reply; True when tool answers were added and a follow-up must be sent."""
        if chain.generation != self._generation:
            return False  # reset() meanwhile: this reply belongs to a forgotten history
        if not result.success:
            self.last_errors = list(result.errors)
            return False
        choice = result.choice
        if choice is None or choice.message is None:
            trim_history(self.messages, self._number_of_messages)
            return False
        reply = stored_message(choice.message)
        self.messages.append(reply)
        calls = reply.tool_calls or []
        if not calls or not self.auto_handle_tool_calls:
            trim_history(self.messages, self._number_of_messages)
            return False
        if chain.rounds >= self._max_tool_rounds:
            self._answer_capped(calls)
            trim_history(self.messages, self._number_of_messages)
            return False
        handlers = dict(self._handlers)
        for call in calls:
            content = execute_tool_call(call, handlers)
            self.messages.append(
                OpenAIMessage(role="tool", tool_call_id=call["id"], content=content)
            )
        chain.rounds += 1
        return True

    def _answer_capped(self, calls: list[dict[str, Any]]) -> None:
        """Cap reached: answer each call without running it, so the history stays valid."""
        cap = self._max_tool_rounds
        self.last_errors = [
            OpenAIError(
                f"max_tool_rounds ({cap}) reached: the model still asked for tools; "
                "their calls were not run",
                kind="max_tool_rounds",
            )
        ]
        for call in calls:
            name = tool_call_name(call) or ""
            self.messages.append(
                OpenAIMessage(
                    role="tool",
                    tool_call_id=call["id"],
                    content=f"Error: function '{name}' not called: max_tool_rounds ({cap}) "
                    "reached",
                )
            )

    def __repr__(self) -> str:
        return (
            f"<OpenAIChatHelper messages={len(self.messages)} tools={len(self.tools)} "
            f"model={self._parameters.model!r}>"
        )


def _split_helper_settings(
    params: Any, kwargs: dict[str, Any]
) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """Take ``number_of_messages``, ``auto_handle_tool_calls`` and ``max_tool_rounds`` out of
    the parameters (dict, keywords or an instance's extra keys) so they are never sent."""
    settings: dict[str, Any] = {}
    kwargs = dict(kwargs)
    for key, name in _HELPER_KEYS.items():
        if key in kwargs:
            settings[name] = kwargs.pop(key)
    if isinstance(params, Mapping) and any(k in params for k in _HELPER_KEYS):
        params = dict(params)
        for key, name in _HELPER_KEYS.items():
            if key in params:
                settings.setdefault(name, params.pop(key))
    elif isinstance(params, Record) and any(k in params.extra for k in _HELPER_KEYS):
        data = params.to_dict()
        for key, name in _HELPER_KEYS.items():
            if key in data:
                settings.setdefault(name, data.pop(key))
        params = data
    return params, kwargs, settings


def _to_message(prompt: Any) -> OpenAIMessage:
    """4D's prompt conversions: text -> user message; a message as is; a dict -> a message
    (role "user" by default). Anything else raises TypeError (4D error 1)."""
    if isinstance(prompt, str):
        return OpenAIMessage(role="user", content=prompt)
    if isinstance(prompt, OpenAIMessage):
        return prompt
    if isinstance(prompt, Mapping):
        message = OpenAIMessage(prompt)
        if message.role is None:
            message.role = "user"
        if message.content is None and not message.tool_calls:
            raise TypeError("a prompt dict needs a `content`")
        return message
    raise TypeError(
        f"Cannot prompt with parameter of type {type(prompt).__name__}. "
        "Must be a str or OpenAIMessage"
    )
