"""Every notebook runs top to bottom (small settings) so it cannot rot.

The code cells are executed in order in a fresh Python process, exactly as a kernel would run
them, without needing a Jupyter kernel installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_notebooks_exist() -> None:
    assert len(NOTEBOOKS) >= 2


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, tmp_path) -> None:
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        assert not cell.get("outputs"), f"{path.name} is stored with outputs"
    code = "\n\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    script = tmp_path / "nb.py"
    script.write_text(code)
    env = {**os.environ, "BAYESCALE_NOTEBOOK_FAST": "1", "MPLBACKEND": "Agg"}
    p = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT / "notebooks",
        env=env,
    )
    assert p.returncode == 0, p.stderr[-3000:]
