"""The docs site builds with warnings as errors, as CI builds it, and ships what it promises.

``mkdocs.yml`` and ``docs/`` make the site: prose pages, a command-line page whose reference is
generated from the parser (``docs/hooks/cli_help.py``) and an API reference that mkdocstrings
renders from the numpydoc docstrings (``docstring_style: numpy``). ``--strict`` turns every
warning into a failure: a docstring section that does not match its signature, a broken link
between pages, a page missing from the navigation. mkdocs is a test dependency (the ``docs``
extra, which ``test`` includes), so a missing mkdocs fails here rather than skipping.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib

import pytest
from conftest import ROOT


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    # Material for MkDocs prints a banner about MkDocs 2.0 on every build; it is no warning.
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    p = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    assert p.returncode == 0, (p.stdout + p.stderr)[-6000:]
    return out


def _public_names() -> list[str]:
    """``bayescale.__all__``, read from the source."""
    tree = ast.parse((ROOT / "bayescale" / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "__all__":
            return list(ast.literal_eval(node.value))
    raise AssertionError("bayescale/__init__.py has no __all__")


def test_docs_build_strict_with_the_api_reference(site) -> None:
    """Every public name is documented: on the flat-API page (``docs/api/index.md``, by task),
    or, for a module such as ``bayescale.plot``, on a page of its own."""
    api = (site / "api" / "index.html").read_text()
    pages = {p.parent.name: p.read_text() for p in (site / "api").glob("*/index.html")}
    missing = [
        name
        for name in _public_names()
        if f'id="bayescale.{name}"' not in api
        and not any(f'id="bayescale.{name}"' in text for text in pages.values())
    ]
    assert not missing, f"add these to docs/api/index.md (or a page of their own): {missing}"
    for name in ("fit", "bootstrap", "nuts", "allocate", "critique", "Fit", "Draws"):
        assert f'id="bayescale.{name}"' in api, name
    for page in ("laws", "likelihood", "results", "workflows", "predict", "report"):
        assert 'class="doc doc-heading"' in pages[page], page
    assert 'id="bayescale.results.records.Fit"' in pages["results"]


def test_docstring_cross_references_render_as_links(site) -> None:
    """The docstrings' Sphinx roles (``:func:`fit```) become links or code, never raw text."""
    role = re.compile(r":(?:func|class|mod|meth|attr|data|obj|exc):`")
    assert not [p.name for p in site.rglob("*.html") if role.search(p.read_text())]
    api = (site / "api" / "index.html").read_text()
    assert re.search(r'<a class="autorefs autorefs-internal"[^>]*href="[^"]*#bayescale\.laws', api)


def test_cli_page_lists_every_command(site) -> None:
    cli = (site / "cli" / "index.html").read_text()
    for command in ("fit", "laws", "replicate", "report", "allocate", "critique", "backtest"):
        assert f"usage: bayescale {command}" in cli, command


def test_pages_in_the_navigation(site) -> None:
    for page in ("index.html", "getting-started/index.html", "real-data/index.html"):
        assert (site / page).is_file(), page


def test_package_ships_py_typed() -> None:
    assert (ROOT / "bayescale" / "py.typed").is_file()
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "py.typed" in config["tool"]["setuptools"]["package-data"]["bayescale"]
    extras = config["project"]["optional-dependencies"]
    assert "bayescale[docs]" in extras["test"]
    assert any(d.startswith("mkdocs") for d in extras["docs"])
