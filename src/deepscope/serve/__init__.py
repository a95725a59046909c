"""The local explorer: ``deepscope serve RUN...`` (see :mod:`deepscope.serve.app`)."""

from deepscope.serve.app import MAX_BODY as MAX_BODY
from deepscope.serve.app import Explorer as Explorer
from deepscope.serve.app import create_app as create_app
from deepscope.serve.server import serve as serve

__all__ = ["MAX_BODY", "Explorer", "create_app", "serve"]
