"""Seeing inside a trained CNN: filters, feature maps, top-activating patches, activation
maximisation and embedding maps. Every function takes an ``nn.Module`` (layers addressed by
their ``named_modules()`` names) and tensors, and returns a plain result object; the figures
live in ``deepscope.plots``."""

from deepscope.inspect.activations import FeatureMaps as FeatureMaps
from deepscope.inspect.activations import feature_maps as feature_maps
from deepscope.inspect.embedding import Embedding as Embedding
from deepscope.inspect.embedding import embedding_map as embedding_map
from deepscope.inspect.embedding import penultimate_layer as penultimate_layer
from deepscope.inspect.filters import Filters as Filters
from deepscope.inspect.filters import filters as filters
from deepscope.inspect.layers import conv_layers as conv_layers
from deepscope.inspect.layers import get_layer as get_layer
from deepscope.inspect.layers import layer_outputs as layer_outputs
from deepscope.inspect.layers import reading as reading
from deepscope.inspect.layers import spatial_layers as spatial_layers
from deepscope.inspect.maximize import Maximized as Maximized
from deepscope.inspect.maximize import data_max as data_max
from deepscope.inspect.maximize import maximize_activation as maximize_activation
from deepscope.inspect.maximize import maximize_channels as maximize_channels
from deepscope.inspect.patches import TopPatches as TopPatches
from deepscope.inspect.patches import top_patches as top_patches
from deepscope.inspect.words import Neighbours as Neighbours
from deepscope.inspect.words import WordMap as WordMap
from deepscope.inspect.words import embedding_weights as embedding_weights
from deepscope.inspect.words import nearest_words as nearest_words
from deepscope.inspect.words import word_map as word_map

__all__ = [
    "Embedding",
    "FeatureMaps",
    "Filters",
    "Maximized",
    "TopPatches",
    "conv_layers",
    "data_max",
    "embedding_map",
    "feature_maps",
    "filters",
    "get_layer",
    "layer_outputs",
    "maximize_activation",
    "maximize_channels",
    "penultimate_layer",
    "reading",
    "spatial_layers",
    "top_patches",
    "Neighbours",
    "WordMap",
    "embedding_weights",
    "nearest_words",
    "word_map",
]
