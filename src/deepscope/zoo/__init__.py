"""Named architectures: ``create(name, data=...)`` builds a plain ``torch.nn.Module``."""

from deepscope.zoo import cnn as cnn  # registers lecture_cnn, mnist_cnn
from deepscope.zoo import dense as dense  # registers softmax_regression, mlp, mnist_mlp
from deepscope.zoo.registry import MODELS as MODELS
from deepscope.zoo.registry import ZooInfo as ZooInfo
from deepscope.zoo.registry import create as create
from deepscope.zoo.registry import info as info
from deepscope.zoo.registry import register as register

__all__ = ["MODELS", "ZooInfo", "create", "info", "register"]
