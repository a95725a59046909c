"""Hyperparameter search with Optuna, on the validation metric only.

A search space is a dict ``name -> Param`` (recipe fields such as ``lr``, ``batch_size``,
``augment``; model arguments as ``model.<arg>``), read from a small TOML file or from
``name=spec`` strings (``lr=1e-4..1e-2:log``, ``batch_size=32,64,128``, ``epochs=2..6``). Every
trial trains one run folder; the study lives in a SQLite file beside them, so a crashed search
resumes where it stopped and Optuna's own tools can read it. The first trial is the recipe's
own point, so the best trial is never worse on validation than the default. TPE samples;
median or successive-halving pruning stops trials whose intermediate validation scores trail.

The test split is sealed while trials run (reading it raises :class:`SealedTestSplitError`);
it is opened once, after the search, to score the chosen configuration.
"""

from __future__ import annotations

import math
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch.utils.data import TensorDataset

from deepscope.errors import DeepscopeError, InvalidArgumentError, invalid
from deepscope.recipe import parse_value
from deepscope.train.callbacks import Callback, TrainState

__all__ = [
    "PRUNERS",
    "Param",
    "SealedSplit",
    "SealedTestSplitError",
    "Trial",
    "parse_space",
    "read_space",
    "sealed",
    "search",
]

PRUNERS = ("median", "halving", "none")


class SealedTestSplitError(DeepscopeError):
    """Something read the test split while hyperparameters were being chosen."""


class SealedSplit(TensorDataset):
    """Stands in for the test split during a search: it knows its size, and reading it raises."""

    def __init__(self, size: int) -> None:  # no super().__init__: there are no tensors to hold
        self.size = size

    def __len__(self) -> int:
        return self.size

    def _refuse(self) -> Any:
        raise SealedTestSplitError(
            "The test split is sealed while hyperparameters are chosen: trials are scored on validation only, "
            "and the chosen configuration is scored on test once, after the search."
        )

    @property
    def tensors(self) -> Any:  # type: ignore[override]
        return self._refuse()

    def __getitem__(self, index: Any) -> Any:
        return self._refuse()


@dataclass(frozen=True)
class Param:
    """One dimension of a search space: ``low..high`` (``log`` scale) for numbers, else
    ``choices``."""

    name: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False
    choices: tuple[Any, ...] | None = None

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is a point of this dimension."""
        if self.choices is not None:
            return value in self.choices
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        return self.low <= value <= self.high and (not self.integer or float(value).is_integer())

    def suggest(self, trial: Any) -> Any:
        if self.choices is not None:
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.integer:
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.name, float(self.low), float(self.high), log=self.log)

    def __str__(self) -> str:
        if self.choices is not None:
            return f"{self.name} in {{{', '.join(map(str, self.choices))}}}"
        return f"{self.name} in [{self.low:g}, {self.high:g}]" + (" (log)" if self.log else "")


def parse_space(items: list[str]) -> dict[str, Param]:
    """``['lr=1e-4..1e-2:log', 'batch_size=32,64,128', 'epochs=2..6']`` -> a search space."""
    space: dict[str, Param] = {}
    for item in items:
        name, sep, spec = item.partition("=")
        name = name.strip()
        if not sep or not name or not spec.strip():
            raise invalid("param", "NAME=LOW..HIGH[:log] or NAME=A,B,C", item)
        if name in space:
            raise invalid("param", "each name once", item)
        if ".." in spec:
            bounds, _, flag = spec.partition(":")
            low_text, _, high_text = bounds.partition("..")
            low, high = parse_value(low_text), parse_value(high_text)
            space[name] = _range(name, low, high, flag.strip() == "log", item)
            if flag.strip() not in ("", "log"):
                raise invalid("param", "a range flag of ':log' or none", item)
        else:
            choices = tuple(parse_value(v) for v in spec.split(","))
            space[name] = Param(name, choices=choices)
    return space


def _range(name: str, low: Any, high: Any, log: bool, item: Any) -> Param:
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high))
    if not numbers or not math.isfinite(low) or not math.isfinite(high) or not low < high or (log and low <= 0):
        raise invalid("param", "a range LOW..HIGH of finite numbers, LOW < HIGH (LOW > 0 for :log)", item)
    integer = isinstance(low, int) and isinstance(high, int)
    return Param(name, low, high, log, integer)


def read_space(path: str | Path) -> dict[str, Param]:
    """A search space from TOML: one table per name, with ``low``/``high``/``log`` or
    ``choices`` -- e.g. ``[lr]`` / ``low = 1e-4`` / ``high = 1e-2`` / ``log = true``."""
    from deepscope import limits

    raw = limits.read_bytes(path, "search space file", limit=1 << 20)
    try:
        tables = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise InvalidArgumentError(f"Search space file {path} is not valid TOML: {error}.") from None
    space: dict[str, Param] = {}
    for name, table in tables.items():
        if not isinstance(table, Mapping):
            raise InvalidArgumentError(f"Search space file {path}: [{name}] must be a table with low/high or choices.")
        unknown = set(table) - {"low", "high", "log", "choices"}
        if unknown:
            raise InvalidArgumentError(f"Search space file {path}: [{name}] has unknown keys {sorted(unknown)}.")
        if "choices" in table:
            if not isinstance(table["choices"], list) or not table["choices"]:
                raise InvalidArgumentError(f"Search space file {path}: [{name}] choices must be a non-empty list.")
            space[name] = Param(name, choices=tuple(table["choices"]))
        else:
            space[name] = _range(name, table.get("low"), table.get("high"), bool(table.get("log", False)), f"[{name}]")
    if not space:
        raise InvalidArgumentError(f"Search space file {path} defines no parameter.")
    return space


class _Report(Callback):
    """Reports each epoch's validation value to the Optuna trial and stops a pruned trial."""

    def __init__(self, trial: Any, monitor: str):
        self.trial, self.monitor, self.pruned = trial, monitor, False

    def on_epoch_end(self, state: TrainState, logs: dict[str, float]) -> None:
        value = logs.get(self.monitor)
        if value is None:
            return
        self.trial.report(float(value), state.epoch)
        if self.trial.should_prune():
            self.pruned, state.stop = True, True


@dataclass(frozen=True)
class Trial:
    """One finished trial: its number, parameters, best validation value, state, folder."""

    number: int
    params: dict[str, Any]
    value: float | None
    state: str
    path: Path | None
    seconds: float | None


def search(
    train_trial: Callable[[dict[str, Any], Path, list[Callback]], Any],
    space: Mapping[str, Param],
    *,
    folder: str | Path,
    trials: int,
    default: Mapping[str, Any],
    direction: str,
    monitor: str,
    pruner: str = "median",
    seed: int = 0,
    timeout: float | None = None,
    echo: Callable[[str], None] | None = None,
) -> tuple[Any, list[Trial]]:
    """Run (or resume) the study in ``folder/study.db`` until it holds ``trials`` finished
    trials. ``train_trial(params, out, callbacks)`` trains one run into ``out`` and returns
    its Run (whose ``best_value`` is the objective); ``default`` is the recipe's own point,
    tried first. Returns the Optuna study and its trials."""
    import optuna

    if pruner not in PRUNERS:
        from deepscope.errors import UnknownNameError

        raise UnknownNameError("pruner", pruner, PRUNERS)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    chosen_pruner = {
        "median": optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1),
        "halving": optuna.pruners.SuccessiveHalvingPruner(),
        "none": optuna.pruners.NopPruner(),
    }[pruner]
    study = optuna.create_study(
        study_name="deepscope",
        storage=f"sqlite:///{(folder / 'study.db').resolve()}",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=chosen_pruner,
        direction=direction,
        load_if_exists=True,
    )
    _fail_stale_trials(study)
    if not study.trials:  # the recipe's own point first (its values that lie in the space)
        study.enqueue_trial({k: v for k, v in default.items() if k in space and space[k].contains(v)})
    done = sum(t.state.is_finished() for t in study.trials)

    def objective(trial: Any) -> float:
        params = {name: param.suggest(trial) for name, param in space.items()}
        out = folder / f"trial-{trial.number:04d}"
        trial.set_user_attr("path", str(out))
        report = _Report(trial, monitor)
        started = time.perf_counter()
        run = train_trial(params, out, [report])
        trial.set_user_attr("seconds", time.perf_counter() - started)
        if echo:
            shown = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())
            state = "pruned" if report.pruned else f"{monitor} {run.best_value:.4f}"
            echo(f"trial {trial.number:>3}: {shown} -> {state}")
        if report.pruned:
            raise optuna.TrialPruned()
        if run.best_value is None or not math.isfinite(run.best_value):
            raise optuna.TrialPruned()
        return float(run.best_value)

    if trials > done:
        study.optimize(objective, n_trials=trials - done, timeout=timeout, catch=(DeepscopeError,))
    return study, [_trial(t) for t in study.trials]


def _fail_stale_trials(study: Any) -> None:
    """Trials left RUNNING by a search that was killed are marked failed, so resuming
    neither waits on them nor counts them (one search per study at a time)."""
    from optuna.trial import TrialState

    # Optuna fails stale trials publicly only through heartbeats, after a grace period; a
    # search resumed at once would wait on them, so the storage is told directly.
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study._storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)


def _trial(frozen: Any) -> Trial:
    path = frozen.user_attrs.get("path")
    return Trial(
        frozen.number,
        dict(frozen.params),
        frozen.value,
        frozen.state.name.lower(),
        Path(path) if path else None,
        frozen.user_attrs.get("seconds"),
    )


def sealed(data: Any) -> Any:
    """A shallow copy of Dataset ``data`` whose test split is sealed (its fingerprint, which
    hashes every split, is taken first, so trial run folders record the real data's)."""
    import copy

    from deepscope.train.run import fingerprint

    copy_ = copy.copy(data)
    copy_.fingerprint = fingerprint(data)
    copy_.test = SealedSplit(len(data.test))
    return copy_
