"""HTML pages: the speech text without the site's navigation, related links and footers."""

from __future__ import annotations

import re
from pathlib import Path

from ingest.heads import is_bare_date_line, is_speaker_line
from ingest.loaders.common import (
    BLANK_SPLIT,
    QUOTES,
    DecodeError,
    LoadError,
    check_time,
    cjk_count,
    finish,
    is_wide,
)
from ingest.loaders.decode import BOMS, check_plausible, decode_bytes

_HTML_JUNK_TAGS = [
    "script", "style", "noscript", "template", "iframe", "svg", "canvas", "object",
    "embed", "link", "meta", "button", "input", "select", "textarea", "head",
]  # fmt: skip
_HTML_LAYOUT_TAGS = ["nav", "header", "footer", "aside", "form", "menu"]
_BLOCK_TAGS = [
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
_FOOTER_TEXT = re.compile(r"^\s*(?:版权所有|版权声明|免责声明|Copyright|©|\(c\)\s)", re.I)
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
        match = _META_CHARSET.search(data[:4096])
        if match:
            declared = (match.group(1) or match.group(2)).decode("ascii").lower()
            declared = _ENCODING_ALIASES.get(declared, declared)
            try:
                return data.decode(declared)
            except (LookupError, UnicodeDecodeError):
                pass  # wrong or unknown declaration: sniff instead
    return decode_bytes(data)


def _weight(text: str, chinese: bool) -> int:
    """How much text an element holds: hanzi for a Chinese page, visible characters otherwise."""
    if chinese:
        return cjk_count(text)
    return sum(1 for ch in text if not ch.isspace())


def html_to_text(html: str | bytes) -> str:
    """Extract the main text of a web page; title first, one paragraph per block.

    Site furniture goes (scripts, navigation, headers/footers, sidebars, share
    bars, breadcrumbs, copyright, "相关推荐/上一篇" link lists, any block that is
    mostly links), then the text comes from <article>/<main> or the innermost
    element holding most of the page's Chinese text.
    """
    from bs4 import BeautifulSoup, Comment, NavigableString, Tag

    text = _decode_html(html) if isinstance(html, bytes) else html
    soup = BeautifulSoup(text, "lxml")
    check_time()
    _flatten_deep(soup)

    page_title = ""
    site_names: list[str] = []
    if soup.title is not None:
        page_title = soup.title.get_text(" ", strip=True)
        # "讲话标题_范文网" / "讲话标题 - 某某网": the first part; the rest names the site.
        page_title, *site_names = re.split(r"\s*(?:_|\||｜|\s-\s|\s–\s|\s—\s)\s*", page_title)

    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
    for tag in soup.find_all(_HTML_JUNK_TAGS):
        tag.decompose()
    body = soup.body or soup
    chinese = cjk_count(body.get_text()) >= 20

    def weight(tag: Tag) -> int:
        return _weight(tag.get_text(), chinese)

    def attr_text(tag: Tag) -> str:
        classes = tag.get("class") or []
        if isinstance(classes, str):
            classes = [classes]
        return " ".join([str(tag.get("id") or ""), *map(str, classes)])

    def is_boiler(tag: Tag) -> bool:
        attrs = attr_text(tag)
        role = str(tag.get("role") or "").lower()
        return role in _BOILER_ROLES or bool(
            attrs.strip() and (_BOILER_TOKEN.search(attrs) or _BOILER_WORD.search(attrs))
        )

    # The title: the first <h1> that is not the site's logo or name, else the <title>.
    # Prefer one outside anything that looks like site chrome; an "article-head" may hold it.
    h1_title = ""
    for strict in (True, False):
        for h1 in soup.find_all("h1"):
            h1_text = _collapse_html_ws(h1.get_text())
            chain = [h1, *(p for p in h1.parents if isinstance(p, Tag))]
            names = {t.name for t in chain}
            in_content = bool(names & {"article", "main"})
            if (
                len(h1_text) <= 1
                or h1_text in site_names
                or any("logo" in attr_text(t).lower() for t in chain)
                or names & {"nav", "footer", "aside"}
                or ("header" in names and not in_content)
                or (strict and any(is_boiler(t) for t in chain))
            ):
                continue
            h1_title = h1_text
            break
        if h1_title:
            break
    title = h1_title or page_title

    total = weight(body)

    def protected(tag: Tag) -> bool:
        """Never drop what holds most of the page: a misnamed wrapper, an ASP.NET <form>."""
        return tag is body or tag.name in ("html", "body") or (total > 0 and weight(tag) * 2 > total)

    def drop(tag: Tag) -> None:
        if not _gone(tag) and not protected(tag):
            tag.decompose()

    for tag in soup.find_all(True):
        check_time()
        style = str(tag.get("style", "")).replace(" ", "").lower()
        if "display:none" in style or tag.has_attr("hidden"):
            drop(tag)  # popups and menus; protected() keeps a "read more" rest of the article
    for tag in soup.find_all(_HTML_LAYOUT_TAGS):
        drop(tag)
    for tag in soup.find_all(True):
        check_time()
        if (
            not _gone(tag)
            and tag.name not in ("html", "body")
            and is_boiler(tag)
            and not is_speech_head(_collapse_html_ws(tag.get_text()))
        ):
            drop(tag)

    def block_of(node: NavigableString | Tag) -> Tag | None:
        for parent in node.parents:
            if isinstance(parent, Tag) and parent.name in _BLOCK_TAGS:
                return parent
        return None

    def link_density(tag: Tag) -> tuple[float, int]:
        all_len = sum(1 for ch in tag.get_text() if not ch.isspace())
        links = tag.find_all("a")
        link_len = sum(1 for a in links for ch in a.get_text() if not ch.isspace())
        return (link_len / all_len if all_len else 1.0), len(links)

    def linkish(tag: Tag) -> bool:
        density, _ = link_density(tag)
        return density >= 0.5 or not tag.get_text(strip=True)

    # "相关推荐" and friends: a short heading plus the link list after it.
    for string in soup.find_all(string=_RELATED_WORDS):
        check_time()
        if not isinstance(string, NavigableString) or string.parent is None:
            continue
        block = block_of(string)
        if block is None or _gone(block):
            continue
        if len(block.get_text(strip=True)) <= 30:
            while (
                block.parent is not None
                and block.parent.name not in ("body", "html")
                and len(block.parent.get_text(strip=True)) <= 30
            ):
                block = block.parent
            following = [s for s in block.find_next_siblings() if isinstance(s, Tag)]
            dropped = 0
            for sibling in following:
                if re.fullmatch(r"h[1-6]", sibling.name or "") or not linkish(sibling):
                    break
                drop(sibling)
                dropped += 1
            # A short speech line that happens to contain the words is not a heading.
            rest = _RELATED_WORDS.sub("", block.get_text())
            if dropped or len(re.sub(r"[\W_]", "", rest)) <= 2:
                drop(block)
        elif link_density(block)[0] >= 0.5:
            drop(block)
    for string in soup.find_all(string=_PREV_NEXT):
        block = block_of(string) if isinstance(string, NavigableString) else None
        if block is not None and not _gone(block) and len(block.get_text(strip=True)) <= 120:
            drop(block)

    # Any block that is mostly links (menus, tag clouds, link lists).
    for tag in soup.find_all(["ul", "ol", "dl", "div", "section", "table", "p", "span", "td", "li"]):
        check_time()
        if _gone(tag):
            continue
        density, count = link_density(tag)
        limit = 0.5 if tag.name in ("ul", "ol", "dl") else 0.6
        if count >= 2 and density >= limit:
            drop(tag)
    # "时间：2023-11-30 作者：某某 来源：…": article metadata lines.
    for tag in soup.find_all(["div", "p", "span", "td", "li"]):
        check_time()
        if _gone(tag):
            continue
        line = tag.get_text(" ", strip=True)
        if len(line) <= 100 and len(set(_META_LABEL.findall(line))) >= 2:
            drop(tag)

    # Main content: the biggest <article>/<main>, then the innermost element holding most text.
    root: Tag = body if isinstance(body, Tag) else soup
    remaining = weight(root)
    for name in ("article", "main"):
        candidates = [t for t in soup.find_all(name) if not _gone(t)]
        if candidates:
            best = max(candidates, key=weight)
            if remaining and weight(best) >= 0.3 * remaining:
                root = best
                break

    # Descend into the container holding nearly all that is left; bare paragraphs
    # beside it (a greeting, a closing line) are kept, a sibling box is not.
    def text_block(node: object) -> bool:
        if isinstance(node, Tag):
            return node.name in _TEXT_BLOCK_TAGS and weight(node) > 0 and not linkish(node)
        return isinstance(node, NavigableString) and _weight(str(node), chinese) > 0

    before: list[object] = []
    after: list[object] = []
    while True:
        check_time()
        children = [c for c in root.children if isinstance(c, Tag) and c.name in _CONTAINER_TAGS]
        if not children:
            break
        best = max(children, key=weight)
        root_weight = weight(root)
        if root_weight == 0 or weight(best) < 0.75 * root_weight:
            break
        siblings = list(root.children)
        position = next(i for i, node in enumerate(siblings) if node is best)

        before = before + [n for n in siblings[:position] if text_block(n)]
        after = [n for n in siblings[position + 1 :] if text_block(n)] + after
        root = best

    heading = None if h1_title else root.find(["h2", "h3"])
    heading_text = _collapse_html_ws(heading.get_text()) if heading is not None else ""
    paragraphs = [para for node in [*before, root, *after] for para in _html_paragraphs(node)]
    if heading_text and heading_text in paragraphs[:2]:
        # No usable <h1>: the content's leading <h2>/<h3> beats the (often generic) <title>.
        title = heading_text
    paragraphs = [p for p in paragraphs if not (len(p) < 150 and _FOOTER_TEXT.match(p))]
    if title:
        head = paragraphs[:3]
        if title in head:
            paragraphs.remove(title)
        paragraphs.insert(0, title)
    return finish(paragraphs)


def _gone(tag: object) -> bool:
    """``tag.decomposed`` without its cost: bs4 reads it through ``Tag.__getattr__``, which
    searches the whole subtree for a <_decomposed> tag first (quadratic on deep pages)."""
    return bool(getattr(tag, "__dict__", {}).get("_decomposed"))


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
                if node.name in _BLOCK_TAGS or node.name == "br":
                    if flat and flat[-1] is not None:
                        flat.append(None)
                    events.append(None)  # the break after the element's content
                events.extend(reversed(node.contents))
            elif type(node) is NavigableString and (node.strip() or (flat and flat[-1] is not None)):
                flat.append(str(node))
        top.clear()
        for piece in flat:
            top.append(soup.new_tag("br") if piece is None else NavigableString(piece))  # type: ignore[attr-defined]


def _collapse_html_ws(text: str) -> str:
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


def _html_paragraphs(root: object) -> list[str]:
    """Text of an element with a paragraph break at every block element and <br>.

    One walk over the tree, without changing it (linear in its size; inserting marker
    nodes cost a sibling search each, quadratic for a page of many <br>s).
    """
    from bs4 import CData, NavigableString, Tag

    if not isinstance(root, Tag):
        text = _collapse_html_ws(str(root))
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
                block = node.name in _BLOCK_TAGS and node is not root
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
            collapsed = _collapse_html_ws(chunk.replace(_PRE_MARK, ""))
            if collapsed:
                paragraphs.append(collapsed)
    return paragraphs


def read_html(path: Path, data: bytes) -> str:
    try:
        return html_to_text(data)
    except DecodeError as exc:
        raise LoadError(path, str(exc)) from exc
