"""Datasets: one spec for every source (built-in, files, downloads, arrays)."""

from deepscope.data import builtin as builtin  # registers 'digits'
from deepscope.data.arrays import from_arrays as from_arrays
from deepscope.data.catalog import DATASETS as DATASETS
from deepscope.data.catalog import load as load
from deepscope.data.catalog import register_dataset as register_dataset
from deepscope.data.spec import Dataset as Dataset
from deepscope.data.spec import split_train_val as split_train_val

__all__ = ["DATASETS", "Dataset", "from_arrays", "load", "register_dataset", "split_train_val"]
