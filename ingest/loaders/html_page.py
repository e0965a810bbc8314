"""HTML pages: the speech text without the site's navigation, related links and footers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.loaders.common import BLANK_SPLIT, DecodeError, LoadError, check_time, finish
from ingest.loaders.decode import BOMS, check_plausible, decode_bytes
from ingest.loaders.html_clean import (
    BLOCK_TAGS,
    Page,
    collapse_html_ws,
    drop_furniture,
    find_h1_title,
    gone,
    linkish,
    text_weight,
)

if TYPE_CHECKING:
    from bs4 import BeautifulSoup, Tag

_HTML_JUNK_TAGS = [
    "script", "style", "noscript", "template", "iframe", "svg", "canvas", "object",
    "embed", "link", "meta", "button", "input", "select", "textarea", "head",
]  # fmt: skip
_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)|<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9._:-]+)""",
    re.I,
)
_ENCODING_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "big5": "cp950"}
# Where the main content may sit, and which of its siblings are bare speech paragraphs.
_CONTAINER_TAGS = frozenset(
    {"div", "section", "article", "main", "td", "tr", "tbody", "table", "center", "form"}
)
_TEXT_BLOCK_TAGS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre"})
_PARA_MARK = "\ue000\ue001\ue000"
# Real pages nest 20-40 deep. The extraction asks each element for its text, which costs
# its depth, so a hostile page 10,000 deep took minutes; deeper content is flattened here.
MAX_HTML_DEPTH = 200
_PRE_MARK = "\ue001\ue000\ue001"
_META_CHARSET_SNIFF_BYTES = 4096  # a charset declaration sits in <head>, near the top of the file
# "讲话标题_范文网", "讲话标题 - 某某网": what separates the speech's title from the site's name.
_TITLE_SEPARATORS = re.compile(r"\s*(?:_|\||｜|\s-\s|\s–\s|\s—\s)\s*")
_ARTICLE_MIN_SHARE = 0.3  # a smaller <article>/<main> is a teaser box, not the speech
_CONTAINER_MIN_SHARE = 0.75  # descend only into a child holding nearly all the text; else stop here
_FOOTER_TEXT = re.compile(r"^\s*(?:版权所有|版权声明|免责声明|Copyright|©|\(c\)\s)", re.I)
_FOOTER_LINE_MAX_CHARS = 150  # "版权所有…" lines; a long paragraph starting with © is still text
_HEADING_TITLE_WINDOW = 2  # an <h2>/<h3> is the title only when it opens the content
_TITLE_REPEAT_WINDOW = 3  # the title repeated near the top goes, so it appears once


def _decode_html(data: bytes) -> str:
    """Bytes of a web page -> str: BOM, strict UTF-8, the page's own declaration, then sniffing.

    Strict UTF-8 goes before the declaration because pages saved as UTF-8 often keep
    a stale "gb2312" meta tag, and GB18030 would decode those bytes into nonsense.
    """
    if not any(data.startswith(bom) for bom, _ in BOMS):
        try:
            return check_plausible(data.decode("utf-8"))
        except UnicodeDecodeError:
            pass
        match = _META_CHARSET.search(data[:_META_CHARSET_SNIFF_BYTES])
        if match:
            declared = (match.group(1) or match.group(2)).decode("ascii").lower()
            declared = _ENCODING_ALIASES.get(declared, declared)
            try:
                return data.decode(declared)
            except (LookupError, UnicodeDecodeError):
                pass  # wrong or unknown declaration: sniff instead
    return decode_bytes(data)


def html_to_text(html: str | bytes) -> str:
    """Extract the main text of a web page; title first, one paragraph per block.

    Saved speech pages carry far more site furniture than speech, so the furniture goes
    first (scripts, navigation, headers/footers, sidebars, share bars, breadcrumbs,
    copyright, "相关推荐/上一篇" link lists, any block that is mostly links); what is
    left is judged by where the text is: <article>/<main>, or the innermost element
    holding most of the page's Chinese text.
    """
    soup = _parse_html(_decode_html(html) if isinstance(html, bytes) else html)
    page_title, site_names = _split_page_title(soup)
    _drop_junk(soup)
    page = Page.of(soup)
    h1_title = find_h1_title(soup, site_names)
    drop_furniture(page)
    before, root, after = _descend_to_content(page, _content_root(page))
    return _titled_paragraphs(h1_title or page_title, bool(h1_title), [*before, root, *after], root)


def _parse_html(text: str) -> BeautifulSoup:
    """Parse, then flatten what is deeper than MAX_HTML_DEPTH so later steps stay linear."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "lxml")
    check_time()
    _flatten_deep(soup)
    return soup


def _split_page_title(soup: BeautifulSoup) -> tuple[str, list[str]]:
    """The <title>, read before <head> goes with the junk: "讲话标题_范文网" or "讲话标题 - 某某网"
    names the speech first and the site after; the site names help to reject a logo <h1>."""
    if soup.title is None:
        return "", []
    page_title, *site_names = _TITLE_SEPARATORS.split(soup.title.get_text(" ", strip=True))
    return page_title, site_names


def _drop_junk(soup: BeautifulSoup) -> None:
    """Comments and non-text elements never hold speech text, and would skew every weight."""
    from bs4 import Comment

    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    for tag in soup.find_all(_HTML_JUNK_TAGS):
        tag.decompose()


def _content_root(page: Page) -> Tag:
    """The biggest <article>/<main> when it holds enough of what is left, else the body."""
    root = page.body
    remaining = page.weight(root)
    for name in ("article", "main"):
        candidates = [t for t in page.soup.find_all(name) if not gone(t)]
        if candidates:
            best = max(candidates, key=page.weight)
            if remaining and page.weight(best) >= _ARTICLE_MIN_SHARE * remaining:
                return best
    return root


def _descend_to_content(page: Page, root: Tag) -> tuple[list[object], Tag, list[object]]:
    """Descend into the container holding nearly all that is left; bare paragraphs
    beside it (a greeting, a closing line) are kept, a sibling box is not."""
    from bs4 import Tag

    before: list[object] = []
    after: list[object] = []
    while True:
        check_time()
        children = [c for c in root.children if isinstance(c, Tag) and c.name in _CONTAINER_TAGS]
        if not children:
            break
        best = max(children, key=page.weight)
        root_weight = page.weight(root)
        if root_weight == 0 or page.weight(best) < _CONTAINER_MIN_SHARE * root_weight:
            break
        siblings = list(root.children)
        position = next(i for i, node in enumerate(siblings) if node is best)

        before = before + [n for n in siblings[:position] if _is_text_block(page, n)]
        after = [n for n in siblings[position + 1 :] if _is_text_block(page, n)] + after
        root = best
    return before, root, after


def _is_text_block(page: Page, node: object) -> bool:
    from bs4 import NavigableString, Tag

    if isinstance(node, Tag):
        return node.name in _TEXT_BLOCK_TAGS and page.weight(node) > 0 and not linkish(node)
    return isinstance(node, NavigableString) and text_weight(str(node), page.chinese) > 0


def _titled_paragraphs(title: str, from_h1: bool, nodes: list[object], root: Tag) -> str:
    """The paragraphs with the title once, first; footer lines that survived the cleaning go."""
    heading = None if from_h1 else root.find(["h2", "h3"])
    heading_text = collapse_html_ws(heading.get_text()) if heading is not None else ""
    paragraphs = [para for node in nodes for para in _html_paragraphs(node)]
    if heading_text and heading_text in paragraphs[:_HEADING_TITLE_WINDOW]:
        # No usable <h1>: the content's leading <h2>/<h3> beats the (often generic) <title>.
        title = heading_text
    paragraphs = [p for p in paragraphs if not (len(p) < _FOOTER_LINE_MAX_CHARS and _FOOTER_TEXT.match(p))]
    if title:
        head = paragraphs[:_TITLE_REPEAT_WINDOW]
        if title in head:
            paragraphs.remove(title)
        paragraphs.insert(0, title)
    return finish(paragraphs)


def _flatten_deep(soup: object) -> None:
    """Replace what lies deeper than MAX_HTML_DEPTH by its text, with a line break at each
    block element and <br>, so every later step costs at most MAX_HTML_DEPTH per element.
    Iterative throughout: a 10,000-deep page must not hit Python's recursion limit."""
    from bs4 import NavigableString, Tag

    deep: list[Tag] = []
    stack: list[tuple[Tag, int]] = [(soup, 0)]  # type: ignore[list-item]
    while stack:
        tag, depth = stack.pop()
        for child in tag.children:
            if isinstance(child, Tag):
                if depth + 1 >= MAX_HTML_DEPTH and child.contents:
                    deep.append(child)
                else:
                    stack.append((child, depth + 1))
    for top in deep:
        check_time()
        flat: list[str | None] = []  # None: a line break
        events: list[object] = list(reversed(top.contents))
        while events:
            node = events.pop()
            if node is None:
                if flat and flat[-1] is not None:
                    flat.append(None)
            elif isinstance(node, Tag):
                if node.name in _HTML_JUNK_TAGS:
                    continue
                if node.name in BLOCK_TAGS or node.name == "br":
                    if flat and flat[-1] is not None:
                        flat.append(None)
                    events.append(None)  # the break after the element's content
                events.extend(reversed(node.contents))
            elif type(node) is NavigableString and (node.strip() or (flat and flat[-1] is not None)):
                flat.append(str(node))
        top.clear()
        for piece in flat:
            top.append(soup.new_tag("br") if piece is None else NavigableString(piece))  # type: ignore[attr-defined]


def _html_paragraphs(root: object) -> list[str]:
    """Text of an element with a paragraph break at every block element and <br>.

    One walk over the tree, without changing it (linear in its size; inserting marker
    nodes cost a sibling search each, quadratic for a page of many <br>s).
    """
    from bs4 import CData, NavigableString, Tag

    if not isinstance(root, Tag):
        text = collapse_html_ws(str(root))
        return [text] if text else []
    pieces: list[str] = []
    stack: list[object] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, Tag):
            if node.name == "br":
                pieces.append(_PARA_MARK)
            elif node.name == "pre":
                pieces += [_PARA_MARK, _PRE_MARK, node.get_text(), _PARA_MARK]
            else:
                block = node.name in BLOCK_TAGS and node is not root
                if block:
                    pieces.append(_PARA_MARK)
                    stack.append(_PARA_MARK)
                stack.extend(reversed(node.contents))
        elif node is _PARA_MARK or type(node) in (NavigableString, CData):
            pieces.append(str(node))
    paragraphs: list[str] = []
    for chunk in "".join(pieces).split(_PARA_MARK):
        if chunk.startswith(_PRE_MARK):
            paragraphs.extend(BLANK_SPLIT.split(chunk[len(_PRE_MARK) :].strip("\n")))
        else:
            collapsed = collapse_html_ws(chunk.replace(_PRE_MARK, ""))
            if collapsed:
                paragraphs.append(collapsed)
    return paragraphs


def read_html(path: Path, data: bytes) -> str:
    try:
        return html_to_text(data)
    except DecodeError as exc:
        raise LoadError(path, str(exc)) from exc
