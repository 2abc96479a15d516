"""The README opens with the two set-up commands, and CI (``.ci/run``) runs the README's test
command after installing Chromium - failing when it cannot - with
``BAYESCALE_REQUIRE_SHARED=1`` exported.

``.ci/run`` itself is run with stand-ins on ``PATH`` (an ``apt-get`` that fails, a ``python3``
that records how it was called and stops the script), so nothing is installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from conftest import ROOT

CI = ROOT / ".ci" / "run"


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def test_readme_opens_with_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    assert text.index("```bash") < text.index("\n## ")
    cmds = _readme_commands()
    assert len(cmds) == 2
    assert "pip install -e ." in cmds[0] and "bayescale" in cmds[0].split("&&")[-1]
    assert "pytest" in cmds[1]


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = CI.read_text().splitlines()
    assert _readme_commands()[1] in ci
    assert ci.index("export BAYESCALE_REQUIRE_SHARED=1") < ci.index(_readme_commands()[1])


def _run_ci(tmp_path: Path, *, chromium: bool) -> tuple[subprocess.CompletedProcess, Path]:
    """``.ci/run`` with only stand-ins on PATH: ``apt-get`` fails; ``python3`` writes its
    arguments and ``BAYESCALE_REQUIRE_SHARED`` to a file and exits 3, ending the script before
    anything is installed; ``chromium`` exists when asked."""
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    for tool in ("dirname", "mktemp", "cat"):
        (bin_ / tool).symlink_to(shutil.which(tool))
    calls = tmp_path / "python3_calls"
    stubs = {
        "apt-get": "exit 100",
        "python3": f'echo "$* REQUIRE=${{BAYESCALE_REQUIRE_SHARED:-unset}}" >> {calls}; exit 3',
    }
    if chromium:
        stubs["chromium"] = "exit 0"
    for name, body in stubs.items():
        (bin_ / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_ / name).chmod(0o755)
    env = {"PATH": str(bin_), "TMPDIR": str(tmp_path), "HOME": str(tmp_path)}
    p = subprocess.run(
        [shutil.which("bash"), str(CI)], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    return p, calls


def test_ci_fails_when_chromium_cannot_be_installed(tmp_path) -> None:
    p, calls = _run_ci(tmp_path, chromium=False)
    assert p.returncode != 0 and not calls.exists()  # stopped before the tests
    assert "could not install chromium" in p.stderr


def test_ci_exports_require_shared_to_the_tests(tmp_path) -> None:
    p, calls = _run_ci(tmp_path, chromium=True)
    assert p.returncode == 3, p.stderr
    assert calls.read_text() == "-m venv .venv REQUIRE=1\n"
    assert os.access(CI, os.X_OK)
