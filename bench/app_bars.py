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
import time
import urllib.request
from pathlib import Path

from bench.users import run_users
from tests.servers import free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = (
    "“三个必须”指什么?",
    "汛期排查隐患按什么原则?",
    "煤矿当前的“三个多发”是什么?",
    "“四个一律”要求什么?",
    "安全培训考试弄虚作假怎么办?",
)


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
    """``clients`` parallel API clients asking the example questions for ``seconds``."""
    summary = run_users(f"http://127.0.0.1:{port}", clients, seconds, QUESTIONS)
    return {"clients": summary.pop("users"), **summary}


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
