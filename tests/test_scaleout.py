"""Three replicas over one Chroma server behind Debian's nginx, as deploy/ sets them up (issue 14).

Real parts only: `chroma run`, three `python app.py` processes with their own (empty) store
dirs, nginx round-robining /api over them. The seed is ingested from replica A's store dir; B and
C never saw it and must answer identically, keyword index included (rebuilt from the server).
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

import httpx
import pytest

from bench.scaleout import ask, cites_new_speech, consistency, fingerprint, propagation
from bench.users import dev_questions
from tests.conftest import SEED
from tests.scaleout import Cluster

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(),
        reason="Debian's nginx is not installed (.ci/run installs it)",
    ),
]


def test_three_replicas_behind_nginx_answer_alike_and_see_each_others_uploads(
    tmp_path: Path, model_cache: Path
) -> None:
    password = secrets.token_urlsafe(12)
    env = {"POLICYQA_ADMIN_PASSWORD": password, "POLICYQA_MODEL_CACHE": str(model_cache)}
    with Cluster(tmp_path / "cluster", 3, seed=[SEED], env=env) as cluster:
        same = consistency(cluster.replicas, dev_questions()[:12])
        assert same["errors"] == {"A": 0, "B": 0, "C": 0}
        assert same["different"] == 0, same["samples"]

        moved = propagation(cluster.replicas, password)  # upload through A, B and C poll ≤ 30 s
        assert "error" not in moved, moved
        assert moved["A_cites_it_right_after"]
        assert all(seconds is not None for seconds in moved["seconds_until_cited"].values()), moved
        assert all(moved["same_answer_as_A"].values()), moved

        with httpx.Client(timeout=300) as client:  # through the proxy: every replica takes turns
            answers = [ask(client, cluster.proxy_url, dev_questions()[0]) for _ in range(6)]
        assert len({fingerprint(a) for a in answers}) == 1, answers
        assert not any("error" in a for a in answers)
        assert not cites_new_speech(answers[0])  # a seed question still cites the seed
