"""ingest.loaders: every supported format to paragraphs, every bad file to LoadError.

All input files are generated here in tmp_path (no committed binaries).
"""

from __future__ import annotations

import pickle
import random
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.loaders import (
    SUPPORTED_SUFFIXES,
    DecodeError,
    LoadError,
    decode_bytes,
    html_to_text,
    load_text,
    markdown_to_text,
    rejoin_pdf_lines,
    strip_page_furniture,
)

SPEECH = "同志们:\n\n安全生产重于泰山。要严格执行“四个一律”“五个一批”。"


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def no_space(text: str) -> str:
    return re.sub(r"\s+", "", text)


# --------------------------------------------------------------------------- #
# Plain text: encodings
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [
        ("utf-8", b""),
        ("utf-8", b"\xef\xbb\xbf"),
        ("gbk", b""),
        ("utf-16-le", b"\xff\xfe"),
        ("utf-16-be", b"\xfe\xff"),
    ],
    ids=["utf8", "utf8-bom", "gbk", "utf16le-bom", "utf16be-bom"],
)
def test_txt_encodings_round_trip(tmp_path: Path, encoding: str, prefix: bytes) -> None:
    path = write(tmp_path, "讲话.txt", prefix + SPEECH.encode(encoding))
    assert load_text(path) == SPEECH


def test_txt_gb18030_with_char_outside_gbk(tmp_path: Path) -> None:
    text = SPEECH + "\n\n𠀀字不在GBK里。"
    with pytest.raises(UnicodeEncodeError):
        text.encode("gbk")
    path = write(tmp_path, "gb18030.txt", text.encode("gb18030"))
    assert load_text(path) == text


def test_short_gbk_line_is_not_misdetected(tmp_path: Path) -> None:
    line = "安全生产重于泰山要严格执行各项制度规定"  # the classic detector failure
    path = write(tmp_path, "短.txt", line.encode("gbk"))
    assert load_text(path) == line


def test_big5_is_not_forced_through_gb18030() -> None:
    text = "各位領導、同志們：今天我們召開全市安全生產工作會議，主要任務是貫徹落實上級關於安全生產的部署。"
    assert decode_bytes(text.encode("big5")) == text


def test_txt_line_endings_and_blank_runs(tmp_path: Path) -> None:
    path = write(tmp_path, "crlf.txt", "第一段。\r\n\r\n\r\n\r\n第二段。\r第二段续。\r\n".encode())
    assert load_text(path) == "第一段。\n\n第二段。\n第二段续。"


def test_txt_one_paragraph_per_line_becomes_paragraphs(tmp_path: Path) -> None:
    path = write(tmp_path, "lines.txt", "\u3000\u3000第一段。\n\u3000\u3000第二段。\n".encode())
    assert load_text(path) == "第一段。\n\n第二段。"


def test_decode_bytes_rejects_binary() -> None:
    with pytest.raises(DecodeError):
        decode_bytes(bytes(range(256)) * 4)
    with pytest.raises(DecodeError):
        decode_bytes(b"")


# --------------------------------------------------------------------------- #
# Markdown
# --------------------------------------------------------------------------- #


def test_markdown_markup_is_stripped(tmp_path: Path) -> None:
    md = """---
title: 讲话
---
# 在安全生产工作会议上的讲话

同志们：

**安全生产**重于泰山，要*严格*落实[责任制](https://example.com/a "责任")。
![现场照片](photo.jpg)

## 一、提高认识

- 压实企业主体责任
- 强化 `隐患排查`
1. 第一项工作

> 引用的一句话。

```
代码 **保持原样**
```

---
[参考][ref]

[ref]: https://example.com
"""
    path = write(tmp_path, "讲话.md", md.encode())
    assert load_text(path).split("\n\n") == [
        "在安全生产工作会议上的讲话",
        "同志们：",
        "安全生产重于泰山，要严格落实责任制。",
        "一、提高认识",
        "压实企业主体责任",
        "强化 隐患排查",
        "1. 第一项工作",
        "引用的一句话。",
        "代码 **保持原样**",
        "参考",
    ]


def test_markdown_keeps_snake_case_and_setext_heading() -> None:
    assert markdown_to_text("标题\n===\n\nuse file_name_here and 2 * 3 * 4\n#没有空格的标题\n正文") == (
        "标题\n\nuse file_name_here and 2 * 3 * 4\n\n没有空格的标题\n\n正文"
    )


# --------------------------------------------------------------------------- #
# DOCX
# --------------------------------------------------------------------------- #


def test_docx_paragraphs_and_table_in_order(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_heading("在安全生产工作会议上的讲话", level=1)
    document.add_paragraph("同志们：")
    document.add_paragraph("")
    document.add_paragraph("安全生产重于泰山。")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "单位"
    table.cell(0, 1).text = "责任人"
    table.cell(1, 0).text = "应急管理局"
    table.cell(1, 1).text = "张三"
    merged = document.add_table(rows=1, cols=3)
    merged.cell(0, 0).merge(merged.cell(0, 2)).text = "合并单元格只出现一次"
    tall = document.add_table(rows=2, cols=2)
    tall.cell(0, 0).merge(tall.cell(1, 0)).text = "纵向合并"
    tall.cell(0, 1).text = "第一行"
    tall.cell(1, 1).text = "第二行"
    document.add_paragraph("谢谢大家！")
    path = tmp_path / "讲话.docx"
    document.save(str(path))
    assert load_text(path).split("\n\n") == [
        "在安全生产工作会议上的讲话",
        "同志们：",
        "安全生产重于泰山。",
        "单位 | 责任人",
        "应急管理局 | 张三",
        "合并单元格只出现一次",
        "纵向合并 | 第一行",
        "第二行",
        "谢谢大家！",
    ]


# --------------------------------------------------------------------------- #
# PDF
# --------------------------------------------------------------------------- #

_FONT = "STSong-Light"
TITLE = "在全市安全生产工作会议上的讲话"
PARA_1 = (
    "安全生产重于泰山。要严格执行“四个一律”“五个一批”，坚决守住不发生重特大事故的底线，"
    "切实保障人民群众生命财产安全，为全市经济社会高质量发展营造稳定的安全环境"
    "，这是我们必须扛起的政治责任。"
)
HEADING = "一、提高政治站位，压实安全责任"
PARA_2 = (
    "各地各部门要把安全生产摆在更加突出的位置，主要负责同志要亲自研究部署，"
    "分管负责同志要靠前指挥，层层压实责任，确保各项措施落到实处，"
    "坚决防范和遏制各类生产安全事故发生，以高水平安全保障高质量发展。"
)
ENGLISH = (
    "Safety first: every worker goes home safe and sound every single day, "
    "and every manager answers for the safety of the team."
)


def _chunks(text: str, first: int, rest: int) -> list[str]:
    lines = [text[:first]]
    text = text[first:]
    while text:
        lines.append(text[:rest])
        text = text[rest:]
    return lines


def _make_cjk_pdf(path: Path) -> None:
    """Two pages, 12pt 宋体, 28 characters a line, paragraphs with a 2-character first-line indent."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import simpleSplit
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont(_FONT))
    width, height = A4
    pdf = canvas.Canvas(str(path), pagesize=A4)
    left, size, lead = 72, 12, 20

    def footer(label: str) -> None:
        pdf.setFont(_FONT, 10)
        pdf.drawCentredString(width / 2, 40, label)
        pdf.setFont(_FONT, size)

    pdf.setFont(_FONT, 16)
    pdf.drawCentredString(width / 2, height - 72, TITLE)
    pdf.setFont(_FONT, size)
    y = height - 120
    pdf.drawString(left, y, "同志们：")
    y -= lead
    for i, line in enumerate(_chunks(PARA_1, 26, 28)):
        pdf.drawString(left + (2 * size if i == 0 else 0), y, line)
        y -= lead
    pdf.drawString(left + 2 * size, y, HEADING)
    y -= lead
    para_2 = _chunks(PARA_2, 26, 28)
    for i, line in enumerate(para_2[:2]):
        pdf.drawString(left + (2 * size if i == 0 else 0), y, line)
        y -= lead
    footer("- 1 -")
    pdf.showPage()  # PARA_2 continues on page 2, mid-sentence
    pdf.setFont(_FONT, size)
    y = height - 72
    for line in para_2[2:]:
        pdf.drawString(left, y, line)
        y -= lead
    pdf.setFont("Helvetica", size)
    # Wrap at the width of a 28-character Chinese line, like a word processor would.
    english = simpleSplit(ENGLISH, "Helvetica", size, 28 * size)
    assert len(english) >= 2
    for i, line in enumerate(english):
        pdf.drawString(left + (2 * size if i == 0 else 0), y, line)
        y -= lead
    footer("第 2 页")
    pdf.showPage()
    pdf.save()


def test_pdf_chinese_text_layer_is_rejoined(tmp_path: Path) -> None:
    path = tmp_path / "讲话.pdf"
    _make_cjk_pdf(path)
    assert load_text(path).split("\n\n") == [TITLE, "同志们：", PARA_1, HEADING, PARA_2, ENGLISH]


def test_pdf_text_layer_is_readable_by_pypdf(tmp_path: Path) -> None:
    """Guard for the fixture itself: STSong-Light text must come back as Chinese."""
    from pypdf import PdfReader

    path = tmp_path / "讲话.pdf"
    _make_cjk_pdf(path)
    assert "安全生产重于泰山" in PdfReader(str(path)).pages[0].extract_text()


def test_pdf_with_empty_owner_password_is_read(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    source = tmp_path / "source.pdf"
    _make_cjk_pdf(source)
    writer = PdfWriter(clone_from=PdfReader(str(source)))
    writer.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    path = tmp_path / "受限.pdf"
    with path.open("wb") as handle:
        writer.write(handle)
    assert load_text(path).startswith(TITLE + "\n\n同志们：")


def test_pdf_with_password_is_load_error(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    source = tmp_path / "source.pdf"
    _make_cjk_pdf(source)
    writer = PdfWriter(clone_from=PdfReader(str(source)))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    path = tmp_path / "加密.pdf"
    with path.open("wb") as handle:
        writer.write(handle)
    with pytest.raises(LoadError, match=r"加密\.pdf: .*encrypted"):
        load_text(path)


def test_pdf_without_text_layer_is_load_error(tmp_path: Path) -> None:
    from reportlab.pdfgen import canvas

    path = tmp_path / "扫描件.pdf"
    pdf = canvas.Canvas(str(path))
    pdf.rect(100, 100, 300, 400, fill=1)
    pdf.showPage()
    pdf.save()
    with pytest.raises(LoadError, match=r"扫描件\.pdf: PDF has no text layer"):
        load_text(path)


def test_rejoin_pdf_lines_rules() -> None:
    lines = [
        "            在安全生产工作会议上的讲话",
        "",
        "同志们：",
        "  安全生产重于泰山，要严格执行“四个一律”",
        "“五个一批”，确保各项措施落实到位，坚决遏制",
        "重特大事故发生。",
        "  （一）压实责任",
        "  1.加强隐患排查，各级各部门要认真组织开展",
        "全面排查。",
        "  一是强化宣传教育，提升全员安全意识水平和",
        "能力。",
        "  Safety first and foremost is the well-",
        "known rule we follow here.",
        "安 全 生 产 月",
    ]
    assert rejoin_pdf_lines(lines) == [
        "在安全生产工作会议上的讲话",
        "同志们：",
        "安全生产重于泰山，要严格执行“四个一律”“五个一批”，确保各项措施落实到位，坚决遏制重特大事故发生。",
        "（一）压实责任",
        "1.加强隐患排查，各级各部门要认真组织开展全面排查。",
        "一是强化宣传教育，提升全员安全意识水平和能力。",
        "Safety first and foremost is the well-known rule we follow here.",
        "安全生产月",
    ]


def test_rejoin_pdf_lines_without_indentation_uses_punctuation_and_length() -> None:
    # Plain extraction: no indents; sentence ends and short lines end paragraphs.
    lines = [
        "各地要把安全生产摆在更加突出的位置，主要负责同志要亲",
        "自研究部署，确保各项措施落到实处。",
        "第一，加强组织领导，层层压实责任，确保工作取得实效，",
        "坚决防范事故。",
        "第一次会议的精神要认真贯彻落实到每一个岗位每一个人",
        "身上",
    ]
    assert rejoin_pdf_lines(lines) == [
        "各地要把安全生产摆在更加突出的位置，主要负责同志要亲自研究部署，确保各项措施落到实处。",
        "第一，加强组织领导，层层压实责任，确保工作取得实效，坚决防范事故。",
        "第一次会议的精神要认真贯彻落实到每一个岗位每一个人身上",
    ]


def test_rejoin_pdf_lines_sentence_end_inside_indented_paragraph() -> None:
    # The document marks paragraphs by first-line indent, so a full line that happens to
    # end with 。 continues when the next line is not indented.
    lines = [
        "  第一段第一行内容比较长，这里一直写到行尾为止。",
        "这一行是同一段的继续，虽然上一行以句号结尾了。",
        "  第二段开始，写满一整行的文字内容在这里继续。",
        "最后一行。",
        "  第三段。",
    ]
    assert rejoin_pdf_lines(lines) == [
        "第一段第一行内容比较长，这里一直写到行尾为止。这一行是同一段的继续，虽然上一行以句号结尾了。",
        "第二段开始，写满一整行的文字内容在这里继续。最后一行。",
        "第三段。",
    ]


def test_strip_page_furniture_drops_numbers_and_running_headers() -> None:
    bodies = [["压实责任", "2", "排查隐患"], ["强化宣传", "3", "应急演练"], ["督导检查", "4", "严格执法"]]
    pages = [
        ["某市安全生产委员会文件（第8期）", "", first, number, last, "", f"- {n} -", ""]
        for n, (first, number, last) in enumerate(bodies, start=1)
    ]
    pages.append(["某市安全生产委员会文件（第8期）", "最后一页", "", "第 4 页 共 4 页"])
    assert strip_page_furniture(pages) == [
        *(line for body in bodies for line in body),  # a lone number mid-page is kept
        "最后一页",
    ]


# --------------------------------------------------------------------------- #
# HTML
# --------------------------------------------------------------------------- #

HTML_PAGE = """<!DOCTYPE html>
<html><head>
<meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<title>在安全生产工作会议上的讲话_范文网</title>
<script>var ad = "安全生产脚本广告内容不应出现";</script>
<style>.x { color: red }</style>
</head>
<body>
<div id="header"><div class="logo"><h1>范文网</h1></div>
<ul class="menu"><li><a href="/">首页</a></li><li><a href="/jh">讲话稿</a></li>
<li><a href="/zj">工作总结</a></li></ul></div>
<nav><a href="/">首页</a> <a href="/a">安全生产</a></nav>
<div class="breadcrumb"><a href="/">首页</a> &gt; <a href="/jh">讲话稿</a> &gt; 正文</div>
<div class="wrap">
 <div class="content">
  <h1>在安全生产工作会议上的讲话</h1>
  <div class="info">时间：2023-11-30 08:31 作者：影墨 来源：网络</div>
  <p>同志们：</p>
  <p>安全生产重于泰山。要严格执行“四个一律”
  “五个一批”，坚决遏制重特大事故发生。</p>
  <p>一、提高认识<br>各地要把安全生产摆在突出位置。</p>
  <!-- 这是注释，不是讲话 -->
  <div class="share">分享到：<a href="#">微信</a> <a href="#">微博</a></div>
  <div class="pre-next"><p>上一篇：<a href="/1">某某讲话</a></p><p>下一篇：<a href="/2">某某发言</a></p></div>
  <h3>相关范文推荐</h3>
  <ul><li><a href="/3">安全生产月讲话稿范文</a></li><li><a href="/4">安全生产会议讲话</a></li>
  <li><a href="/5">领导安全讲话精选</a></li></ul>
 </div>
 <aside><h3>热门推荐</h3><p>侧栏里的一段说明文字也不要。</p></aside>
</div>
<div class="footer">Copyright &copy; 2023 范文网 版权所有</div>\n<p>&copy; 2023 版权所有</p>
</body></html>
"""

HTML_EXPECTED = [
    "在安全生产工作会议上的讲话",
    "同志们：",
    "安全生产重于泰山。要严格执行“四个一律”“五个一批”，坚决遏制重特大事故发生。",
    "一、提高认识",
    "各地要把安全生产摆在突出位置。",
]


def test_html_main_content_only_gbk_bytes(tmp_path: Path) -> None:
    path = write(tmp_path, "讲话.html", HTML_PAGE.encode("gbk"))
    assert load_text(path).split("\n\n") == HTML_EXPECTED


def test_html_str_and_undeclared_gbk() -> None:
    assert html_to_text(HTML_PAGE).split("\n\n") == HTML_EXPECTED
    undeclared = HTML_PAGE.replace("; charset=gb2312", "")
    assert html_to_text(undeclared.encode("gbk")).split("\n\n") == HTML_EXPECTED


def test_html_utf8_bytes_with_stale_gb2312_declaration() -> None:
    assert html_to_text(HTML_PAGE.encode("utf-8")).split("\n\n") == HTML_EXPECTED


def test_html_prefers_article_and_uses_title_when_no_h1() -> None:
    page = """<html><head><title>安全生产讲话 - 某某网</title></head><body>
    <div class="side-list"><p>这里是一段很长很长的侧栏文字，讲的是网站介绍，并不是讲话内容。</p></div>
    <article><p>同志们：</p><p>安全生产重于泰山。</p><p>谢谢大家！</p></article>
    </body></html>"""
    assert html_to_text(page).split("\n\n") == [
        "安全生产讲话",
        "同志们：",
        "安全生产重于泰山。",
        "谢谢大家！",
    ]


def test_html_layout_table_form_wrapper_and_h2_title() -> None:
    speech = [f"第{i}段讲话内容，安全生产重于泰山，必须坚持人民至上、生命至上。" for i in range(6)]
    body = "".join(f"<p>&nbsp;&nbsp;{p}</p>\n" for p in speech)
    page = f"""<html><head><title>讲话稿</title></head><body><form id="form1">
    <div class="top"><a href="/">首页</a> <a href="/b">范文</a></div>
    <table><tr><td><h2>在安全生产月启动仪式上的讲话</h2>{body}</td>
    <td><div class="box"><h3>网站简介</h3><p>本站提供各类范文，欢迎访问。</p></div></td></tr></table>
    </form></body></html>"""
    assert html_to_text(page).split("\n\n") == ["在安全生产月启动仪式上的讲话", *speech]


def test_html_br_paragraphs_and_site_chrome_h1() -> None:
    page = """<html><head><meta charset="utf-8"><title>某某讲话</title></head><body>
    <header><h1 class="site">应急管理网</h1></header>
    <div id="main"><div class="article-content"><h1>某某讲话</h1>&nbsp;&nbsp;同志们：<br/>
    &nbsp;&nbsp;今天召开会议，部署安全
    生产工作。<br>&nbsp;&nbsp;一要提高认识。<br>Safety
    first.
    <div class="tags">标签：<a>安全</a><a>讲话</a></div></div>
    <div class="comment"><p>网友评论：写得好！</p></div></div>
    <div class="copyright">版权所有 某某网</div></body></html>"""
    assert html_to_text(page).split("\n\n") == [
        "某某讲话",
        "同志们：",
        "今天召开会议，部署安全生产工作。",
        "一要提高认识。",
        "Safety first.",
    ]


def test_html_site_name_h1_and_keyword_inside_speech() -> None:
    page = """<html><head><title>全市安全生产大会讲话_范文网</title></head><body>
    <div id="top"><h1>范文网</h1></div>
    <div class="article-head"><h1>全市安全生产大会讲话</h1></div>
    <div class="text"><p>同志们：</p><p>群众在看，大家都在看！</p>
    <p>我们要以实际行动回应社会关切，把安全生产各项措施落到实处，确保万无一失。</p></div>
    <div class="box"><div class="hd"><h3>猜你喜欢</h3></div>
    <ul><li><a href="/1">讲话一</a></li><li><a href="/2">讲话二</a></li></ul></div>
    </body></html>"""
    assert html_to_text(page).split("\n\n") == [
        "全市安全生产大会讲话",
        "同志们：",
        "群众在看，大家都在看！",
        "我们要以实际行动回应社会关切，把安全生产各项措施落到实处，确保万无一失。",
    ]


def test_html_keeps_greeting_and_closing_beside_the_main_container() -> None:
    body = "".join(
        f"<p>第{i}部分，安全生产重于泰山，必须坚持人民至上、生命至上，守牢安全底线。</p>" for i in range(9)
    )
    page = f"""<html><body><div class="wrap"><div class="content"><p>同志们：</p>
    <div class="body">{body}</div><p>谢谢大家！</p></div>
    <div class="box"><p>本站提供各类范文。</p></div></div></body></html>"""
    paragraphs = html_to_text(page).split("\n\n")
    assert paragraphs[0] == "同志们：" and paragraphs[-1] == "谢谢大家！" and len(paragraphs) == 11


# --------------------------------------------------------------------------- #
# Bad files
# --------------------------------------------------------------------------- #


def _corrupt_pdf() -> bytes:
    return b"%PDF-1.4\n" + random.Random(1).randbytes(2048) + b"\n%%EOF\n"


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("表格.xlsx", b"PK\x03\x04whatever", r"unsupported file type \.xlsx \(supported: .*\.txt"),
        ("旧格式.doc", b"\xd0\xcf\x11\xe0", r"unsupported file type \.doc .*save it as \.docx"),
        ("noext", b"hello", r"no extension"),
        ("空.txt", b"", r"file is empty"),
        ("空白.txt", b" \n\t\r\n  \n", r"only whitespace"),
        ("空白.md", "\u3000\u3000\n".encode(), r"only whitespace"),
        ("乱码.txt", random.Random(0).randbytes(4096), r"looks binary"),
        ("无零.txt", bytes(b for b in random.Random(5).randbytes(3000) if b), r"looks binary"),
        ("坏.docx", random.Random(2).randbytes(2048), r"corrupt \.docx"),
        ("假.docx", b"PK\x03\x04" + random.Random(3).randbytes(500), r"corrupt \.docx"),
        ("坏.pdf", _corrupt_pdf(), r"corrupt \.pdf"),
        ("截断.pdf", b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n", r"corrupt \.pdf"),
        ("空.pdf", b"", r"file is empty"),
        ("坏.html", b"\x00\x01\x02\x03" * 100, r"looks binary"),
    ],
)
def test_bad_files_raise_load_error(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    path = write(tmp_path, name, data)
    with pytest.raises(LoadError) as info:
        load_text(path)
    error = info.value
    assert error.path == path
    assert str(error).startswith(f"{name}: ")
    assert re.search(reason, error.reason), error.reason


def test_directory_and_missing_file(tmp_path: Path) -> None:
    folder = tmp_path / "目录.txt"
    folder.mkdir()
    with pytest.raises(LoadError, match="is a directory"):
        load_text(folder)
    with pytest.raises(LoadError, match="file not found"):
        load_text(tmp_path / "不存在.txt")


def test_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "秘密.txt", "内容".encode())

    def denied(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)  # chmod does not stop root
    with pytest.raises(LoadError, match=r"秘密\.txt: permission denied"):
        load_text(path)


def test_unexpected_errors_are_wrapped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ingest.loaders as loaders

    def boom(path: Path, data: bytes) -> str:
        raise RuntimeError("kaput")

    monkeypatch.setitem(loaders._READERS, ".txt", boom)
    with pytest.raises(LoadError, match=r"x\.txt: cannot read file \(RuntimeError: kaput\)"):
        load_text(write(tmp_path, "x.txt", b"abc"))


def test_load_error_pickles_and_supported_suffixes() -> None:
    error = pickle.loads(pickle.dumps(LoadError(Path("a/报告.pdf"), "PDF 没有文本层")))
    assert (str(error), error.path, error.reason) == (
        "报告.pdf: PDF 没有文本层",
        Path("a/报告.pdf"),
        "PDF 没有文本层",
    )
    assert {".txt", ".md", ".docx", ".pdf", ".html", ".htm"} == SUPPORTED_SUFFIXES


# --------------------------------------------------------------------------- #
# Properties
# --------------------------------------------------------------------------- #

# U+FFFD is excluded: a text made mostly of replacement characters is rejected by design.
_PRINTABLE = st.text(
    alphabet=st.characters(
        categories=("L", "M", "N", "P", "S", "Zs"), exclude_characters="\ufffd", include_characters="\n"
    ),
    min_size=1,
).filter(lambda s: s.strip())


@settings(max_examples=200, deadline=None)
@given(_PRINTABLE)
def test_decode_bytes_round_trips_utf8(text: str) -> None:
    assert decode_bytes(text.encode("utf-8")) == text


_LINE_ALPHABET = "安全生产重于泰山一二三是第（）()、。，！？；：…“”「」《》 　abcXY12.-" + "\u00a0"
_LINES = st.lists(
    st.one_of(
        st.text(alphabet=_LINE_ALPHABET, max_size=40),
        st.text(max_size=20),
    ),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(_LINES)
def test_rejoin_pdf_lines_keeps_every_visible_character(lines: list[str]) -> None:
    paragraphs = rejoin_pdf_lines(lines)
    assert no_space("".join(paragraphs)) == no_space("".join(lines))
    assert all(p.strip() and "\n" not in p for p in paragraphs)


def test_html_keeps_the_speech_head_a_site_classes_as_meta() -> None:
    """A speech page's own date and speaker lines stay; the site's publishing line goes."""
    page = (
        "<html><body><div class='info'>发布时间：2024-01-15 来源：市政府网</div><article>"
        "<h1>在全市道路交通安全工作会议上的讲话</h1>"
        "<p class='meta'>（2024年1月12日）</p><p class='meta'>市公安局副局长　李国栋</p>"
        "<p>同志们：</p><p>今天召开全市道路交通安全工作会议，主要任务是部署今年的工作。"
        "全市发生道路交通事故486起，同比下降8.3%，形势总体平稳。</p></article></body></html>"
    )
    paragraphs = html_to_text(page).split("\n\n")
    assert paragraphs[:4] == [
        "在全市道路交通安全工作会议上的讲话",
        "（2024年1月12日）",
        "市公安局副局长　李国栋",
        "同志们：",
    ]
    assert not any("发布时间" in p or "来源" in p for p in paragraphs)
