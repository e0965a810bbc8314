"""The web app's bars: page up after start, first streamed text, and 10 parallel API clients.

    python -m bench.app_bars [--store DIR] [--clients 10] [--seconds 30]

Starts `python app.py` on a free port over an existing index (build one first with
`python -m ingest data/`), measures, stops it, and prints one JSON object.
Traffic goes to 127.0.0.1 only and stops by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from tests.servers import free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = (
    "“三个必须”指什么?",
    "汛期排查隐患按什么原则?",
    "煤矿当前的“三个多发”是什么?",
    "“四个一律”要求什么?",
    "安全培训考试弄虚作假怎么办?",
)


def _post(url: str, body: dict[str, object], timeout: float = 60) -> bytes:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


def page_ready_seconds(port: int, started: float, timeout: float = 60) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("page never came up")


def first_text_seconds(port: int, question: str) -> float:
    """Time from sending a streamed chat request to its first content delta."""
    body = {"model": "policyqa", "stream": True, "messages": [{"role": "user", "content": question}]}
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=120) as response:
        for raw in response:
            line = raw.decode().strip()
            if line.startswith("data: {") and '"content"' in line:
                return time.monotonic() - started
    raise RuntimeError("no streamed text")


def load(port: int, clients: int, seconds: float) -> dict[str, object]:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(number: int) -> None:
        i = number
        while time.monotonic() < stop:
            question = QUESTIONS[i % len(QUESTIONS)]
            i += 1
            began = time.monotonic()
            try:
                data = json.loads(_post(f"http://127.0.0.1:{port}/api/ask", {"question": question}))
                ok = "text" in data
            except Exception as error:  # any failure counts
                ok = False
                with lock:
                    errors.append(repr(error))
            with lock:
                if ok:
                    latencies.append(time.monotonic() - began)
                elif not errors:
                    errors.append("answer without text")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    ordered = sorted(latencies)
    return {
        "clients": clients,
        "seconds": round(elapsed, 1),
        "requests": len(latencies),
        "errors": len(errors),
        "error_samples": errors[:3],
        "throughput_rps": round(len(latencies) / elapsed, 2),
        "p50_ms": round(statistics.median(ordered) * 1000) if ordered else None,
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000) if ordered else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, help="an existing index (default: POLICYQA_STORE_DIR)")
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()

    port = free_port()
    env = dict(os.environ)
    if args.store:
        env["POLICYQA_STORE_DIR"] = str(args.store)
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, proc)
        ready = page_ready_seconds(port, started)
        first_cold = first_text_seconds(port, QUESTIONS[0])  # includes the model's warm-up
        warm = [first_text_seconds(port, q) for q in QUESTIONS]
        result = {
            "page_ready_s": round(ready, 2),
            "page_ready_bar_s": 5.0,
            "first_text_first_question_s": round(first_cold, 2),
            "first_text_warm_s": {"median": round(statistics.median(warm), 3), "max": round(max(warm), 3)},
            "first_text_bar_s": 1.0,
            "load": load(port, args.clients, args.seconds),
        }
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
