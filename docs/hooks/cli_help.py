"""An MkDocs hook: the CLI page's command reference, generated from the argparse parser.

``docs/cli.md`` holds the marker ``<!-- cli-reference -->``; this hook replaces it with one
section per ``bayescale`` command (in the parser's order): the command's one-line help and its
``--help`` text, formatted at 80 columns (the width of a code block on the page). The page
therefore lists exactly the commands and options the installed package accepts.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

MARKER = "<!-- cli-reference -->"
WIDTH = "80"


def _commands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """``(name, one-line help, parser)`` for every subcommand (argparse has no public accessor)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            return [(name, helps.get(name, ""), sub) for name, sub in action.choices.items()]
    return []


def reference() -> str:
    """Markdown: one section per command with its help text."""
    from bayescale.cli import build_parser

    before = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH  # argparse reads the width when it formats
    try:
        parser = build_parser()
        parts = ["### `bayescale`", "", "```text", parser.format_help().rstrip(), "```", ""]
        for name, line, sub in _commands(parser):
            parts += [f"### `bayescale {name}`", ""]
            if line:
                parts += [line[0].upper() + line[1:].rstrip(".") + ".", ""]
            parts += ["```text", sub.format_help().rstrip(), "```", ""]
    finally:
        if before is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = before
    return "\n".join(parts)


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    """Replace the marker on the CLI page with the generated reference."""
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, reference())
