"""Building blocks that torch.nn lacks, and model introspection helpers."""

from deepscope.nn.summary import LayerRow as LayerRow
from deepscope.nn.summary import ModelSummary as ModelSummary
from deepscope.nn.summary import summary as summary

__all__ = ["LayerRow", "ModelSummary", "summary"]
