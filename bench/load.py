"""Load: simulated users asking the real app over HTTP, optionally while speeches are ingested.

    python -m bench.load [--users 20] [--seconds 60] [--store DIR] [--ingest] [--out FILE]

Starts `python app.py --port P --store S` on 127.0.0.1 over a private copy of an index of data/
(``--store``, default POLICYQA_STORE_DIR; built with `python -m ingest data/` when there is none),
waits for the model, then runs ``--users`` threads that each ask the shared dev questions
(eval/dev.jsonl) in a loop on POST /api/ask for ``--seconds``. Prints one JSON object
(throughput, p50/p95, errors, os.getloadavg()) and a one-line summary for docs/faults-and-load.md.

With ``--ingest`` an admin uploads two files through POST /api/ingest while the users ask (at a
third of the run): a new speech, then an edited copy of a seed speech (one sentence made longer,
so deduplication keeps the edited copy and the index swaps that chunk). That is the real user
path: the app owns its embedded Chroma store, and a second process writing the same store (a
`python -m ingest` beside the running app) is not supported by Chroma's embedded mode — the app
would keep serving its in-memory view. Every answer is then checked for consistency; see
``consistency``.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.users import ROOT, Reply, app_process, asking, dev_questions, loadavg, summarize
from ingest.chunking import ChunkSpec
from ingest.manifest import Manifest
from ingest.pipeline import plan_chunks, read_speeches
from rag.config import Settings
from tests.servers import wait_for_http

SEED = ROOT / "data" / "000_6f579f50373472dc.txt"
EDIT_FROM, EDIT_TO = "用铁的手腕抓安全", "用铁的手腕、铁的决心抓安全"
NEW_SPEECH = """在全市危险化学品安全专项整治推进会上的讲话

同志们:

今天召开全市危险化学品安全专项整治推进会,主要任务是总结前一阶段整治工作,部署下一步重点任务。

一、认清形势,增强做好危化品安全工作的紧迫感。当前全市危险化学品企业点多面广,部分企业安全投入不足,\
重大危险源监测预警系统运行不稳定,储罐区和装卸环节事故隐患依然突出。

二、突出重点,扎实推进专项整治。要对涉及硝化、氯化、氟化等危险工艺的企业逐一开展安全评估,\
做到“一企一策”;要严格落实储罐区“双人复核”制度,装卸作业必须全程视频监控。

三、压实责任,确保整治取得实效。各县区要建立危化品整治台账,实行“清单制+责任制”管理,\
对整改不力的企业一律停产整顿,对失职失责的人员严肃追责问责。
"""
TARGETED = ("装卸作业有什么要求?", "危险工艺企业怎么整治?", "用什么样的手腕抓安全?")


def index_version(store: Path) -> dict[str, str]:
    """chunk id -> chunk text of the index as the manifest describes it.

    The manifest is replaced atomically at the end of each ingest, and the crash trials check
    that its planned chunks are exactly what Chroma holds, so reading it from this process is a
    safe way to know an index version without opening the app's Chroma store.
    """
    manifest = Manifest.load(store)
    spec = ChunkSpec(**manifest.chunking) if manifest.chunking else ChunkSpec()
    return {c.chunk_id: c.text for c in plan_chunks(manifest.speeches(), spec)}


def edited_seed_speech() -> str:
    """The seed speech holding EDIT_FROM, as a file of its own, with that sentence made longer."""
    speeches = read_speeches(SEED.read_text(encoding="utf-8"), SEED.name)
    speech = next(s for s in speeches if EDIT_FROM in s.text)
    return f"{speech.title}\n\n" + "\n\n".join(speech.paragraphs).replace(EDIT_FROM, EDIT_TO)


def consistency(replies: list[Reply], versions: list[dict[str, str]]) -> dict[str, Any]:
    """Is every answer consistent with one version of the index?

    An answer is consistent when one index version (before any upload, after the first, after the
    second) holds every chunk it cites, each with exactly the passage text the citation shows. An
    answer that mixed a chunk only the old index has with one only the new index has — possible in
    principle, since an ingest first writes new chunks and then deletes old ones, and Chroma and
    the keyword index are updated one after the other — would fail.
    """
    counted: dict[str, Any] = {"answers": 0, "citing": 0, "consistent": 0, "inconsistent": 0}
    explained_by: dict[str, int] = {}  # "0,1,2": answers that every one of those versions explains
    samples: list[dict[str, Any]] = []
    for reply in replies:
        if not reply.ok:
            continue
        counted["answers"] += 1
        cited = {c["chunk_id"]: c["passage"] for c in reply.body["citations"]}
        if not cited:  # a refusal cites nothing: consistent with any version
            counted["consistent"] += 1
            continue
        counted["citing"] += 1
        matching = [
            n for n, version in enumerate(versions) if all(version.get(i) == t for i, t in cited.items())
        ]
        if matching:
            counted["consistent"] += 1
            key = ",".join(map(str, matching))
            explained_by[key] = explained_by.get(key, 0) + 1
        else:
            counted["inconsistent"] += 1
            if len(samples) < 3:
                samples.append({"question": reply.question, "cited": sorted(cited)})
    return counted | {"explained_by_versions": explained_by, "samples": samples}


def upload(base_url: str, password: str, name: str, text: str) -> dict[str, Any]:
    response = httpx.post(
        f"{base_url}/api/ingest",
        headers={"X-Admin-Password": password},
        files=[("files", (name, text.encode("utf-8"), "text/plain"))],
        timeout=600,
    )
    response.raise_for_status()
    return response.json()


def prepare_store(given: Path | None, work: Path) -> Path:
    """A private copy of the index (the app and the ingest write to it), built when there is none."""
    source = given or Settings().store_dir
    target = work / "store"
    if (source / "manifest.json").exists():
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.lock"))
        return target
    print(f"no index at {source}: building one from {SEED.parent} …", file=sys.stderr, flush=True)
    env = {"POLICYQA_STORE_DIR": str(target)}
    subprocess.run([sys.executable, "-m", "ingest", str(SEED.parent)], cwd=ROOT, env=env, check=True)
    return target


def run(users: int, seconds: float, store_arg: Path | None, ingest: bool, work: Path) -> dict[str, Any]:
    store = prepare_store(store_arg, work)
    password = secrets.token_urlsafe(12)
    env = {
        "POLICYQA_DATA_DIR": str(work / "data"),
        "POLICYQA_UPLOAD_DIR": str(work / "uploads"),
        "POLICYQA_ADMIN_PASSWORD": password,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    questions = dev_questions() + (list(TARGETED) if ingest else [])
    result: dict[str, Any] = {"loadavg_before": loadavg()}
    with app_process(store, env, log=work / "app.log") as (port, _):
        base_url = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base_url}/api/health")
        httpx.post(f"{base_url}/api/ask", json={"question": questions[0]}, timeout=300).raise_for_status()
        versions = [index_version(store)]
        reports: list[dict[str, Any]] = []
        began = time.monotonic()
        with asking(base_url, users, questions) as asked:
            if ingest:
                time.sleep(seconds / 3)
                reports.append(upload(base_url, password, "危化品整治讲话.txt", NEW_SPEECH))
                versions.append(index_version(store))
                reports.append(upload(base_url, password, "三季度讲话修订.txt", edited_seed_speech()))
                versions.append(index_version(store))
            time.sleep(max(0.0, seconds - (time.monotonic() - began)))
            result["loadavg_during"] = loadavg()
        result["load"] = summarize(asked.replies, time.monotonic() - began, users)
        health = httpx.get(f"{base_url}/api/health", timeout=60).json()
    if ingest:
        result["ingest"] = [
            {k: r[k] for k in ("chunks_added", "chunks_updated", "chunks_removed", "embedded", "seconds")}
            for r in reports
        ]
        result["index_versions"] = [len(v) for v in versions]
        result["health_chunks_after"] = health["chunks"]
        result["consistency"] = consistency(asked.replies, versions)
    result["loadavg_after"] = loadavg()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--store", type=Path, help="an index of data/ (default: POLICYQA_STORE_DIR)")
    parser.add_argument("--ingest", action="store_true", help="upload a new and a changed speech meanwhile")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="policyqa-load-") as work:
        result = run(args.users, args.seconds, args.store, args.ingest, Path(work))
    text = json.dumps(result, ensure_ascii=False, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    load = result["load"]
    line = (
        f"{load['users']} users × {load['seconds']:.0f} s: {load['throughput_rps']} answers/s, "
        f"p50 {load['p50_ms']} ms, p95 {load['p95_ms']} ms, {load['errors']} errors "
        f"(load average during {' '.join(map(str, result['loadavg_during']))})"
    )
    if "consistency" in result:
        c = result["consistency"]
        line += f"; ingest meanwhile: {c['consistent']} consistent, {c['inconsistent']} inconsistent answers"
    print(line)


if __name__ == "__main__":
    main()
