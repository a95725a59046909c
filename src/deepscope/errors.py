"""Exception types and message helpers shared by every module.

Every user-facing error is a :class:`DeepscopeError`; the CLI prints its message without a
traceback (``--debug`` shows it). Messages follow one form::

    `padding` must be an int, 'valid' or 'same'. Received: padding='full'

This module imports nothing from deepscope and nothing heavy.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

__all__ = [
    "DeepscopeError",
    "InvalidArgumentError",
    "UnknownNameError",
    "DataError",
    "RunError",
    "TrainingDivergedError",
    "TrainingInterrupted",
    "closest",
    "invalid",
]


class DeepscopeError(Exception):
    """Base class of every error deepscope raises on purpose (bad input, bad files, ...)."""


class InvalidArgumentError(DeepscopeError, ValueError):
    """An argument has the wrong type or value."""


class UnknownNameError(DeepscopeError, ValueError):
    """A name (model, dataset, optimizer, ...) is not registered; suggests the closest ones."""

    def __init__(self, what: str, name: str, choices: Iterable[str]):
        self.what, self.name, self.choices = what, name, sorted(choices)
        message = f"Unknown {what} {name!r}."
        near = closest(name, self.choices)
        if near:
            message += " Did you mean " + " or ".join(repr(n) for n in near) + "?"
        message += f" Valid names: {', '.join(self.choices)}."
        super().__init__(message)


class DataError(DeepscopeError):
    """A data file or folder is missing, malformed or inconsistent."""


class RunError(DeepscopeError):
    """A run folder is missing, damaged, or written by an incompatible version."""


class TrainingDivergedError(DeepscopeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``fit``: a KeyboardInterrupt (so it stops everything as usual) whose
    message names the run folder and says what was saved and how to continue."""

    def __init__(self, message: str, path: Any = None, epochs_done: int = 0):
        super().__init__(message)
        self.path, self.epochs_done = path, epochs_done


def closest(name: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """The valid names closest to ``name`` (case-insensitive), best first."""
    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.5)
    return [lowered[h] for h in hits]


def invalid(arg: str, expected: str, received: Any) -> InvalidArgumentError:
    """Build the standard error "`arg` must be <expected>. Received: arg=<value>"."""
    return InvalidArgumentError(f"`{arg}` must be {expected}. Received: {arg}={received!r}")
