"""``OpenAI``: settings, resources, and the one request entry point every resource uses."""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from ._http.request import RequestSpec, build_headers, build_url, query_pairs
from ._lifecycle.calls import invoke
from ._lifecycle.runner import Runner
from ._logging import mask_key, mask_url
from ._settings import (
    DEFAULT_MAX_RESPONSE_BYTES,
    check_api_key,
    check_bool,
    check_headers,
    check_int,
    check_proxies,
    check_rate,
    check_seconds,
    check_store,
    check_str,
    check_verify,
    collect_settings,
    env_defaults,
)
from .errors import OpenAIError
from .results import OpenAIResult

if TYPE_CHECKING:
    import requests

    from ._streaming import SessionFactory
    from .limits import Store
    from .limits._limiter import Limiter
    from .parameters import OpenAIParameters
    from .providers import ModelRoute, OpenAIProviders
    from .resources.batches import Batches
    from .resources.chat import Chat
    from .resources.embeddings import Embeddings
    from .resources.files import Files
    from .resources.images import Images
    from .resources.models import Models
    from .resources.moderations import Moderations
    from .resources.responses import Responses
    from .resources.uploads import Uploads

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

    def __init__(
        self,
        api_key: str | Mapping[str, Any] | os.PathLike[str] | None = None,
        base_url: str | Mapping[str, Any] | None = None,
        *,
        organization: str | None = None,
        project: str | None = None,
        max_retries: int | None = None,
        timeout: float | None = None,
        custom_headers: Mapping[str, str] | None = None,
        http_agent: requests.Session | None = None,
        provider: str | None = None,
        max_concurrent_requests: int | None = None,
        proxies: Mapping[str, str] | None = None,
        verify: bool | str | None = None,
        max_response_bytes: int | None = None,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        limit_store: Store | None = None,
        adaptive_limits: bool | None = None,
    ) -> None:
        """``OpenAI(key, base_url)``, or 4D's one settings object: a dict (camelCase keys too)
        or the path of a JSON file, as the first argument (a dict may come second, after a
        key). Keywords win over both; what is still unset comes from ``OPENAI_*`` variables.

        Rate limits (docs/architecture/limits.md), per origin (``scheme://host:port``) and
        model, as OpenAI counts them; a call waits before it is sent (``terminate()`` and
        ``deadline`` still end it at once):

        - ``requests_per_minute`` / ``tokens_per_minute``: your budgets (None: none). Calls
          are spread evenly (a burst of at most 6 s of the budget); a call's tokens are
          estimated from its body (prompt + output maximum), then charged what its answer's
          ``usage`` says it used beyond that.
        - ``adaptive_limits`` (default True): also follow the server: pace calls when its
          ``x-ratelimit-remaining-*`` runs low so it lasts until its reset, and after a 429
          pause every call to that origin and model until its ``retry-after`` (the call's
          retry waits for that pause instead of its own back-off). False: only your budgets.
        - ``limit_store``: where the budgets live: ``aikit.limits.InProcessStore`` (default,
          one per client; pass one to several clients to share it), ``SQLiteStore(path)``
          (the processes of a machine), ``RedisStore(url)`` (machines), or your own ``Store``.
        """
        settings = collect_settings(
            (api_key, base_url),
            {
                "organization": organization, "project": project, "max_retries": max_retries,
                "timeout": timeout, "custom_headers": custom_headers, "http_agent": http_agent,
                "provider": provider, "max_concurrent_requests": max_concurrent_requests,
                "proxies": proxies, "verify": verify, "max_response_bytes": max_response_bytes,
                "requests_per_minute": requests_per_minute,
                "tokens_per_minute": tokens_per_minute, "limit_store": limit_store,
                "adaptive_limits": adaptive_limits,
            },
        )
        self._providers: OpenAIProviders | None = None
        self._provider_error: OpenAIError | None = None
        provider = settings.get("provider")
        if provider is not None:
            self._apply_provider(settings, provider)
        if provider is None or self._provider_error is not None:
            # A configured provider gets only its own key: never OPENAI_API_KEY (4D gotcha 13).
            env_defaults(settings)
        self.api_key: str = check_api_key(settings.get("api_key", ""))
        self.base_url: str = check_str(settings["base_url"], "base_url")
        self.organization: str = check_str(settings.get("organization", ""), "organization")
        self.project: str = check_str(settings.get("project", ""), "project")
        self.max_retries: int = check_int(
            settings.get("max_retries", DEFAULT_MAX_RETRIES), "max_retries", 0
        )
        self.timeout: float = check_seconds(settings.get("timeout", DEFAULT_TIMEOUT), "timeout")
        self.custom_headers: dict[str, str] = check_headers(
            settings.get("custom_headers"), "custom_headers"
        )
        self.http_agent: requests.Session | None = settings.get("http_agent")
        self.provider: str | None = provider
        self._max_concurrent = check_int(
            settings.get("max_concurrent_requests", DEFAULT_CONCURRENCY),
            "max_concurrent_requests",
            1,
        )
        self._proxies = check_proxies(settings.get("proxies"))
        self._verify = check_verify(settings.get("verify"))
        #: Largest body, decompressed body or single stream event a call accepts.
        self.max_response_bytes: int = check_int(
            settings.get("max_response_bytes", DEFAULT_MAX_RESPONSE_BYTES),
            "max_response_bytes", 1,
        )
        self._limiter = _make_limiter(
            check_rate(settings.get("requests_per_minute"), "requests_per_minute"),
            check_rate(settings.get("tokens_per_minute"), "tokens_per_minute"),
            check_store(settings.get("limit_store")),
            check_bool(settings.get("adaptive_limits", True), "adaptive_limits"),
        )
        self._runner = Runner(
            pool_size=self._max_concurrent, proxies=self._proxies, verify=self._verify,
            limiter=self._limiter,
        )

    # -- settings -----------------------------------------------------------------------
    def _apply_provider(self, settings: dict[str, Any], name: Any) -> None:
        """``OpenAI(provider="x")``: the provider's base URL, key, organization and project,
        under any value given explicitly. An unknown provider makes every call fail (nothing
        is sent) instead of raising here or silently calling OpenAI."""
        from .providers import OpenAIProviders

        if not check_str(name, "provider"):  # TypeError for a non-str
            raise ValueError("`provider` must not be empty")
        providers = OpenAIProviders()
        self._providers = providers
        self._provider_error = providers.apply_settings(settings, name)

    @property
    def requests_per_minute(self) -> float | None:
        """The requests budget per origin and model (None: none)."""
        return None if self._limiter is None else self._limiter.requests_per_minute

    @property
    def tokens_per_minute(self) -> float | None:
        """The tokens budget per origin and model (None: none)."""
        return None if self._limiter is None else self._limiter.tokens_per_minute

    @property
    def adaptive_limits(self) -> bool:
        """Whether calls follow the server's rate-limit headers and 429s."""
        return self._limiter is not None and self._limiter.adaptive

    @property
    def limit_store(self) -> Store | None:
        """Where the rate-limit budgets live (None: no limiter runs)."""
        return None if self._limiter is None else self._limiter.store

    @property
    def max_concurrent_requests(self) -> int:
        """Size of the I/O thread pool for callback mode; calls beyond it queue FIFO."""
        return self._max_concurrent

    def __repr__(self) -> str:
        key = mask_key(self.api_key) if self.api_key else ""
        return f"OpenAI(base_url={mask_url(self.base_url)!r}, api_key={key!r})"

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
    def responses(self) -> Responses:
        from .resources.responses import Responses

        return Responses(self)

    @functools.cached_property
    def files(self) -> Files:
        from .resources.files import Files

        return Files(self)

    @functools.cached_property
    def uploads(self) -> Uploads:
        from .resources.uploads import Uploads

        return Uploads(self)

    @functools.cached_property
    def batches(self) -> Batches:
        from .resources.batches import Batches

        return Batches(self)

    # -- lifecycle ----------------------------------------------------------------------
    def close(self) -> None:
        """Terminate calls in flight (their on_error/on_terminate still run), never send a
        queued call, stop the I/O threads and close pooled connections."""
        self._runner.close()

    def __enter__(self) -> OpenAI:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
        if params.extra_body and json_body is None and body is None:
            raise ValueError(
                f"`extra_body` needs a call that sends a body ({method} {path} sends none); "
                "use extra_query for the query string"
            )
        if params.extra_query:
            query = [*(query or ()), *query_pairs(params.extra_query)]
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
        timeout = self.timeout if params.timeout is None else float(params.timeout)
        retries = self.max_retries if params.max_retries is None else params.max_retries
        base = route.base_url if route is not None else self.base_url
        url = build_url(base, path, query)
        key = route.api_key if route is not None else self.api_key
        password = _password(base)
        spec = RequestSpec(
            method, url, headers, body, timeout, retries, params.http_agent or self.http_agent,
            stream, max_bytes=self.max_response_bytes,
            deadline=None if params.deadline is None else time.monotonic() + params.deadline,
            secrets=tuple(s for s in (key, password) if s),
        )
        spec.error = error
        limiter = self._limiter
        if limiter is not None and json_body is not None:
            model = json_body.get("model")
            if isinstance(model, str):
                spec.model = model
            # A tokens budget needs every call's cost; otherwise (token pacing only) the
            # limiter estimates one when it needs it (-1: not estimated yet).
            spec.cost = -1 if limiter.tokens_per_minute is None else limiter.estimate(
                json_body, path.endswith(limiter.GENERATING))
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
        session: SessionFactory | None = None,
        **request: Any,
    ) -> R:
        """Build the call's spec (validation errors raise here, before anything is sent) and
        hand it to the lifecycle, which runs it sync or in callback mode."""
        return self._runner.run(self._prepare(method, path, params, **request), params,
                                result_type, session)

    def _stream(
        self, method: str, path: str, params: OpenAIParameters,
        session: SessionFactory | None = None, stream_type: Any = None, **request: Any,
    ) -> Any:
        """A sync iterator over the request's stream (chunks on the caller's thread): a
        ``ChatStream`` unless ``session``/``stream_type`` say otherwise."""
        spec = self._prepare(method, path, params, stream=True, **request)
        if params.on_retry is not None:  # the caller's thread is the one iterating
            spec.on_retry = functools.partial(invoke, params.on_retry)
        if session is None:
            return self._runner.stream(spec)
        return self._runner.stream(spec, session, stream_type)


def _make_limiter(
    rpm: float | None, tpm: float | None, store: Store | None, adaptive: bool
) -> Limiter | None:
    """The client's rate limiter; None (no cost at all) without budgets nor adaptive mode."""
    if rpm is None and tpm is None and not adaptive:
        return None
    from .limits import InProcessStore
    from .limits._limiter import Limiter

    return Limiter(InProcessStore() if store is None else store, rpm, tpm, adaptive)


@functools.lru_cache(maxsize=64)
def _password(url: str) -> str:
    """The password of a ``user:password@`` base URL (a secret like the key), or ''."""
    try:
        return urlsplit(url).password or ""
    except ValueError:
        return ""
