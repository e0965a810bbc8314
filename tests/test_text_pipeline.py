"""Cleaning, speech splitting, deduplication and chunking on the seed page and small cases."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections import Counter
from unittest.mock import patch

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ingest import dedupe as dedupe_module
from ingest.chunking import ChunkSpec, chunk_speech, heading_paths
from ingest.clean import clean_text
from ingest.dedupe import deduplicate, separate_glued
from ingest.index.text import CLOSERS, SENTENCE_ENDS, split_sentences
from ingest.pipeline import plan_chunks, read_speeches
from ingest.speeches import (
    find_date,
    find_place,
    is_salutation,
    is_title,
    split_speeches,
)
from ingest.types import Speech
from tests.conftest import SEED


@pytest.fixture(scope="module")
def seed_speeches(seed_text: str) -> list[Speech]:
    return read_speeches(seed_text, SEED.name)


# ------------------------------------------------------------------ cleaning


def test_boilerplate_is_removed_from_the_seed(seed_text: str) -> None:
    paragraphs = clean_text(seed_text)
    joined = "\n".join(paragraphs)
    for furniture in ("小编", "供大家参考", "作者:影墨", "相关范文推荐", "猜您喜欢", "热门推荐", "通用19篇"):
        assert furniture not in joined
    # Speech text itself is untouched.
    assert "用铁的手腕抓安全,用铁的规章促安全,用铁的纪律管安全" in joined


def test_cleaning_keeps_words_and_only_trims_edges() -> None:
    text = "\u3000\u3000同志们:\r\n\r\n  安全生产重于泰山。“三个必须”要落实。  \n相关范文推荐\n某某讲话"
    assert clean_text(text) == ["同志们:", "安全生产重于泰山。“三个必须”要落实。"]


def test_a_long_paragraph_mentioning_reference_is_speech_not_boilerplate() -> None:
    paragraph = "各单位要把经验做法总结好,供大家参考借鉴。" * 10
    assert clean_text(paragraph) == [paragraph]


# ------------------------------------------------------------------ speeches


def test_title_and_salutation_detection() -> None:
    assert is_title("在全县组织工作推进会议上的讲话")
    assert is_title("安全生产工作推进会的讲话稿")
    assert not is_title("一、准确研判当前形势,时刻绷紧安全生产这根弦。")
    assert not is_title("讲话,是指说话;发言;谈话,或者指演说和普及性的著作体裁。")
    assert is_salutation("同志们:")
    assert is_salutation("各位领导、同志们:")
    assert not is_salutation("同志们,安全生产重于泰山。")


def test_seed_yields_each_distinct_speech_once(seed_speeches: list[Speech]) -> None:
    # 25 speech segments on the page (titles and salutations), several repeated two or three times.
    assert 15 <= len(seed_speeches) <= 19
    texts = [s.text for s in seed_speeches]
    assert len(set(texts)) == len(texts)
    # No body paragraph (salutations aside) is stored in two speeches.
    counts = Counter(p for s in seed_speeches for p in s.paragraphs if not is_salutation(p))
    assert [p for p, n in counts.items() if n > 1] == []
    # Every distinct paragraph of the page survives somewhere (nothing lost in deduplication).
    stored = {p for s in seed_speeches for p in s.paragraphs}
    page = set(clean_text(SEED.read_text(encoding="utf-8")))
    titles = {p for p in page if is_title(p)}
    assert page - titles - stored == set()


def test_glued_speeches_are_separated(seed_speeches: list[Speech]) -> None:
    """The page runs the 镇 speech on after another with no title; a copy elsewhere shows the seam."""
    town = [s for s in seed_speeches if any("沙道观镇" in p for p in s.paragraphs)]
    assert len(town) == 1
    assert town[0].paragraphs[0].startswith("经镇委、镇政府研究决定")
    assert town[0].titled


def test_split_on_titles_and_on_salutations_after_body() -> None:
    paragraphs = [
        "在全县安全生产会议上的讲话",
        "同志们:",
        "第一篇正文。",
        "同志们:",
        "第二篇正文,没有标题。",
        "在全市防汛会议上的讲话",
        "第三篇正文。",
    ]
    speeches = split_speeches(paragraphs, "page.txt")
    assert [s.title for s in speeches] == [
        "在全县安全生产会议上的讲话",
        "第二篇正文,没有标题。",
        "在全市防汛会议上的讲话",
    ]
    assert [s.titled for s in speeches] == [True, False, True]
    assert speeches[0].paragraphs == ("同志们:", "第一篇正文。")


def test_deduplicate_keeps_the_fuller_copy_and_every_source() -> None:
    body = tuple(f"第{i}段正文内容。" for i in range(10))
    short = Speech("在某会议上的讲话", body[:9], "a.txt", sources=("a.txt",))
    full = Speech("开头几个字…", body, "b.txt", titled=False, sources=("b.txt",))
    other = Speech("另一篇讲话", ("完全不同的内容。",), "b.txt", sources=("b.txt",))
    kept = deduplicate([short, full, other])
    assert len(kept) == 2
    assert kept[0].paragraphs == body
    assert kept[0].title == "在某会议上的讲话"  # the real title wins over opening words
    assert kept[0].sources == ("a.txt", "b.txt")


def test_date_and_place_only_when_stated() -> None:
    assert find_date("2021年3月5日在铜仁市召开") == "2021-03-05"
    assert find_date("2020年第三季度") is None  # a bare year names a period, not a date
    assert find_date("二〇二四年四月二十三日") == "2024-04-23"
    assert find_date("2024年4月") == "2024-04"
    assert find_date("今年以来") is None
    assert find_place("今天在铜仁市召开全市会议") == "铜仁市"
    assert find_place("在全县第三季度安全生产工作会议上") is None
    assert find_place("按照昨天区委常委会的安排") is None


# ------------------------------------------------------------------ chunking


def _stitch(text: str, spans: list[tuple[int, int]]) -> str:
    """Concatenate chunk spans minus their overlap, keeping the line breaks between them."""
    out, pos = [], 0
    for start, end in spans:
        out.append(text[pos:start] if start > pos else "")
        out.append(text[max(pos, start) : end])
        pos = max(pos, end)
    out.append(text[pos:])
    return "".join(out)


def test_chunks_never_cut_a_sentence_and_rebuild_the_speech(seed_speeches: list[Speech]) -> None:
    ends = SENTENCE_ENDS + CLOSERS
    for speech in seed_speeches:
        text = speech.text
        chunks = chunk_speech(speech)
        spans = [(c.start, c.end) for c in chunks]
        for chunk in chunks:
            assert chunk.text == text[chunk.start : chunk.end]
            assert chunk.start == 0 or text[chunk.start - 1] in ends + "\n"
            assert chunk.end == len(text) or chunk.text[-1] in ends or text[chunk.end] == "\n"
        # Whatever lies between chunks is only line breaks; overlaps are whole sentences.
        pos = 0
        for start, end in spans:
            assert text[pos:start].strip() == ""
            pos = max(pos, end)
        assert text[pos:].strip() == ""
        assert _stitch(text, spans) == text


def test_chunk_sizes_and_headings(seed_speeches: list[Speech]) -> None:
    spec = ChunkSpec()
    chunks = [c for s in seed_speeches for c in chunk_speech(s, spec)]
    sizes = sorted(len(c.text) for c in chunks)
    assert sizes[len(sizes) // 2] in range(200, spec.maximum + 1)
    longest_sentence = max(s.end - s.start for speech in seed_speeches for s in split_sentences(speech.text))
    assert sizes[-1] <= max(spec.maximum, longest_sentence)
    paths = {c.heading_path for c in chunks}
    assert "二、进一步明确重点 > (三)完善机制抓创新" in paths
    five_colors = next(c for c in chunks if "通过“五色”管理" in c.text)
    assert five_colors.heading_path.endswith("(三)完善机制抓创新")
    assert "(三)完善机制抓创新" in five_colors.embed_text
    assert five_colors.speech_title in five_colors.embed_text


def test_a_heading_line_stays_with_its_body() -> None:
    paragraphs = ("甲" * 300 + "。", "二、进一步明确重点。", "乙" * 100 + "。")
    speech = Speech("讲话", paragraphs, "x.txt")
    chunks = chunk_speech(speech, ChunkSpec(target=300, maximum=400, minimum=50))
    assert not any(c.text.endswith("二、进一步明确重点。") for c in chunks)
    assert any(c.text.startswith("二、进一步明确重点。\n乙") for c in chunks)


def test_sentences_end_after_closing_quotes_and_not_inside_quotes() -> None:
    text = "他说:“今天开会。明天休息。”大家同意;散会!"
    pieces = [text[s.start : s.end] for s in split_sentences(text)]
    assert pieces == ["他说:“今天开会。明天休息。”", "大家同意;", "散会!"]


def test_heading_paths_nest_and_reset() -> None:
    paths = heading_paths(("一、总体要求。", "(一)抓隐患,要早。", "正文", "二、保障措施。", "正文"))
    assert paths == [
        "一、总体要求",
        "一、总体要求 > (一)抓隐患",
        "一、总体要求 > (一)抓隐患",
        "二、保障措施",
        "二、保障措施",
    ]


def test_plan_has_no_two_chunks_with_the_same_text(seed_speeches: list[Speech]) -> None:
    twice = seed_speeches + [
        Speech(s.title, s.paragraphs, "copy.txt", sources=("copy.txt",)) for s in seed_speeches
    ]
    planned = plan_chunks(twice, ChunkSpec())
    assert len({c.text for c in planned}) == len(planned)
    assert len({c.chunk_id for c in planned}) == len(planned)
    assert planned == plan_chunks(seed_speeches, ChunkSpec()) or all("copy.txt" in c.sources for c in planned)


def test_chunk_ids_are_stable_across_runs(seed_text: str) -> None:
    first = [c.chunk_id for c in plan_chunks(read_speeches(seed_text, "seed.txt"), ChunkSpec())]
    second = [c.chunk_id for c in plan_chunks(read_speeches(seed_text, "seed.txt"), ChunkSpec())]
    assert first == second


_chinese = st.text(
    alphabet=st.sampled_from(list("安全生产责任同志们一二三、()（）。！？；…“”「」\n ,x1.是要")), max_size=400
)


@settings(max_examples=150, deadline=None)
@given(_chinese)
def test_chunking_never_loses_or_duplicates_text(raw: str) -> None:
    for speech in read_speeches(raw, "p.txt") or []:
        chunks = chunk_speech(speech, ChunkSpec(target=60, maximum=90, minimum=10))
        spans = [(c.start, c.end) for c in chunks]
        assert _stitch(speech.text, spans) == speech.text
        covered = set()
        for start, end in spans:
            covered.update(range(start, end))
        assert all(i in covered for i, ch in enumerate(speech.text) if not ch.isspace())


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_any_unicode_never_crashes_the_text_pipeline(raw: str) -> None:
    for speech in read_speeches(raw, "p.txt"):
        chunk_speech(speech)


# ------------------------------------------------------------------ properties on any input

_LINES = st.sampled_from(
    [
        "在全县安全生产会议上的讲话",
        "同志们:",
        "各位领导、同志们:",
        "一、总体要求。",
        "(一)抓隐患,要早。",
        "小编整理",
        "相关范文推荐",
    ]
)
_PARAGRAPH = st.one_of(_LINES, _chinese.filter(lambda t: t.strip()), st.text(min_size=1, max_size=80))


def _sources(speeches: list[Speech]) -> set[str]:
    return {src for s in speeches for src in (s.sources or (s.source,))}


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
@example("a\x00\u0301")  # a control between a letter and its accent: once NFC ran before removing it
def test_clean_text_on_any_unicode_gives_tidy_paragraphs(raw: str) -> None:
    paragraphs = clean_text(raw)
    for paragraph in paragraphs:
        assert paragraph and paragraph == paragraph.strip(" \t\r\n\u3000\u00a0")
        assert "\n" not in paragraph and "\r" not in paragraph
    assert clean_text("\n".join(paragraphs)) == paragraphs  # cleaning twice changes nothing


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(_PARAGRAPH, max_size=12), min_size=1, max_size=3))
@example([["11", "1\nx"], [".\nx", "11", "1\n1", "111"]])
def test_pages_in_several_files_split_and_deduplicate_without_losing_a_file(pages: list[list[str]]) -> None:
    """Any pages, sharing paragraphs or not: speeches split, repeats merge, and every file that
    gave a speech is still named as a source of one."""
    speeches = [
        s for n, page in enumerate(pages) for s in split_speeches(clean_text("\n".join(page)), f"{n}.txt")
    ]
    kept = deduplicate(speeches)
    # Merging never adds text. (Not "never more speeches": a speech holding a known one with text on
    # both sides is cut in two around it, see separate_glued: [11, 1, x] inside [., x, 11, 1, 1, 111].)
    assert sum(len(s.paragraphs) for s in kept) <= sum(len(s.paragraphs) for s in speeches)
    assert _sources(kept) == _sources(speeches)
    assert all(s.paragraphs for s in kept)
    planned = plan_chunks(kept, ChunkSpec(target=60, maximum=90, minimum=10))
    assert len({c.chunk_id for c in planned}) == len(planned)
    assert len({"".join(c.text.split()) for c in planned}) == len(planned)


def _check_chunks(speech: Speech, spec: ChunkSpec) -> None:
    """Each chunk is a verbatim, non-blank slice; together they cover the text; they overlap only
    where the spec allows: consecutive chunks share at most ``overlap_sentences`` whole sentences."""
    text = speech.text
    chunks = chunk_speech(speech, spec)
    sentences = split_sentences(text)
    for chunk in chunks:
        assert chunk.text == text[chunk.start : chunk.end] and chunk.text.strip()
    spans = [(c.start, c.end) for c in chunks]
    assert _stitch(text, spans) == text
    covered = {i for start, end in spans for i in range(start, end)}
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())
    for (start, end), (next_start, _) in itertools.pairwise(spans):
        assert next_start > start
        if next_start < end:  # the repeated context: whole sentences, no more than allowed
            shared = [s for s in sentences if next_start <= s.start and s.end <= end]
            assert sum(s.end - s.start for s in shared) + text[next_start:end].count("\n") >= len(
                text[next_start:end].strip()
            )
            assert len(shared) <= spec.overlap_sentences
    for (_, end), (later_start, _) in zip(spans, spans[2:], strict=False):
        assert later_start >= end  # a sentence is never in three chunks


@settings(max_examples=200, deadline=None)
@given(st.lists(_PARAGRAPH, min_size=1, max_size=10), st.integers(min_value=0, max_value=2))
def test_chunking_any_unicode_speech_never_loses_or_duplicates_text(
    paragraphs: list[str], overlap: int
) -> None:
    # A paragraph holds no line break: clean_text splits on them (chunk_speech relies on it).
    speech = Speech("讲话", tuple(p.replace("\n", " ") for p in paragraphs), "p.txt")
    _check_chunks(speech, ChunkSpec(target=60, maximum=90, minimum=10, overlap_sentences=overlap))
    _check_chunks(speech, ChunkSpec(target=350, maximum=500, minimum=80, overlap_sentences=overlap))


# ------------------------------------------------------------------ deduplication at scale


# sha256 of [[speech_id, title, [chunk ids]], ...] for the seed, computed with the quadratic
# deduplication this replaced: the faster one must give the same speeches and chunks.
SEED_PLAN_SHA256 = "84a54a951c65a5ac09da4e651a5ade6d0a61336358d33c7bb230589af085cab2"


def test_seed_speeches_and_chunks_are_unchanged(seed_text: str) -> None:
    speeches = deduplicate(read_speeches(seed_text, SEED.name))
    planned = plan_chunks(speeches, ChunkSpec())
    plan = [
        [s.speech_id, s.title, [c.chunk_id for c in planned if c.speech_id == s.speech_id]] for s in speeches
    ]
    assert (len(speeches), len(planned), sum(len(ids) for _, _, ids in plan)) == (17, 195, 195)
    digest = hashlib.sha256(json.dumps(plan, ensure_ascii=False).encode("utf-8")).hexdigest()
    assert digest == SEED_PLAN_SHA256


def test_deduplicate_a_speech_without_sources() -> None:
    body = ("同志们:", "安全生产重于泰山,各单位要压实责任。", "要深入排查整治隐患,坚决遏制事故。")
    bare = [Speech("讲话", body, "a.txt"), Speech("讲话", body[1:], "b.txt")]
    kept = deduplicate(bare)
    assert [(s.paragraphs, s.source, s.sources) for s in kept] == [(body, "a.txt", ("a.txt", "b.txt"))]
    assert deduplicate([Speech("空", (), "c.txt")])[0].sources == ("c.txt",)


class _EveryPairIndex(dedupe_module._Index):
    """The index with nothing left out: every speech sharing a paragraph is a candidate."""

    def partners(self, key: int) -> set[int]:
        found = {o for p in self.distinct[key] for o in self.holders[p]}
        return found - {key}

    containers = partners


def _separate_by_rescanning(speeches: list[Speech]) -> list[Speech]:
    """separate_glued as it was: after every split, look at every speech again from the first."""
    result = list(speeches)
    while True:
        for at, host in enumerate(result):
            pieces = next(
                (
                    pieces
                    for other, guest in enumerate(result)
                    if other != at and (shared := len(set(host.paragraphs) & set(guest.paragraphs)))
                    if (pieces := dedupe_module._cut(host, guest, shared)) is not None
                ),
                None,
            )
            if pieces is not None:
                result[at : at + 1] = pieces
                break
        else:
            return result


_POOL = ["同志们:", "各位领导、同志们:"] + [
    f"第{n}段:要压实安全生产责任,排查整治隐患{n}处。" for n in range(10)
]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.lists(st.sampled_from(_POOL), max_size=9), st.booleans()),
        max_size=8,
    ),
    st.sampled_from([1, 2, 3, 50]),
)
def test_leaving_common_paragraphs_out_of_the_index_changes_nothing(
    specs: list[tuple[list[str], bool]], common_holders: int
) -> None:
    """Speeches with heavily shared paragraphs (salutations, stock lines, fragments made of them):
    the pruned index and the resumed scan give what comparing every pair and rescanning gave."""
    speeches = [
        Speech(
            f"讲话{n}" if titled else "", tuple(paragraphs), f"{n}.txt", titled=titled, sources=(f"{n}.txt",)
        )
        for n, (paragraphs, titled) in enumerate(specs)
    ]
    with patch.object(dedupe_module, "_COMMON_HOLDERS", common_holders):
        fast_split = separate_glued(speeches)
        fast = deduplicate(speeches)
        with patch.object(dedupe_module, "_Index", _EveryPairIndex):
            every_pair = deduplicate(speeches)
    assert fast_split == _separate_by_rescanning(speeches)
    assert fast == every_pair
