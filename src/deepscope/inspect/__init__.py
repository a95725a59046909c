"""Seeing inside a trained network: filters, feature maps, top-activating patches, activation
maximisation, embedding maps and word maps. Every function returns a plain result object; the
figures live in ``deepscope.plots``.

One call shape for the whole family, after Captum's ``Method(model, layer).attribute(inputs)``::

    function(model, layer, inputs, *, options)

- ``model``: any ``nn.Module``.
- ``layer``: a module name from ``model.named_modules()`` (``"0"``, ``"features.3"``), or a
  list of them where the function reads several (``layers``). Always the second positional
  argument. Where a function has a sensible default (the first conv layer, every conv and
  pooling layer, the layer before the last dense layer, the first embedding) pass ``None``:
  ``feature_maps(model, None, x)``. Functions that read no inputs (``filters``,
  ``embedding_weights``) end there, so their ``layer`` may be left out.
- ``inputs``: ONE type, a ``torch.Tensor`` batch shaped (N, *input_shape), float images
  (N, C, H, W) for the image functions; pass ``data.test.tensors[0][:n]``, or ``x[None]`` for
  one image. Never a Dataset, a TensorDataset, a tuple or an unbatched sample. What goes with
  the inputs is a keyword (``embedding_map(..., labels=y, classes=data.classes)``).
  ``maximize_*`` build their own inputs (the third argument is the channel(s)); real images to
  compare with are ``inputs=``. The word functions read the vocabulary in this place:
  ``nearest_words(model, None, vocab.tokens, ["good"])``.
- every option is keyword-only.

Boxes are (top, left, bottom, right) in input pixels, half-open, as
``deepscope.mechanics.ReceptiveField.bounds`` gives them.
"""

from deepscope.inspect.activations import FeatureMaps as FeatureMaps
from deepscope.inspect.activations import feature_maps as feature_maps
from deepscope.inspect.embedding import Embedding as Embedding
from deepscope.inspect.embedding import embedding_map as embedding_map
from deepscope.inspect.embedding import penultimate_layer as penultimate_layer
from deepscope.inspect.filters import Filters as Filters
from deepscope.inspect.filters import filters as filters
from deepscope.inspect.filters import input_dense_layer as input_dense_layer
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
    "input_dense_layer",
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
