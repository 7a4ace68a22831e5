"""A document's text as HTML that reads like the document, with highlights placed from character offsets.

Markdown blocks (headings, paragraphs, lists, tables, code, quotes, rules) and inline styles (strong,
emphasis, code, links, images) are rendered; the extracted text of PDF, HTML and DOCX files uses the same
Markdown-like lines, so it renders the same way. Every character shown is a run ``text[start:end]`` of the
document at known offsets, so a highlight ``[start, end)`` marks exactly those characters wherever the
structure puts them; markup characters (``#``, ``**``, ``|``, a link's ``(url)``) are not shown.

Nothing in a document becomes active: links are not followed (their text is shown, the address as a
tooltip), images show their alt text and load nothing, raw HTML is shown as text. All text is escaped here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from markupsafe import Markup, escape

from index.markdown import ATX, FENCE, LIST_ITEM, SETEXT, TABLE_CELLS, TABLE_SEP, THEMATIC

ANSWER = "answer"  # marked strongly
CITED = "cited"  # marked lightly: the answer's sentence, or a cited passage

_QUOTE = re.compile(r" {0,3}>[ \t]?")
_CELL_BAR = re.compile(r"(?<!\\)\|")
# Inline styles. Every body is bounded, so a hostile line (thousands of unclosed "*") costs linear time.
_INLINE = re.compile(
    r"(?P<code>(?P<ticks>`{1,8})(?P<code_body>.{1,1000}?)(?P=ticks))"
    r'|(?P<image>!\[(?P<alt>[^\]\n]{0,500})\]\([^)\s]{0,2000}(?:[ \t]+"[^"\n]{0,500}")?\))'
    r"|(?P<link>\[(?P<label>[^\]\n]{1,500})\]"
    r'\((?P<href>(?:[^()\s]|\([^()\s]{0,200}\)){0,2000})(?:[ \t]+"[^"\n]{0,500}")?\))'
    r"|(?P<strong>(?:\*\*(?=\S)(?P<sb>.{1,500}?)(?<=\S)\*\*)|(?:(?<!\w)__(?=\S)(?P<ub>.{1,500}?)(?<=\S)__(?!\w)))"
    r"|(?P<em>(?:\*(?=[^\s*])(?P<eb>.{1,500}?)(?<=[^\s*])\*)|(?:(?<!\w)_(?=[^\s_])(?P<ueb>.{1,500}?)(?<=[^\s_])_(?!\w)))"
    r"|(?P<escape>\\(?P<escaped>[!-/:-@\[-`{-~]))"
    r"|(?P<auto><(?P<url>https?://[^>\s]{1,2000})>)"
)


@dataclass(frozen=True, slots=True)
class Highlight:
    """Mark ``text[start:end]`` as ``kind`` (:data:`ANSWER` or :data:`CITED`)."""

    start: int
    end: int
    kind: str


@dataclass(frozen=True, slots=True)
class _Run:
    """Document characters ``[start, end)``, shown as they are (escaped, possibly marked)."""

    start: int
    end: int


Part = str | _Run  # trusted HTML of our own, or a run of the document


def render(text: str, begin: int = 0, highlights: tuple[Highlight, ...] = ()) -> Markup:
    """``text[begin:]`` as HTML blocks; highlights in offsets of ``text``. The first mark of the first
    highlight given gets ``id="hl"``, the target of the page's links."""
    parts = _Blocks(text, begin).parts()
    return Markup("".join(_emit(text, parts, highlights)))


def _emit(text: str, parts: list[Part], highlights: tuple[Highlight, ...]) -> list[str]:
    out: list[str] = []
    anchor = highlights[0] if highlights else None
    anchored = False
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        cuts = sorted({part.start, part.end, *(o for h in highlights for o in (h.start, h.end))})
        cuts = [c for c in cuts if part.start <= c <= part.end]
        for a, b in pairwise(cuts):
            covering = [h for h in highlights if h.start <= a and b <= h.end]
            chunk = str(escape(text[a:b]))
            if not covering:
                out.append(chunk)
                continue
            kind = ANSWER if any(h.kind == ANSWER for h in covering) else CITED
            ident = ""
            if not anchored and anchor in covering:
                ident, anchored = ' id="hl"', True
            out.append(f'<mark class="hl-{kind}"{ident}>{chunk}</mark>')
    return out


class _Blocks:
    """Block structure, line by line; each line kept as its ``[start, end)`` offsets (without the newline)."""

    def __init__(self, text: str, begin: int) -> None:
        self.text = text
        self.lines: list[tuple[int, int]] = []
        for m in re.finditer(r"[^\n]*\n|[^\n]+$", text[begin:]):
            start = begin + m.start()
            end = begin + m.end() - (1 if m.group().endswith("\n") else 0)
            if end > start and text[end - 1] == "\r":
                end -= 1
            self.lines.append((start, end))
        self.out: list[Part] = []

    def line(self, i: int) -> str:
        s, e = self.lines[i]
        return self.text[s:e]

    def blank(self, i: int) -> bool:
        return not self.line(i).strip()

    def parts(self) -> list[Part]:
        i = 0
        while i < len(self.lines):
            if self.blank(i):
                i += 1
            elif FENCE.match(self.line(i)):
                i = self._code(i)
            elif (m := ATX.match(self.line(i))) is not None:
                s, e = self.lines[i]
                self._heading(len(m.group(1)), s + m.end(), e)
                i += 1
            elif THEMATIC.match(self.line(i)):
                self.out.append("<hr>")
                i += 1
            elif self._table_starts(i):
                i = self._table(i)
            elif self._cell_rows(i) >= 2:
                i = self._cell_table(i)
            elif LIST_ITEM.match(self.line(i)):
                i = self._list(i)
            elif _QUOTE.match(self.line(i)):
                i = self._quote(i)
            else:
                i = self._paragraph(i)
        return self.out

    def _starts_block(self, i: int) -> bool:
        line = self.line(i)
        return bool(
            FENCE.match(line) or ATX.match(line) or THEMATIC.match(line) or _QUOTE.match(line)
        ) or self._table_starts(i)

    def _heading(self, level: int, s: int, e: int) -> None:
        # Closing hashes ("## Title ##") are markup; the page's own <h1> is the title, so "#" is <h2>.
        content = self.text[s:e]
        stripped = re.sub(r"[ \t]+#+[ \t]*$|^#+[ \t]*$", "", content).rstrip()
        lead = len(stripped) - len(stripped.lstrip())
        tag = f"h{min(level + 1, 6)}"
        self.out.append(f"<{tag}>")
        self._inline(s + lead, s + len(stripped))
        self.out.append(f"</{tag}>")

    def _code(self, i: int) -> int:
        fence = FENCE.match(self.line(i))
        assert fence is not None
        mark = fence.group(1)
        j = i + 1
        while j < len(self.lines) and not self.line(j).strip().startswith(mark):
            j += 1
        self.out.append("<pre><code>")
        if j > i + 1:
            self.out.append(_Run(self.lines[i + 1][0], self.lines[j - 1][1]))
        self.out.append("</code></pre>")
        return j + 1

    def _table_starts(self, i: int) -> bool:
        return (
            i + 1 < len(self.lines)
            and "|" in self.line(i)
            and "|" in self.line(i + 1)
            and bool(TABLE_SEP.match(self.line(i + 1)))
        )

    def _cell_rows(self, i: int) -> int:
        """How many lines from ``i`` on are rows of the same number of " | "-separated cells: how the PDF,
        HTML and DOCX extractors write a table (:mod:`index.formats`)."""
        cells = self.line(i).count(TABLE_CELLS)
        j = i
        while cells and j < len(self.lines) and self.line(j).count(TABLE_CELLS) == cells:
            if LIST_ITEM.match(self.line(j)):
                break
            j += 1
        return j - i

    def _cell_table(self, i: int) -> int:
        rows = self._cell_rows(i)
        self.out.append('<div class="table"><table><tbody>')
        for j in range(i, i + rows):
            s, e = self.lines[j]
            edges = [s, *(m for k in _find_all(self.text, TABLE_CELLS, s, e) for m in (k, k + len(TABLE_CELLS))), e]
            self.out.append("<tr>")
            for a, b in zip(edges[::2], edges[1::2], strict=True):
                self.out.append("<td>")
                self._inline(a, b)
                self.out.append("</td>")
            self.out.append("</tr>")
        self.out.append("</tbody></table></div>")
        return i + rows

    def _table(self, i: int) -> int:
        self.out.append('<div class="table"><table><thead>')
        self._row(i, "th")
        self.out.append("</thead><tbody>")
        j = i + 2
        while j < len(self.lines) and not self.blank(j) and "|" in self.line(j):
            self._row(j, "td")
            j += 1
        self.out.append("</tbody></table></div>")
        return j

    def _row(self, i: int, cell: str) -> None:
        s, e = self.lines[i]
        line = self.text[s:e]
        bars = [m.start() for m in _CELL_BAR.finditer(line)]
        edges = [-1, *bars, len(line)]
        cells = [(a + 1, b) for a, b in pairwise(edges)]
        if cells and not line[: cells[0][1]].strip():
            cells = cells[1:]  # "| a | b |": nothing before the first bar
        if cells and not line[cells[-1][0] :].strip():
            cells = cells[:-1]  # ... nor after the last
        self.out.append("<tr>")
        for a, b in cells:
            raw = line[a:b]
            lead, trail = len(raw) - len(raw.lstrip()), len(raw) - len(raw.rstrip())
            self.out.append(f"<{cell}>")
            self._inline(s + a + lead, s + b - trail)
            self.out.append(f"</{cell}>")
        self.out.append("</tr>")

    def _list(self, i: int) -> int:
        # Open lists: (indent, kind). A bullet or a number is dropped (<ul>/<ol> show it again); another marker
        # ("a)", "(1)") stays in the item's text, in a list drawn without bullets ("marked").
        stack: list[tuple[int, str]] = []
        j = i
        while j < len(self.lines):
            if self.blank(j):
                k = j + 1
                while k < len(self.lines) and self.blank(k):
                    k += 1
                if k < len(self.lines) and (LIST_ITEM.match(self.line(k)) or self.line(k)[:1] in (" ", "\t")):
                    j = k
                    continue
                break
            m = LIST_ITEM.match(self.line(j))
            if m is None:
                if self._starts_block(j):
                    break
                # A continuation line of the item above.
                s, e = self.lines[j]
                lead = len(self.line(j)) - len(self.line(j).lstrip())
                self.out.append("\n")
                self._inline(s + lead, e)
                j += 1
                continue
            indent = len(m.group("indent").expandtabs(4))
            kind = "ol" if m.group("number") else "ul" if m.group("bullet") else "marked"
            while stack and indent < stack[-1][0]:
                self.out.append(f"</li>{_close(stack.pop()[1])}")
            if stack and indent == stack[-1][0] and kind != stack[-1][1]:
                self.out.append(f"</li>{_close(stack.pop()[1])}")
            if stack and indent == stack[-1][0]:
                self.out.append("</li>")
            else:
                number = int(m.group("number")) if m.group("number") else 1
                opening = '<ul class="marked">' if kind == "marked" else f"<{kind}>"
                self.out.append(f'<ol start="{number}">' if kind == "ol" and number != 1 else opening)
                stack.append((indent, kind))
            self.out.append("<li>")
            s, e = self.lines[j]
            self._inline(s + (len(m.group("indent")) if kind == "marked" else m.end()), e)
            j += 1
        while stack:
            self.out.append(f"</li>{_close(stack.pop()[1])}")
        return j

    def _quote(self, i: int) -> int:
        self.out.append("<blockquote><p>")
        j = i
        while j < len(self.lines) and (m := _QUOTE.match(self.line(j))) is not None:
            if j > i:
                self.out.append("\n")
            s, e = self.lines[j]
            self._inline(s + m.end(), e)
            j += 1
        self.out.append("</p></blockquote>")
        return j

    def _paragraph(self, i: int) -> int:
        j = i + 1
        while j < len(self.lines) and not self.blank(j):
            if SETEXT.match(self.line(j)):
                if j == i + 1:  # "Title" over "=====" (or "-----"): a heading
                    s, e = self.lines[i]
                    lead = len(self.line(i)) - len(self.line(i).lstrip())
                    self._heading(1 if "=" in self.line(j) else 2, s + lead, e)
                    return j + 1
                break
            if self._starts_block(j) or LIST_ITEM.match(self.line(j)):
                break
            j += 1
        self.out.append("<p>")
        for k in range(i, j):
            s, e = self.lines[k]
            lead = len(self.line(k)) - len(self.line(k).lstrip())
            if k > i:
                self.out.append("\n")
            self._inline(s + lead, e)
        self.out.append("</p>")
        return j

    def _inline(self, s: int, e: int) -> None:
        """Inline styles in ``text[s:e]`` (one line)."""
        text, out = self.text, self.out
        pos = s
        while pos < e:
            m = _INLINE.search(text, pos, e)
            if m is None:
                break
            if m.start() > pos:
                out.append(_Run(pos, m.start()))
            if m.group("code"):
                out.append("<code>")
                out.append(_Run(m.start("code_body"), m.end("code_body")))
                out.append("</code>")
            elif m.group("image"):
                out.append('<span class="image">[image')
                if m.group("alt"):
                    out.append(": ")
                    out.append(_Run(m.start("alt"), m.end("alt")))
                out.append("]</span>")
            elif m.group("link"):
                out.append(f'<span class="link" title="{escape(m.group("href"))}">')
                self._inline(m.start("label"), m.end("label"))
                out.append("</span>")
            elif m.group("strong"):
                body = "sb" if m.group("sb") is not None else "ub"
                out.append("<strong>")
                self._inline(m.start(body), m.end(body))
                out.append("</strong>")
            elif m.group("em"):
                body = "eb" if m.group("eb") is not None else "ueb"
                out.append("<em>")
                self._inline(m.start(body), m.end(body))
                out.append("</em>")
            elif m.group("escape"):
                out.append(_Run(m.start("escaped"), m.end("escaped")))
            else:
                out.append(_Run(m.start("url"), m.end("url")))
            pos = m.end()
        if pos < e:
            out.append(_Run(pos, e))


_HEADING_MARK = re.compile(r" {0,3}#{1,6}[ \t]+")


def _close(kind: str) -> str:
    return "</ol>" if kind == "ol" else "</ul>"


def plain_text(text: str) -> str:
    """``text`` as the page shows it, without markup, for snippets: heading, quote and list markers dropped,
    a link as its text, an image as ``[image: alt]``, emphasis and code as their text, cells apart by " · "."""
    lines = []
    for line in text.splitlines():
        for marker in (_HEADING_MARK, _QUOTE, LIST_ITEM):
            found = marker.match(line)
            if found:
                line = line[found.end() :]
        cells = [c.strip() for c in _CELL_BAR.split(line)] if _CELL_BAR.search(line) else [line]
        lines.append(" · ".join(_plain_inline(c) for c in cells if c))
    return "\n".join(lines)


def _plain_inline(line: str) -> str:
    def shown(m: re.Match[str]) -> str:
        if m.group("code"):
            return m.group("code_body")
        if m.group("image"):
            return f"[image: {m.group('alt')}]" if m.group("alt") else "[image]"
        if m.group("link"):
            return _plain_inline(m.group("label"))
        for body in ("sb", "ub", "eb", "ueb"):
            if m.group(body) is not None:
                return _plain_inline(m.group(body))
        return m.group("escaped") or m.group("url")

    return _INLINE.sub(shown, line)


def _find_all(text: str, needle: str, start: int, end: int) -> list[int]:
    found, at = [], text.find(needle, start, end)
    while at != -1:
        found.append(at)
        at = text.find(needle, at + len(needle), end)
    return found
