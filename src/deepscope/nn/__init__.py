"""Building blocks that torch.nn lacks, and model introspection helpers."""

from deepscope.nn.capsule import Capsule as Capsule
from deepscope.nn.capsule import squash as squash
from deepscope.nn.conv1d import CausalConv1d as CausalConv1d
from deepscope.nn.conv1d import ConvBlock1d as ConvBlock1d
from deepscope.nn.conv1d import GlobalAvgPool1d as GlobalAvgPool1d
from deepscope.nn.conv1d import InceptionModule1d as InceptionModule1d
from deepscope.nn.conv1d import ResidualBlock1d as ResidualBlock1d
from deepscope.nn.conv1d import TimeFirst as TimeFirst
from deepscope.nn.convlstm import ConvLSTM as ConvLSTM
from deepscope.nn.convlstm import ConvLSTMCell as ConvLSTMCell
from deepscope.nn.dropout import Dropout as Dropout
from deepscope.nn.masked import GatedLayer as GatedLayer
from deepscope.nn.masked import HorizontalConv2d as HorizontalConv2d
from deepscope.nn.masked import MaskedConv2d as MaskedConv2d
from deepscope.nn.masked import VerticalConv2d as VerticalConv2d
from deepscope.nn.recurrent import Recurrent as Recurrent
from deepscope.nn.recurrent import SimpleRNN as SimpleRNN
from deepscope.nn.recurrent import TimeDistributed as TimeDistributed
from deepscope.nn.recurrent import keras_init_ as keras_init_
from deepscope.nn.recurrent import lengths_from_mask as lengths_from_mask
from deepscope.nn.summary import LayerRow as LayerRow
from deepscope.nn.summary import ModelSummary as ModelSummary
from deepscope.nn.summary import summary as summary

__all__ = ["LayerRow", "ModelSummary", "summary"]
__all__ += [
    "Capsule",
    "CausalConv1d",
    "ConvBlock1d",
    "ConvLSTM",
    "ConvLSTMCell",
    "Dropout",
    "GatedLayer",
    "GlobalAvgPool1d",
    "HorizontalConv2d",
    "InceptionModule1d",
    "MaskedConv2d",
    "Recurrent",
    "ResidualBlock1d",
    "SimpleRNN",
    "TimeDistributed",
    "TimeFirst",
    "VerticalConv2d",
    "keras_init_",
    "lengths_from_mask",
    "squash",
]
