"""Training: the fit loop, tasks, optimizers/schedules, evaluation and run folders."""

from deepscope.train.callbacks import Callback as Callback
from deepscope.train.callbacks import ProgressBar as ProgressBar
from deepscope.train.callbacks import TrainState as TrainState
from deepscope.train.evaluate import Evaluation as Evaluation
from deepscope.train.evaluate import evaluate as evaluate
from deepscope.train.evaluate import predict_proba as predict_proba
from deepscope.train.loop import fit as fit
from deepscope.train.optim import OPTIMIZERS as OPTIMIZERS
from deepscope.train.optim import SCHEDULES as SCHEDULES
from deepscope.train.run import Run as Run

__all__ = ["OPTIMIZERS", "SCHEDULES", "Callback", "Evaluation", "ProgressBar", "Run", "TrainState", "evaluate", "fit",
           "predict_proba"]
