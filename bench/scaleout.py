"""Scale-out: several app replicas over one Chroma server behind nginx (issue 14).

    python -m bench.scaleout [--replicas 3] [--users 20] [--seconds 60] [--json PATH] [--work DIR]

Starts a real `chroma run` on 127.0.0.1, ingests the seed corpus (data/) into it from replica
A's store dir (``python -m ingest data/``), starts the replicas (A with that store dir, B, C …
with empty ones, as added replicas would be) and nginx from deploy/nginx.conf (tests/scaleout.py),
then measures:

(a) consistency: every dev question (eval/dev.jsonl) asked of each replica directly; are the
    answer text and the citations the same everywhere?
(b) propagation: a new speech uploaded through replica A (POST /api/ingest); how many seconds
    until replicas B, C … answer a question about it with a citation of it (0.5 s polls, ≤ 30 s)?
(c) load: ``--users`` simulated users (bench/users.py) for ``--seconds`` through the proxy, then
    the same against replica A alone: errors, throughput, p50/p95, and how nginx spread them.
(d) cold start: one more replica with an empty store dir against the server that already holds
    the seed: seconds until /api/health is ok, and until a question is answered.
(e) the chat page's path: the Gradio client (queue + SSE) asking through the proxy a few times.

All traffic is to 127.0.0.1; every loop is bounded; every process is stopped at the end, also on
error or Ctrl-C (tests/scaleout.Cluster). Prints one JSON object and a few summary lines.
The current code keeps the keyword index beside each replica's store, so replicas B, C … answer
differently from A — (a) and (b) are there to show that, and to show it gone once fixed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from bench.users import ROOT, dev_questions, loadavg, run_users
from tests.scaleout import Cluster, Replica

SEED = ROOT / "data"
POLL_EVERY = 0.5
POLL_FOR = 30.0
NEW_NAME = "冷库安全讲话.txt"
NEW_TITLE = "在全市冷库安全专项检查部署会上的讲话"
# About cold stores and ammonia refrigeration, which the seed corpus never mentions, so only this
# speech can answer the question below.
NEW_SPEECH = f"""{NEW_TITLE}

同志们:

今天召开全市冷库安全专项检查部署会,主要是部署今冬明春冷库和涉氨制冷企业的安全检查工作。

一、摸清底数。各区县要对辖区内所有冷库逐一登记,建立涉氨制冷企业台账,做到底数清、情况明。

二、突出重点。液氨制冷车间必须安装氨气浓度报警装置,并与事故排风机联锁;冷库库门必须安装\
内部紧急开门装置,防止人员被困;冷库保温材料必须采用不燃或难燃材料。

三、严格执法。对检查中发现液氨储罐无安全阀、报警装置失效的企业,一律停产整改,整改不到位的不得复产。
"""
NEW_QUESTION = "液氨制冷车间必须安装什么装置?"


def ask(client: httpx.Client, url: str, question: str) -> dict[str, Any]:
    """POST /api/ask; the answer, or {"error": ...} for anything but 200."""
    try:
        response = client.post(f"{url}/api/ask", json={"question": question})
    except httpx.HTTPError as error:
        return {"error": repr(error)}
    if response.status_code != 200:
        return {"error": f"HTTP {response.status_code}: {response.text[:200]}"}
    return response.json()


def fingerprint(answer: dict[str, Any]) -> str:
    """What must be equal across replicas: the text and each citation (chunk, quote)."""
    if "error" in answer:
        return "error: " + answer["error"]
    cited = [(c.get("chunk_id"), c.get("quote")) for c in answer.get("citations", [])]
    return json.dumps([answer.get("text"), answer.get("refused"), cited], ensure_ascii=False)


def consistency(replicas: Sequence[Replica], questions: Sequence[str]) -> dict[str, Any]:
    """(a) Each question asked of each replica directly; identical answers or not."""
    identical, different, samples = 0, 0, []
    differs_from_a: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    with httpx.Client(timeout=300) as client:
        for question in questions:
            answers = {r.name: ask(client, r.url, question) for r in replicas}
            for name, answer in answers.items():
                refused[name] += bool(answer.get("refused"))
                errors[name] += "error" in answer
            prints = {name: fingerprint(a) for name, a in answers.items()}
            first = replicas[0].name
            for name, value in prints.items():
                differs_from_a[name] += value != prints[first]
            if len(set(prints.values())) == 1:
                identical += 1
                continue
            different += 1
            if len(samples) < 3:
                samples.append(
                    {
                        "question": question,
                        "answers": {
                            name: {
                                "text": (a.get("text") or a.get("error") or "")[:120],
                                "refused": a.get("refused"),
                                "citations": [c.get("chunk_id") for c in a.get("citations", [])],
                            }
                            for name, a in answers.items()
                        },
                    }
                )
    names = [r.name for r in replicas]
    return {
        "questions": len(questions),
        "identical": identical,
        "different": different,
        "differs_from_A": {n: differs_from_a[n] for n in names[1:]},
        "refused": {n: refused[n] for n in names},
        "errors": {n: errors[n] for n in names},
        "samples": samples,
    }


def cites_new_speech(answer: dict[str, Any]) -> bool:
    """A citation of the uploaded file (stored as <hash>_<name>) or of its title."""
    stem = Path(NEW_NAME).stem
    return any(
        stem in (c.get("source") or "") or c.get("speech_title") == NEW_TITLE
        for c in answer.get("citations", [])
    )


def propagation(replicas: Sequence[Replica], password: str) -> dict[str, Any]:
    """(b) Upload through the first replica, then poll the others until they cite the upload."""
    first, others = replicas[0], replicas[1:]
    with httpx.Client(timeout=120) as client:
        before = {r.name: cites_new_speech(ask(client, r.url, NEW_QUESTION)) for r in replicas}
        began = time.monotonic()
        response = client.post(
            f"{first.url}/api/ingest",
            headers={"X-Admin-Password": password},
            files=[("files", (NEW_NAME, NEW_SPEECH.encode("utf-8"), "text/plain"))],
            timeout=600,
        )
        upload_s = time.monotonic() - began
        if response.status_code != 200:
            return {"error": f"upload: HTTP {response.status_code}: {response.text[:300]}"}
        report = response.json()
        on_first = ask(client, first.url, NEW_QUESTION)
        seen: dict[str, float | None] = {r.name: None for r in others}
        last: dict[str, dict[str, Any]] = {}
        uploaded = time.monotonic()
        deadline = uploaded + POLL_FOR
        while time.monotonic() < deadline and any(v is None for v in seen.values()):
            tick = time.monotonic()
            for replica in others:
                if seen[replica.name] is None:
                    last[replica.name] = ask(client, replica.url, NEW_QUESTION)
                    if cites_new_speech(last[replica.name]):
                        seen[replica.name] = round(time.monotonic() - uploaded, 2)
            time.sleep(max(0.0, POLL_EVERY - (time.monotonic() - tick)))
    return {
        "question": NEW_QUESTION,
        "cited_before_upload": before,
        "upload_seconds": round(upload_s, 2),
        "chunks_added": report.get("chunks_added"),
        f"{first.name}_cites_it_right_after": cites_new_speech(on_first),
        "seconds_until_cited": seen,  # None: not within POLL_FOR seconds
        f"same_answer_as_{first.name}": {n: fingerprint(a) == fingerprint(on_first) for n, a in last.items()},
        "last_answers": {
            name: {
                "text": (a.get("text") or a.get("error") or "")[:120],
                "refused": a.get("refused"),
                "sources": [c.get("source") for c in a.get("citations", [])],
            }
            for name, a in last.items()
        },
    }


def upstream_counts(log: Path, since: int) -> dict[str, int]:
    """Answers per replica port in nginx's access log after byte offset ``since``."""
    with log.open("rb") as handle:
        handle.seek(since)
        text = handle.read().decode("utf-8", errors="replace")
    ports = re.findall(r'"POST /api/ask [^"]*" \d+ \d+ \S+ upstream=127\.0\.0\.1:(\d+)', text)
    return dict(Counter(ports))


def load(cluster: Cluster, users: int, seconds: float, questions: Sequence[str]) -> dict[str, Any]:
    """(c) The same users through the proxy, then against the first replica alone."""
    assert cluster.nginx is not None
    log = cluster.nginx.log
    offset = log.stat().st_size
    via_proxy = run_users(cluster.proxy_url, users, seconds, questions)
    spread = upstream_counts(log, offset)
    by_name = {str(r.port): r.name for r in cluster.replicas}
    via_proxy["per_replica"] = {by_name.get(port, port): n for port, n in sorted(spread.items())}
    via_proxy["loadavg_after"] = loadavg()
    alone = run_users(cluster.replicas[0].url, users, seconds, questions)
    alone["loadavg_after"] = loadavg()
    return {"proxy": via_proxy, "one_replica": alone}


def gradio_via_proxy(url: str, question: str, tries: int = 4) -> dict[str, Any]:
    """(e) The chat page's own path through the proxy: Gradio's queue (join, then an SSE stream)
    keeps its session in one replica, so it only works if nginx keeps a client on one replica."""
    from gradio_client import Client  # ships with gradio

    ok, errors = 0, []
    for _ in range(tries):
        try:
            client = Client(url, verbose=False)
            try:
                text, _ = client.predict(question, api_name="/ask")
            finally:
                client.close()
            ok += bool(text)
        except Exception as error:  # any failure is what is counted
            errors.append(repr(error)[:200])
    return {"tries": tries, "ok": ok, "errors": errors[:2]}


def cold_start(cluster: Cluster, question: str, timeout: float = 300) -> dict[str, Any]:
    """(d) A new replica with an empty store dir: seconds to a healthy /api/health and to an answer."""
    name = chr(ord("A") + len(cluster.replicas))
    replica = cluster.start_replica(name, wait=False)
    try:
        health = cluster.wait_replica(replica)
        healthy = time.monotonic() - replica.started
        deadline = time.monotonic() + timeout
        answer: dict[str, Any] = {}
        with httpx.Client(timeout=timeout) as client:
            while time.monotonic() < deadline:
                answer = ask(client, replica.url, question)
                if "error" not in answer:
                    break
                time.sleep(0.5)
        answered = time.monotonic() - replica.started
        return {
            "replica": name,
            "seconds_to_health": round(healthy, 2),
            "seconds_to_first_answer": round(answered, 2) if "error" not in answer else None,
            "health": {k: health.get(k) for k in ("speeches", "chunks", "index")},
            "answer_refused": answer.get("refused"),
            "answer_citations": len(answer.get("citations", [])),
            "error": answer.get("error"),
        }
    finally:
        cluster.stop(replica)


def run(replicas: int, users: int, seconds: float, work: Path) -> dict[str, Any]:
    password = secrets.token_urlsafe(12)
    questions = dev_questions()
    result: dict[str, Any] = {"cpus": os.cpu_count(), "replicas": replicas, "loadavg_before": loadavg()}
    env = {"POLICYQA_ADMIN_PASSWORD": password}
    began = time.monotonic()
    with Cluster(work, replicas, seed=[SEED], env=env) as cluster:
        result["seed_ingest_seconds"] = round(cluster.seed_seconds or 0.0, 1)
        result["startup_seconds"] = round(time.monotonic() - began, 1)
        # Each replica's model is loaded on its first question (or by its warm-up): not measured.
        with httpx.Client(timeout=300) as client:
            for replica in cluster.replicas:
                ask(client, replica.url, questions[0])
        print("(a) consistency …", file=sys.stderr, flush=True)
        result["consistency"] = consistency(cluster.replicas, questions)
        print("(b) propagation of an upload …", file=sys.stderr, flush=True)
        result["propagation"] = propagation(cluster.replicas, password)
        print(f"(c) load: {users} users × {seconds:.0f} s, twice …", file=sys.stderr, flush=True)
        result["load"] = load(cluster, users, seconds, questions)
        print("(e) the Gradio client through the proxy …", file=sys.stderr, flush=True)
        result["gradio_via_proxy"] = gradio_via_proxy(cluster.proxy_url, questions[0])
        print("(d) cold start of one more replica …", file=sys.stderr, flush=True)
        result["cold_start"] = cold_start(cluster, questions[0])
    result["loadavg_after"] = loadavg()
    return result


def summary(result: dict[str, Any]) -> list[str]:
    """The lines for a doc or an issue comment."""
    a, b, c, d = (result[k] for k in ("consistency", "propagation", "load", "cold_start"))
    lines = [
        f"(a) {a['questions']} dev questions × {result['replicas']} replicas: {a['identical']} identical, "
        f"{a['different']} different (differs from A: {a['differs_from_A']}; refused: {a['refused']})",
    ]
    if "error" in b:
        lines.append(f"(b) {b['error']}")
    else:
        lines.append(
            f"(b) upload via A ({b['upload_seconds']} s); seconds until cited: {b['seconds_until_cited']}"
        )
    for label, key in (("proxy", "proxy"), ("one replica", "one_replica")):
        users = c[key]
        lines.append(
            f"(c) {label}: {users['users']} users × {users['seconds']:.0f} s: "
            f"{users['throughput_rps']} answers/s, p50 {users['p50_ms']} ms, p95 {users['p95_ms']} ms, "
            f"{users['errors']} errors"
        )
        if "per_replica" in users:
            lines[-1] += f", spread {users['per_replica']}"
    e = result["gradio_via_proxy"]
    lines.append(
        f"(d) cold start: health ok after {d['seconds_to_health']} s, first answer after "
        f"{d['seconds_to_first_answer']} s (health said {d['health']})"
    )
    lines.append(f"(e) Gradio client through the proxy: {e['ok']}/{e['tries']} answered")
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=3, help="replicas behind nginx (≥ 2)")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--json", type=Path, help="also write the JSON here")
    parser.add_argument("--work", type=Path, help="keep the logs and stores here (default: a temp dir)")
    args = parser.parse_args(argv)
    # A plain `kill` must still stop the servers: SIGTERM becomes SystemExit, so the cleanup runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.replicas < 2:
        parser.error("--replicas must be at least 2")
    if args.work:
        result = run(args.replicas, args.users, args.seconds, args.work)
    else:
        with tempfile.TemporaryDirectory(prefix="policyqa-scaleout-") as work:
            result = run(args.replicas, args.users, args.seconds, Path(work))
    text = json.dumps(result, ensure_ascii=False, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    print("\n".join(summary(result)))


if __name__ == "__main__":
    main()
