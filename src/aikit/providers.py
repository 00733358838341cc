"""Named providers and model aliases from ``AIProviders.json`` (4D ``OpenAIProviders``).

One client can reach several OpenAI-compatible services: a request's ``model`` may be
``"provider:model"`` (``"mistral:mistral-small"``) or a bare alias defined in the file
(``"fast"``), and is then sent to that provider's base URL with that provider's credentials.

File format (4D's; snake_case keys such as ``base_url``/``api_key`` are accepted too)::

    {"providers": {"<name>": {"baseURL": "...", "apiKey": "...",
                              "organization": "...", "project": "..."}},
     "models":    {"<alias>": {"provider": "<name>", "model": "<id>"}}}

A provider entry may also carry client settings used by ``OpenAI(provider=name)``:
``timeout``, ``maxRetries``, ``customHeaders``, ``maxConcurrentRequests``, ``proxies``,
``verify``. Values of the four text fields are coerced to str, as in 4D (``8d5354c``).

Decided differently from 4D:

- A resolved provider never gets the client's key: only its own ``apiKey``, else the
  environment variable ``UPPER(name) + "_API_KEY"`` (verbatim, as in 4D), else the same with
  every character outside ``A-Z0-9_`` replaced by ``_`` (``my-prov`` -> ``MY_PROV_API_KEY``,
  since a shell cannot export ``MY-PROV_API_KEY``), else no key and no ``Authorization`` header.
  Its organization and project are sent too.
- Errors (unknown provider, bad alias, missing base URL) are results with ``kind="provider"``,
  never a silent send of ``"provider:model"`` to the client's own base URL.
- Provider names containing ``:`` are listed as written (4D leaks its ``%3A`` encoding).
- Lookups are exact (case-sensitive), for providers and aliases alike.
- ``model`` ids that merely contain ``:`` keep working, see ``OpenAIProviders.resolve_model``.
"""

from __future__ import annotations

import builtins
import copy
import json
import os
import pathlib
import re
import sys
from collections.abc import Mapping
from typing import Any

import attrs

from ._logging import mask_key
from ._records import snake_case
from ._settings import SETTING_CHECKS, check_api_key
from .errors import OpenAIError

__all__ = ["ModelRoute", "OpenAIProviders", "config_path"]

FILE_NAME = "AIProviders.json"
ENV_PATH = "AIKIT_PROVIDERS"

#: Prefixes that are model namespaces, never provider names (OpenAI fine-tuned models).
MODEL_NAMESPACES = frozenset({"ft"})

_TEXT_FIELDS = ("base_url", "api_key", "organization", "project")
_NOT_ENV_CHAR = re.compile(r"[^A-Z0-9_]")


def _masked(key: str) -> str:
    """The repr of a provider key: masked, never the key."""
    return repr(mask_key(key))


def _user_config_dir() -> pathlib.Path | None:
    """The per-user config folder of this platform, or None when it cannot be known."""
    try:
        home = pathlib.Path.home()
    except RuntimeError:  # no HOME and no password entry
        home = None
    if sys.platform == "win32":
        appdata = os.environ.get("APPDATA")
        if appdata:
            return pathlib.Path(appdata)
        return home / "AppData" / "Roaming" if home is not None else None
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" if home is not None else None
    xdg = os.environ.get("XDG_CONFIG_HOME")
    if xdg and os.path.isabs(xdg):  # the XDG spec says relative values are to be ignored
        return pathlib.Path(xdg)
    return home / ".config" if home is not None else None


def _candidates() -> builtins.list[pathlib.Path]:
    found: builtins.list[pathlib.Path] = []
    explicit = os.environ.get(ENV_PATH)
    if explicit:
        found.append(pathlib.Path(explicit).expanduser())
    found.append(pathlib.Path.cwd() / FILE_NAME)
    user = _user_config_dir()
    if user is not None:
        found.append(user / "aikit" / FILE_NAME)
    return found


def config_path() -> pathlib.Path | None:
    """The provider file to use: the first existing of ``$AIKIT_PROVIDERS``,
    ``./AIProviders.json`` and the user config dir (``~/.config/aikit/AIProviders.json`` on
    Linux, ``~/Library/Application Support/aikit/...`` on macOS, ``%APPDATA%\\aikit\\...`` on
    Windows). Files are never merged: the first one found is the whole configuration."""
    for candidate in _candidates():
        if candidate.is_file():
            return candidate
    return None


@attrs.frozen
class ModelRoute:
    """Where one request goes: the provider's base URL and credentials, and the model id to
    put in the body. ``api_key`` is ``""`` when the provider has none (no header is sent)."""

    provider: str
    model: str
    base_url: str
    api_key: str = attrs.field(default="", repr=_masked)
    organization: str = ""
    project: str = ""


@attrs.frozen
class _Provider:
    """A validated provider entry: the text fields plus the client settings it carries."""

    base_url: str
    api_key: str = attrs.field(repr=_masked)
    organization: str
    project: str
    settings: Mapping[str, Any] = attrs.field(repr=False)


@attrs.frozen
class _Alias:
    provider: str
    model: str


#: Client settings a provider entry may carry besides its text fields.
_SETTINGS = frozenset(
    {"timeout", "max_retries", "max_concurrent_requests", "custom_headers", "proxies", "verify",
     "max_response_bytes"}
)


def _error(message: str) -> OpenAIError:
    return OpenAIError(message, kind="provider")


class OpenAIProviders:
    """The provider file, read once (4D reads it once per client; create a new client, or a
    new ``OpenAIProviders``, to see edits). Never raises on a bad file: problems are listed in
    ``errors`` and whatever could not be read is left out."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.errors: builtins.list[str] = []
        self._raw: dict[str, dict[str, Any]] = {}
        self._providers: dict[str, _Provider] = {}
        self._aliases: dict[str, _Alias] = {}
        if path is None:
            explicit = os.environ.get(ENV_PATH)
            if explicit and not pathlib.Path(explicit).expanduser().is_file():
                self.errors.append(f"{ENV_PATH} names no existing file: {explicit}")
            self.path: pathlib.Path | None = config_path()
        else:
            self.path = pathlib.Path(path)
        if self.path is not None:
            self._load(self.path)

    def __repr__(self) -> str:
        return (
            f"OpenAIProviders(path={str(self.path) if self.path else None!r}, "
            f"providers={self.list()!r}, aliases={len(self._aliases)}, "
            f"errors={len(self.errors)})"
        )

    # -- loading ------------------------------------------------------------------------
    def _load(self, path: pathlib.Path) -> None:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            self.errors.append(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})")
            return
        except UnicodeDecodeError:
            self.errors.append(f"{path}: not UTF-8 text")
            return
        try:
            data = json.loads(text)
        except ValueError as exc:  # the message gives the position, never the text
            self.errors.append(f"{path}: not valid JSON: {exc}")
            return
        except RecursionError:
            self.errors.append(f"{path}: nested too deeply")
            return
        if not isinstance(data, dict):
            self.errors.append(f"{path}: must hold a JSON object")
            return
        providers = data.get("providers", {})
        models = data.get("models", {})
        if not isinstance(providers, dict) or not isinstance(models, dict):
            self.errors.append(f'{path}: "providers" and "models" must be JSON objects')
            return
        for name, entry in providers.items():
            provider = self._provider(name, entry)
            if provider is not None:
                self._raw[name] = entry
                self._providers[name] = provider
        for alias, entry in models.items():
            if not isinstance(entry, dict):
                self.errors.append(f"Model alias '{alias}' must be a JSON object; ignored")
                continue
            self._aliases[alias] = _Alias(
                self._text(entry.get("provider"), f"Model alias '{alias}'", "provider"),
                self._text(entry.get("model"), f"Model alias '{alias}'", "model"),
            )

    def _text(self, value: Any, owner: str, key: str) -> str:
        """4D's ``String()`` coercion; objects and arrays are refused (and never echoed)."""
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return str(value)
        self.errors.append(f"{owner}: '{key}' must be text; ignored")
        return ""

    def _provider(self, name: str, entry: Any) -> _Provider | None:
        owner = f"Provider '{name}'"
        if not isinstance(entry, dict):
            self.errors.append(f"{owner} must be a JSON object; ignored")
            return None
        values: dict[str, Any] = {}
        for key, value in entry.items():
            field = snake_case(key) if isinstance(key, str) else ""
            if field in values:  # ``baseURL`` and ``base_url`` both given: the first wins
                continue
            if field in _TEXT_FIELDS:
                values[field] = self._text(value, owner, key)
            elif field in _SETTINGS:
                try:
                    values[field] = SETTING_CHECKS[field](value)
                except (TypeError, ValueError):
                    self.errors.append(f"{owner}: '{key}' has an invalid value; ignored")
        texts = {f: values.pop(f, "") for f in _TEXT_FIELDS}
        return _Provider(settings=values, **texts)

    # -- 4D API -------------------------------------------------------------------------
    def get(self, name: str) -> dict[str, Any] | None:
        """A deep copy of the provider's entry as written, plus ``name`` and its aliases as
        ``model_aliases`` (and ``modelAliases``, 4D's name), sorted by alias name."""
        raw = self._raw.get(name)
        if raw is None:
            return None
        out = copy.deepcopy(raw)
        out["name"] = name
        aliases = [a for a in self.model_aliases() if a["provider"] == name]
        out["model_aliases"] = aliases
        out["modelAliases"] = copy.deepcopy(aliases)
        return out

    def list(self) -> builtins.list[str]:
        """Provider names in file order, as written (also those containing ``:``)."""
        return builtins.list(self._providers)

    def model_aliases(self) -> builtins.list[dict[str, str]]:
        """Every alias as ``{"name", "provider", "model"}``, sorted by name."""
        return [
            {"name": name, "provider": alias.provider, "model": alias.model}
            for name, alias in sorted(self._aliases.items())
        ]

    modelAliases = model_aliases  # 4D's name

    # -- resolution ---------------------------------------------------------------------
    def resolve_model(self, model: str) -> ModelRoute | OpenAIError | None:
        """Where a request for ``model`` goes; None means "a plain model id": send it
        unchanged to the client's own base URL.

        In order:

        1. ``model`` is an alias (a key of ``"models"``, exact match): its provider and model.
        2. ``model`` is ``"<provider>:<id>"`` for a configured provider: the longest matching
           provider name wins, so ``"my:prov:gpt-4o"`` goes to provider ``my:prov`` when it
           exists, and ``"ollama:llama3:8b"`` to ``ollama`` with model ``llama3:8b``.
        3. Otherwise, when the file defines no provider at all, or the text before the first
           ``:`` is ``ft`` (fine-tuned ids such as ``ft:gpt-4o-mini:org::abc``), or there is
           no ``:``: None. Ids with ``:`` therefore work unchanged without a provider file.
        4. Otherwise (``"x:..."`` while providers are configured but ``x`` is not one):
           an error "Provider 'x' not found in configuration", rather than sending a
           provider-qualified name to the wrong service. An Ollama tag such as ``llama3:8b``
           used directly then needs its server configured as a provider (``ollama:llama3:8b``).
        """
        alias = self._aliases.get(model)
        if alias is not None:
            return self._resolve_alias(model, alias)
        if ":" not in model:
            return None
        end = len(model)
        while True:
            end = model.rfind(":", 0, end)
            if end < 0:
                break
            name = model[:end]
            if name in self._providers:
                return self._route(name, model[end + 1:], model)
        prefix = model.partition(":")[0]
        if not self._providers or prefix in MODEL_NAMESPACES:
            return None
        return _error(f"Provider '{prefix}' not found in configuration")

    def _resolve_alias(self, name: str, alias: _Alias) -> ModelRoute | OpenAIError:
        if not alias.provider:
            return _error(f"Model alias '{name}' has no provider defined")
        if alias.provider not in self._providers:
            return _error(
                f"Model alias '{name}': Provider '{alias.provider}' not found in configuration"
            )
        if not alias.model:
            return _error(f"Model alias '{name}' has no model defined")
        return self._route(alias.provider, alias.model, name)

    def _route(self, name: str, model: str, asked: str) -> ModelRoute | OpenAIError:
        provider = self._providers[name]
        if not provider.base_url:
            return _error(f"Provider '{name}' missing required baseURL")
        if not model:
            return _error(f"Model '{asked}' names provider '{name}' but no model")
        api_key = provider.api_key or _env_key(name)
        try:
            check_api_key(api_key)
        except ValueError:  # the same refusal as OpenAI(api_key=...), the key never shown
            return _error(f"Provider '{name}': its API key contains whitespace or control "
                          "characters")
        return ModelRoute(
            provider=name,
            model=model,
            base_url=provider.base_url,
            api_key=api_key,
            organization=provider.organization,
            project=provider.project,
        )

    def apply_settings(self, settings: dict[str, Any], name: str) -> OpenAIError | None:
        """``OpenAI(provider=name)``: fill ``settings`` (snake_case client settings) from the
        provider entry where no value was given (explicit values win, as in 4D). The key is
        the provider's own, else ``<NAME>_API_KEY``. An unknown provider or one without a
        base URL returns an error for the client to report on every call; nothing raises."""
        provider = self._providers.get(name)
        if provider is None:
            return _error(f"Provider '{name}' not found in configuration")
        values: dict[str, Any] = {
            "base_url": provider.base_url,
            "api_key": provider.api_key or _env_key(name),
            "organization": provider.organization,
            "project": provider.project,
            **provider.settings,
        }
        for key, value in values.items():
            if settings.get(key) in (None, "") and value not in (None, ""):
                settings[key] = copy.deepcopy(value)
        if not settings.get("base_url"):
            return _error(f"Provider '{name}' missing required baseURL")
        return None


def _env_key(name: str) -> str:
    """``UPPER(name)_API_KEY`` verbatim (4D), then with non-alphanumerics as ``_``."""
    upper = name.upper()
    key = os.environ.get(f"{upper}_API_KEY", "")
    if not key:
        safe = _NOT_ENV_CHAR.sub("_", upper)
        if safe != upper:
            key = os.environ.get(f"{safe}_API_KEY", "")
    return key
