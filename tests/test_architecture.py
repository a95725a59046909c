"""The import direction of DESIGN.md §3, checked by parsing every module's imports."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "deepscope"

# package -> deepscope packages it may import (besides itself and the shared base modules).
BASE = {"errors", "registry", "recipe", "atomic", "limits"}
ALLOWED = {
    "errors": set(),
    "registry": {"errors"},
    "recipe": {"errors"},
    "atomic": set(),
    "limits": {"errors"},
    "data": BASE,
    "nn": BASE,
    "mechanics": BASE,
    "zoo": BASE | {"nn"},
    "train": BASE | {"data", "nn"},
    "inspect": BASE | {"nn", "mechanics", "data"},
    "explain": BASE | {"nn", "inspect", "data"},
    "plots": BASE | {"mechanics", "inspect", "explain"},
    "report": BASE | {"plots", "train", "data", "inspect", "explain"},
    "runs": BASE | {"data", "zoo", "train", "nn"},
    "export": BASE | {"runs"},  # opens run folders; the exporters are torch's
    "notebook": BASE | {"plots"},  # IPython display formatters (registered by type name)
    "lessons": BASE | {"data", "zoo", "train", "nn", "mechanics", "plots"},  # the trainer, mechanics and plots
    "serve": None,  # like cli: the public API only
    "cli": None,  # checked separately: only public API, imported inside functions
    "__init__": None,
    "__main__": None,  # `python -m deepscope`: the command line
}
# mechanics depends on numpy only (plus the standard library) -- except grad_check, which
# checks a torch model's autograd gradients (it imports torch inside the function, so
# importing deepscope.mechanics stays torch-free).
MECHANICS_ALLOWED = set(sys.stdlib_module_names) | {"numpy", "deepscope"}
MECHANICS_TORCH = {"gradcheck.py"}


def _runtime_nodes(tree: ast.AST):
    """Every node except those under `if TYPE_CHECKING:` (annotations only, never executed)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if (
                isinstance(child, ast.If)
                and getattr(child.test, "id", getattr(child.test, "attr", "")) == "TYPE_CHECKING"
            ):
                stack.extend(child.orelse)
                continue
            stack.append(child)


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = []
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            if node.module == "deepscope":
                names += [f"deepscope.{a.name}" for a in node.names]
    return names


def _package_of(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def test_every_module_respects_the_import_direction():
    violations = []
    for path in sorted(SRC.rglob("*.py")):
        package = _package_of(path)
        allowed = ALLOWED.get(package, set())
        if allowed is None:
            continue
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] != "deepscope":
                if package == "mechanics" and parts[0] not in MECHANICS_ALLOWED and path.name not in MECHANICS_TORCH:
                    violations.append(f"{path.relative_to(SRC)} imports {name} (mechanics is numpy-only)")
                continue
            if len(parts) == 1:
                continue
            target = parts[1]
            if target != package and target not in allowed and target != "__version__":
                violations.append(f"{path.relative_to(SRC)} ({package}) imports {name}")
    assert not violations, "\n".join(violations)


def test_cli_uses_only_the_public_api():
    """cli imports packages and their re-exported names, never a package's inner modules."""
    inner = [name for name in _imports(SRC / "cli.py") if name.count(".") >= 2]
    assert not inner, f"cli.py reaches into {inner}; re-export the names in the package's __init__"


def test_every_package_is_declared():
    packages = {_package_of(p) for p in SRC.rglob("*.py")}
    assert packages <= set(ALLOWED), f"add {packages - set(ALLOWED)} to ALLOWED with its rule"


def test_import_deepscope_and_cli_do_not_import_torch():
    code = "import sys, deepscope, deepscope.cli; print(sorted(m for m in ('torch', 'matplotlib', 'sklearn') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_star_import_gives_every_public_name():
    code = "from deepscope import *; print(sorted(k for k in dir() if not k.startswith('__') or k == '__version__'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    import deepscope

    for name in deepscope.__all__:
        assert repr(name) in out, name
