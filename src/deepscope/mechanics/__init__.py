"""Convolution, pooling, dense, softmax and RNN written the way they are taught (numpy only),
with receptive fields, step-by-step records and pooling's shift invariance.

Every op is a reference implementation for small inputs, cross-checked against torch in the
tests; figures of these results live in ``deepscope.plots.mechanics``. One exception to
"numpy only": :func:`grad_check` compares a torch model's autograd gradients with finite
differences, so it imports torch -- when called, so importing this package stays torch-free.
"""

from deepscope.mechanics.examples import EXAMPLE_IMAGES as EXAMPLE_IMAGES
from deepscope.mechanics.examples import example_image as example_image
from deepscope.mechanics.gradcheck import GradCheck as GradCheck
from deepscope.mechanics.gradcheck import grad_check as grad_check
from deepscope.mechanics.invariance import ShiftInvariance as ShiftInvariance
from deepscope.mechanics.invariance import pooling_shift_invariance as pooling_shift_invariance
from deepscope.mechanics.invariance import shift_image as shift_image
from deepscope.mechanics.kernels import KERNELS as KERNELS
from deepscope.mechanics.kernels import get_kernel as get_kernel
from deepscope.mechanics.kernels import load_kernel as load_kernel
from deepscope.mechanics.ops import avg_pool2d as avg_pool2d
from deepscope.mechanics.ops import conv2d as conv2d
from deepscope.mechanics.ops import conv_output_size as conv_output_size
from deepscope.mechanics.ops import dense as dense
from deepscope.mechanics.ops import max_pool2d as max_pool2d
from deepscope.mechanics.ops import padding_amounts as padding_amounts
from deepscope.mechanics.ops import relu as relu
from deepscope.mechanics.ops import simple_rnn as simple_rnn
from deepscope.mechanics.ops import softmax as softmax
from deepscope.mechanics.receptive import ReceptiveField as ReceptiveField
from deepscope.mechanics.receptive import receptive_field as receptive_field
from deepscope.mechanics.steps import ConvPipeline as ConvPipeline
from deepscope.mechanics.steps import ConvStep as ConvStep
from deepscope.mechanics.steps import ConvSteps as ConvSteps
from deepscope.mechanics.steps import KernelStack as KernelStack
from deepscope.mechanics.steps import apply_kernels as apply_kernels
from deepscope.mechanics.steps import conv2d_steps as conv2d_steps
from deepscope.mechanics.steps import conv_pipeline as conv_pipeline

__all__ = [
    "EXAMPLE_IMAGES",
    "KERNELS",
    "ConvPipeline",
    "ConvStep",
    "ConvSteps",
    "GradCheck",
    "KernelStack",
    "ReceptiveField",
    "ShiftInvariance",
    "apply_kernels",
    "avg_pool2d",
    "conv2d",
    "conv2d_steps",
    "conv_output_size",
    "conv_pipeline",
    "dense",
    "example_image",
    "get_kernel",
    "grad_check",
    "load_kernel",
    "max_pool2d",
    "padding_amounts",
    "pooling_shift_invariance",
    "receptive_field",
    "relu",
    "shift_image",
    "simple_rnn",
    "softmax",
]
