"""Simulated users for the load benchmarks: threads that ask /api/ask in a loop, and the figures.

Shared by bench/app_bars.py (10 clients) and bench/load.py (20 users, optionally with an ingest
running meanwhile). Each thread keeps one HTTP connection open, as a browser tab would.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.servers import free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
DEV_QUESTIONS = ROOT / "eval" / "dev.jsonl"


@dataclass
class Reply:
    """One question asked by one user: when, how long, and what came back."""

    user: int
    question: str
    started: float  # time.monotonic()
    ended: float
    status: int | None = None
    body: dict[str, Any] | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.body is not None and "text" in self.body


@dataclass
class Users:
    """The replies of a run, filled in by the user threads while it lasts."""

    replies: list[Reply] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)


def dev_questions(path: Path = DEV_QUESTIONS) -> list[str]:
    """The "question" field of each line of the shared dev set."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line)["question"] for line in handle if line.strip()]


def ask_loop(
    base_url: str, user: int, questions: Sequence[str], users: Users, pause: float = 0.0, timeout: float = 120
) -> None:
    """One user: ask the questions in turn (starting at its own offset) until told to stop,
    waiting ``pause`` seconds after each answer (0: no think time, the hardest load)."""
    i = user
    with httpx.Client(base_url=base_url, timeout=timeout) as client:
        while not users.stop.is_set():
            question = questions[i % len(questions)]
            i += 1
            reply = Reply(user, question, time.monotonic(), 0.0)
            try:
                response = client.post("/api/ask", json={"question": question})
                reply.status = response.status_code
                reply.body = response.json() if response.status_code == 200 else None
                if response.status_code != 200:
                    reply.error = f"HTTP {response.status_code}: {response.text[:200]}"
            except Exception as error:  # any failure counts as an error
                reply.error = repr(error)
            reply.ended = time.monotonic()
            with users.lock:
                users.replies.append(reply)
            users.stop.wait(pause)


@contextlib.contextmanager
def asking(base_url: str, count: int, questions: Sequence[str], pause: float = 0.0) -> Iterator[Users]:
    """``count`` users asking while the block runs; they finish their current question at its end."""
    users = Users()
    threads = [
        threading.Thread(target=ask_loop, args=(base_url, n, questions, users, pause), daemon=True)
        for n in range(count)
    ]
    for thread in threads:
        thread.start()
    try:
        yield users
    finally:
        users.stop.set()
        for thread in threads:
            thread.join()


def run_users(base_url: str, count: int, seconds: float, questions: Sequence[str]) -> dict[str, Any]:
    """``count`` users for ``seconds``; the summary of what they saw."""
    began = time.monotonic()
    with asking(base_url, count, questions) as users:
        time.sleep(seconds)
    return summarize(users.replies, time.monotonic() - began, count)


def summarize(replies: Sequence[Reply], elapsed: float, count: int) -> dict[str, Any]:
    """Throughput and latency of the answered questions; every failure is counted as an error."""
    latencies = sorted(r.ended - r.started for r in replies if r.ok)
    errors = [r.error or "answer without text" for r in replies if not r.ok]
    return {
        "users": count,
        "seconds": round(elapsed, 1),
        "requests": len(latencies),
        "errors": len(errors),
        "error_samples": errors[:3],
        "throughput_rps": round(len(latencies) / elapsed, 2),
        "p50_ms": round(statistics.median(latencies) * 1000) if latencies else None,
        "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))] * 1000) if latencies else None,
        "max_ms": round(latencies[-1] * 1000) if latencies else None,
    }


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


@contextlib.contextmanager
def app_process(
    store: Path | None, env: dict[str, str] | None = None, log: Path | None = None
) -> Iterator[tuple[int, subprocess.Popen]]:
    """`python app.py --port P [--store S]` on 127.0.0.1 until the block ends: (port, process)."""
    port = free_port()
    command = [sys.executable, "app.py", "--port", str(port)]
    if store is not None:
        command += ["--store", str(store)]
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=out, stderr=subprocess.STDOUT
    )
    try:
        wait_for_port(port, proc)
        yield port, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log:
            out.close()
