"""Rendering of a report: content blocks, and one self-contained HTML page or a Markdown file.

A section's body is a :class:`Body`: a sequence of blocks (:class:`Para`, :class:`Callout`,
:class:`Bullets`, :class:`Code`, :class:`TableRef`, :class:`FigureRef`) that renders to HTML
(``str(body)`` or :meth:`Body.html`) or to Markdown (:meth:`Body.markdown`). Tables and figures
are referenced by name and looked up in the report's ``tables`` (pandas DataFrames of raw
numbers, formatted here) and ``figures`` (PNG bytes). Text may use two inline marks:
```code``` spans and ``**bold**``; everything else is escaped.

The HTML page has inline CSS, figures as ``data:image/png;base64`` URIs, no scripts and no
external references, so it opens offline and prints as it looks.
"""

from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np
import pandas as pd

CSS = """
:root { color-scheme: light; }
body { font-family: -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Helvetica, Arial,
  sans-serif; font-size: 16px; line-height: 1.5; color: #1d1d1f; background: #fff;
  max-width: 62rem; margin: 0 auto; padding: 1.5rem 2rem 4rem; }
h1 { font-size: 1.8rem; margin: 0.5rem 0 0.2rem; }
h2 { font-size: 1.4rem; border-bottom: 2px solid #d0d7de; padding-bottom: 0.2rem;
  margin-top: 2.5rem; }
h3 { font-size: 1.1rem; margin-top: 1.5rem; }
.subtitle { color: #57606a; margin: 0 0 1rem; }
nav.toc { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px;
  padding: 0.5rem 1rem; margin: 1rem 0; }
nav.toc ol { margin: 0.2rem 0; padding-left: 1.4rem; columns: 2; }
nav.toc a { color: #0550ae; text-decoration: none; }
div.headline { background: #eef6ff; border: 1px solid #54aeff; border-left: 5px solid #0969da;
  border-radius: 6px; padding: 0.6rem 1rem; margin: 0.8rem 0 1rem; }
div.headline p { margin: 0.3rem 0; }
div.headline p.answer { font-size: 1.2rem; font-weight: 600; }
ol.summary { font-size: 1.05rem; background: #f6f8fa; border-left: 4px solid #0969da;
  padding: 0.6rem 1rem 0.6rem 2.2rem; }
ol.summary li { margin: 0.25rem 0; }
.callout { border-radius: 6px; padding: 0.5rem 0.9rem; margin: 0.8rem 0; }
.callout.warn { background: #fff8c5; border: 1px solid #d4a72c; }
.callout.note { background: #ddf4ff; border: 1px solid #54aeff; }
.callout.ok { background: #dafbe1; border: 1px solid #4ac26b; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.92rem; }
div.table { margin: 1rem 0; overflow-x: auto; }
div.table table { margin-top: 0.2rem; }
p.tcap { font-weight: 600; margin: 0; }
th, td { border: 1px solid #d0d7de; padding: 0.25rem 0.6rem; vertical-align: top; }
th { background: #f6f8fa; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td code, li code, p code { font-size: 0.88em; overflow-wrap: anywhere; }
code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; background: #f6f8fa;
  padding: 0 0.2rem; border-radius: 3px; }
pre { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: 0.6rem;
  white-space: pre-wrap; overflow-wrap: anywhere; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eaeef2; }
figcaption { color: #424a53; font-size: 0.92rem; margin-top: 0.3rem; }
footer { margin-top: 3rem; color: #57606a; font-size: 0.85rem; }
@media print { body { max-width: none; padding: 0; } nav.toc { display: none; }
  section { break-inside: auto; } figure, table { break-inside: avoid; } }
"""

_INLINE = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*")


def inline_html(text: str) -> str:
    """Escape ``text`` for HTML, turning ```code``` into ``<code>`` and ``**b**`` into bold."""
    out, pos = [], 0
    for m in _INLINE.finditer(text):
        out.append(html.escape(text[pos : m.start()]))
        if m.group(1) is not None:
            out.append(f"<code>{html.escape(m.group(1))}</code>")
        else:
            out.append(f"<strong>{html.escape(m.group(2))}</strong>")
        pos = m.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)


_LONE_STAR = re.compile(r"(?<![*\\])\*(?!\*)")
_CODE_SPAN = re.compile(r"(`[^`]+`)")
#: Characters that would make Markdown (or the HTML it may carry) of user text: a tag, an
#: entity, a link. Code spans are literal in Markdown and are left alone.
_MD_ESCAPES = str.maketrans({"<": "&lt;", ">": "&gt;", "&": "&amp;", "[": "\\[", "]": "\\]"})


def md_text(text: str) -> str:
    """Text for Markdown: ``<``, ``>``, ``&``, ``[``, ``]`` and a lone ``*`` (as in
    ``D*/N*``) are escaped outside ```code``` spans, so user strings (column names, group
    keys, law names, paths) cannot become tags or links; ``**bold**`` is kept."""
    parts = _CODE_SPAN.split(str(text))
    return "".join(
        p if i % 2 else _LONE_STAR.sub(r"\\*", p.translate(_MD_ESCAPES))
        for i, p in enumerate(parts)
    )


def md_fence(text: str) -> str:
    """A backtick fence longer than any run of backticks in ``text`` (at least three)."""
    runs = [len(m) for m in re.findall(r"`+", text)]
    return "`" * max(3, max(runs, default=0) + 1)


def fmt_value(v: object, digits: int = 4) -> str:
    """Format a table cell: numbers to ``digits`` significant figures, the rest as text."""
    if v is None:
        return "-"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, Integral):
        return f"{int(v):,}" if abs(int(v)) >= 10_000 else str(int(v))
    if isinstance(v, Real):
        x = float(v)
        if math.isnan(x):
            return "-"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        if x == 0:
            return "0"
        if 10**digits <= abs(x) < 1e7:
            return f"{x:,.0f}"
        if 1e-3 <= abs(x) < 1e7:
            s = f"{x:.{digits}g}"
            return s if "e" not in s else f"{x:.{digits}e}"
        return f"{x:.{max(digits - 1, 1)}e}"
    return str(v)


def _is_num(v: object) -> bool:
    return isinstance(v, Real) and not isinstance(v, (bool, np.bool_))


# ----------------------------------------------------------------------------- blocks


@dataclass(frozen=True)
class Para:
    """A paragraph of text (inline ```code``` and ``**bold**`` allowed)."""

    text: str

    def html(self, report: object) -> str:
        """HTML of the block."""
        return f"<p>{inline_html(self.text)}</p>"

    def markdown(self, report: object, figure_paths: Mapping[str, str]) -> str:
        """Markdown of the block."""
        return md_text(self.text)


@dataclass(frozen=True)
class Callout:
    """A highlighted box: ``kind`` is ``"warn"``, ``"note"`` or ``"ok"``."""

    kind: str
    text: str

    _LABEL = {"warn": "Warning", "note": "Note", "ok": "OK"}

    def html(self, report: object) -> str:
        """HTML of the block."""
        label = self._LABEL.get(self.kind, "Note")
        return (
            f'<div class="callout {html.escape(self.kind)}"><strong>{label}:</strong> '
            f"{inline_html(self.text)}</div>"
        )

    def markdown(self, report: object, figure_paths: Mapping[str, str]) -> str:
        """Markdown of the block."""
        return f"> **{self._LABEL.get(self.kind, 'Note')}:** {md_text(self.text)}"


@dataclass(frozen=True)
class Bullets:
    """A list; ``ordered`` numbers it, ``css`` is an optional HTML class."""

    items: tuple[str, ...]
    ordered: bool = False
    css: str = ""

    def html(self, report: object) -> str:
        """HTML of the block."""
        tag = "ol" if self.ordered else "ul"
        cls = f' class="{html.escape(self.css)}"' if self.css else ""
        items = "".join(f"<li>{inline_html(t)}</li>" for t in self.items)
        return f"<{tag}{cls}>{items}</{tag}>"

    def markdown(self, report: object, figure_paths: Mapping[str, str]) -> str:
        """Markdown of the block."""
        return "\n".join(
            f"{i + 1}. {md_text(t)}" if self.ordered else f"- {md_text(t)}"
            for i, t in enumerate(self.items)
        )


@dataclass(frozen=True)
class Code:
    """Preformatted text (a command line, an equation)."""

    text: str

    def html(self, report: object) -> str:
        """HTML of the block."""
        return f"<pre><code>{html.escape(self.text)}</code></pre>"

    def markdown(self, report: object, figure_paths: Mapping[str, str]) -> str:
        """Markdown of the block."""
        fence = md_fence(self.text)
        return f"{fence}text\n{self.text}\n{fence}"


@dataclass(frozen=True)
class TableRef:
    """A table of the report by name, with a caption; ``code_cols`` render as code."""

    name: str
    caption: str = ""
    code_cols: tuple[str, ...] = ()

    def _frame(self, report: object) -> pd.DataFrame:
        return report.tables[self.name]

    def html(self, report: object) -> str:
        """HTML of the block."""
        df = self._frame(report)
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in [df.index.name or ""])
        head += "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
        rows = []
        for idx, row in df.iterrows():
            cells = [f"<th>{inline_html(str(idx))}</th>"]
            for col, v in row.items():
                text = html.escape(fmt_value(v))
                if col in self.code_cols and v is not None:
                    cells.append(f"<td><code>{text}</code></td>")
                else:
                    cells.append(
                        f'<td class="num">{text}</td>' if _is_num(v) else f"<td>{text}</td>"
                    )
            rows.append("<tr>" + "".join(cells) + "</tr>")
        cap = f'<p class="tcap">{inline_html(self.caption)}</p>' if self.caption else ""
        label = html.escape(self.caption or self.name, quote=True)
        return (
            f'<div class="table" id="table-{html.escape(self.name)}">{cap}<table aria-label='
            f'"{label}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
        )

    def markdown(self, report: object, figure_paths: Mapping[str, str]) -> str:
        """Markdown of the block."""
        df = self._frame(report)

        def cell(v: object) -> str:
            return md_text(fmt_value(v)).replace("|", "\\|").replace("\n", " ")

        cols = [cell(str(c)) for c in [df.index.name or "", *df.columns]]
        lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for idx, row in df.iterrows():
            lines.append("| " + " | ".join([cell(idx)] + [cell(v) for v in row]) + " |")
        cap = f"**{md_text(self.caption)}**\n\n" if self.caption else ""
        return cap + "\n".join(lines)


@dataclass(frozen=True)
class FigureRef:
    """A figure of the report by name, with a caption (also its alt text)."""

    name: str
    caption: str = ""

    def html(self, report: object) -> str:
        """HTML of the block."""
        data = base64.b64encode(report.figures[self.name]).decode("ascii")
        alt = html.escape(self.caption or self.name, quote=True)
        return (
            f'<figure id="figure-{html.escape(self.name)}"><img src="data:image/png;base64,'
            f'{data}" alt="{alt}"><figcaption>{inline_html(self.caption)}</figcaption></figure>'
        )

    def markdown(self, report: object, figure_paths: Mapping[str, str]) -> str:
        """Markdown of the block."""
        alt = (self.caption or self.name).replace("[", "(").replace("]", ")")
        return f"![{md_text(alt)}]({figure_paths[self.name]})\n\n*{md_text(self.caption)}*"


Block = Para | Callout | Bullets | Code | TableRef | FigureRef


@dataclass
class Body:
    """A section body: a list of blocks; ``str(body)`` needs a report, so use :meth:`html`."""

    blocks: list = field(default_factory=list)

    def add(self, *blocks: Block) -> Body:
        """Append blocks; returns ``self``."""
        self.blocks.extend(blocks)
        return self

    def html(self, report: object) -> str:
        """The body as an HTML fragment (figures embedded)."""
        return "\n".join(b.html(report) for b in self.blocks)

    def markdown(self, report: object, figure_paths: Mapping[str, str]) -> str:
        """The body as Markdown (figures as links to ``figure_paths[name]``)."""
        return "\n\n".join(b.markdown(report, figure_paths) for b in self.blocks)

    def text(self) -> str:
        """All paragraph, callout and list text (for searching and tests)."""
        out = []
        for b in self.blocks:
            if isinstance(b, (Para, Callout, Code)):
                out.append(b.text)
            elif isinstance(b, Bullets):
                out.extend(b.items)
        return "\n".join(out)


# ----------------------------------------------------------------------------- documents


def to_html(report: object, subtitle: str = "") -> str:
    """One self-contained HTML page for a :class:`~bayescale.report.Report`."""
    toc = "".join(
        f'<li><a href="#{html.escape(sid)}">{html.escape(head)}</a></li>'
        for sid, head, _ in report.sections
    )
    body = "\n".join(
        f'<section id="{html.escape(sid)}">\n<h2>{html.escape(head)}</h2>\n'
        f"{content.html(report)}\n</section>"
        for sid, head, content in report.sections
    )
    title = html.escape(report.title)
    sub = f'<p class="subtitle">{inline_html(subtitle)}</p>' if subtitle else ""
    lines = getattr(report, "headline", ())
    if lines:
        paras = "".join(
            f'<p class="{"answer" if i == 0 else "line"}">{inline_html(t)}</p>'
            for i, t in enumerate(lines)
        )
        sub += f'<div class="headline" id="headline" role="note">{paras}</div>'

    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"<header><h1>{title}</h1>{sub}</header>\n"
        f'<nav class="toc" aria-label="Contents"><strong>Contents</strong><ol>{toc}</ol></nav>\n'
        f"{body}\n<footer>Generated by bayescale. Self-contained: figures are embedded, no "
        "scripts, no external resources.</footer>\n</body>\n</html>\n"
    )


def to_markdown(report: object, figure_paths: Mapping[str, str], subtitle: str = "") -> str:
    """Markdown for a report, with figures linked at ``figure_paths[name]`` (relative paths)."""
    parts = [f"# {md_text(report.title)}"]
    if subtitle:
        parts.append(md_text(subtitle))
    parts += [md_text(t) for t in getattr(report, "headline", ())]
    for sid, head, content in report.sections:
        parts.append(f'<a id="{html.escape(sid, quote=True)}"></a>\n\n## {md_text(head)}')
        parts.append(content.markdown(report, figure_paths))
    return "\n\n".join(parts) + "\n"


def frame(rows: Sequence[Mapping[str, object]], index: str) -> pd.DataFrame:
    """A DataFrame from row dicts, indexed by the column ``index``."""
    df = pd.DataFrame(list(rows))
    return df.set_index(index) if len(df) else df
