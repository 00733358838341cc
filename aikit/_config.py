"""Client settings from the constructor forms of DESIGN §1, then the environment.

Forms: nothing; a key; a key and a base URL (or a key and a settings dict); a settings dict in
4D camelCase or snake_case; a path to a JSON file holding such a dict; keyword arguments.
"""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Mapping
from typing import Any

from ._records import snake_case

__all__ = [
    "DEFAULT_BASE_URL", "SETTINGS", "check_headers", "check_int", "check_str", "check_timeout",
    "collect_settings", "env_defaults",
]

DEFAULT_BASE_URL = "https://api.openai.com/v1"

#: Settings a dict or JSON file may carry (4D's ``_configurable`` plus aikit's own).
SETTINGS = frozenset(
    {
        "api_key", "base_url", "organization", "project", "max_retries", "timeout",
        "http_agent", "custom_headers", "provider", "max_concurrent_requests", "proxies",
        "verify",
    }
)

_ENV = (
    ("api_key", "OPENAI_API_KEY"),
    ("base_url", "OPENAI_BASE_URL"),
    ("organization", "OPENAI_ORG_ID"),
    ("project", "OPENAI_PROJECT_ID"),
)


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
    except ValueError as exc:
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
    """Merge positional forms and keywords (keywords win). Raises TypeError naming the argument."""
    if len(args) > 2:
        raise TypeError(f"OpenAI() takes at most 2 positional arguments ({len(args)} given)")
    settings: dict[str, Any] = {}
    if args:
        first = args[0]
        if isinstance(first, str):
            settings["api_key"] = first
            if len(args) == 2:
                second = args[1]
                if isinstance(second, str):
                    settings["base_url"] = second
                elif second is not None:
                    settings.update(_from_object(second, "base_url"))
        elif first is not None:
            if len(args) == 2 and args[1] is not None:
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


def check_str(value: Any, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError(f"`{name}` must be a str, not {type(value).__name__}")
    return value


def check_int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"`{name}` must be an int, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, not {value}")
    return value


def check_timeout(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"`timeout` must be a number of seconds, not {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"`timeout` must be > 0 seconds, not {value}")
    return float(value)


def check_headers(value: Any, name: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise TypeError(f"`{name}` must be a dict of str to str")
    return dict(value)
