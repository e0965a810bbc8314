"""One machine: an open PolicyQA follows ingests made by other processes (issue 14), and the
manifest keeps hashes and chunk ids, not speech texts (issue 16). Real model, real embedded
Chroma, a real `python -m ingest` subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from ingest.index.generation import read_local
from ingest.manifest import MANIFEST_NAME, Manifest
from ingest.pipeline import ingest_paths
from rag.config import Settings
from tests.conftest import seed_excerpt
from tests.crashes import ingest_env, write_corpus

NEW_SPEECH = """关于在全县冬季消防安全工作会议上的讲话
同志们：
今天召开全县冬季消防安全工作会议，主要任务是部署今冬明春火灾防控工作。
一、提高认识。冬季是火灾易发多发季节，各乡镇要落实“红黄绿三色预警”制度，对九小场所逐一排查。
二、压实责任。县消防救援大队要会同应急管理局开展“百日清零”专项行动，确保隐患动态清零。
"""


def _qa(settings: Settings, embedder: object):
    from rag.api import PolicyQA

    qa = PolicyQA(settings)
    qa._embedder = embedder
    return qa


def test_an_open_app_answers_from_an_ingest_made_by_another_process(
    settings: Settings, embedder, tmp_path: Path
) -> None:
    first = tmp_path / "a.txt"
    first.write_text(seed_excerpt(60), encoding="utf-8")
    ingest_paths([first], settings, embedder=embedder, progress=False)
    qa = _qa(settings, embedder)
    assert qa.ask("安全生产工作要做到哪些?").text  # the store and keyword index are open now
    generation = read_local(settings.store_dir)

    new = tmp_path / "new.txt"
    new.write_text(NEW_SPEECH, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "ingest", str(new)], env=ingest_env(settings), capture_output=True, timeout=300
    )
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    assert read_local(settings.store_dir) == generation + 1

    cited = False
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not cited:  # no 500, no restart: within 10 s
        answer = qa.ask("什么是“百日清零”专项行动?")
        cited = any("消防" in (c.speech_title or "") for c in answer.citations)
        time.sleep(0.5)
    assert cited, answer
    hits = qa.search("红黄绿三色预警", k=3)
    assert any("红黄绿三色预警" in p.text for p in hits)


def test_manifest_holds_no_texts_and_a_one_file_change_reads_one_file(
    settings: Settings, embedder, tmp_path: Path
) -> None:
    folder = write_corpus(tmp_path / "corpus", 120)
    (folder / "c.txt").write_text(NEW_SPEECH, encoding="utf-8")
    ingest_paths([folder], settings, embedder=embedder, progress=False)
    raw = (settings.store_dir / MANIFEST_NAME).read_text(encoding="utf-8")
    assert "冬季是火灾易发多发季节" not in raw and 'paragraphs": [' not in raw
    manifest = Manifest.load(settings.store_dir)
    assert all(r.chunk_ids for r in manifest.files.values())
    record = json.loads(raw)["files"][str((folder / "c.txt").resolve())]
    assert record["speeches"][0]["title"].startswith("关于在全县冬季消防")

    (folder / "c.txt").write_text(NEW_SPEECH + "三、强化保障。各部门要加强值班值守。\n", encoding="utf-8")
    report = ingest_paths([folder], settings, embedder=embedder, progress=False)
    assert [f.read for f in report.found].count(True) == 1  # only c.txt was read and parsed
    assert report.embedded >= 1 and report.chunks_removed + report.chunks_updated >= 1
    # the same ids as a clean build of the same files
    clean = Settings(store_dir=tmp_path / "clean", data_dir=folder, model_cache=settings.model_cache)
    ingest_paths([folder], clean, embedder=embedder, progress=False)
    assert Manifest.load(settings.store_dir).chunk_ids() == Manifest.load(clean.store_dir).chunk_ids()
    assert Manifest.load(settings.store_dir).chunk_ids() == {
        c for c in _qa(settings, embedder).store.metadata_by_id()
    }


def test_watch_ingests_a_file_dropped_into_the_data_folder(
    settings: Settings, embedder, tmp_path: Path
) -> None:
    """app.py --watch: a speech copied into the data folder is answerable within 30 s, and the
    index panel says what the watcher did."""
    from rag.web.watching import DataWatch

    data = tmp_path / "data"
    data.mkdir()
    (data / "a.txt").write_text(seed_excerpt(60), encoding="utf-8")
    settings = settings.with_overrides(data_dir=data)
    ingest_paths([data], settings, embedder=embedder, progress=False)
    qa = _qa(settings, embedder)
    watch = DataWatch(qa)
    watch.start()
    try:
        (data / "new.txt").write_text(NEW_SPEECH, encoding="utf-8")
        cited = False
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not cited:
            answer = qa.ask("什么是“百日清零”专项行动?")
            cited = any("消防" in (c.speech_title or "") for c in answer.citations)
            time.sleep(1)
        assert cited, answer
        assert "自动导入" in watch.note() and "1" in watch.note()
    finally:
        watch.stop()
