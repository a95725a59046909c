"""A tiny name -> builder registry with metadata and did-you-mean suggestions.

Registration is explicit (a decorator in the module that defines the builder); the registry
never imports or edits modules by itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from deepscope.errors import InvalidArgumentError, UnknownNameError

__all__ = ["Entry", "Registry"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Entry(Generic[F]):
    """One registered builder and the metadata it was registered with."""

    name: str
    builder: F
    meta: dict[str, Any] = field(default_factory=dict)


class Registry(Generic[F]):
    """Maps names to builders. ``what`` names the kind of thing in error messages."""

    def __init__(self, what: str):
        self.what = what
        self._entries: dict[str, Entry[F]] = {}

    def register(self, name: str, **meta: Any) -> Callable[[F], F]:
        """Decorator: register the decorated builder under ``name`` with ``meta``."""

        def decorate(builder: F) -> F:
            if name in self._entries:
                raise InvalidArgumentError(f"{self.what} {name!r} is already registered.")
            self._entries[name] = Entry(name, builder, dict(meta))
            return builder

        return decorate

    def get(self, name: str) -> Entry[F]:
        """The entry for ``name``; raises :class:`UnknownNameError` with suggestions."""
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(self.what, name, self._entries) from None

    def names(self) -> list[str]:
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry[F]]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)
