"""Explaining predictions: attributions for images, series and text, and their faithfulness.

One call shape for every method, as in Captum::

    attribution = explain(model, inputs, target=None, method="gradcam", layer=None, seed=0)
    faithfulness(model, attribution)  # deletion / insertion curves and their areas

``inputs`` is a batch: float images (N, C, H, W), float series (N, C, L) or integer token
ids (N, L). Results are plain objects; the figures live in ``deepscope.plots``.
"""

from deepscope.explain.attribution import METHODS as METHODS
from deepscope.explain.attribution import Attribution as Attribution
from deepscope.explain.attribution import applicable_methods as applicable_methods
from deepscope.explain.attribution import default_method as default_method
from deepscope.explain.attribution import explain as explain
from deepscope.explain.attribution import input_kind as input_kind
from deepscope.explain.audit import AuditResult as AuditResult
from deepscope.explain.audit import audit as audit
from deepscope.explain.faithfulness import Faithfulness as Faithfulness
from deepscope.explain.faithfulness import faithfulness as faithfulness
from deepscope.explain.features import feature_mask as feature_mask
from deepscope.explain.features import series_segments as series_segments
from deepscope.explain.features import superpixels as superpixels
from deepscope.explain.features import token_features as token_features
from deepscope.explain.interpret import Calibration as Calibration
from deepscope.explain.interpret import ConfusedPair as ConfusedPair
from deepscope.explain.interpret import Interpretation as Interpretation
from deepscope.explain.interpret import interpret as interpret

__all__ = [
    "METHODS",
    "Attribution",
    "AuditResult",
    "Calibration",
    "ConfusedPair",
    "Interpretation",
    "Faithfulness",
    "applicable_methods",
    "audit",
    "default_method",
    "explain",
    "faithfulness",
    "feature_mask",
    "input_kind",
    "interpret",
    "series_segments",
    "superpixels",
    "token_features",
]
