"""Every notebook runs top to bottom (small settings) so it cannot rot, and shows figures.

The code cells are executed in order in a fresh Python process, exactly as a kernel would run
them, without needing a Jupyter kernel installed. ``BAYESCALE_NOTEBOOK_SIZE=test`` selects the
notebooks' smallest sizes (their cost is mostly compilation, which no size removes). After the
last cell every figure still open (a kernel would have displayed each as ``image/png``) is
rendered to PNG: each notebook must show at least one, drawn through ``bayescale.plot``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from conftest import ROOT

#: Each notebook and a line its last cell prints.
NOTEBOOKS = {
    "01_chinchilla_replication.ipynb": r"runs needed for Hoffmann's 80% interval on a: \{",
    "02_batch_fitting.ipynb": r"alpha\s*\nmean\s+1\.\d+",
    "03_custom_law.ipynb": r"loss at 1e24 FLOPs \(90% new-run interval\): \[",
}


#: Appended to each notebook's code: render every open figure as a kernel would display it.
RENDER_FIGURES = """
import io as _io

import matplotlib.pyplot as _plt

for _number in _plt.get_fignums():
    _png = _io.BytesIO()
    _plt.figure(_number).savefig(_png, format="png")
    assert _png.getvalue().startswith(b"\\x89PNG"), _number
print(f"figures rendered as PNG: {len(_plt.get_fignums())}")
"""


def _code(name: str) -> tuple[dict, str]:
    nb = json.loads((ROOT / "notebooks" / name).read_text())
    return nb, "\n\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")


def test_notebooks_are_listed_clean_and_use_the_flat_api() -> None:
    """The notebooks here are the ones run below, stored without outputs, and import only
    the flat ``bayescale`` namespace (no deep imports that a refactor could break)."""
    assert sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb")) == sorted(NOTEBOOKS)
    for name in NOTEBOOKS:
        nb, code = _code(name)
        for cell in nb["cells"]:
            assert not cell.get("outputs"), f"{name} is stored with outputs"
        assert "import bayescale as bs" in code, name
        assert not re.search(r"^\s*(from|import) bayescale\.", code, re.M), name
        assert re.search(r"\bbs\.plot\.plot_\w+\(", code), f"{name} draws no bs.plot figure"


def test_the_replication_notebook_shows_arviz_the_report_and_explains_its_warnings() -> None:
    nb, code = _code("01_chinchilla_replication.ipynb")
    for call in ("az.summary(", "az.plot_trace(", ".to_inferencedata()", "bs.write_report("):
        assert call in code, call
    prose = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "R-hat" in prose and "effective" in prose and "SIZE" in prose


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_notebook_runs(name: str, tmp_path, replication) -> None:
    """``replication`` (tests/conftest.py) is requested only so that the persistent
    compilation cache holds the programs notebook 01 runs at the same sizes."""
    script = tmp_path / "nb.py"
    script.write_text(_code(name)[1] + "\n" + RENDER_FIGURES)
    env = {**os.environ, "BAYESCALE_NOTEBOOK_SIZE": "test", "MPLBACKEND": "Agg"}
    p = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        cwd=ROOT / "notebooks",
        env=env,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    assert re.search(NOTEBOOKS[name], p.stdout), p.stdout[-3000:]
    assert re.search(r"figures rendered as PNG: [1-9]", p.stdout), p.stdout[-3000:]
