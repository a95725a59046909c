"""Training: the fit loop, tasks, optimizers/schedules, evaluation and run folders."""

from deepscope.train.callbacks import Callback as Callback
from deepscope.train.callbacks import ProgressBar as ProgressBar
from deepscope.train.callbacks import TrainState as TrainState
from deepscope.train.evaluate import AnyEvaluation as AnyEvaluation
from deepscope.train.evaluate import Evaluation as Evaluation
from deepscope.train.evaluate import RegressionEvaluation as RegressionEvaluation
from deepscope.train.evaluate import Seq2SeqEvaluation as Seq2SeqEvaluation
from deepscope.train.evaluate import evaluate as evaluate
from deepscope.train.evaluate import evaluate_data as evaluate_data
from deepscope.train.evaluate import evaluate_regression as evaluate_regression
from deepscope.train.evaluate import evaluate_seq2seq as evaluate_seq2seq
from deepscope.train.evaluate import predict_outputs as predict_outputs
from deepscope.train.evaluate import predict_proba as predict_proba
from deepscope.train.evaluate import primary_score as primary_score
from deepscope.train.loop import fit as fit
from deepscope.train.optim import OPTIMIZERS as OPTIMIZERS
from deepscope.train.optim import SCHEDULES as SCHEDULES
from deepscope.train.run import Run as Run

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "AnyEvaluation",
    "Callback",
    "Evaluation",
    "ProgressBar",
    "RegressionEvaluation",
    "Run",
    "Seq2SeqEvaluation",
    "TrainState",
    "evaluate",
    "evaluate_data",
    "evaluate_regression",
    "evaluate_seq2seq",
    "fit",
    "predict_outputs",
    "predict_proba",
    "primary_score",
]
