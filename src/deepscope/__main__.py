"""``python -m deepscope``: the command line (what torchrun starts in every process)."""

import sys

from deepscope.cli import main

sys.exit(main())
