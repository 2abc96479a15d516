"""A griffe extension: the package's Sphinx-style cross-references as mkdocstrings links.

The numpydoc docstrings cross-reference with Sphinx roles (``:func:`fit```,
``:class:`~bayescale.results.records.Fit```). mkdocstrings renders Markdown, where such a role
would show as literal text. This extension rewrites each role into an *optional* autorefs link:
a link when the target is documented on the site, plain code when it is not (never a warning,
since a role that names, say, a private helper is not an error in the docstring). A ``~``
shortens the shown name to its last component, as in Sphinx. A paragraph ending in ``::``
(reStructuredText's literal-block marker) ends in ``:``, since Markdown's indented block
already makes the code block.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:func|class|mod|meth|attr|data|obj|exc):`(~?)([\w.]+)(\(\))?`")
LITERAL_MARKER = re.compile(r"(?<=\S)::$", re.M)


def _target(obj: griffe.Object, name: str) -> str:
    """The full path a role's name refers to, seen from the object whose docstring has it."""
    if name.startswith("bayescale"):
        return name
    head, _, rest = name.partition(".")
    for scope in (obj, obj.parent):
        if scope is None:
            continue
        try:
            path = scope.resolve(head)
        except (griffe.NameResolutionError, AttributeError, KeyError):
            continue
        return f"{path}.{rest}" if rest else path
    return name


def rewrite(obj: griffe.Object, text: str) -> str:
    """``text`` with every Sphinx role replaced by an optional autorefs link."""

    def repl(match: re.Match) -> str:
        short, name, call = match.group(1), match.group(2), match.group(3) or ""
        shown = (name.rsplit(".", 1)[-1] if short else name) + call
        return f'<autoref identifier="{_target(obj, name)}" optional>`{shown}`</autoref>'

    return LITERAL_MARKER.sub(":", ROLE.sub(repl, text))


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles in every docstring of the loaded package (aliases share theirs)."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        stack: list[griffe.Object] = [pkg]
        while stack:
            obj = stack.pop()
            if obj.docstring is not None:
                obj.docstring.value = rewrite(obj, obj.docstring.value)
            stack.extend(m for m in obj.members.values() if not m.is_alias)
