"""Plain text and Markdown files."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ingest.loaders.common import BLANK_SPLIT, DecodeError, LoadError, finish, normalise_newlines
from ingest.loaders.decode import decode_bytes


def _text_paragraphs(text: str) -> list[str]:
    """Paragraphs are separated by blank lines; a file without any has one per line."""
    text = normalise_newlines(text).strip("\n")
    blocks = BLANK_SPLIT.split(text)
    if len(blocks) == 1:
        # Common for Chinese .txt: one paragraph per line, indented with full-width spaces.
        return [ln for ln in text.split("\n") if ln.strip()]
    return blocks


_MD_FENCE = re.compile(r"^\s{0,3}(```+|~~~+)")
# "#标题" without the space is common in Chinese Markdown, so a non-ASCII character may follow.
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}(?:\s+|$|(?=[^\x00-\x7f]))(.*?)(?:\s+#+\s*)?$")
_MD_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_MD_RULE = re.compile(r"^\s{0,3}([-*_])(?:\s*\1){2,}\s*$")
_MD_REFDEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*\S+.*$")
_MD_BULLET = re.compile(r"^\s*[-*+]\s+")
_MD_ORDERED = re.compile(r"^\s*(\d{1,9}[.)])\s+")
_MD_QUOTE = re.compile(r"^\s{0,3}(?:>\s?)+")
_MD_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_MD_INLINE: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"<!--.*?-->", re.S), ""),
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), ""),  # images carry no speech text
    (re.compile(r"!\[[^\]]*\]\[[^\]]*\]"), ""),
    (re.compile(r"\[([^\]]*)\]\((?:[^()]|\([^)]*\))*\)"), r"\1"),  # [text](url "title")
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),  # [text][ref]
    (re.compile(r"<((?:https?|ftp|mailto):[^>\s]+)>"), r"\1"),  # autolinks
    (re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>"), ""),  # inline HTML tags
    (re.compile(r"(`+)(.+?)\1"), r"\2"),
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), r"\1"),
    (re.compile(r"(?<!\*)\*(?=\S)(.+?)(?<=\S)\*(?!\*)"), r"\1"),  # *强调* works inside words
    (re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])"), r"\1"),
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])"), r"\1"),  # backslash escapes
)


def _md_inline(text: str) -> str:
    for pattern, repl in _MD_INLINE:
        text = pattern.sub(repl, text)
    return text


def _md_table_row(line: str) -> str:
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    return " | ".join(_md_inline(c) for c in cells if c)


def markdown_to_text(md: str) -> str:
    """Strip Markdown markup that is not speech text, keeping one paragraph per block.

    Headings become their own paragraph, list items one paragraph each (ordered
    numbers are kept: "1." is part of a Chinese outline), links become their
    text, images vanish, code fences keep their content verbatim.
    """
    lines = _drop_front_matter(normalise_newlines(md).split("\n"))
    blocks = _MarkdownBlocks()
    i = 0
    while i < len(lines):
        fence = _MD_FENCE.match(lines[i])
        if fence:
            i = blocks.fenced(lines, i, fence.group(1))
        else:
            blocks.line(lines[i])
            i += 1
    blocks.flush()
    return finish(blocks.paragraphs)


def _drop_front_matter(lines: list[str]) -> list[str]:
    """YAML front matter is metadata, not text."""
    if lines and lines[0].strip() == "---":
        for end in range(1, len(lines)):
            if lines[end].strip() in ("---", "..."):
                return lines[end + 1 :]
    return lines


@dataclass
class _MarkdownBlocks:
    """Paragraphs so far plus the lines of the one being collected: a Markdown paragraph
    ends at a blank line or at the next block (heading, list item, fence, table row)."""

    paragraphs: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=list)

    def flush(self) -> None:
        if self.current:
            self.paragraphs.append("\n".join(self.current))
            self.current.clear()

    def fenced(self, lines: list[str], start: int, marker: str) -> int:
        """A code fence's content verbatim, split at its blank lines; returns the index after it."""
        self.flush()
        body: list[str] = []
        i = start + 1
        while i < len(lines) and not lines[i].strip().startswith(marker[:3]):
            body.append(lines[i])
            i += 1
        self.paragraphs.extend(BLANK_SPLIT.split("\n".join(body)))
        return i + 1  # past the closing fence (or the end of the file)

    def line(self, line: str) -> None:
        stripped = line.strip()
        if not stripped or (_MD_RULE.match(line) and not self.current):
            self.flush()
        elif _MD_SETEXT.match(line) and self.current:
            # "Title\n=====": the lines collected so far are a heading.
            self.flush()
        elif heading := _MD_HEADING.match(line):
            self.flush()
            self.paragraphs.append(_md_inline(heading.group(1)))
        elif _MD_REFDEF.match(line) or (_MD_TABLE_SEP.match(line) and "|" in line):
            pass  # link reference definitions and table rules are not text
        elif stripped.startswith("|") and stripped.endswith("|"):
            self.flush()
            self.paragraphs.append(_md_table_row(line))
        else:
            self.text_line(line)

    def text_line(self, line: str) -> None:
        """A list item starts a paragraph of its own; an ordered item keeps its number."""
        text = _MD_QUOTE.sub("", line)
        bullet = _MD_BULLET.match(text)
        ordered = _MD_ORDERED.match(text)
        if bullet or ordered:
            self.flush()
            if bullet:
                text = text[bullet.end() :]
            else:
                assert ordered is not None
                text = ordered.group(1) + " " + text[ordered.end() :]
        self.current.append(_md_inline(text.strip()))


def read_text_file(path: Path, data: bytes) -> str:
    try:
        text = decode_bytes(data)
    except DecodeError as exc:
        raise LoadError(path, str(exc)) from exc
    if path.suffix.lower() == ".md":
        return markdown_to_text(text)
    return finish(_text_paragraphs(text))
