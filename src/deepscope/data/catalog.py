"""The named-dataset registry and ``load(spec)``, the one way to get a Dataset by name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from deepscope.data.spec import Dataset, check_seed, check_val_fraction
from deepscope.data.subset import SUBSET_OPTIONS, subset
from deepscope.errors import DataError, InvalidArgumentError, invalid
from deepscope.registry import Registry

__all__ = ["DATASETS", "Loader", "load", "register_dataset"]

# A loader takes the PATH part of 'kind:PATH' (or None) and the split settings.
Loader = Callable[..., Dataset]
DATASETS: Registry[Loader] = Registry("dataset")


def register_dataset(
    name: str,
    *,
    kind: str,
    expects: str,
    summary: str,
    needs_path: bool = False,
    downloadable: bool = False,
    reads_classes: bool = False,
    wraps: bool = False,
):
    """Register a loader under ``name``. ``expects`` says what PATH must hold (for
    ``deepscope datasets`` and for error messages); ``downloadable`` sets take PATH or, without
    it, the cache that ``--download`` fills. A ``reads_classes`` loader takes ``classes``, the
    spec's ``classes=`` names (or None), and may skip decoding the samples of other classes --
    it must still return every class, split as without the hint (``subset`` selects them).
    A ``wraps`` loader takes another data spec as PATH and gets the spec's ``classes=`` /
    ``per_class=`` settings with it: they select the wrapped data's samples (``pairs:`` makes
    pairs of the selected images, which have no classes of their own)."""
    return DATASETS.register(
        name,
        kind=kind,
        expects=expects,
        summary=summary,
        needs_path=needs_path,
        downloadable=downloadable,
        reads_classes=reads_classes,
        wraps=wraps,
    )


def load(spec: str, *, val_fraction: float = 0.1, seed: int = 0, download: bool = False) -> Dataset:
    """Resolve a data spec such as ``'digits'`` or ``'mnist:~/data/mnist'`` to a Dataset.

    The validation split is ``val_fraction`` of train, carved with ``seed`` (stratified);
    ``download=True`` lets loaders of standard sets fetch missing files into the cache.
    ``val_fraction`` must be a float in [0, 1) and ``seed`` an int; both are checked here,
    before any file is read.
    """
    if not isinstance(spec, str) or not spec:
        raise invalid("data", "a data spec string such as 'digits' or 'mnist:PATH'", spec)
    val_fraction, seed = check_val_fraction(val_fraction), check_seed(seed)
    name, _, where = spec.partition(":")
    if "?" in name:  # 'digits?classes=0,1': settings without a path
        name, _, query = name.partition("?")
        where = f"?{query}{':' + where if where else ''}"
    entry = DATASETS.get(name)
    # classes= / per_class= work for every loader; a wrapper's go to the spec it wraps
    own, generic = (where, {}) if entry.meta.get("wraps") else _generic_options(where)
    path = Path(own).expanduser() if own else None
    part, sep, _ = own.partition("?")
    if not sep and "=" in part:  # 'addition:digits=2': settings only, no path
        part = ""
    if not part and entry.meta["needs_path"]:
        before = " before the settings" if where else ""
        raise DataError(f"Dataset {name!r} needs a path{before}: '{name}:PATH', where PATH is {entry.meta['expects']}.")
    hint = {}
    if entry.meta.get("reads_classes"):
        hint["classes"] = [c.strip() for c in generic["classes"].split(",")] if "classes" in generic else None
    dataset = entry.builder(path, val_fraction=val_fraction, seed=seed, download=download, **hint)
    dataset = subset(dataset, generic, val_fraction=val_fraction, seed=seed)
    if not dataset.spec:  # a loader that wraps another spec sets its own (shortcut:...)
        dataset.spec = _absolute_spec(name, where) if where else spec
    dataset.info["split"] = {"val_fraction": val_fraction, "seed": seed}  # run folders reload the same split
    return dataset


def _generic_options(where: str) -> tuple[str, dict[str, str]]:
    """Split the settings every dataset takes (``SUBSET_OPTIONS``) off a spec's PATH?query."""
    part, sep, query = where.partition("?")
    if not sep and "=" in part:  # settings only, no path
        part, sep, query = "", "?", part
    if not query:
        return where, {}
    pairs = parse_qsl(query, keep_blank_values=True)
    generic = {key: value for key, value in pairs if key in SUBSET_OPTIONS}
    if len(generic) != sum(key in SUBSET_OPTIONS for key, _ in pairs):
        raise InvalidArgumentError(
            "Each of `classes`, `per_class` and `test_per_class` may be given once in a data spec."
        )
    rest = urlencode([(key, value) for key, value in pairs if key not in SUBSET_OPTIONS], safe=",/:")
    return (f"{part}?{rest}" if rest else part), generic


def _absolute_spec(name: str, where: str) -> str:
    """The spec with an existing relative PATH made absolute, so a run folder reloads its data
    from any working directory (settings after '?' and non-path names such as 'ucr:GunPoint'
    are kept as they are)."""
    part, sep, query = where.partition("?")
    if part and "=" not in part and Path(part).expanduser().exists():
        part = str(Path(part).expanduser().resolve())
    return f"{name}:{part}{sep}{query}"
