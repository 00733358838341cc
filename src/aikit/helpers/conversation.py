"""``OpenAIResponsesConversation``: a conversation over the Responses API, chained by
``previous_response_id``, that runs function tools itself (``client.responses.conversation()``).

The Responses counterpart of ``OpenAIChatHelper`` (``chat_helper.py``), with the same rules:

- Each request gets a *copy* of ``conv.parameters`` whose callbacks are the conversation's own
  (``on_terminate``, and ``on_data`` for streams): the user's callbacks run exactly once per
  ``prompt()``, with the final result, on the owner's thread (``deliver_final``), after any
  tool rounds; every ``on_data`` event of every round is forwarded, in order.
- Follow-up requests are sent from that internal callback, on the owner: every request of a
  prompt has the owner resolved once, at ``prompt()``.
- ``instructions`` is sent with every request (the API does not carry it over with
  ``previous_response_id``); a forced ``tool_choice`` only with the first request of a prompt.
- Every function (and custom tool) call gets exactly one output item — an error text for a
  call without a handler, with bad arguments, or whose handler raised — and automatic rounds
  stop after ``max_tool_rounds`` follow-ups (``last_errors`` then holds a ``max_tool_rounds``
  error). Calls left unanswered (cap reached, a follow-up that failed) are answered at the
  head of the next prompt's input, so the chain stays valid.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .._lifecycle.calls import deliver_final, invoke
from .._logging import logger
from .._records import Record
from .._responses_parameters import OpenAIResponsesParameters
from .._responses_results import OpenAIResponse, OpenAIResponsesResult
from .._settings import check_int
from ..errors import ErrorKind, OpenAIError
from ._conversation_tools import (
    ToolRegistry,
    answered_ids,
    capped_outputs,
    is_forced,
    reply_calls,
    run_calls,
)
from .chat_helper import DEFAULT_MAX_TOOL_ROUNDS

if TYPE_CHECKING:
    from .._parameters_base import OpenAIParameters
    from ..process._registry import Owner
    from ..resources.responses import Responses

__all__ = ["OpenAIResponsesConversation"]

#: Helper settings that may be given with the parameters; they are never sent.
_HELPER_KEYS = {"max_tool_rounds": "max_tool_rounds", "maxToolRounds": "max_tool_rounds"}

Callback = Callable[[Any], Any]
#: What a prompt sends: a text (one user message), one item or message, or a list of them.
PromptInput = str | Mapping[str, Any] | Record | Iterable[Mapping[str, Any] | Record]
Body = str | list[Any]


def _copy(p: OpenAIResponsesParameters) -> OpenAIResponsesParameters:
    """A new parameters object (own lists and ``extra``); values are shared."""
    return OpenAIResponsesParameters(p.to_dict())


class _Chain:
    """One ``prompt()``: the user's callbacks (snapshot), the request template, its rounds."""

    __slots__ = ("answers", "formula", "generation", "last_id", "on_data", "on_error",
                 "on_response", "on_terminate", "owner", "request", "rounds")

    def __init__(self, user: OpenAIResponsesParameters, generation: int,
                 last_id: str | None, owner: Owner | None) -> None:
        self.on_response: Callback | None = user.on_response
        self.on_error: Callback | None = user.on_error
        self.on_terminate: Callback | None = user.on_terminate
        self.formula: Callback | None = user.formula
        self.on_data: Callback | None = user.on_data
        self.generation = generation
        self.owner = owner
        self.last_id = last_id  # the response the next request of this prompt chains from
        self.rounds = 0  # follow-up requests sent after the first
        self.answers: list[dict[str, Any]] = []  # the call outputs the latest request carried
        self.request = _copy(user)


class OpenAIResponsesConversation(ToolRegistry):
    """A conversation kept by the server: each ``prompt()`` chains from the previous response
    (``previous_response_id``), and function calls are answered with the registered handlers.

    Attributes: ``parameters`` (the options of every request; edit them between prompts),
    ``instructions`` (shortcut to ``parameters.instructions``), ``max_tool_rounds``,
    ``last_response_id`` (the response the next prompt chains from; settable, e.g. to resume
    a stored conversation), ``responses`` (the ids of every response received, tool rounds
    included, oldest first), ``last_errors`` (the errors of the last prompt), ``tools`` and
    ``tool_handlers``.

    Modes follow ``parameters`` at each prompt, as for the chat helper:

    - sync (no callback): returns the final result, after any tool rounds (``throw=True``
      raises its first error then);
    - callback (``on_response``/``on_error``/``on_terminate``/``formula``): returns the
      pending result of the *first* request at once; the tool rounds run on the owner's thread
      and the user's callbacks fire exactly once, with the final result;
    - streaming (``stream=True`` + ``on_data``): the same, and ``on_data`` (and ``formula``)
      receive every event of every round, in order (without callbacks a stream is read to
      its end: sync mode). ``background=True`` needs callbacks for tool rounds (it is then
      polled to its end); in sync mode the queued response is returned as is.

    One prompt at a time: ``prompt()`` while another prompt of this conversation is running
    (a callback-mode one until its final callbacks start, a sync one in another thread, or
    from a tool handler) raises ``RuntimeError`` — chaining from a response that is not the
    last one would fork the conversation. A prompt may be sent from the final callbacks.
    ``reset()`` releases it (the running prompt still ends with its callbacks); so does the
    end of its owner (a killed worker, a closed form: its callbacks never come).

    With ``conversation=`` (a Conversations API object), the server keeps the state and no
    ``previous_response_id`` is sent. ``store=False`` cannot be chained by the server.
    """

    def __init__(
        self,
        responses: Responses,
        params: Mapping[str, Any] | OpenAIParameters | None = None,
        **kwargs: Any,
    ) -> None:
        self._api = responses
        self._init_tools()
        self._lock = threading.Lock()
        self._active: _Chain | None = None
        self._generation = 0
        self._pending: list[dict[str, Any]] = []  # answers owed to last_response_id's calls
        self._last_id: str | None = None
        self._max_tool_rounds = DEFAULT_MAX_TOOL_ROUNDS
        self.responses: list[str] = []
        self.last_errors: list[OpenAIError] = []
        params, kwargs, settings = _split_settings(params, kwargs)
        given = OpenAIResponsesParameters.coerce(params, **kwargs)
        self._parameters = _copy(given)  # registering tools never changes the caller's object
        self._parameters.tools = None
        self._last_id = self._parameters.previous_response_id
        self._parameters.previous_response_id = None
        for name, value in settings.items():
            setattr(self, name, value)
        for tool in given.tools or []:  # the originals: they carry the handlers
            self.register_tool(tool)

    # -- settings ------------------------------------------------------------------------

    @property
    def parameters(self) -> OpenAIResponsesParameters:
        """The conversation's own parameters (a copy of those given): edit them between
        prompts. ``tools`` and ``previous_response_id`` are the conversation's, not here."""
        return self._parameters

    @parameters.setter
    def parameters(self, value: Mapping[str, Any] | OpenAIParameters | None) -> None:
        """New parameters (copied); their ``tools``, if any, replace the registered ones."""
        given = OpenAIResponsesParameters.coerce(value)
        new = _copy(given)
        new.tools = new.previous_response_id = None
        self._parameters = new
        if given.previous_response_id:
            self.last_response_id = given.previous_response_id
        if given.tools:
            self.unregister_tools()
            for tool in given.tools:
                self.register_tool(tool)

    @property
    def instructions(self) -> str | None:
        """The system (developer) message sent with every request."""
        return self._parameters.instructions

    @instructions.setter
    def instructions(self, value: str | None) -> None:
        self._parameters.instructions = value

    @property
    def max_tool_rounds(self) -> int:
        """Follow-up requests allowed per prompt for automatic tool calls (0: none)."""
        return self._max_tool_rounds

    @max_tool_rounds.setter
    def max_tool_rounds(self, value: int) -> None:
        self._max_tool_rounds = check_int(value, "max_tool_rounds", 0)

    @property
    def last_response_id(self) -> str | None:
        """The id of the last response received: the next prompt's ``previous_response_id``."""
        return self._last_id

    @last_response_id.setter
    def last_response_id(self, value: str | None) -> None:
        if value is not None and not isinstance(value, str):
            raise TypeError(f"`last_response_id` must be a str, not {type(value).__name__}")
        self._last_id = value or None
        self._pending = []

    def reset(self) -> None:
        """Start over: forget the previous response (and the ids kept); the tools, the
        instructions and the parameters stay. A prompt still running ends with its callbacks
        but no longer updates the conversation, and runs no more tool rounds."""
        with self._lock:
            self._generation += 1
            self._active = None
        self._last_id = None
        self._pending = []
        self.responses = []

    # -- prompting -----------------------------------------------------------------------

    def prompt(self, input: PromptInput) -> OpenAIResponsesResult:
        """Send ``input`` (a text, one item or message, or a list of items) chained from the
        last response; see the class doc for what is returned in each mode."""
        body = _input(input)  # TypeError / ValueError before anything changes
        params = self._parameters
        owner: Owner | None = None
        if params.is_async:
            from ..process._registry import resolve_owner

            owner = resolve_owner(params.owner)  # a plain thread fails before sending
        with self._lock:
            if self._busy():
                raise RuntimeError("a prompt of this conversation is still running; a new one "
                                   "can start from its final callbacks (or after reset())")
            chain = _Chain(params, self._generation, self._last_id, owner)
            self._active = chain
        try:
            self.last_errors = []
            owed = answered_ids(body)
            chain.answers = [a for a in self._pending if a["call_id"] not in owed]
            if chain.answers:
                text = [{"role": "user", "content": body}] if isinstance(body, str) else body
                body = [*chain.answers, *text]
            request = chain.request
            request.on_response = request.on_error = request.formula = request.on_data = None
            request.throw = False  # raised at the end (sync), after the state is updated
            if owner is None:
                request.on_terminate = None
                return self._run_sync(chain, body)
            request.owner = owner
            request.on_terminate = functools.partial(self._round_end, chain)
            if (chain.on_data or chain.formula) and (request.stream or request.background):
                request.on_data = functools.partial(self._event, chain)
            return self._send(chain, body)
        except BaseException:
            self._release(chain)
            raise

    def _busy(self) -> bool:
        chain = self._active
        return chain is not None and (chain.owner is None or chain.owner.is_alive())

    def _release(self, chain: _Chain) -> None:
        with self._lock:
            if self._active is chain:
                self._active = None

    def _send(self, chain: _Chain, body: Body) -> OpenAIResponsesResult:
        request = chain.request
        request.tools = list(self._tools) or None
        if request.tools is None:
            request.tool_choice = request.parallel_tool_calls = None
        else:
            choice = self._parameters.tool_choice
            request.tool_choice = None if chain.rounds and is_forced(choice) else choice
            request.parallel_tool_calls = self._parameters.parallel_tool_calls
        request.previous_response_id = chain.last_id if request.conversation is None else None
        return self._api.create(body, request)

    def _run_sync(self, chain: _Chain, body: Body) -> OpenAIResponsesResult:
        try:
            while True:
                try:
                    result = self._send(chain, body)
                except Exception as exc:
                    if not chain.rounds:
                        raise  # the first request: as ``create`` would
                    result = self._broken(chain, exc)
                    break
                outputs = self._after_reply(result, chain)
                if outputs is None:
                    break
                body = outputs
        finally:
            self._release(chain)
        if self._parameters.throw:
            result.throw()
        return result

    # -- callback mode: these run on the owner's thread ----------------------------------

    def _event(self, chain: _Chain, event: Any) -> None:
        invoke(chain.on_data, event)
        invoke(chain.formula, event)

    def _round_end(self, chain: _Chain, result: Any) -> None:
        """Internal ``on_terminate`` of each request: the next round, or the user's final
        callbacks (exactly once per prompt, whatever failed)."""
        try:
            outputs = self._after_reply(result, chain)
            if outputs is not None:
                self._send(chain, outputs)
                return
        except Exception as exc:  # e.g. a follow-up that could not be built
            result = self._broken(chain, exc)
        self._release(chain)  # before the callbacks: they may prompt again
        deliver_final(chain, result)

    # -- shared --------------------------------------------------------------------------

    def _after_reply(self, result: Any, chain: _Chain) -> list[dict[str, Any]] | None:
        """Record a reply; the outputs to send next when it asked for tools (None: done)."""
        if chain.generation != self._generation:
            return None  # reset() meanwhile: this reply belongs to a forgotten conversation
        if not result.success:
            self.last_errors = list(result.errors)
            if chain.rounds:  # the outputs were not delivered: the next prompt carries them
                self._pending = chain.answers
            return None
        response: OpenAIResponse | None = result.response
        if response is None or not response.id:
            return None
        chain.last_id = self._last_id = response.id
        self.responses.append(response.id)
        self._pending = []
        calls = reply_calls(response.output)
        if not calls:
            return None
        if chain.rounds >= self._max_tool_rounds:
            cap = self._max_tool_rounds
            self._pending = capped_outputs(calls, cap)
            self.last_errors = [OpenAIError(
                f"max_tool_rounds ({cap}) reached: the model still asked for tools; "
                "their calls were not run", kind=ErrorKind.MAX_TOOL_ROUNDS)]
            return None
        chain.answers = run_calls(calls, dict(self._handlers))
        chain.rounds += 1
        return chain.answers

    def _broken(self, chain: _Chain, exc: Exception) -> OpenAIResponsesResult:
        """A follow-up that could not be sent: a failed result ends the prompt."""
        logger.exception("aikit: the Responses conversation could not continue")
        error = OpenAIError(f"The conversation could not continue: {exc}",
                            kind=ErrorKind.REQUEST)
        error.__cause__ = exc
        if chain.generation == self._generation:
            self.last_errors = [error]
            if chain.rounds:
                self._pending = chain.answers
        result = OpenAIResponsesResult()
        result._complete(None, [error])
        result._mark_terminated()
        return result

    def __repr__(self) -> str:
        return (
            f"<OpenAIResponsesConversation responses={len(self.responses)} "
            f"tools={len(self._tools)} model={self._parameters.model!r} "
            f"last_response_id={self._last_id!r}>"
        )


def _split_settings(
    params: Any, kwargs: dict[str, Any]
) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """Take ``max_tool_rounds`` out of the parameters (keywords, dict or an instance's extra
    keys) so that it is never sent."""
    settings: dict[str, Any] = {}
    kwargs = dict(kwargs)
    for key, name in _HELPER_KEYS.items():
        if key in kwargs:
            settings[name] = kwargs.pop(key)
    if isinstance(params, Mapping) and any(k in params for k in _HELPER_KEYS):
        params = dict(params)
    elif isinstance(params, Record) and any(k in params.extra for k in _HELPER_KEYS):
        params = params.to_dict()
    else:
        return params, kwargs, settings
    for key, name in _HELPER_KEYS.items():
        if key in params:
            settings.setdefault(name, params.pop(key))
    return params, kwargs, settings


def _input(value: object) -> Body:
    """A prompt's ``input`` checked (``create`` puts the items in wire form): a non-empty
    text, or a non-empty list of items (one item or message is a list of one)."""
    if isinstance(value, str):
        if not value:
            raise ValueError("Expected a non-empty value for `input`")
        return value
    if isinstance(value, OpenAIResponse) or not isinstance(value, (Mapping, Record, Iterable)):
        raise TypeError("a prompt is a str, an item or a list of items, not "
                        f"{type(value).__name__}")
    if isinstance(value, (Mapping, Record)):
        return [value]
    if isinstance(value, (bytes, bytearray)):
        raise TypeError("a prompt is a str, an item or a list of items, not bytes")
    items = list(value)
    if not items:
        raise ValueError("`input` must hold at least one item")
    return items
