"""The tour notebook runs from top to bottom, and results display as HTML in IPython."""

from __future__ import annotations

from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_the_tour_notebook_executes(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat", reason="nbformat is a test dependency")
    nbclient = pytest.importorskip("nbclient", reason="nbclient is a test dependency")
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    notebook = nbformat.read(DOCS / "tour.ipynb", as_version=4)
    nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("lecture_cnn-digits-001" in h and "data:image/png;base64" in h for h in html)  # the Run
    assert any("relies on the corner" in h for h in html) and any("does not rely on the corner" in h for h in html)
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 2  # the feature maps and the attribution figures, inline
    assert (tmp_path / "runs" / "lecture_cnn-digits-corner-7-001" / "model.safetensors").is_file()


def test_display_formatters_register_with_ipython():
    pytest.importorskip("IPython")
    from IPython.core.interactiveshell import InteractiveShell

    from deepscope import notebook

    shell = InteractiveShell.instance()
    assert notebook.register(shell) is True
    formatter = shell.display_formatter.formatters["text/html"]
    assert ("deepscope.explain.attribution", "Attribution") in formatter.deferred_printers
