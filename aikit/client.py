"""``OpenAI``: settings, resources, and the one request entry point every resource uses."""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from ._config import (
    check_headers,
    check_int,
    check_str,
    check_timeout,
    collect_settings,
    env_defaults,
)
from ._http.request import RequestSpec, build_headers, build_url
from ._http.response import HTTPResponse
from ._logging import logger, mask_key, redact_headers
from .errors import OpenAIError
from .results import OpenAIResult

if TYPE_CHECKING:
    from ._dispatch import Call, IOPool
    from ._http.transport import Abortable, Transport
    from .parameters import OpenAIParameters
    from .providers import ModelRoute, OpenAIProviders
    from .resources.chat import Chat
    from .resources.embeddings import Embeddings
    from .resources.files import Files
    from .resources.images import Images
    from .resources.models import Models
    from .resources.moderations import Moderations

__all__ = ["OpenAI"]

R = TypeVar("R", bound=OpenAIResult)

DEFAULT_TIMEOUT = 600.0
DEFAULT_MAX_RETRIES = 2
DEFAULT_CONCURRENCY = 16


class OpenAI:
    """A client for an OpenAI-compatible API.

    Sync when no callback is given; with ``on_response``/``on_error``/``on_terminate``/
    ``formula`` (or ``on_data`` and ``stream``) the call returns a pending result at once and
    the callbacks run later in the calling process (see ``aikit.process``).
    Settings stay writable attributes, as in 4D.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        settings = collect_settings(args, kwargs)
        self._providers: OpenAIProviders | None = None
        self._provider_error: OpenAIError | None = None
        provider = settings.get("provider")
        if provider is not None:
            self._apply_provider(settings, provider)
        if provider is None or self._provider_error is not None:
            # A configured provider gets only its own key: never OPENAI_API_KEY (4D gotcha 13).
            env_defaults(settings)
        self.api_key: str = check_str(settings.get("api_key", ""), "api_key")
        self.base_url: str = check_str(settings["base_url"], "base_url")
        self.organization: str = check_str(settings.get("organization", ""), "organization")
        self.project: str = check_str(settings.get("project", ""), "project")
        self.max_retries: int = check_int(
            settings.get("max_retries", DEFAULT_MAX_RETRIES), "max_retries", 0
        )
        self.timeout: float = check_timeout(settings.get("timeout", DEFAULT_TIMEOUT))
        self.custom_headers: dict[str, str] = check_headers(
            settings.get("custom_headers"), "custom_headers"
        )
        self.http_agent: Any = settings.get("http_agent")
        self.provider: str | None = provider
        self._max_concurrent = check_int(
            settings.get("max_concurrent_requests", DEFAULT_CONCURRENCY),
            "max_concurrent_requests",
            1,
        )
        self._proxies = settings.get("proxies")
        if self._proxies is not None and not isinstance(self._proxies, Mapping):
            raise TypeError("`proxies` must be a dict like {'https': 'http://proxy:3128'}")
        self._verify = settings.get("verify")
        if self._verify is not None and not isinstance(self._verify, (bool, str)):
            raise TypeError("`verify` must be a bool or a path to a CA bundle")
        self._transport: Transport | None = None
        self._pool: IOPool | None = None
        self._lock = threading.Lock()
        self._calls: set[Call] = set()
        self._closed = False

    # -- settings -----------------------------------------------------------------------
    def _apply_provider(self, settings: dict[str, Any], name: Any) -> None:
        """``OpenAI(provider="x")``: the provider's base URL, key, organization and project,
        under any value given explicitly. An unknown provider makes every call fail (nothing
        is sent) instead of raising here or silently calling OpenAI."""
        from .providers import OpenAIProviders

        if not isinstance(name, str) or not name:
            raise TypeError("`provider` must be a non-empty str")
        providers = OpenAIProviders()
        self._providers = providers
        self._provider_error = providers.apply_settings(settings, name)

    @property
    def max_concurrent_requests(self) -> int:
        """Size of the I/O thread pool for callback mode; calls beyond it queue FIFO."""
        return self._max_concurrent

    def __repr__(self) -> str:
        key = mask_key(self.api_key) if self.api_key else ""
        return f"OpenAI(base_url={self.base_url!r}, api_key={key!r})"

    # -- resources (built on first use: importing them all costs start-up time) ---------
    @functools.cached_property
    def models(self) -> Models:
        from .resources.models import Models

        return Models(self)

    @functools.cached_property
    def chat(self) -> Chat:
        from .resources.chat import Chat

        return Chat(self)

    @functools.cached_property
    def embeddings(self) -> Embeddings:
        from .resources.embeddings import Embeddings

        return Embeddings(self)

    @functools.cached_property
    def images(self) -> Images:
        from .resources.images import Images

        return Images(self)

    @functools.cached_property
    def moderations(self) -> Moderations:
        from .resources.moderations import Moderations

        return Moderations(self)

    @functools.cached_property
    def files(self) -> Files:
        from .resources.files import Files

        return Files(self)

    # -- lifecycle ----------------------------------------------------------------------
    def close(self) -> None:
        """Terminate calls in flight (their on_error/on_terminate still run), stop the I/O
        threads and close pooled connections."""
        with self._lock:
            self._closed = True
            calls = list(self._calls)
            pool, self._pool = self._pool, None
            transport, self._transport = self._transport, None
        for call in calls:
            call.terminate()
        if pool is not None:
            pool.close()
        if transport is not None:
            transport.close()

    def __enter__(self) -> OpenAI:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get_transport(self) -> Transport:
        transport = self._transport
        if transport is None:
            from ._http.transport import Transport

            with self._lock:
                if self._closed:
                    raise RuntimeError("this OpenAI client is closed")
                if self._transport is None:
                    self._transport = Transport(
                        pool_size=self._max_concurrent, proxies=self._proxies, verify=self._verify
                    )
                transport = self._transport
        return transport

    def _get_pool(self) -> IOPool:
        pool = self._pool
        if pool is None:
            from ._dispatch import IOPool

            with self._lock:
                if self._closed:
                    raise RuntimeError("this OpenAI client is closed")
                if self._pool is None:
                    self._pool = IOPool(self._max_concurrent)
                pool = self._pool
        return pool

    # -- request building ---------------------------------------------------------------
    def _headers(
        self,
        params: OpenAIParameters,
        content_type: str | None,
        accept: str,
        route: ModelRoute | None = None,
    ) -> dict[str, str]:
        """The request's headers. A resolved provider ``route`` brings its own key,
        organization and project: the client's are never sent to another provider."""
        target: Any = self if route is None else route
        return build_headers(
            api_key=target.api_key,
            base_url=target.base_url,
            organization=target.organization,
            project=target.project,
            content_type=content_type,
            accept=accept,
            overrides=(self.custom_headers, params.extra_headers),
        )

    def _prepare(
        self,
        method: str,
        path: str,
        params: OpenAIParameters,
        *,
        json_body: dict[str, Any] | None = None,
        query: Iterable[tuple[str, str]] | None = None,
        body: Any = None,
        content_type: str | None = None,
        stream: bool = False,
    ) -> RequestSpec:
        route: ModelRoute | None = None
        error = self._provider_error
        if json_body is not None:
            model = json_body.get("model")
            if error is None and isinstance(model, str) and model:
                resolved = self._route(model)
                if isinstance(resolved, OpenAIError):
                    error = resolved
                elif resolved is not None:
                    route = resolved
                    json_body = {**json_body, "model": route.model}
            body = json.dumps(json_body, separators=(",", ":"), ensure_ascii=False).encode()
            content_type = "application/json"
        accept = "text/event-stream" if stream else "application/json"
        headers = self._headers(params, content_type if body is not None else None, accept, route)
        timeout = float(params.timeout) if params.timeout else self.timeout
        retries = self.max_retries if params.max_retries is None else params.max_retries
        url = build_url(route.base_url if route is not None else self.base_url, path, query)
        spec = RequestSpec(method, url, headers, body, timeout, retries,
                           params.http_agent or self.http_agent, stream)
        spec.error = error
        return spec

    # -- providers ----------------------------------------------------------------------
    @property
    def providers(self) -> OpenAIProviders:
        """The provider configuration this client resolves ``provider:model`` with."""
        found = self._providers
        if found is None:
            from .providers import OpenAIProviders

            found = self._providers = OpenAIProviders()
        return found

    def _route(self, model: str) -> ModelRoute | OpenAIError | None:
        """Where a ``provider:model`` or alias goes; None for a plain model id. The provider
        file is read once per client, on first use (4D reads it once per client too)."""
        return self.providers.resolve_model(model)

    def _request(
        self,
        method: str,
        path: str,
        params: OpenAIParameters,
        result_type: type[R],
        **request: Any,
    ) -> R:
        """Run one request in sync or callback mode. Validation errors raise before sending."""
        spec = self._prepare(method, path, params, **request)
        if params.is_async:
            return self._submit(spec, params, result_type)
        result: Any
        if spec.stream and spec.error is None:
            session = self._stream_session(spec, None)
            for _ in session.chunks():
                pass
            result = session.final
        else:
            result = result_type()
            if spec.error is not None:
                result._complete(None, [spec.error])
            else:
                result._complete(*self._execute(spec, None))
            result._mark_terminated()
        if params.throw:
            result.throw()
        return result  # type: ignore[no-any-return]

    def _stream(self, method: str, path: str, params: OpenAIParameters, **request: Any) -> Any:
        """A sync ``ChatStream`` over the request (chunks on the caller's thread)."""
        from ._streaming import ChatStream

        spec = self._prepare(method, path, params, stream=True, **request)
        session = self._stream_session(spec, None)
        return ChatStream(session)

    def _stream_session(self, spec: RequestSpec, abort: Abortable | None) -> Any:
        from ._http.transport import Abortable
        from ._streaming import StreamSession

        return StreamSession(self, spec, abort or Abortable())

    def _submit(self, spec: RequestSpec, params: OpenAIParameters, result_type: type[R]) -> R:
        from ._dispatch import Call
        from .process._core import resolve_owner

        owner = resolve_owner(params.owner)
        pool = self._get_pool()
        result = result_type()
        call = Call(params, result, owner)
        result._control = call
        with self._lock:
            self._calls.add(call)
        if not owner.track(call):
            call.cancel()
            result._complete(None, [OpenAIError("The owner process is gone.", kind="cancelled")])
            result._mark_terminated()
            self._forget(call)
            return result

        def job() -> None:
            try:
                if call.cancelled:
                    return
                if spec.error is not None:
                    call.post_final(None, [spec.error])
                    return
                if spec.stream:
                    self._run_stream(spec, call)
                    return
                response, errors = self._execute(spec, call.abort)
                if not call.cancelled:
                    call.post_final(response, errors)
            finally:
                self._forget(call)

        pool.submit(job)
        return result

    def _run_stream(self, spec: RequestSpec, call: Call) -> None:
        """I/O thread: post each chunk to the owner (coalescing key: the call), then the end."""
        session = self._stream_session(spec, call.abort)
        for chunk in session.chunks():
            if call.cancelled or not call.post(call.deliver_data, chunk, key=call):
                break
        final = session.final
        if final is not None and not call.cancelled:
            call.post_final(final._response, final._errors or [], final._data)

    def _forget(self, call: Call) -> None:
        with self._lock:
            self._calls.discard(call)

    def _execute(
        self, spec: RequestSpec, abort: Abortable | None
    ) -> tuple[HTTPResponse | None, list[OpenAIError]]:
        """Send with retries on the current thread; never raises OpenAIError."""
        outcome = self._open(spec, abort)
        if isinstance(outcome, OpenAIError):
            return None, [outcome]
        assert isinstance(outcome, HTTPResponse)
        return outcome, []

    def _open(self, spec: RequestSpec, abort: Abortable | None) -> Any:
        """Send with retries: an HTTPResponse, an open StreamHandle, or an OpenAIError."""
        from ._http.retry import run_with_retries

        transport = self._get_transport()
        debug = logger.isEnabledFor(10)

        def attempt(retries_taken: int) -> Any:
            started = time.monotonic()
            response = transport.send(
                spec.method, spec.url, spec.headers, spec.body, spec.timeout,
                control=abort, session=spec.session, stream=spec.stream,
            )
            if debug:
                meta = response if isinstance(response, HTTPResponse) else response.meta
                logger.debug(
                    "%s %s -> %s in %.3fs (request id %s, retries taken %d, headers %s)",
                    spec.method, spec.url, meta.status, time.monotonic() - started,
                    meta.headers.get("x-request-id"), retries_taken,
                    redact_headers(spec.headers),
                )
            return response

        def on_retry(outcome: HTTPResponse | OpenAIError, delay: float, n: int) -> None:
            what = outcome.status if isinstance(outcome, HTTPResponse) else outcome.message
            logger.info("Retrying %s %s in %.2f s after %s", spec.method, spec.url, delay, what)

        event = abort.event if abort is not None else None
        outcome = run_with_retries(
            attempt,
            spec.retries,
            cancelled=(lambda: event.is_set()) if event is not None else (lambda: False),
            sleep=event.wait if event is not None else time.sleep,
            on_retry=on_retry,
        )
        if isinstance(outcome, OpenAIError) and debug:
            logger.debug("%s %s failed: %s", spec.method, spec.url, outcome)
        return outcome
