"""Write eval/speeches/ from the UTF-8 text sources in eval/sources/ (deterministic).

    .venv/bin/python eval/make_speeches.py

Each source is one speech: title line, date line, speaker line, then paragraphs
separated by blank lines. The formats vary on purpose, so the evaluation also
exercises the loaders: one GBK .txt, one .docx, one .pdf, one .html, the rest
UTF-8 .txt. Re-running gives byte-identical files.
"""

from __future__ import annotations

import html
import io
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "sources"
OUT = HERE / "speeches"

# source stem -> output file name (its suffix picks the writer)
FORMATS = {
    "01_fangxun": "01_fangxun_gbk.txt",
    "02_weihua": "02_weihua.docx",
    "03_ranqi": "03_ranqi.pdf",
    "04_jiaotong": "04_jiaotong.html",
    "05_jianzhu": "05_jianzhu.txt",
    "06_xiaoyuan": "06_xiaoyuan.txt",
}
FIXED_ZIP_TIME = (2024, 1, 1, 0, 0, 0)


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.split("\n\n") if p.strip()]


def head_lines(text: str) -> list[str]:
    """Title, date and speaker: the lines of the first paragraph."""
    return [line.strip() for line in paragraphs(text)[0].split("\n") if line.strip()]


def write_txt(text: str, target: Path, encoding: str) -> None:
    target.write_bytes(text.replace("\n", "\r\n" if encoding == "gbk" else "\n").encode(encoding))


def write_docx(text: str, target: Path) -> None:
    import datetime

    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    document = Document()
    props = document.core_properties
    fixed = datetime.datetime(2024, 1, 1)
    props.created = props.modified = fixed
    props.last_printed = fixed
    props.author = props.last_modified_by = "eval"
    props.revision = 1
    title, *rest = head_lines(text)
    heading = document.add_paragraph(title)
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for line in rest:
        document.add_paragraph(line).alignment = WD_ALIGN_PARAGRAPH.CENTER
    for para in paragraphs(text)[1:]:
        document.add_paragraph(para)
    buffer = io.BytesIO()
    document.save(buffer)
    target.write_bytes(_fixed_zip(buffer.getvalue()))


def _fixed_zip(data: bytes) -> bytes:
    """The same zip with fixed member timestamps, so the bytes do not depend on the clock."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            member.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(member, src.read(info.filename))
    return out.getvalue()


def write_pdf(text: str, target: Path) -> None:
    from reportlab import rl_config

    rl_config.invariant = 1  # no creation date or random id in the file
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    body = ParagraphStyle(
        "body", fontName="STSong-Light", fontSize=12, leading=20, wordWrap="CJK", firstLineIndent=24
    )
    centred = ParagraphStyle("centred", parent=body, alignment=TA_CENTER, firstLineIndent=0)
    title = ParagraphStyle("title", parent=centred, fontSize=16, leading=26)
    first, *rest = head_lines(text)
    story = [Paragraph(html.escape(first), title)]
    story += [Paragraph(html.escape(line), centred) for line in rest]
    story.append(Spacer(1, 12))
    story += [Paragraph(html.escape(p), body) for p in paragraphs(text)[1:]]
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4, title=first, author="eval", invariant=1).build(story)
    target.write_bytes(buffer.getvalue())


def write_html(text: str, target: Path) -> None:
    title, *rest = head_lines(text)
    lines = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        "</head>",
        "<body>",
        "<article>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    lines += [f'<p class="meta">{html.escape(line)}</p>' for line in rest]
    lines += [f"<p>{html.escape(p)}</p>" for p in paragraphs(text)[1:]]
    lines += ["</article>", "</body>", "</html>", ""]
    target.write_text("\n".join(lines), encoding="utf-8")


def build() -> list[Path]:
    OUT.mkdir(exist_ok=True)
    written = []
    for stem, name in FORMATS.items():
        text = (SOURCES / f"{stem}.txt").read_text(encoding="utf-8")
        target = OUT / name
        if name.endswith("_gbk.txt"):
            write_txt(text, target, "gbk")
        elif name.endswith(".txt"):
            write_txt(text, target, "utf-8")
        elif name.endswith(".docx"):
            write_docx(text, target)
        elif name.endswith(".pdf"):
            write_pdf(text, target)
        elif name.endswith(".html"):
            write_html(text, target)
        written.append(target)
    return written


if __name__ == "__main__":
    for path in build():
        print(path.relative_to(HERE.parent), path.stat().st_size, "bytes")
