"""deepscope.mechanics depends on numpy only (tests/test_architecture.py checks its import
statements); here: importing it at run time loads neither torch nor matplotlib."""

from __future__ import annotations

import subprocess
import sys


def test_importing_mechanics_loads_no_torch_and_no_matplotlib():
    code = (
        "import sys, deepscope.mechanics; "
        "print(sorted(m for m in ('torch', 'matplotlib', 'sklearn') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
