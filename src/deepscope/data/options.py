"""Settings written into a data spec after '?': ``series:sales.csv?horizon=12&history=36``.

For loaders that take no path the settings may follow the colon directly:
``addition:digits=2&n=10000``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from deepscope.errors import InvalidArgumentError, closest, invalid

__all__ = ["parse_spec_options"]


def parse_spec_options(
    path: Path | str | None, allowed: Mapping[str, Callable[[str], Any]], *, what: str
) -> tuple[Path | None, dict[str, Any]]:
    """Split ``'PATH?key=value&...'`` into the path (None when empty) and its settings, each
    converted by ``allowed[key]`` (e.g. ``int``); unknown keys fail with did-you-mean."""
    if path is None:
        return None, {}
    text = str(path)
    where, sep, query = text.partition("?")
    if not sep and "=" in where:  # 'addition:digits=2' -- no path, settings only
        where, query = "", where
    options: dict[str, Any] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key not in allowed:
            near = closest(key, allowed)
            hint = f" Did you mean {near[0]!r}?" if near else ""
            raise InvalidArgumentError(
                f"Unknown {what} option {key!r} in the data spec.{hint} Valid options: {', '.join(allowed)}."
            )
        if key in options:
            raise InvalidArgumentError(f"The {what} option {key!r} is given twice in the data spec; give it once.")
        convert = allowed[key]
        try:
            options[key] = convert(value)
        except ValueError:
            raise invalid(key, f"a value of type {getattr(convert, '__name__', convert)}", value) from None
    return (Path(where).expanduser() if where else None), options
