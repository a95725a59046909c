"""Data-aware augmentation applied to whole mini-batches, each sample its own draw.

``resolve_policy("auto", data)`` picks what suits the data; ``"flip+shift=0.1+erase"``
composes named ops (``OPS``); a :class:`Policy` maps a batch ``(x, y, generator)`` to
``(x, target)``. ``preview`` draws a few samples through a policy for ``deepscope augment``.
"""

from deepscope.data.augment.image import random_affine as random_affine
from deepscope.data.augment.image import random_color as random_color
from deepscope.data.augment.image import random_erase as random_erase
from deepscope.data.augment.image import random_flip as random_flip
from deepscope.data.augment.image import random_resized_crop as random_resized_crop
from deepscope.data.augment.image import random_shift as random_shift
from deepscope.data.augment.policy import OPS as OPS
from deepscope.data.augment.policy import Op as Op
from deepscope.data.augment.policy import Policy as Policy
from deepscope.data.augment.policy import auto_policy as auto_policy
from deepscope.data.augment.policy import make_augment as make_augment
from deepscope.data.augment.policy import parse_policy as parse_policy
from deepscope.data.augment.policy import resolve_policy as resolve_policy
from deepscope.data.augment.preview import Preview as Preview
from deepscope.data.augment.preview import preview as preview
from deepscope.data.augment.series import jitter as jitter
from deepscope.data.augment.series import magnitude_warp as magnitude_warp
from deepscope.data.augment.series import scaling as scaling
from deepscope.data.augment.series import time_warp as time_warp
from deepscope.data.augment.series import window_slice as window_slice
from deepscope.data.augment.text import token_dropout as token_dropout
from deepscope.data.augment.text import token_swap as token_swap

__all__ = [
    "OPS",
    "Op",
    "Policy",
    "Preview",
    "auto_policy",
    "jitter",
    "magnitude_warp",
    "make_augment",
    "parse_policy",
    "preview",
    "random_affine",
    "random_color",
    "random_erase",
    "random_flip",
    "random_resized_crop",
    "random_shift",
    "resolve_policy",
    "scaling",
    "time_warp",
    "token_dropout",
    "token_swap",
    "window_slice",
]
