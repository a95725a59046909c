"""Named architectures: ``create(name, data=...)`` builds a plain ``torch.nn.Module``."""

from deepscope.zoo import autoencoders as autoencoders  # registers autoencoder, mnist_denoising_autoencoder, ...
from deepscope.zoo import cifar as cifar  # registers cifar10_cnn, cifar10_resnet, cifar10_cnn_capsule
from deepscope.zoo import cnn as cnn  # registers lecture_cnn, mnist_cnn
from deepscope.zoo import dense as dense  # registers softmax_regression, mlp, mnist_mlp
from deepscope.zoo import encoders as encoders  # registers minilm
from deepscope.zoo import gan as gan  # registers dcgan, mnist_acgan
from deepscope.zoo import ocr as ocr  # registers image_ocr
from deepscope.zoo import pixelcnn as pixelcnn  # registers pixelcnn
from deepscope.zoo import (
    pretrained as pretrained,  # registers resnet18, mobilenet_v3_small, efficientnet_b0, efficientnet_lite0
)
from deepscope.zoo import sequence as sequence  # registers addition_rnn, mnist_hierarchical_rnn, conv_lstm
from deepscope.zoo import (
    series as series,  # registers fcn, resnet1d, inception_time, lstm/gru_classifier, cnn1d, forecast_mlp
)
from deepscope.zoo import siamese as siamese  # registers mnist_siamese
from deepscope.zoo import (
    text as text,  # registers imdb_lstm, imdb_cnn, imdb_bidirectional_lstm, imdb_cnn_lstm, imdb_fasttext
)
from deepscope.zoo.registry import MODELS as MODELS
from deepscope.zoo.registry import ZooInfo as ZooInfo
from deepscope.zoo.registry import create as create
from deepscope.zoo.registry import info as info
from deepscope.zoo.registry import register as register

__all__ = ["MODELS", "ZooInfo", "create", "info", "register"]
