"""Speech files as they really arrive: one speech per ordinary file, with its title and date.

The files under tests/data/layouts/ are written by tests/data/make_layouts.py (deterministic)
and committed; each covers one common layout. The table below is checked exactly.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.chunking import chunk_speech
from ingest.heads import is_bare_date_line, parse_date_line
from ingest.index.store import ChunkStore
from ingest.loaders import load_text
from ingest.pipeline import ingest_paths, read_speeches
from ingest.speeches import is_salutation, is_title, split_speeches
from ingest.types import Speech
from rag.config import Settings
from tests.crashes import ingest_env

LAYOUTS = Path(__file__).resolve().parent / "data" / "layouts"

# file → [(title, date)] for each speech found, in order. Exact.
EXPECTED: dict[str, list[tuple[str, str | None]]] = {
    "01_title_date_salutation.txt": [("在全市安全生产工作会议上的讲话", "2024-04-23")],
    "02_gbk_chinese_numeral_date.txt": [("在全县防汛工作会议上的讲话", "2024-05-10")],
    "03_utf16_subtitle_speaker.txt": [("坚持人民至上 筑牢安全防线", "2024-06-01")],
    "04_speaker_in_title_place.txt": [("李明同志在全区防汛工作会议上的讲话", "2024-05-20")],
    "05_date_on_title_line.txt": [("在全市危险化学品安全工作会议上的讲话", "2024-03-15")],
    "06_城镇燃气安全排查整治部署会讲话稿_定稿.txt": [("城镇燃气安全排查整治部署会讲话稿", None)],
    "07_docx_heading_table.docx": [("扎实做好汛期安全生产工作", "2024-07-02")],
    "08_pdf_running_header_footer.pdf": [("在全县道路交通安全工作会议上的讲话", "2024-09-06")],
    "09_pdf_large_title.pdf": [("在全市消防安全工作会议上的讲话", "2024-11-09")],
    "10_government_site.html": [("在全市矿山安全生产工作会议上的讲话", "2024-10-16")],
    "11_markdown_headings.md": [("在全区建筑施工安全生产工作会议上的讲话", None)],
    "12_two_speeches.txt": [
        ("在全市矿山安全监管工作会议上的讲话", "2024-02-26"),
        ("在全市安全生产工作会议上的讲话", "2024-12-30"),
    ],
    "13_quoted_title_in_body.txt": [("在全区安全生产工作会议上的讲话", "2024-01-08")],
    "14_same_speech_as_01.docx": [("市长在全市安全生产工作会议上的讲话", "2024-04-23")],
}
# Facts beyond title and date: (file, speech index) → field → value.
DETAILS: dict[tuple[str, int], dict[str, str | None]] = {
    ("03_utf16_subtitle_speaker.txt", 0): {
        "speaker": "县长 王建国",
        "subtitle": "在全县“安全生产月”活动启动仪式上的讲话",
    },
    ("04_speaker_in_title_place.txt", 0): {"place": "青山区", "speaker": "李明"},
    ("06_城镇燃气安全排查整治部署会讲话稿_定稿.txt", 0): {"title_from": "file name"},
    ("07_docx_heading_table.docx", 0): {"speaker": "副市长 赵敏"},
    ("14_same_speech_as_01.docx", 0): {"speaker": "市长"},
}
# 15 speeches found in 14 files; file 14 repeats file 01 (another format, title line and
# punctuation width), so the index holds 14.
DISTINCT_SPEECHES = 14


def _layout_files() -> list[Path]:
    return sorted(p for p in LAYOUTS.iterdir() if p.name in EXPECTED)


def _read(path: Path) -> list[Speech]:
    return read_speeches(load_text(path), path.name)


@pytest.fixture(scope="module")
def found() -> dict[str, list[Speech]]:
    return {path.name: _read(path) for path in _layout_files()}


def test_every_layout_file_is_in_the_table() -> None:
    files = {p.name for p in LAYOUTS.iterdir()}
    assert files == set(EXPECTED)
    assert len(files) >= 12


def test_each_file_gives_the_expected_speeches_titles_and_dates(found: dict[str, list[Speech]]) -> None:
    got = {name: [(s.title, s.date) for s in speeches] for name, speeches in found.items()}
    wrong = {name: got[name] for name in EXPECTED if got.get(name) != EXPECTED[name]}
    assert wrong == {}, f"{len(EXPECTED) - len(wrong)}/{len(EXPECTED)} files right"


def test_speaker_place_subtitle_and_title_source(found: dict[str, list[Speech]]) -> None:
    for (name, index), fields in DETAILS.items():
        speech = found[name][index]
        assert {key: getattr(speech, key) for key in fields} == fields, name


def test_head_lines_are_metadata_not_text(found: dict[str, list[Speech]]) -> None:
    """No date line, speaker line or title stays in a speech's text; no chunk is only a head line."""
    for name, speeches in found.items():
        for speech in speeches:
            assert speech.paragraphs and not is_salutation(speech.paragraphs[-1]), name
            for paragraph in speech.paragraphs:
                assert not is_bare_date_line(paragraph), (name, paragraph)
                assert parse_date_line(paragraph) is None or len(paragraph) > 40, (name, paragraph)
                assert paragraph != speech.title, name
            for chunk in chunk_speech(speech):
                lines = [line for line in chunk.text.split("\n") if line.strip()]
                assert not all(is_salutation(x) or is_title(x) or is_bare_date_line(x) for x in lines), (
                    name,
                    chunk.text,
                )


def test_pdf_page_furniture_goes_before_lines_are_rejoined() -> None:
    text = load_text(LAYOUTS / "08_pdf_running_header_footer.pdf")
    paragraphs = text.split("\n\n")
    assert "办公室文件" not in text and "—" not in text  # running header and "— 2 —" page numbers
    # The paragraph that crosses the page break comes back whole, and "4|12处" is one number.
    assert (
        "要完善农村公路安全防护设施，在急弯陡坡、临水临崖路段设置警示标志和防护栏，"
        "持续开展农村“两站两员”建设，劝导农民群众安全出行。"
    ) in paragraphs
    assert any("路段共计412处，已完成整治386处" in p for p in paragraphs)
    # The signature and the date under it stay lines of their own.
    assert paragraphs[-2:] == ["县人民政府", "2024年9月6日"]


def test_a_quoted_title_splits_only_where_a_head_follows_it() -> None:
    quoted = ["在全区安全生产工作会议上的讲话", "（2024年1月8日）", "同志们：", "会上，省长作了题为：",
              "在全省安全生产电视电话会议上的讲话", "的重要讲话。"]  # fmt: skip
    assert [s.title for s in split_speeches(quoted, "a.txt")] == ["在全区安全生产工作会议上的讲话"]
    # The same title line with its own date line and salutation is the start of a second speech.
    second = [*quoted[:4], "要认真抓好落实。", quoted[4], "(2024年1月9日)", "同志们:", "今天召开全省会议。"]
    speeches = split_speeches(second, "a.txt")
    assert [(s.title, s.date) for s in speeches] == [
        ("在全区安全生产工作会议上的讲话", "2024-01-08"),
        ("在全省安全生产电视电话会议上的讲话", "2024-01-09"),
    ]


def test_a_signature_over_a_closing_date_is_not_a_title() -> None:
    lines = ["在全市会议上的讲话", "同志们：", "要抓好落实。", "市安全生产委员会办公室", "2024年3月1日"]
    [speech] = split_speeches(lines, "a.txt")
    assert (speech.date, speech.paragraphs[-1]) == ("2024-03-01", "市安全生产委员会办公室")


@pytest.mark.slow
def test_layout_files_in_a_real_store(settings: Settings, embedder, tmp_path: Path) -> None:
    """All files into one store: duplicates once, shared titles told apart, unchanged re-ingest free."""
    first = ingest_paths([LAYOUTS], settings, embedder=embedder, progress=False)
    assert first.errors == ()
    assert first.speeches == DISTINCT_SPEECHES
    found = {Path(f.file).name: [(s.title, s.date) for s in f.speeches] for f in first.found}
    assert found == EXPECTED

    metas = list(ChunkStore.open(settings, settings.embedding_model, create=False).metadata_by_id().values())
    shown = {m["speech_id"]: (m["speech_title"], m["original_title"]) for m in metas}
    assert len(shown) == DISTINCT_SPEECHES
    titles = [title for title, _ in shown.values()]
    assert len(set(titles)) == len(titles), "two speeches shown with the same title"
    city = sorted(title for title, original in shown.values() if original == "在全市安全生产工作会议上的讲话")
    assert city == [
        "在全市安全生产工作会议上的讲话（2024-04-23）",
        "在全市安全生产工作会议上的讲话（2024-12-30）",
    ]
    same = [m for m in metas if m["speech_title"].endswith("（2024-04-23）")]
    assert {src for m in same for src in m["sources"]} == {
        "01_title_date_salutation.txt",
        "14_same_speech_as_01.docx",
    }

    # Unchanged re-ingest, as a user runs it: nothing embedded. (Its time, ≤ 5 s on 2 cores, is a
    # figure for the report, not an assertion: a busy CI machine must not fail it.)
    run = subprocess.run(
        [sys.executable, "-m", "ingest", "--json", str(LAYOUTS)],
        capture_output=True,
        text=True,
        env=ingest_env(settings),
        timeout=120,
    )
    again = json.loads(run.stdout)
    assert (again["embedded"], again["chunks_added"], again["files_changed"]) == (0, 0, 0)
    report = {Path(f["file"]).name: [(s["title"], s["date"]) for s in f["speeches"]] for f in again["found"]}
    assert report == EXPECTED


@pytest.mark.parametrize(
    "occasion",
    ["（2023年11月2日，在全县森林草原防灭火工作会议上）", "(2023年11月2日,在全县森林草原防灭火工作会议上)"],
)
def test_a_date_line_that_names_the_meeting_is_the_head_of_the_speech(occasion: str) -> None:
    """Published speeches put the occasion beside the date. Read as body text, it left the title
    as a speech of its own and the body as a second, untitled one."""
    lines = ["扛牢森林草原防灭火责任　坚决守住不发生重大森林火灾底线", occasion,
             "云岭县委副书记、县长　王海涛", "同志们：", "从11月1日起，我县正式进入森林草原防火期。",
             "一、算清“三笔账”"]  # fmt: skip
    speeches = split_speeches(lines, "senlin.txt")
    assert [(s.title, s.date, s.speaker) for s in speeches] == [
        (lines[0], "2023-11-02", "云岭县委副书记、县长　王海涛")
    ]
    assert speeches[0].paragraphs[1] == lines[4]
    # A title still names its genre; with a date before it, it is no date line.
    assert parse_date_line("2024年在全市安全生产工作会议上的讲话") is None
    assert parse_date_line("（2024年1月15日在中共临江市委全体会议上）").place == "临江市"  # type: ignore[union-attr]
