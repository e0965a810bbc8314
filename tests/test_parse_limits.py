"""Hostile or damaged input files: bounded parses, bounded chunks, tolerant decoding.

Each test builds the real file in tmp_path and goes through the real loader (and, for
the long line, clean → split → chunk). No timings are asserted: sizes, counts, errors.
"""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import ingest.loaders.word as word
from ingest.chunking import ChunkSpec, chunk_speech
from ingest.index.config import Settings
from ingest.loaders import MAX_FILE_BYTES, LoadError, html_to_text, load_document, load_text
from ingest.loaders.decode import decode_bytes
from ingest.pipeline import read_speeches

SPEECH = "同志们：安全生产责任重于泰山，各单位要把隐患排查治理抓细抓实。"


def _docx_bytes(padding: int, *, extra_parts: int = 0) -> bytes:
    """A real .docx whose document.xml carries ``padding`` bytes of XML comment (a zip bomb
    when large: the comment compresses about 1000 to 1)."""
    import docx

    document = docx.Document()
    document.add_paragraph(SPEECH)
    buffer = io.BytesIO()
    document.save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "word/document.xml" and padding:
                head, tail = data.split(b"</w:body>")
                data = head + b"<!--" + b"A" * padding + b"-->" + b"</w:body>" + tail
            archive.writestr(info.filename, data)
        for n in range(extra_parts):
            archive.writestr(f"word/media/image{n}.bin", bytes(range(256)) * 4096)
    return out.getvalue()


# ---------------------------------------------------------------- .docx zip bomb


def test_docx_zip_bomb_is_refused_before_inflating(tmp_path: Path) -> None:
    path = tmp_path / "炸弹.docx"
    path.write_bytes(_docx_bytes(word.MAX_DOCUMENT_XML_BYTES + 1))
    assert path.stat().st_size < 1024 * 1024  # ~50 KB on disk, > 50 MB inflated
    tracemalloc.start()
    try:
        with pytest.raises(LoadError, match=r"expands to .*refused as a possible zip bomb") as info:
            load_text(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert info.value.path == path
    assert peak < 20 * 1024 * 1024  # nothing was inflated (it was ~2.4 GB for a 1.2 GB bomb)


def test_docx_part_with_absurd_compression_ratio_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "比例.docx"
    path.write_bytes(_docx_bytes(5 * 1024 * 1024))  # 5 MB of one byte: far beyond 100:1
    with pytest.raises(LoadError, match=r"word/document\.xml expands \d+x .*limit is 100x"):
        load_text(path)


def test_docx_total_expanded_size_is_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "多图.docx"
    path.write_bytes(_docx_bytes(0, extra_parts=3))  # three 1 MB parts beside the template
    monkeypatch.setattr(word, "MAX_DOCX_TOTAL_BYTES", 2 * 1024 * 1024)
    with pytest.raises(LoadError, match=r"expands to \d+ MB in all \(the limit is 2 MB\)"):
        load_text(path)
    monkeypatch.undo()
    assert SPEECH in load_text(path)  # under the real cap it is an ordinary document


# ---------------------------------------------------------------- deeply nested HTML


def test_html_nested_ten_thousand_divs_is_read_completely() -> None:
    depth = 10_000
    inner = "<p>安全生产重于泰山，人命关天。</p><div>第二段落<br>第三段<b>加粗</b>文字</div>"
    html = "<html><body>" + "<div>" * depth + inner + "</div>" * depth + "</body></html>"
    assert html_to_text(html) == "安全生产重于泰山，人命关天。\n\n第二段落\n\n第三段加粗文字"


def test_html_nested_deep_file_through_load_text(tmp_path: Path) -> None:
    depth = 10_000
    body = "<div>" * depth + "<p>第一段。</p><p>第二段。</p>" + "</div>" * depth
    path = tmp_path / "深.html"
    path.write_text(f"<html><head><title>讲话</title></head><body>{body}</body></html>", encoding="utf-8")
    assert len(path.read_bytes()) > 100_000
    assert load_text(path) == "讲话\n\n第一段。\n\n第二段。"


def test_html_many_line_breaks_keeps_every_paragraph() -> None:
    lines = [f"第{n}行安全检查记录。" for n in range(5000)]
    html = "<html><body><div>" + "<br>".join(lines) + "</div></body></html>"
    assert html_to_text(html).split("\n\n") == lines


# ---------------------------------------------------------------- time and size budgets


def test_reading_past_the_time_budget_is_a_load_error(tmp_path: Path) -> None:
    path = tmp_path / "慢.html"
    path.write_text("<html><body>" + "<div><p>安全。</p></div>" * 200 + "</body></html>", encoding="utf-8")
    with pytest.raises(LoadError, match=r"took longer than 0 s to read"):
        load_text(path, seconds=0)
    assert load_text(path).startswith("安全。")


def test_file_over_the_size_cap_is_refused_without_reading(tmp_path: Path) -> None:
    path = tmp_path / "巨大.txt"
    with path.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)  # sparse: costs no disk
    with pytest.raises(LoadError, match=r"file is too big \(50\.0 MB; the limit is 50 MB\)"):
        load_text(path)


# ---------------------------------------------------------------- a 5 MB line without punctuation


def test_five_megabyte_line_is_refused_with_the_file_named(tmp_path: Path) -> None:
    """1.7 million characters without a sentence end is no speech: a clear per-file error at once,
    not thousands of chunks to embed."""
    path = tmp_path / "长行.txt"
    path.write_text("安全生产责任重于泰山" * 170_000 + "\n", encoding="utf-8")
    assert path.stat().st_size > 5_000_000
    with pytest.raises(LoadError, match=r"长行\.txt: not speech text: 20,000\+ characters without"):
        load_text(path)


def test_a_long_unbroken_run_is_cut_into_bounded_verbatim_chunks() -> None:
    """Below the refusal, a run without sentence ends still never makes a chunk over the cap."""
    text = "安全生产责任重于泰山" * 1_900  # 19,000 characters, one line
    speeches = read_speeches(text, "长行.txt")
    spec = ChunkSpec(maximum=Settings().chunk_max)
    chunks = [c for speech in speeches for c in chunk_speech(speech, spec)]
    assert max(len(c.text) for c in chunks) <= Settings().chunk_max
    for speech in speeches:
        own = [c for c in chunks if c.speech_id == speech.speech_id]
        assert all(c.text == speech.text[c.start : c.end] for c in own)
        assert sum(len(c.text) for c in own) == len(speech.text)  # no overlap, nothing lost
    assert len(chunks) >= 19_000 // Settings().chunk_max


def test_long_sentence_is_cut_after_clause_marks() -> None:
    from ingest.types import Speech

    clause = "加强隐患排查治理工作，"  # 11 characters
    text = clause * 200 + "落实责任。"
    speech = Speech("讲话", (text,), "x.txt")
    chunks = chunk_speech(speech, ChunkSpec(target=350, maximum=500, minimum=80))
    assert all(len(c.text) <= 500 for c in chunks)
    assert all(c.text.endswith("，") for c in chunks[:-1])  # cut at a clause, not mid-word
    assert "".join(c.text for c in chunks) == text


def test_short_tail_never_pushes_a_chunk_over_the_maximum() -> None:
    from ingest.types import Speech

    paragraphs = ("甲" * 250 + "。" + "乙" * 240 + "。", "丙" * 30 + "。")
    chunks = chunk_speech(Speech("讲话", paragraphs, "x.txt"), ChunkSpec(target=350, maximum=500, minimum=80))
    assert all(len(c.text) <= 500 for c in chunks)


# ---------------------------------------------------------------- damaged text files


def _speech_text(target_bytes: int, encoding: str) -> bytes:
    line = "各单位要严格落实安全生产责任制，认真开展隐患排查治理。\n"
    data = b""
    while len(data) < target_bytes:
        data += line.encode(encoding)
    return data


@pytest.mark.parametrize("encoding", ["gbk", "utf-8"])
def test_one_bad_byte_is_replaced_and_reported(tmp_path: Path, encoding: str) -> None:
    data = _speech_text(3600, encoding)
    cut = data.index("隐患".encode(encoding))  # a character boundary
    path = tmp_path / f"坏字节_{encoding}.txt"
    path.write_bytes(data[:cut] + b"\xff" + data[cut:])
    loaded = load_document(path)
    assert loaded.text.count("\ufffd") == 1
    assert loaded.text.count("隐患排查治理") == data.decode(encoding).count("隐患排查治理")
    assert len(loaded.notes) == 1 and loaded.notes[0].startswith("replaced 1 undecodable byte ")


def test_a_stray_nul_is_removed_and_reported(tmp_path: Path) -> None:
    data = _speech_text(3600, "utf-8")
    path = tmp_path / "零字节.txt"
    path.write_bytes(data[:300] + b"\x00" + data[300:])
    loaded = load_document(path)
    assert loaded.text == load_text(path) and "\x00" not in loaded.text
    assert loaded.text.replace("\n\n", "\n") == data.decode("utf-8").strip()
    assert loaded.notes == ("removed 1 NUL byte",)


def test_clean_file_has_no_notes(tmp_path: Path) -> None:
    path = tmp_path / "好.txt"
    path.write_bytes(_speech_text(3600, "gbk"))
    assert load_document(path).notes == ()


def test_random_bytes_are_still_binary() -> None:
    data = bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8))
    with pytest.raises(Exception, match="looks binary"):
        decode_bytes(data)
    with pytest.raises(Exception, match="looks binary"):
        decode_bytes(data.replace(b"\x00", b""))


def test_many_nuls_are_still_binary() -> None:
    data = _speech_text(3600, "utf-8")
    with pytest.raises(Exception, match=r"contains NUL bytes"):
        decode_bytes(data[:1000] + b"\x00" * 20 + data[1000:])


def test_hidden_element_inside_a_hidden_element_is_dropped(tmp_path: Path) -> None:
    # The outer one went first; asking the inner (decomposed) one for its style crashed.
    speech = "".join(
        f"<p>同志们，今天我们召开全市安全生产工作会议，研究部署第{n}项工作。</p>" for n in range(3)
    )
    hidden = '<div style="display:none"><span hidden>弹窗里的隐藏文字</span><p hidden>又一层</p></div>'
    path = tmp_path / "隐藏.html"
    path.write_text(f"<html><body>{hidden}{speech}</body></html>", encoding="utf-8")
    text = load_text(path)
    assert "研究部署第2项工作" in text
    assert "隐藏文字" not in text and "又一层" not in text


def test_random_pages_never_crash_the_html_reader() -> None:
    """Seeded random pages mixing site furniture (hidden blocks, nav, 相关推荐, 上一篇) at any depth:
    html_to_text returns text or refuses with a clear DecodeError, never an AttributeError
    (dropping one block used to leave stale strings that later steps tripped over)."""
    import contextlib
    import random

    from ingest.loaders import DecodeError, html_to_text

    rng = random.Random(7)
    tags = ["div", "section", "p", "span", "ul", "li", "a", "h1", "h2", "table", "td", "footer", "nav", "b"]
    words = [
        "同志们：",
        "我们要坚持安全发展。",
        "相关推荐",
        "上一篇",
        "下一篇",
        "版权所有 某某网",
        "首页",
        "一、",
    ]
    kinds = ["related", "nav", "content", "share"]

    def page(depth: int = 0) -> str:
        parts = []
        for _ in range(rng.randint(1, 4)):
            if rng.random() < 0.4 or depth > 5:
                parts.append(rng.choice(words) * rng.randint(1, 3))
                continue
            tag = rng.choice(tags)
            hidden = ' style="display:none"' if rng.random() < 0.15 else ""
            hidden += " hidden" if rng.random() < 0.1 else ""
            kind = f' class="{rng.choice(kinds)}"' if rng.random() < 0.4 else ""
            parts.append(f"<{tag}{kind}{hidden}>{page(depth + 1)}</{tag}>")
        return "".join(parts)

    for _ in range(300):
        html = f"<html><head><title>讲话_某某网</title></head><body>{page()}</body></html>"
        with contextlib.suppress(DecodeError):  # "no text" is a clear refusal, not a crash
            assert isinstance(html_to_text(html), str)
