"""A deterministic synthetic corpus for scale tests, grown from the seed page's own paragraphs.

The seed page holds 17 speeches (~70k characters); scale questions need 100 to
5,000. Each synthetic speech recombines seed paragraphs and perturbs them (new
place names, numbers, dates, plus one invented fact sentence per paragraph) so
that the pipeline's deduplication sees distinct speeches, and each gets a
distinct title line ("在……会议上的讲话") so the splitter finds it. Speech ``i``
depends only on the seed and the speeches before it, so ``generate(n + 10)``
starts with ``generate(n)``: the extra ten are "new speeches" for an incremental
ingest. Files come in the formats the loaders read (UTF-8 and GBK .txt, .md,
.docx, .html, .pdf), a few speeches per .txt file like the seed page.

    python -m bench.synth --speeches 1000 --out /tmp/policyqa-synth-1000
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import io
import json
import random
import re
import sys
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED_CORPUS = ROOT / "data" / "000_6f579f50373472dc.txt"
TARGET_CHARS = 3000
MANIFEST = ".synth.json"  # a dot-file: ingest's folder walk skips it

# Characters for invented place names; none of them starts a "generic" place (全/我/本/各…).
_PLACE_CHARS = (
    "安宁平江河山东西南北清泉阳溪林丰华新兴永和昌德城台源川云水石梅桂青白金长庆盛海湖龙凤峰岭桥沙洲岗"
)
_UNITS = "市县区"
_PERIODS = ("第一季度", "第二季度", "第三季度", "第四季度", "上半年", "汛期", "冬春季", "岁末年初")
_MEETINGS = (
    "安全生产工作会议",
    "安全生产工作推进会议",
    "安全生产形势分析会",
    "安全生产委员会全体会议",
    "安全生产专项整治推进会",
    "防汛和安全生产工作会议",
)
_SALUTATIONS = ("同志们:", "各位领导、同志们:", "同志们：")
_ORGS = ("应急管理局", "住建局", "交通运输局", "市场监管局", "消防救援大队", "安委办")
_FACTS = (
    "{month}月以来,{place}累计排查整治隐患{a}处,整改率达到{p}%。",
    "截至{year}年{month}月{day}日,{place}已督导检查企业{a}家,下达整改通知书{b}份。",
    "今年以来{place}共开展应急演练{a}次,参与人员{b}人次。",
    "{place}{org}已对{a}家企业实施挂牌督办,关闭取缔{b}家。",
    "{year}年{place}安全生产投入{a}万元,较上年增长{p}%。",
)
_PLACEHOLDER = re.compile(r"[xX×]{2,}")
_OUR_UNIT = re.compile(r"(?:全|我)(?:市|县|区)")
_YEAR = re.compile(r"20\d\d(?=年)")
_NUMBER = re.compile(r"(?<!\d)\d{1,4}(?!\d)")


@dataclass(frozen=True)
class SynthSpeech:
    """One invented speech: a title line and its paragraphs, verbatim as written to disk."""

    title: str
    paragraphs: tuple[str, ...]

    @property
    def chars(self) -> int:
        return len(self.title) + sum(map(len, self.paragraphs))


@dataclass(frozen=True)
class SynthFile:
    """One file written: its name, format and the indexes of the speeches it holds."""

    name: str
    fmt: str
    speeches: tuple[int, ...]


# Format → share of speeches. PDF is slow to make (and to read), so it gets a small share.
FORMATS: dict[str, float] = {
    "txt-utf8": 0.30,
    "txt-gbk": 0.15,
    "md": 0.15,
    "docx": 0.15,
    "html": 0.17,
    "pdf": 0.08,
}
_SUFFIX = {
    "txt-utf8": ".txt",
    "txt-gbk": ".txt",
    "md": ".md",
    "docx": ".docx",
    "html": ".html",
    "pdf": ".pdf",
}
_MAX_PER_TXT = 4


def seed_pool(path: Path = SEED_CORPUS) -> list[list[str]]:
    """The seed's speeches as paragraph lists, read with the repo's own loader, cleaner and splitter."""
    from ingest.loaders import load_text
    from ingest.pipeline import read_speeches
    from ingest.speeches import is_salutation, is_title

    pool = []
    for speech in read_speeches(load_text(path), path.name):
        body = [p for p in speech.paragraphs if not is_salutation(p) and not is_title(p) and len(p) >= 8]
        if body:
            pool.append(body)
    if not pool:
        raise ValueError(f"no speech paragraphs in {path}")
    return pool


def _place(rng: random.Random) -> str:
    return "".join(rng.sample(_PLACE_CHARS, 2)) + rng.choice(_UNITS)


def _perturb(paragraph: str, rng: random.Random, place: str, year: int) -> str:
    """New names, numbers and years; long paragraphs gain one invented fact sentence."""
    text = _PLACEHOLDER.sub(lambda _: place, paragraph)
    text = _OUR_UNIT.sub(lambda m: place if rng.random() < 0.5 else m.group(0), text)
    text = _YEAR.sub(lambda _: str(year - rng.randint(0, 2)), text)
    text = _NUMBER.sub(lambda m: str(rng.randint(1, 10 ** len(m.group(0)) - 1)), text)
    if len(text) >= 30:
        fact = rng.choice(_FACTS).format(
            place=place,
            org=rng.choice(_ORGS),
            year=year,
            month=rng.randint(1, 12),
            day=rng.randint(1, 28),
            a=rng.randint(3, 9999),
            b=rng.randint(1, 999),
            p=rng.randint(1, 99),
        )
        sentences = re.split(r"(?<=[。！？])", text)
        at = rng.randint(0, max(0, len([s for s in sentences if s]) - 1))
        text = "".join(sentences[:at]) + fact + "".join(sentences[at:])
    return text


def make_speech(
    rng: random.Random, pool: Sequence[Sequence[str]], title: str, place: str, year: int
) -> SynthSpeech:
    """A base seed speech from a random point, topped up from others to about TARGET_CHARS."""
    target = int(TARGET_CHARS * rng.uniform(0.75, 1.25))
    base = rng.randrange(len(pool))
    start = rng.randrange(len(pool[base]))
    chosen = list(pool[base][start:]) + list(pool[base][:start])
    body: list[str] = [rng.choice(_SALUTATIONS)] if rng.random() < 0.8 else []
    used: set[str] = set()
    size = 0
    while size < target:
        if not chosen:
            chosen = list(rng.choice(pool))
            rng.shuffle(chosen)
        paragraph = chosen.pop(0)
        if paragraph in used:
            continue
        used.add(paragraph)
        text = _perturb(paragraph, rng, place, year)
        body.append(text)
        size += len(text)
    return SynthSpeech(title, tuple(body))


def generate(n: int, seed: int = 0, pool: Sequence[Sequence[str]] | None = None) -> list[SynthSpeech]:
    """``n`` speeches with distinct titles; a prefix of ``generate(m)`` for any ``m > n``."""
    pool = pool or seed_pool()
    titles: set[str] = set()
    speeches = []
    for index in range(n):
        rng = random.Random(f"policyqa-synth:{seed}:{index}")
        while True:
            place, year = _place(rng), rng.randint(2021, 2029)
            title = f"在{place}{year}年{rng.choice(_PERIODS)}{rng.choice(_MEETINGS)}上的讲话"
            if title not in titles:
                break
        titles.add(title)
        speeches.append(make_speech(rng, pool, title, place, year))
    return speeches


def plan_files(count: int, seed: int = 0, first: int = 0, prefix: str = "synth") -> list[SynthFile]:
    """Speeches ``first .. first+count-1`` grouped into files of mixed formats."""
    rng = random.Random(f"policyqa-synth-files:{seed}:{first}:{count}")
    formats, weights = list(FORMATS), list(FORMATS.values())
    files: list[SynthFile] = []
    index, end = first, first + count
    while index < end:
        fmt = rng.choices(formats, weights)[0]
        take = min(end - index, rng.randint(1, _MAX_PER_TXT) if fmt.startswith("txt") else 1)
        name = f"{prefix}_{len(files):05d}_{fmt.replace('-', '_')}{_SUFFIX[fmt]}"
        files.append(SynthFile(name, fmt, tuple(range(index, index + take))))
        index += take
    return files


# ------------------------------------------------------------------ writers (bytes, deterministic)


def _plain(speeches: Sequence[SynthSpeech]) -> str:
    return "\n\n".join("\n\n".join([s.title, *s.paragraphs]) for s in speeches) + "\n"


def _markdown(speeches: Sequence[SynthSpeech]) -> str:
    return "\n\n".join("\n\n".join([f"# {s.title}", *s.paragraphs]) for s in speeches) + "\n"


def _html(speeches: Sequence[SynthSpeech]) -> str:
    first = html.escape(speeches[0].title)
    parts = [
        f"<!DOCTYPE html>\n<html lang='zh-CN'><head><meta charset='utf-8'><title>{first}</title></head>",
        "<body><nav><a href='/'>首页</a> <a href='/fanwen'>范文</a></nav><article>",
    ]
    for speech in speeches:
        parts.append(f"<h1>{html.escape(speech.title)}</h1>")
        parts.extend(f"<p>{html.escape(p)}</p>" for p in speech.paragraphs)
    parts.append("</article><footer>版权所有 © 示例站点</footer></body></html>\n")
    return "\n".join(parts)


_FIXED_TIME = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def _docx(speeches: Sequence[SynthSpeech]) -> bytes:
    """python-docx output with fixed core-property dates and zip timestamps, so bytes repeat."""
    import docx

    document = docx.Document()
    props = document.core_properties
    props.created = props.modified = _FIXED_TIME.replace(tzinfo=None)
    props.last_printed = _FIXED_TIME.replace(tzinfo=None)
    props.author = props.last_modified_by = "policyqa-bench"
    for speech in speeches:
        document.add_heading(speech.title, level=1)
        for paragraph in speech.paragraphs:
            document.add_paragraph(paragraph)
    raw = io.BytesIO()
    document.save(raw)
    return _fixed_zip(raw.getvalue())


def _fixed_zip(data: bytes) -> bytes:
    """The same zip with every entry stamped 1980-01-01 (zip stores local wall-clock times)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dest:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            dest.writestr(fixed, source.read(info.filename))
    return out.getvalue()


def _pdf(speeches: Sequence[SynthSpeech]) -> bytes:
    """reportlab with its built-in STSong-Light CID font (no font file), invariant (no dates/ids)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    title_style = ParagraphStyle("t", fontName="STSong-Light", fontSize=16, leading=24, alignment=1)
    body_style = ParagraphStyle(
        "b", fontName="STSong-Light", fontSize=11, leading=18, firstLineIndent=22, wordWrap="CJK"
    )
    story: list[object] = []
    for speech in speeches:
        story += [Paragraph(html.escape(speech.title), title_style), Spacer(1, 10)]
        story += [Paragraph(html.escape(p), body_style) for p in speech.paragraphs]
        story.append(Spacer(1, 18))
    raw = io.BytesIO()
    SimpleDocTemplate(raw, pagesize=A4, invariant=1, title=speeches[0].title).build(story)
    return raw.getvalue()


def render(fmt: str, speeches: Sequence[SynthSpeech]) -> bytes:
    """One file's bytes in the given format."""
    if fmt == "txt-utf8":
        return _plain(speeches).encode("utf-8")
    if fmt == "txt-gbk":
        return _plain(speeches).encode("gbk")
    if fmt == "md":
        return _markdown(speeches).encode("utf-8")
    if fmt == "html":
        return _html(speeches).encode("utf-8")
    if fmt == "docx":
        return _docx(speeches)
    if fmt == "pdf":
        return _pdf(speeches)
    raise ValueError(f"unknown format {fmt!r}")


def write_files(out: Path, speeches: Sequence[SynthSpeech], files: Sequence[SynthFile]) -> int:
    """Write the planned files under ``out``; returns the characters of speech text written."""
    out.mkdir(parents=True, exist_ok=True)
    chars = 0
    for file in files:
        held = [speeches[i] for i in file.speeches]
        (out / file.name).write_bytes(render(file.fmt, held))
        chars += sum(s.chars for s in held)
    return chars


def write_corpus(out: Path, n: int, seed: int = 0) -> dict[str, object]:
    """``n`` speeches as files under ``out`` plus a small JSON manifest (kept out of ingest by its suffix)."""
    speeches = generate(n, seed)
    files = plan_files(n, seed)
    chars = write_files(out, speeches, files)
    summary = {
        "seed": seed,
        "speeches": n,
        "files": len(files),
        "chars": chars,
        "formats": dict(sorted(Counter(f.fmt for f in files).items())),
        "speeches_by_format": dict(sorted(_held(files).items())),
        "titles": [s.title for s in speeches],
    }
    (out / MANIFEST).write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    return summary


def _held(files: Sequence[SynthFile]) -> Counter[str]:
    held: Counter[str] = Counter()
    for file in files:
        held[file.fmt] += len(file.speeches)
    return held


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speeches", type=int, required=True, help="number of speeches")
    parser.add_argument("--out", type=Path, required=True, help="folder to write (created)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    summary = write_corpus(args.out, args.speeches, args.seed)
    shown = {k: v for k, v in summary.items() if k != "titles"}
    print(json.dumps(shown, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
