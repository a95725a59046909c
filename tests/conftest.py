"""Shared fixtures: real data locations (skipped with a reason when absent), seeds, threads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# ../shared beside the checkout (developers and CI have it); DEEPSCOPE_SHARED overrides.
SHARED = Path(os.environ.get("DEEPSCOPE_SHARED", REPO.parent / "shared")).resolve()


@pytest.fixture(autouse=True)
def _pinned_threads_and_seed():
    import torch

    torch.set_num_threads(2)
    torch.manual_seed(0)
    yield


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = SHARED / "data"
    if not path.is_dir():
        pytest.skip(f"real data folder {path} is absent (see shared/data/README.md)")
    return path


@pytest.fixture(scope="session")
def mnist_dir(shared_data: Path) -> Path:
    path = shared_data / "mnist"
    if not (path / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"MNIST IDX files are absent from {path}")
    return path


@pytest.fixture(scope="session")
def digits():
    from deepscope.data import load

    return load("digits")
