"""Client settings and the checks shared by client settings and per-call options.

Constructor forms: nothing; a key; a key (or None: no key) and a base URL or a settings dict;
a settings dict in 4D camelCase or snake_case; a path to a JSON file holding such a dict;
keyword arguments. What is still empty then comes from the ``OPENAI_*`` variables.

One rule for every check, whether the value reaches the client or a single call:
``TypeError`` for a wrong type, ``ValueError`` for a wrong value, the message naming the
argument in backquotes. A value is shown only when it cannot be a secret: numbers are shown,
text, headers and proxies never are (they may carry a key or a password).
"""

from __future__ import annotations

import json
import os
import pathlib
import unicodedata
from collections.abc import Callable, Collection, Mapping
from typing import Any

from ._records import snake_case

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "SETTINGS",
    "SETTING_CHECKS",
    "check_api_key",
    "check_bool",
    "check_callable",
    "check_choice",
    "check_headers",
    "check_int",
    "check_mapping",
    "check_number",
    "check_proxies",
    "check_rate",
    "check_seconds",
    "check_store",
    "check_str",
    "check_verify",
    "collect_settings",
    "env_defaults",
]

DEFAULT_BASE_URL = "https://api.openai.com/v1"

#: Largest decoded body, decompressed body or single stream event a call accepts.
DEFAULT_MAX_RESPONSE_BYTES = 256 * 2**20

#: Settings a dict or JSON file may carry (4D's ``_configurable`` plus aikit's own).
SETTINGS = frozenset(
    {
        "api_key", "base_url", "organization", "project", "max_retries", "timeout",
        "http_agent", "custom_headers", "provider", "max_concurrent_requests", "proxies",
        "verify", "max_response_bytes", "requests_per_minute", "tokens_per_minute",
        "limit_store", "adaptive_limits",
    }
)

_ENV = (
    ("api_key", "OPENAI_API_KEY"),
    ("base_url", "OPENAI_BASE_URL"),
    ("organization", "OPENAI_ORG_ID"),
    ("project", "OPENAI_PROJECT_ID"),
)


# -- constructor forms and environment -------------------------------------------------------


def _from_mapping(obj: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if not isinstance(key, str):
            continue
        name = snake_case(key)
        if name in SETTINGS:  # unknown keys (name, modelAliases, typos) are ignored, as in 4D
            out[name] = value
    return out


def _from_file(path: pathlib.Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"config file not found: {path}") from None
    except ValueError as exc:  # the position only: the file may hold a key
        raise ValueError(f"config file {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"config file {path} must hold a JSON object")
    return _from_mapping(data)


def _from_object(obj: Any, argument: str) -> dict[str, Any]:
    if isinstance(obj, Mapping):
        return _from_mapping(obj)
    if isinstance(obj, os.PathLike):
        return _from_file(pathlib.Path(obj))
    raise TypeError(
        f"OpenAI() argument `{argument}` must be a key (str), a dict of settings or a path "
        f"to a JSON file, not {type(obj).__name__}"
    )


def collect_settings(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Merge positional forms and keywords (keywords win). Raises TypeError naming the argument.

    A first argument of None means "no key", so ``OpenAI(None, url)`` still uses ``url``.
    """
    if len(args) > 2:
        raise TypeError(f"OpenAI() takes at most 2 positional arguments ({len(args)} given)")
    settings: dict[str, Any] = {}
    first = args[0] if args else None
    second = args[1] if len(args) == 2 else None
    if first is None or isinstance(first, str):
        if first:
            settings["api_key"] = first
        if isinstance(second, str):
            settings["base_url"] = second
        elif second is not None:
            settings.update(_from_object(second, "base_url"))
    else:
        if second is not None:
            raise TypeError("OpenAI() takes a second positional argument only after a key")
        settings.update(_from_object(first, "api_key"))
    for key, value in kwargs.items():
        if key not in SETTINGS:
            raise TypeError(f"OpenAI() got an unexpected keyword argument {key!r}")
        if value is not None:
            settings[key] = value
    return settings


def env_defaults(settings: dict[str, Any]) -> None:
    """Fill what is still empty from OPENAI_* variables (4D ``_fillDefaultParameters``)."""
    for name, var in _ENV:
        if not settings.get(name):
            value = os.environ.get(var, "")
            if value:
                settings[name] = value
    if not settings.get("base_url"):
        settings["base_url"] = DEFAULT_BASE_URL


# -- checks ------------------------------------------------------------------------------------


def _type(value: object) -> str:
    return type(value).__name__


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_str(value: Any, name: str) -> str:
    """A str; None counts as ``""`` (an unset client setting)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError(f"`{name}` must be a str, not {_type(value)}")
    return value


def check_api_key(value: Any) -> str:
    """A key as it will go into the ``Authorization`` header; None counts as no key.

    Whitespace or a control character (typically the newline of a key read from a file) would
    make an invalid header or a key the server refuses with a misleading 401, so it is refused
    here. The key is never part of the message, not even masked.
    """
    key = check_str(value, "api_key")
    # Cc: control characters; Cf: invisible format characters (a BOM, a zero-width space).
    if any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf") for ch in key):
        raise ValueError(
            "`api_key` contains whitespace or control characters (a trailing newline from a "
            "file?); strip it before passing it"
        )
    return key


def check_int(value: Any, name: str, minimum: int | None = None) -> int:
    """An int (not a bool), at least ``minimum`` when given."""
    if not _is_int(value):
        raise TypeError(f"`{name}` must be an int, not {_type(value)}")
    if minimum is not None and value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, not {value!r}")
    return int(value)


def check_number(
    value: Any, name: str, low: float | None = None, high: float | None = None
) -> float:
    """An int or float (not a bool), within ``[low, high]`` when bounds are given."""
    if not _is_number(value):
        raise TypeError(f"`{name}` must be a number, not {_type(value)}")
    if (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            bounds = f"between {low:g} and {high:g}"
        else:
            bounds = f">= {low:g}" if low is not None else f"<= {high:g}"
        raise ValueError(f"`{name}` must be {bounds}, not {value!r}")
    return float(value)


def check_seconds(value: Any, name: str) -> float:
    """A duration in seconds, > 0 (``timeout``, ``deadline``): 0 would mean "fail at once"."""
    if not _is_number(value):
        raise TypeError(f"`{name}` must be a number of seconds, not {_type(value)}")
    if not value > 0:  # also refuses NaN
        raise ValueError(f"`{name}` must be > 0 seconds, not {value!r}")
    return float(value)


def check_rate(value: Any, name: str) -> float | None:
    """None (no limit) or a rate per minute: a finite number > 0."""
    if value is None:
        return None
    if not _is_number(value):
        raise TypeError(f"`{name}` must be a number per minute or None, not {_type(value)}")
    if not 0 < value < float("inf"):  # also refuses NaN
        raise ValueError(f"`{name}` must be a finite number > 0, not {value!r}")
    return float(value)


def check_bool(value: Any, name: str) -> bool:
    """A bool (not 0/1: a number here is a mistake)."""
    if not isinstance(value, bool):
        raise TypeError(f"`{name}` must be a bool, not {_type(value)}")
    return value


def check_store(value: Any, name: str = "limit_store") -> Any:
    """None (each client its own ``InProcessStore``) or a rate-limit store: an object with an
    ``update(key, change)`` method (``aikit.limits.Store``)."""
    if value is not None and (
        isinstance(value, Mapping) or not callable(getattr(value, "update", None))
    ):
        raise TypeError(
            f"`{name}` must be a rate-limit store (aikit.limits.InProcessStore, SQLiteStore, "
            f"RedisStore or an object with update(key, change)), not {_type(value)}"
        )
    return value


def check_mapping(value: Any, name: str) -> dict[str, Any]:
    """A dict (any mapping, copied); the content is not shown."""
    if not isinstance(value, Mapping):
        raise TypeError(f"`{name}` must be a dict, not {_type(value)}")
    return dict(value)


def check_headers(value: Any, name: str) -> dict[str, str]:
    """A dict of str to str (copied); None counts as no headers. Values may hold a key."""
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise TypeError(f"`{name}` must be a dict of str to str")
    return dict(value)


def check_proxies(value: Any) -> dict[str, str] | None:
    """None, or ``{"https": "http://proxy:3128"}`` (URLs may hold a password: never shown)."""
    if value is None:
        return None
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise TypeError("`proxies` must be a dict like {'https': 'http://proxy:3128'}")
    return dict(value)


def check_verify(value: Any) -> bool | str | None:
    """None (requests' default), a bool, or a path to a CA bundle."""
    if value is not None and not isinstance(value, (bool, str)):
        raise TypeError(f"`verify` must be a bool or a path to a CA bundle, not {_type(value)}")
    return value


def check_choice(value: Any, name: str, allowed: Collection[str]) -> str:
    """One of ``allowed``; the value is shown (it is an option name, never a secret)."""
    if not isinstance(value, str):
        raise TypeError(f"`{name}` must be a str, not {_type(value)}")
    if value not in allowed:
        choices = " or ".join(repr(a) for a in allowed)
        raise ValueError(f"`{name}` must be {choices}, not {value!r}")
    return value


def check_callable(value: Any, name: str) -> Any:
    if not callable(value):
        raise TypeError(f"`{name}` must be callable, not {_type(value)}")
    return value


#: Each client setting's check (value -> normalised value), for every place settings come from:
#: the constructor, a JSON file, a provider entry.
SETTING_CHECKS: dict[str, Callable[[Any], Any]] = {
    "api_key": check_api_key,
    "base_url": lambda v: check_str(v, "base_url"),
    "organization": lambda v: check_str(v, "organization"),
    "project": lambda v: check_str(v, "project"),
    "timeout": lambda v: check_seconds(v, "timeout"),
    "max_retries": lambda v: check_int(v, "max_retries", 0),
    "max_concurrent_requests": lambda v: check_int(v, "max_concurrent_requests", 1),
    "max_response_bytes": lambda v: check_int(v, "max_response_bytes", 1),
    "custom_headers": lambda v: check_headers(v, "custom_headers"),
    "proxies": check_proxies,
    "verify": check_verify,
    "requests_per_minute": lambda v: check_rate(v, "requests_per_minute"),
    "tokens_per_minute": lambda v: check_rate(v, "tokens_per_minute"),
    "adaptive_limits": lambda v: check_bool(v, "adaptive_limits"),
    "limit_store": check_store,
}
