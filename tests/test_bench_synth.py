"""The scale benchmark's synthetic corpus: deterministic, as many speeches as asked, readable back.

Fast (no model, no store): the scale figures are only meaningful if the repo's own
loaders and splitter see the speeches the generator meant to write.
"""

from __future__ import annotations

from pathlib import Path

from bench.synth import SynthFile, generate, plan_files, seed_pool, write_corpus, write_files
from ingest.dedupe import deduplicate
from ingest.loaders import load_text
from ingest.pipeline import read_speeches


def _bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_same_seed_same_bytes_and_prefix_stable(tmp_path: Path) -> None:
    write_corpus(tmp_path / "a", 8, seed=3)
    write_corpus(tmp_path / "b", 8, seed=3)
    assert _bytes(tmp_path / "a") == _bytes(tmp_path / "b")
    pool = seed_pool()
    assert generate(8, 3, pool) == generate(10, 3, pool)[:8]  # the extra speeches are new, not a reshuffle
    assert generate(8, 3, pool) != generate(8, 4, pool)


def test_requested_count_distinct_titles_mixed_formats() -> None:
    speeches = generate(60)
    assert len(speeches) == 60
    assert len({s.title for s in speeches}) == 60
    assert all(s.title.endswith("上的讲话") for s in speeches)
    assert all(2000 < s.chars < 4500 for s in speeches)
    files = plan_files(60)
    assert sorted(i for f in files for i in f.speeches) == list(range(60))
    assert len({f.fmt for f in files}) >= 5
    assert len({f.name for f in files}) == len(files)


def test_loaders_and_splitter_read_a_small_corpus_back(tmp_path: Path) -> None:
    speeches = generate(6)
    # One file per format, so every reader is exercised whatever the format plan draws.
    formats = ["txt-utf8", "txt-gbk", "md", "docx", "html", "pdf"]
    files = [SynthFile(f"s{i}_{fmt}.{fmt.split('-')[0]}", fmt, (i,)) for i, fmt in enumerate(formats)]
    write_files(tmp_path, speeches, files)
    read = []
    for file in files:
        found = read_speeches(load_text(tmp_path / file.name), file.name)
        assert [s.title for s in found] == [speeches[file.speeches[0]].title], file.fmt
        read.extend(found)
    assert len(deduplicate(read)) == 6
    first = read[0]
    assert first.paragraphs == speeches[0].paragraphs  # plain text comes back verbatim
