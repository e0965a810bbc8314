"""A scale-out cluster on 127.0.0.1 for tests and bench/scaleout.py: one `chroma run` server,
K `python app.py` replicas over it (each with its own store dir) and Debian's nginx in front.

    with Cluster(work, replicas=3, seed=[ROOT / "data"]) as cluster:
        cluster.replicas[0].url, cluster.proxy_url, cluster.start_replica("D") ...

Real processes rather than in-process apps, because what is measured is exactly what a
deployment runs: separate Python processes that share nothing but the Chroma server. Every
process is started in its own session (process group) and the whole group is stopped when the
block ends, whatever happened in it, so a failed run leaves nothing listening behind.

nginx is run from a private prefix (``nginx -p DIR -c DIR/nginx.conf -e stderr``, not
daemonised) with the config rendered from deploy/nginx.conf, so Debian's default site
(port 80), /var/log/nginx and /run/nginx.pid are never used.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from tests.servers import chroma_command, free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
NGINX_TEMPLATE = ROOT / "deploy" / "nginx.conf"
# Inherited settings that would make the replicas differ from what the cluster configures, or make
# the harness's plain HTTP calls fail (an API key, a chat login).
_DROPPED_ENV = (
    "POLICYQA_API_KEY",
    "POLICYQA_CHAT_USERS",
    "POLICYQA_STORE_DIR",
    "POLICYQA_UPLOAD_DIR",
    "POLICYQA_CHROMA_HOST",
    "POLICYQA_CHROMA_PORT",
    "POLICYQA_HOST",
    "POLICYQA_PORT",
)
_QUIET_ENV = {"GRADIO_ANALYTICS_ENABLED": "False", "ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1"}


@dataclass
class Process:
    """A started server: its command's process (the leader of its own group) and its log."""

    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    started: float  # time.monotonic() at launch

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, chars: int = 2000) -> str:
        """The end of the process's output, for the error message when it fails to come up."""
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return ""


@dataclass
class Replica(Process):
    """An app replica; ``store`` is its own store dir (manifest, keyword index)."""

    store: Path = field(default_factory=Path)


def render_nginx(listen: str, upstreams: Sequence[str], template: Path = NGINX_TEMPLATE) -> str:
    """deploy/nginx.conf with its placeholders filled in, as deploy/render-nginx.sh does
    (comment lines, which name the placeholders, are left alone)."""
    servers = " ".join(f"server {u} max_fails=1 fail_timeout=10s;" for u in upstreams)
    lines = []
    for line in template.read_text(encoding="utf-8").splitlines(keepends=True):
        if not line.lstrip().startswith("#"):
            line = line.replace("{{LISTEN}}", listen).replace("{{UPSTREAMS}}", servers)
        lines.append(line)
    return "".join(lines)


def nginx_binary() -> str:
    """Debian's nginx; /usr/sbin is not on every user's PATH."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        raise RuntimeError("nginx is not installed: apt-get install -y nginx")
    return found


def stop_group(proc: subprocess.Popen[bytes], grace: float = 15) -> None:
    """SIGTERM to the process's whole group, SIGKILL after ``grace`` seconds."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    with contextlib.suppress(ProcessLookupError, PermissionError):  # children left behind
        os.killpg(proc.pid, signal.SIGKILL)


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 300) -> dict[str, Any]:
    """Poll /api/health until it answers 200 (the store reachable); its JSON.

    A replica listens before its model is loaded (it warms in the background), so a healthy
    replica may still take seconds over its first question."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: exited with {proc.returncode} before it was healthy")
        try:
            response = httpx.get(f"{url}/api/health", timeout=5)
            if response.status_code == 200:
                return response.json()
            last = f"HTTP {response.status_code}: {response.text[:200]}"
        except httpx.HTTPError as error:
            last = repr(error)
        time.sleep(0.2)
    raise TimeoutError(f"{url}/api/health not ok after {timeout} s ({last})")


class Cluster:
    """Chroma server + replicas + nginx under ``work``; a context manager that stops them all.

    ``seed``: paths ingested into the server (``python -m ingest``) before any replica starts,
    from the first replica's store dir — so replica A holds the manifest and keyword index of
    the seed, and the others start with empty store dirs, as a scaled-out deployment does.
    ``env``: extra variables for the replicas and the ingest (POLICYQA_ADMIN_PASSWORD …).
    """

    def __init__(
        self,
        work: Path,
        replicas: int = 3,
        *,
        seed: Sequence[Path] = (),
        env: Mapping[str, str] | None = None,
        proxy: bool = True,
        python: str = sys.executable,
        timeout: float = 300,
    ) -> None:
        self.work = Path(work)
        self.count = replicas
        self.seed = list(seed)
        self.env = dict(env or {})
        self.proxy = proxy
        self.python = python
        self.timeout = timeout
        self.chroma: Process | None = None
        self.replicas: list[Replica] = []
        self.nginx: Process | None = None
        self.nginx_prefix: Path | None = None
        self.seed_seconds: float | None = None
        self._all: list[Process] = []
        self._prefixes: list[Path] = []

    # ------------------------------------------------------------ the pieces

    @property
    def chroma_port(self) -> int:
        if self.chroma is None:
            raise RuntimeError("the Chroma server is not started")
        return self.chroma.port

    @property
    def proxy_url(self) -> str:
        if self.nginx is None:
            raise RuntimeError("nginx is not started")
        return self.nginx.url

    def _spawn(self, name: str, command: Sequence[str], port: int, env: Mapping[str, str]) -> Process:
        logs = self.work / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log = logs / f"{name}.log"
        with open(log, "ab") as out:  # the child keeps its own copy of the descriptor
            proc = subprocess.Popen(
                list(command),
                cwd=ROOT,
                env=dict(env),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group, stopped as one
            )
        process = Process(name, port, proc, log, time.monotonic())
        self._all.append(process)
        return process

    def base_env(self) -> dict[str, str]:
        """The replicas' environment: ours, less the settings the cluster decides, plus its own."""
        env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
        env |= _QUIET_ENV
        env |= {"POLICYQA_CHROMA_HOST": "127.0.0.1", "POLICYQA_CHROMA_PORT": str(self.chroma_port)}
        return env | self.env

    def start_chroma(self) -> Process:
        """`chroma run` (the CLI in the same venv as ``python``) on a free loopback port."""
        port = free_port()
        command = chroma_command(self.work / "chroma", port, self.python)
        env = os.environ | _QUIET_ENV
        self.chroma = self._spawn("chroma", command, port, env)
        try:
            wait_for_port(port, self.chroma.proc, timeout=60)
        except (RuntimeError, TimeoutError) as error:
            raise RuntimeError(f"{error}\n{self.chroma.log_tail()}") from error
        return self.chroma

    def store_dir(self, name: str) -> Path:
        return self.work / "replicas" / name / "store"

    def ingest(self, paths: Sequence[Path], store: Path) -> float:
        """`python -m ingest PATHS` into the server, from ``store``; the seconds it took."""
        env = self.base_env() | {"POLICYQA_STORE_DIR": str(store)}
        began = time.monotonic()
        with open(self.work / "logs" / "ingest.log", "ab") as out:
            subprocess.run(
                [self.python, "-m", "ingest", *map(str, paths)],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                check=True,
                timeout=1800,
            )
        return time.monotonic() - began

    def start_replica(self, name: str, *, wait: bool = True) -> Replica:
        """`python app.py --port P --store DIR` over the server, with an empty store dir unless
        ``name`` already has one. ``wait``: until /api/health is ok; else only launched."""
        port = free_port()
        store = self.store_dir(name)
        store.mkdir(parents=True, exist_ok=True)
        env = self.base_env() | {"POLICYQA_UPLOAD_DIR": str(store.parent / "uploads")}
        command = [self.python, "app.py", "--host", "127.0.0.1", "--port", str(port), "--store", str(store)]
        process = self._spawn(f"replica-{name}", command, port, env)
        replica = Replica(name, port, process.proc, process.log, process.started, store=store)
        self._all[-1] = replica
        if wait:
            self.wait_replica(replica)
        return replica

    def wait_replica(self, replica: Replica) -> dict[str, Any]:
        """Until the replica's /api/health is ok; its JSON. Raises with the log's tail if not."""
        try:
            wait_for_port(replica.port, replica.proc, timeout=self.timeout)
            return wait_healthy(replica.url, replica.proc, timeout=self.timeout)
        except (RuntimeError, TimeoutError) as error:
            raise RuntimeError(f"{replica.name}: {error}\n{replica.log_tail()}") from error

    def start_nginx(self, replicas: Sequence[Replica], template: Path = NGINX_TEMPLATE) -> Process:
        """Debian's nginx on a free loopback port in front of ``replicas``, configured from
        ``template`` (a variant of deploy/nginx.conf can be tried side by side)."""
        port = free_port()
        # A prefix of its own under the system temp dir: nginx started as root runs its workers
        # as "nobody", and they must reach the temp dirs the master creates under the prefix —
        # which they could not below a 0700 home or work dir.
        prefix = Path(tempfile.mkdtemp(prefix="policyqa-nginx-"))
        prefix.chmod(0o755)
        self._prefixes.append(prefix)
        conf = prefix / "nginx.conf"
        upstreams = [f"127.0.0.1:{r.port}" for r in replicas]
        conf.write_text(render_nginx(f"127.0.0.1:{port}", upstreams, template), encoding="utf-8")
        (self.work / "logs").mkdir(parents=True, exist_ok=True)
        shutil.copy(conf, self.work / "logs" / f"nginx-{port}.conf")
        nginx = nginx_binary()
        check = subprocess.run(
            [nginx, "-t", "-q", "-p", str(prefix), "-c", str(conf), "-e", "stderr"],
            capture_output=True,
            text=True,
        )
        if check.returncode != 0:
            raise RuntimeError(f"nginx rejects {conf}: {check.stderr}")
        command = [nginx, "-p", str(prefix), "-c", str(conf), "-e", "stderr", "-g", "daemon off;"]
        name = "nginx" if self.nginx is None else f"nginx-{port}"
        nginx_process = self._spawn(name, command, port, os.environ)
        try:
            wait_for_port(port, nginx_process.proc, timeout=30)
        except (RuntimeError, TimeoutError) as error:
            raise RuntimeError(f"nginx: {error}\n{nginx_process.log_tail()}") from error
        if self.nginx is None:  # the cluster's proxy is the first one started
            self.nginx, self.nginx_prefix = nginx_process, prefix
        return nginx_process

    def stop(self, process: Process) -> None:
        stop_group(process.proc)
        if process in self._all:
            self._all.remove(process)
        if process in self.replicas:
            self.replicas.remove(process)

    def stop_all(self) -> None:
        """Everything started, newest first (nginx, replicas, then the Chroma server)."""
        while self._all:
            process = self._all.pop()
            stop_group(process.proc)
        while self._prefixes:  # the rendered config is kept in the logs dir by then
            shutil.rmtree(self._prefixes.pop(), ignore_errors=True)

    # ------------------------------------------------------------ as a context manager

    def __enter__(self) -> Cluster:
        try:
            self.work.mkdir(parents=True, exist_ok=True)
            self.start_chroma()
            names = [chr(ord("A") + i) for i in range(self.count)]
            if self.seed:
                self.seed_seconds = self.ingest(self.seed, self.store_dir(names[0]))
            # Launched together (their model loads overlap), then waited for in turn.
            self.replicas = [self.start_replica(name, wait=False) for name in names]
            for replica in self.replicas:
                self.wait_replica(replica)
            if self.proxy:
                self.start_nginx(self.replicas)
        except BaseException:
            self.stop_all()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop_all()
