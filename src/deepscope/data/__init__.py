"""Datasets: one spec for every source (built-in, files, downloads, arrays)."""

from deepscope.data import binarize as binarize  # registers 'binarized'
from deepscope.data import builtin as builtin  # registers 'digits'
from deepscope.data import cifar as cifar  # registers 'cifar10'
from deepscope.data import folders as folders  # registers 'images'
from deepscope.data import forecast as forecast  # registers 'series'
from deepscope.data import idx as idx  # registers 'mnist', 'fashion-mnist'
from deepscope.data import pairs as pairs  # registers 'pairs'
from deepscope.data import pretext as pretext  # registers 'rotations'
from deepscope.data import shortcut as shortcut  # registers 'shortcut'
from deepscope.data import synthetic as synthetic  # registers 'addition', 'moving_squares'
from deepscope.data import text as text  # registers 'text', 'imdb'
from deepscope.data import ucr as ucr  # registers 'ucr'
from deepscope.data import words as words  # registers 'words'
from deepscope.data.arrays import from_arrays as from_arrays
from deepscope.data.augment import preview as augment_preview
from deepscope.data.catalog import DATASETS as DATASETS
from deepscope.data.catalog import load as load
from deepscope.data.catalog import register_dataset as register_dataset
from deepscope.data.download import deepscope_home as deepscope_home
from deepscope.data.download import download as download
from deepscope.data.download import download_dataset as download_dataset
from deepscope.data.download import published_file as published_file
from deepscope.data.forecast import forecast_inputs as forecast_inputs
from deepscope.data.idx import read_idx as read_idx
from deepscope.data.images import open_image as open_image
from deepscope.data.images import read_image as read_image
from deepscope.data.images import to_array as to_array
from deepscope.data.shortcut import CUES as CUES
from deepscope.data.shortcut import add_cue as add_cue
from deepscope.data.shortcut import cue_region as cue_region
from deepscope.data.shortcut import cue_swapped as cue_swapped
from deepscope.data.spec import Baseline as Baseline
from deepscope.data.spec import Dataset as Dataset
from deepscope.data.spec import split_train_val as split_train_val
from deepscope.data.text import from_texts as from_texts
from deepscope.data.text import load_imdb as load_imdb
from deepscope.data.text import load_text as load_text
from deepscope.data.text import read_text_file as read_text_file
from deepscope.data.text import spec_with_options as spec_with_options
from deepscope.data.tokenizer import Corpus as Corpus
from deepscope.data.tokenizer import Vocabulary as Vocabulary
from deepscope.data.tokenizer import tokenize as tokenize
from deepscope.data.ucr import read_series as read_series

__all__ = [
    "CUES",
    "add_cue",
    "augment_preview",
    "cue_region",
    "cue_swapped",
    "Corpus",
    "Vocabulary",
    "forecast_inputs",
    "from_texts",
    "load_imdb",
    "load_text",
    "read_text_file",
    "spec_with_options",
    "tokenize",
    "DATASETS",
    "Baseline",
    "Dataset",
    "deepscope_home",
    "download",
    "download_dataset",
    "published_file",
    "from_arrays",
    "load",
    "open_image",
    "read_idx",
    "read_image",
    "read_series",
    "register_dataset",
    "split_train_val",
    "to_array",
]
