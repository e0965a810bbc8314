"""Incremental ingest against a real Chroma store on disk and the real embedding model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from filelock import FileLock

from ingest.index.store import ChunkStore, ModelMismatchError
from ingest.manifest import Manifest
from ingest.pipeline import LOCK_NAME, IngestLocked, ingest_paths
from ingest.reconcile import WRITE_BATCH
from rag.config import Settings
from tests.conftest import SEED, seed_excerpt
from tests.crashes import embedded_so_far, ingest_env, kill_when, problems, read_state, start_ingest


def _store(settings: Settings) -> ChunkStore:
    return ChunkStore.open(settings, settings.embedding_model, create=False)


def _stored_texts(settings: Settings) -> list[str]:
    return [text for text, _ in _store(settings).documents().values()]


def _tree_state(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_mtime_ns, p.stat().st_size) for p in folder.rglob("*") if p.is_file()}


def _env(settings: Settings) -> dict[str, str]:
    return ingest_env(settings)


def test_seed_ingest_is_complete_and_idempotent(settings: Settings, embedder) -> None:
    first = ingest_paths([SEED], settings, embedder=embedder, progress=False)
    assert first.errors == ()
    assert first.speeches == 17
    assert first.chunks_added == first.chunks == first.embedded > 100
    texts = _stored_texts(settings)
    assert len(texts) == first.chunks
    assert len(set(texts)) == len(texts), "two chunks with the same text"
    assert not any("小编" in t or "相关范文推荐" in t for t in texts)

    # A re-run in a fresh process (as a user would run it) embeds and writes nothing.
    before = _tree_state(settings.store_dir)
    run = subprocess.run(
        [sys.executable, "-m", "ingest", "--json", str(SEED)],
        capture_output=True,
        text=True,
        env=_env(settings),
        timeout=120,
    )
    again = json.loads(run.stdout)
    assert (again["embedded"], again["chunks_added"], again["chunks_removed"]) == (0, 0, 0)
    assert again["chunks_unchanged"] == first.chunks and again["speeches"] == 17
    assert _tree_state(settings.store_dir) == before, "an unchanged re-ingest wrote to the store"

    # Vectors are the real model's: a question finds the passage that answers it.
    hits = _store(settings).query(embedder.embed_query("用哪三个铁来抓安全?"), k=5)
    assert any("用铁的手腕抓安全" in text for _, text, _, _ in hits)
    assert all(meta["speech_title"] and meta["source"] == SEED.name for _, _, meta, _ in hits)


def test_a_changed_file_replaces_exactly_its_changed_chunks(
    settings: Settings, embedder, tmp_path: Path
) -> None:
    speech = tmp_path / "in" / "speech.txt"
    speech.parent.mkdir()
    original = seed_excerpt(60)
    speech.write_text(original, encoding="utf-8")
    other = tmp_path / "in" / "other.txt"
    other.write_text(seed_excerpt(180).split("\n", 136)[-1], encoding="utf-8")
    first = ingest_paths([speech.parent], settings, embedder=embedder, progress=False)
    old_ids = set(_store(settings).metadata_by_id())

    edited = original.replace("用铁的手腕抓安全", "用钢的手腕抓安全")
    assert edited != original
    speech.write_text(edited, encoding="utf-8")
    second = ingest_paths([speech.parent], settings, embedder=embedder, progress=False)

    assert second.files_changed == 1
    assert second.chunks_updated == 1 and second.chunks_added == 0 and second.chunks_removed == 0
    assert second.embedded == 1
    assert second.chunks_unchanged == first.chunks - 1
    new_ids = set(_store(settings).metadata_by_id())
    assert len(old_ids - new_ids) == 1 and len(new_ids - old_ids) == 1
    texts = _stored_texts(settings)
    assert any("用钢的手腕抓安全" in t for t in texts)
    assert not any("用铁的手腕抓安全" in t for t in texts)


def test_same_speech_in_two_files_is_stored_once_and_prune(
    settings: Settings, embedder, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text(seed_excerpt(60), encoding="utf-8")
    first = ingest_paths([folder], settings, embedder=embedder, progress=False)

    # The same page again, in GBK and under another name: nothing new to store.
    (folder / "b.txt").write_bytes(seed_excerpt(60).encode("gb18030"))
    second = ingest_paths([folder], settings, embedder=embedder, progress=False)
    assert second.errors == ()
    assert (second.embedded, second.chunks) == (0, first.chunks)
    sources = {tuple(m["sources"]) for m in _store(settings).metadata_by_id().values()}
    assert sources == {("a.txt", "b.txt")}

    # One copy gone: the speech stays (b.txt still holds it), with or without --prune.
    (folder / "a.txt").unlink()
    third = ingest_paths([folder], settings, embedder=embedder, prune=True, progress=False)
    assert third.chunks == first.chunks and third.embedded == 0
    sources = {tuple(m["sources"]) for m in _store(settings).metadata_by_id().values()}
    assert sources == {("b.txt",)}

    # Both gone: without --prune nothing is removed; with it, everything is.
    (folder / "b.txt").unlink()
    (folder / "new.txt").write_text(
        "在全县防汛会议上的讲话\n\n同志们:\n\n今年汛期要做到“四个到位”。", encoding="utf-8"
    )
    kept = ingest_paths([folder], settings, embedder=embedder, progress=False)
    assert kept.chunks_removed == 0 and kept.chunks == first.chunks + 1
    pruned = ingest_paths([folder], settings, embedder=embedder, prune=True, progress=False)
    assert pruned.chunks_removed == first.chunks and pruned.chunks == 1
    assert _store(settings).count() == 1
    assert set(Manifest.load(settings.store_dir).files) == {str((folder / "new.txt").resolve())}


def test_bad_files_are_reported_and_the_rest_ingest(settings: Settings, embedder, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.txt").write_text(seed_excerpt(22), encoding="utf-8")
    (folder / "empty.txt").write_text("", encoding="utf-8")
    (folder / "noise.txt").write_bytes(bytes(range(256)) * 8)
    (folder / "table.xlsx").write_bytes(b"PK\x03\x04 not really")
    (folder / "broken.docx").write_bytes(b"this is no zip")
    report = ingest_paths([folder, tmp_path / "missing.txt"], settings, embedder=embedder, progress=False)
    failed = {Path(e.file).name: e.reason for e in report.errors}
    assert set(failed) == {"empty.txt", "noise.txt", "table.xlsx", "broken.docx", "missing.txt"}
    assert all(reason for reason in failed.values())
    assert report.ok and report.chunks > 0 and report.speeches == 1

    only_bad = tmp_path / "bad"
    only_bad.mkdir()
    (only_bad / "empty.txt").write_text(" \n", encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "ingest", "--json", str(only_bad)],
        capture_output=True,
        text=True,
        env=_env(settings),
        timeout=120,
    )
    assert run.returncode == 1
    data = json.loads(run.stdout)
    assert data["errors"][0]["file"].endswith("empty.txt") and data["errors"][0]["reason"]
    # What was stored before is still there.
    assert _store(settings).count() == report.chunks


def test_cli_json_report(settings: Settings, tmp_path: Path) -> None:
    speech = tmp_path / "s.md"
    speech.write_text("# 在全县安全生产会议上的讲话\n\n同志们:\n\n要严格执行“四个一律”。", encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "ingest", "--json", "--store", str(settings.store_dir), str(speech)],
        capture_output=True,
        text=True,
        env=_env(settings),
        timeout=180,
    )
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    for key in ("files", "speeches", "chunks_added", "chunks_updated", "chunks_unchanged", "chunks_removed"):
        assert key in data
    assert (data["files"], data["speeches"], data["chunks_added"], data["embedded"]) == (1, 1, 1, 1)
    assert data["errors"] == []


def test_a_second_writer_is_kept_out(settings: Settings, embedder, tmp_path: Path) -> None:
    settings.store_dir.mkdir(parents=True)
    speech = tmp_path / "s.txt"
    speech.write_text(seed_excerpt(22), encoding="utf-8")
    with FileLock(str(settings.store_dir / LOCK_NAME)):
        with pytest.raises(IngestLocked, match="another ingest is writing"):
            ingest_paths([speech], settings, embedder=embedder, progress=False)
        run = subprocess.run(
            [sys.executable, "-m", "ingest", str(speech)],
            capture_output=True,
            text=True,
            env=_env(settings),
            timeout=120,
        )
        assert run.returncode == 2 and "another ingest is writing" in run.stderr
    assert ingest_paths([speech], settings, embedder=embedder, progress=False).chunks > 0


def test_a_store_built_with_another_model_is_refused(settings: Settings, embedder, tmp_path: Path) -> None:
    class OtherModel:
        name = "some/other-model"

        def embed_passages(self, texts: list[str]) -> np.ndarray:
            return np.ones((len(texts), 4), dtype=np.float32) / 2

    speech = tmp_path / "s.txt"
    speech.write_text(seed_excerpt(22), encoding="utf-8")
    ingest_paths([speech], settings, embedder=OtherModel(), progress=False)
    with pytest.raises(ModelMismatchError, match=r"some/other-model.*rebuild"):
        ingest_paths([speech], settings, embedder=embedder, progress=False)
    rebuilt = ingest_paths([speech], settings, embedder=embedder, rebuild=True, progress=False)
    assert rebuilt.embedded == rebuilt.chunks > 0


def test_a_killed_ingest_is_completed_by_the_next_run(settings: Settings, embedder, tmp_path: Path) -> None:
    """kill -9 a real ingest while it writes; the rerun must match a clean build exactly."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "seed.txt").write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    log = tmp_path / "ingest.log"
    proc = start_ingest([folder], settings, log)
    # Kill as soon as the progress bar shows that a first batch was written.
    killed = kill_when(proc, lambda: embedded_so_far(log)[0] >= WRITE_BATCH, timeout=180)
    assert killed, "ingest finished before it could be killed"
    partial = _store(settings).count()
    assert partial > 0

    repaired = ingest_paths([folder], settings, embedder=embedder, progress=False)
    assert repaired.embedded == repaired.chunks - partial
    clean_settings = settings.with_overrides(store_dir=tmp_path / "clean")
    ingest_paths([folder], clean_settings, embedder=embedder, progress=False)
    assert problems(read_state(settings), read_state(clean_settings)) == []


def test_ingest_into_a_chroma_server(
    settings: Settings, embedder, tmp_path: Path, chroma_server: int
) -> None:
    remote = settings.with_overrides(chroma_host="127.0.0.1", chroma_port=chroma_server)
    speech = tmp_path / "s.txt"
    speech.write_text(seed_excerpt(60), encoding="utf-8")
    first = ingest_paths([speech], remote, embedder=embedder, progress=False)
    assert first.chunks > 0 and "127.0.0.1" in first.store
    assert not (settings.store_dir / "chroma").exists(), "wrote an embedded store instead of the server"
    assert ChunkStore.open(remote, remote.embedding_model).count() == first.chunks
    again = ingest_paths([speech], remote, embedder=embedder, progress=False)
    assert again.embedded == 0 and again.chunks_unchanged == first.chunks
    assert _search_width(ChunkStore.open(remote, remote.embedding_model)) == remote.hnsw_ef_search


def test_a_speech_opening_carries_its_speaker_line_and_place(settings: Settings) -> None:
    """The answer layer reads a speech's occasion from here: a question that names the speaker's city
    ("临江") picks that speech, though the city stands only in the speaker line, not in the text."""
    import numpy as np

    store = ChunkStore.open(settings, settings.embedding_model)
    meta = {"speech_id": "s1", "position": 0, "speech_title": "在全市防汛工作会议上的讲话"}
    store.upsert(
        ["c1", "c2"],
        ["同志们：今天召开全市防汛工作会议。", "同志们：今天开会。"],
        [{**meta, "speaker": "临江市副市长　周建明", "place": "临江"}, {**meta, "speech_id": "s2"}],
        np.ones((2, 384), dtype=np.float32),
    )
    openings = store.titled_openings(["s1", "s2"])
    assert openings["s1"] == (
        "在全市防汛工作会议上的讲话\n临江市副市长　周建明\n临江",
        "同志们：今天召开全市防汛工作会议。",
    )
    assert openings["s2"][0] == "在全市防汛工作会议上的讲话"


class _CollectionMidWrite:
    """Chroma as a reader sees it while an ingest deletes chunk "gone": the index still finds the
    id, the record read comes back without text or metadata."""

    def get(self, **_: object) -> dict[str, list]:
        return {
            "ids": ["kept", "gone"],
            "documents": ["一是深查。", None],
            "metadatas": [{"speech_id": "s", "position": 0}, None],
        }

    def query(self, **_: object) -> dict[str, list]:
        return {
            "ids": [["kept", "gone"]],
            "documents": [["一是深查。", None]],
            "metadatas": [[{"speech_id": "s"}, None]],
            "distances": [[0.1, 0.2]],
        }


def test_reads_skip_chunks_an_ingest_is_deleting() -> None:
    """Readers during an ingest got HTTP 500 (None text) from a chunk deleted between two reads."""
    store = ChunkStore(_CollectionMidWrite(), "memory")
    assert list(store.documents(["kept", "gone"])) == ["kept"]
    assert [row[0] for row in store.query(np.zeros(4, dtype=np.float32), 2)] == ["kept"]
    assert [row[0] for row in store.speech_chunks("s")] == ["kept"]
    assert list(store.speech_heads(["s"])) == ["s"]


def test_tokens_cut_by_an_older_segmenter_are_cut_again(settings: Settings, embedder, tmp_path: Path) -> None:
    """A store from before a segmenter change holds stale tokens (消防/站): the next ingest cuts
    every chunk again, without embedding anything."""
    import sqlite3

    from ingest.index.keywords import INDEX_NAME, KeywordIndex
    from ingest.index.tokenize import SEGMENTER_VERSION

    speech = tmp_path / "speech.txt"
    speech.write_text(seed_excerpt(), encoding="utf-8")
    first = ingest_paths([speech], settings, embedder=embedder, progress=False)
    path = settings.store_dir / INDEX_NAME
    with sqlite3.connect(path) as db:  # as an older version left it: no stamp, other tokens
        fresh = dict(db.execute("SELECT chunk_id, tokens FROM chunks").fetchall())
        db.execute("UPDATE chunks SET tokens = 'stale'")
        db.execute("DELETE FROM state WHERE key = 'segmenter'")
    assert not KeywordIndex(path).cut_here()

    again = ingest_paths([speech], settings, embedder=embedder, progress=False)
    assert again.embedded == 0 and again.chunks == first.chunks
    with sqlite3.connect(path) as db:
        assert dict(db.execute("SELECT chunk_id, tokens FROM chunks").fetchall()) == fresh
        assert db.execute("SELECT value FROM state WHERE key = 'segmenter'").fetchone() == (
            SEGMENTER_VERSION,
        )
    assert KeywordIndex(path).cut_here()


def _search_width(store: ChunkStore) -> int:
    return store._collection.configuration_json["hnsw"]["ef_search"]


def test_the_store_is_searched_as_wide_as_configured(settings: Settings, embedder, tmp_path: Path) -> None:
    """Chroma's default HNSW width (100) misses near neighbours once a store grows; the setting
    reaches a new store, and a store set to another width (one built before the setting) is
    widened by the next ingest even when no speech changed, without embedding anything."""
    speech = tmp_path / "speech.txt"
    speech.write_text(seed_excerpt(), encoding="utf-8")
    narrow = settings.with_overrides(hnsw_ef_search=150)
    first = ingest_paths([speech], narrow, embedder=embedder, progress=False)
    assert _search_width(_store(narrow)) == 150

    wide = settings.with_overrides(hnsw_ef_search=300)
    again = ingest_paths([speech], wide, embedder=embedder, progress=False)
    assert again.embedded == 0 and again.chunks_unchanged == first.chunks
    assert _search_width(_store(wide)) == 300
    assert Manifest.load(wide.store_dir).search_width == 300
    assert ingest_paths([speech], wide, embedder=embedder, progress=False).chunks_unchanged == first.chunks
