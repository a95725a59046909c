"""Training: the fit loop, tasks, optimizers/schedules, evaluation and run folders."""

from deepscope.train.callbacks import Callback as Callback
from deepscope.train.callbacks import ProgressBar as ProgressBar
from deepscope.train.callbacks import TrainState as TrainState
from deepscope.train.devices import Speed as Speed
from deepscope.train.devices import resolve_device as resolve_device
from deepscope.train.devices import resolve_speed as resolve_speed
from deepscope.train.evaluate import AnyEvaluation as AnyEvaluation
from deepscope.train.evaluate import Evaluation as Evaluation
from deepscope.train.evaluate import Panel as Panel
from deepscope.train.evaluate import RegressionEvaluation as RegressionEvaluation
from deepscope.train.evaluate import Seq2SeqEvaluation as Seq2SeqEvaluation
from deepscope.train.evaluate import TaskEvaluation as TaskEvaluation
from deepscope.train.evaluate import evaluate as evaluate
from deepscope.train.evaluate import evaluate_data as evaluate_data
from deepscope.train.evaluate import evaluate_regression as evaluate_regression
from deepscope.train.evaluate import evaluate_seq2seq as evaluate_seq2seq
from deepscope.train.evaluate import predict_outputs as predict_outputs
from deepscope.train.evaluate import predict_proba as predict_proba
from deepscope.train.evaluate import primary_score as primary_score
from deepscope.train.finetune import find_head as find_head
from deepscope.train.finetune import layer_groups as layer_groups
from deepscope.train.loop import fit as fit
from deepscope.train.lr_find import LRFinder as LRFinder
from deepscope.train.lr_find import lr_find as lr_find
from deepscope.train.optim import OPTIMIZERS as OPTIMIZERS
from deepscope.train.optim import SCHEDULES as SCHEDULES
from deepscope.train.quality import SampleQuality as SampleQuality
from deepscope.train.run import Run as Run
from deepscope.train.tasks import Task as Task
from deepscope.train.tasks import make_task as make_task
from deepscope.train.tasks import resolve_task as resolve_task
from deepscope.train.tasks import train_step as train_step
from deepscope.train.tune import SealedTestSplitError as SealedTestSplitError
from deepscope.train.tune import parse_space as parse_space
from deepscope.train.tune import read_space as read_space

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "AnyEvaluation",
    "Callback",
    "Evaluation",
    "LRFinder",
    "Panel",
    "ProgressBar",
    "RegressionEvaluation",
    "Run",
    "SampleQuality",
    "SealedTestSplitError",
    "Seq2SeqEvaluation",
    "Speed",
    "Task",
    "TaskEvaluation",
    "TrainState",
    "evaluate",
    "evaluate_data",
    "evaluate_regression",
    "evaluate_seq2seq",
    "find_head",
    "fit",
    "layer_groups",
    "lr_find",
    "make_task",
    "parse_space",
    "predict_outputs",
    "predict_proba",
    "primary_score",
    "read_space",
    "resolve_device",
    "resolve_speed",
    "resolve_task",
    "train_step",
]
