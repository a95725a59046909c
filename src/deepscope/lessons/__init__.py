"""Lessons you can watch: how training works, as figures and animations on real numbers.

``deepscope lesson`` lists them; ``deepscope lesson NAME`` (or :func:`run`) writes a
lesson's PNGs, its GIF where motion teaches, ``numbers.json`` and a self-contained
``lesson.html`` into a folder. Each lesson uses the project's own trainer, mechanics and
plots, runs offline on built-in data, and takes well under a minute on a 2-core CPU. Lesson
NAME lives in ``deepscope.lessons.NAME`` and loads when first asked for.
"""

from deepscope.lessons.base import COURSE as COURSE
from deepscope.lessons.base import LESSONS as LESSONS
from deepscope.lessons.base import LessonPage as LessonPage
from deepscope.lessons.base import LessonResult as LessonResult
from deepscope.lessons.base import Table as Table
from deepscope.lessons.base import get as get
from deepscope.lessons.base import lesson_names as lesson_names
from deepscope.lessons.base import register_lesson as register_lesson
from deepscope.lessons.base import run as run
from deepscope.lessons.base import save_animation as save_animation

__all__ = [
    "COURSE",
    "LESSONS",
    "LessonPage",
    "LessonResult",
    "Table",
    "get",
    "lesson_names",
    "register_lesson",
    "run",
    "save_animation",
]
