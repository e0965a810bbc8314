"""Page cleaning: what of a web page is site furniture, dropped before the speech is looked for.

Furniture is what the site wraps around every page: hidden popups and menus, navigation,
headers, footers, sidebars, share bars, breadcrumbs, "相关推荐" and "上一篇/下一篇" link lists,
any block that is mostly links, and the publishing line ("发布时间：… 来源：…"). The speech is
the rest: its title, its own date and speaker lines (even when a template classes them as
"date" or "meta"), and its paragraphs. html_page decodes, parses and finds the content;
this module only removes, and never drops what holds most of the page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ingest.heads import is_bare_date_line, is_speaker_line
from ingest.loaders.common import QUOTES, check_time, cjk_count, is_wide

if TYPE_CHECKING:
    from bs4 import BeautifulSoup, NavigableString, Tag

_HTML_LAYOUT_TAGS = ["nav", "header", "footer", "aside", "form", "menu"]
BLOCK_TAGS = [
    "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details",
    "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2",
    "h3", "h4", "h5", "h6", "header", "hgroup", "hr", "li", "main", "nav", "ol", "p", "pre",
    "section", "summary", "table", "tbody", "tfoot", "thead", "tr", "td", "th", "ul", "title",
]  # fmt: skip
_BOILER_TOKEN = re.compile(
    r"(?:^|[-_\s])(?:nav|navbar|navigation|menus?|breadcrumbs?|crumbs?|sidebar|side|aside|"
    r"footer|foot|header|head|topbar|share|sharing|social|copyright|copy|comments?|related|"
    r"recommends?|tuijian|xiangguan|ads?|advert|adv|banner|popup|modal|cookie|login|toolbar|"
    r"pagination|pager|prenext|prev|next|tags?|hot|rank|subscribe|qrcode|search|links?|flink|"
    r"friendlink|gotop|backtop|bottom|info|meta|author|byline|pubtime|pubdate|date|time|"
    r"source)(?=$|[-_\s\d])",
    re.I,
)


def is_speech_head(text: str) -> bool:
    """A speech's own date line "（2024年1月12日）" or speaker line, which sites often class as
    "meta" or "date" like their publishing line. The publishing line is not bracketed and
    carries labels (发布时间：…  来源：…), so it still goes."""
    text = text.strip()
    bracketed = text[:1] in "（(" and text[-1:] in "）)"
    return (bracketed and is_bare_date_line(text)) or is_speaker_line(text)


_BOILER_WORD = re.compile(r"breadcrumb|sidebar|copyright|navbar|footer|recommend|related|share|advert", re.I)
_BOILER_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search"}
_RELATED_WORDS = re.compile(
    r"相关(?:推荐|范文|文章|阅读|资料|内容|链接|下载|专题|搜索)|猜[您你]喜欢|"
    r"热门(?:推荐|文章|范文|阅读|标签|搜索)|推荐(?:阅读|文章|范文)|延伸阅读|精[彩品]推荐|"
    r"为[您你]推荐|最新(?:文章|更新|范文)|大家(?:都)?在看|友情链接"
)
_PREV_NEXT = re.compile(r"^\s*(?:上一篇|下一篇|上一页|下一页)")
_META_LABEL = re.compile(r"(时间|日期|发布|作者|来源|编辑|责编|浏览|点击|阅读|字体|字号)\s*[:：]")
_CHINESE_PAGE_MIN_HANZI = 20  # fewer in the body: an English page, weighed by all visible characters
_LINKISH_DENSITY = 0.5  # link text is at least half of a block's text: a link list, not speech
# Menus and tag clouds: 2+ links making up most of the block (lists are links by nature: 0.5).
_LINK_BLOCK_TAGS = ["ul", "ol", "dl", "div", "section", "table", "p", "span", "td", "li"]
_LINK_BLOCK_MIN_LINKS, _LIST_LINK_DENSITY, _BLOCK_LINK_DENSITY = 2, 0.5, 0.6
_RELATED_HEADING_MAX_CHARS = 30  # "相关推荐" headings are short; longer blocks with the words are text
_RELATED_HEADING_MAX_REST = 2  # room for "：" or "》》" beside the words; more is a speech line
_PREV_NEXT_MAX_CHARS = 120  # "上一篇：<title>" fits; a paragraph that starts with the word does not
# "时间：… 作者：… 来源：…": 2+ distinct labels on one short line is the publishing line.
_META_LINE_TAGS = ["div", "p", "span", "td", "li"]
_META_LINE_MAX_CHARS, _META_LINE_MIN_LABELS = 100, 2


def text_weight(text: str, chinese: bool) -> int:
    """How much text an element holds: hanzi for a Chinese page, visible characters otherwise."""
    if chinese:
        return cjk_count(text)
    return sum(1 for ch in text if not ch.isspace())


def gone(tag: object) -> bool:
    """``tag.decomposed`` without its cost: bs4 reads it through ``Tag.__getattr__``, which
    searches the whole subtree for a <_decomposed> tag first (quadratic on deep pages)."""
    return bool(getattr(tag, "__dict__", {}).get("_decomposed"))


def collapse_html_ws(text: str) -> str:
    """HTML whitespace rules, CJK-aware: a source line break between hanzi is not a space."""

    def repl(match: re.Match[str]) -> str:
        if "\n" not in match.group():
            return " "
        before = text[: match.start()].rstrip(QUOTES)
        after = text[match.end() :].lstrip(QUOTES)
        if before and after and is_wide(before[-1]) and is_wide(after[0]):
            return ""
        return " "

    return re.sub(r"[ \t\r\n\f]+", repl, text).strip()


@dataclass(frozen=True)
class Page:
    """What the cleaning steps share: the tree, its body, whether weights count hanzi, and the
    body's weight once the junk is gone (the yardstick for what must never be dropped)."""

    soup: BeautifulSoup
    body: Tag
    chinese: bool
    total: int

    @classmethod
    def of(cls, soup: BeautifulSoup) -> Page:
        body = soup.body or soup
        chinese = cjk_count(body.get_text()) >= _CHINESE_PAGE_MIN_HANZI
        return cls(soup, body, chinese, text_weight(body.get_text(), chinese))

    def weight(self, tag: Tag) -> int:
        return text_weight(tag.get_text(), self.chinese)

    def protected(self, tag: Tag) -> bool:
        """Never drop what holds most of the page: a misnamed wrapper, an ASP.NET <form>."""
        return (
            tag is self.body
            or tag.name in ("html", "body")
            or (self.total > 0 and self.weight(tag) * 2 > self.total)
        )

    def drop(self, tag: Tag) -> None:
        if not gone(tag) and not self.protected(tag):
            tag.decompose()


def _attr_text(tag: Tag) -> str:
    classes = tag.get("class") or []
    if isinstance(classes, str):
        classes = [classes]
    return " ".join([str(tag.get("id") or ""), *map(str, classes)])


def _is_boiler(tag: Tag) -> bool:
    """Site chrome by its id, class or ARIA role: templates name their furniture."""
    attrs = _attr_text(tag)
    role = str(tag.get("role") or "").lower()
    return role in _BOILER_ROLES or bool(
        attrs.strip() and (_BOILER_TOKEN.search(attrs) or _BOILER_WORD.search(attrs))
    )


def find_h1_title(soup: BeautifulSoup, site_names: list[str]) -> str:
    """The first <h1> that is not the site's logo or name, or "" (the <title> is used then).
    Prefer one outside anything that looks like site chrome; an "article-head" may hold it."""
    for strict in (True, False):
        for h1 in soup.find_all("h1"):
            h1_text = collapse_html_ws(h1.get_text())
            if not _is_chrome_h1(h1, h1_text, site_names, strict):
                return h1_text
    return ""


def _is_chrome_h1(h1: Tag, h1_text: str, site_names: list[str], strict: bool) -> bool:
    from bs4 import Tag

    chain = [h1, *(p for p in h1.parents if isinstance(p, Tag))]
    names = {t.name for t in chain}
    in_content = bool(names & {"article", "main"})
    return bool(
        len(h1_text) <= 1
        or h1_text in site_names
        or any("logo" in _attr_text(t).lower() for t in chain)
        or names & {"nav", "footer", "aside"}
        or ("header" in names and not in_content)
        or (strict and any(_is_boiler(t) for t in chain))
    )


def _drop_hidden(page: Page) -> None:
    """Hidden elements are popups and menus; protected() keeps a "read more" rest of the article."""
    for tag in page.soup.find_all(True):
        check_time()
        if gone(tag):  # inside a hidden element dropped earlier in this loop
            continue
        style = str(tag.get("style", "")).replace(" ", "").lower()
        if "display:none" in style or tag.has_attr("hidden"):
            page.drop(tag)


def _drop_boilerplate(page: Page) -> None:
    """Chrome by its names, except the speech's own date or speaker line classed like it."""
    for tag in page.soup.find_all(True):
        check_time()
        if (
            not gone(tag)
            and tag.name not in ("html", "body")
            and _is_boiler(tag)
            and not is_speech_head(collapse_html_ws(tag.get_text()))
        ):
            page.drop(tag)


def _block_of(node: NavigableString | Tag) -> Tag | None:
    from bs4 import Tag

    for parent in node.parents:
        if isinstance(parent, Tag) and parent.name in BLOCK_TAGS:
            return parent
    return None


def _link_density(tag: Tag) -> tuple[float, int]:
    """Share of the visible characters that are link text (1.0 when empty), and the link count."""
    all_len = sum(1 for ch in tag.get_text() if not ch.isspace())
    links = tag.find_all("a")
    link_len = sum(1 for a in links for ch in a.get_text() if not ch.isspace())
    return (link_len / all_len if all_len else 1.0), len(links)


def linkish(tag: Tag) -> bool:
    density, _ = _link_density(tag)
    return density >= _LINKISH_DENSITY or not tag.get_text(strip=True)


def _drop_related_lists(page: Page) -> None:
    """ "相关推荐" and friends: a short heading plus the link list after it, or a link block."""
    from bs4 import NavigableString

    for string in page.soup.find_all(string=_RELATED_WORDS):
        check_time()
        if not isinstance(string, NavigableString) or getattr(string, "parent", None) is None:
            continue
        block = _block_of(string)
        if block is None or gone(block):
            continue
        if len(block.get_text(strip=True)) <= _RELATED_HEADING_MAX_CHARS:
            _drop_related_heading(page, block)
        elif _link_density(block)[0] >= _LINKISH_DENSITY:
            page.drop(block)


def _drop_related_heading(page: Page, block: Tag) -> None:
    """The heading's outermost short wrapper, and the link-ish siblings up to the next heading."""
    from bs4 import Tag

    while (
        block.parent is not None
        and block.parent.name not in ("body", "html")
        and len(block.parent.get_text(strip=True)) <= _RELATED_HEADING_MAX_CHARS
    ):
        block = block.parent
    following = [s for s in block.find_next_siblings() if isinstance(s, Tag)]
    dropped = 0
    for sibling in following:
        if re.fullmatch(r"h[1-6]", sibling.name or "") or not linkish(sibling):
            break
        page.drop(sibling)
        dropped += 1
    # A short speech line that happens to contain the words is not a heading.
    rest = _RELATED_WORDS.sub("", block.get_text())
    if dropped or len(re.sub(r"[\W_]", "", rest)) <= _RELATED_HEADING_MAX_REST:
        page.drop(block)


def _drop_prev_next(page: Page) -> None:
    """ "上一篇/下一篇" navigation: short blocks only, a speech may mention the words."""
    from bs4 import NavigableString

    for string in page.soup.find_all(string=_PREV_NEXT):
        check_time()
        if not isinstance(string, NavigableString) or getattr(string, "parent", None) is None:
            continue  # its block was dropped earlier in this loop (a decomposed string has no parent)
        block = _block_of(string)
        if block is not None and not gone(block) and len(block.get_text(strip=True)) <= _PREV_NEXT_MAX_CHARS:
            page.drop(block)


def _drop_link_blocks(page: Page) -> None:
    """Any block that is mostly links (menus, tag clouds, link lists), whatever it is named."""
    for tag in page.soup.find_all(_LINK_BLOCK_TAGS):
        check_time()
        if gone(tag):
            continue
        density, count = _link_density(tag)
        limit = _LIST_LINK_DENSITY if tag.name in ("ul", "ol", "dl") else _BLOCK_LINK_DENSITY
        if count >= _LINK_BLOCK_MIN_LINKS and density >= limit:
            page.drop(tag)


def _drop_meta_lines(page: Page) -> None:
    """ "时间：2023-11-30 作者：某某 来源：…": the publishing line, not the speech."""
    for tag in page.soup.find_all(_META_LINE_TAGS):
        check_time()
        if gone(tag):
            continue
        line = tag.get_text(" ", strip=True)
        if len(line) <= _META_LINE_MAX_CHARS and len(set(_META_LABEL.findall(line))) >= _META_LINE_MIN_LABELS:
            page.drop(tag)


def drop_furniture(page: Page) -> None:
    """Every cleaning step, in order. Read the <h1> title (find_h1_title) before: this drops chrome."""
    _drop_hidden(page)
    for tag in page.soup.find_all(_HTML_LAYOUT_TAGS):
        page.drop(tag)
    _drop_boilerplate(page)
    _drop_related_lists(page)
    _drop_prev_next(page)
    _drop_link_blocks(page)
    _drop_meta_lines(page)
