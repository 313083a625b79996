"""Every setting as (environment variable, default), for the README and `gridops config`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, SecretStr

from gridops.settings import Settings


def _describe(name: str, default: Any) -> str:
    if isinstance(default, SecretStr):
        # A URL default carries no password; the secrets' defaults are development-only values.
        return default.get_secret_value() if name == "url" else "(development value)"
    if default is None:
        return "unset"
    if isinstance(default, tuple | list):
        return ",".join(str(x) for x in default) if default else "(empty)"
    if isinstance(default, dict):
        return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                         for k, v in default.items())
    return str(default)


def settings_rows(model: type[BaseModel] = Settings, prefix: str = "GRIDOPS_",
                  instance: BaseModel | None = None) -> Iterator[tuple[str, str]]:
    instance = instance or model.model_construct()
    for name, field in model.model_fields.items():
        value = getattr(instance, name, field.default)
        if isinstance(value, BaseModel):
            yield from settings_rows(type(value), f"{prefix}{name.upper()}__", value)
            continue
        yield f"{prefix}{name.upper()}", _describe(name, value)


def markdown_table() -> str:
    lines = ["| variable | default |", "|---|---|"]
    lines += [f"| `{var}` | `{default}` |" for var, default in settings_rows()]
    return "\n".join(lines)
