"""The local model runs on any x86-64 CPU: llama.cpp's kernels are chosen at start, not compiled in.

These inspect the installed llama-cpp-python (requirements-llm.txt builds it with
GGML_BACKEND_DL and GGML_CPU_ALL_VARIANTS): the variants for CPUs without AVX-512 hold no
AVX-512 instruction, the variant chosen here is the one this CPU's flags call for, and, where
qemu-user is installed, the model answers on an emulated Haswell (AVX2, no AVX-512).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rag.llm.cpu_backend import (
    CpuBackendError,
    cpuinfo_flags,
    kernel_grants_amx,
    library_dir,
    refusal,
    variant_files,
)
from tests.conftest import ROOT

# ggml's x86 variants (ggml/src/CMakeLists.txt, GGML_CPU_ALL_VARIANTS) and the /proc/cpuinfo
# flags each needs, written out here independently of the code under test.
_AVX2 = {"sse4_2", "avx", "f16c", "fma", "avx2", "bmi2"}  # haswell's level; the others build on it
_AVX512 = _AVX2 | {"avx512f"}
VARIANT_FLAGS = {
    "x64": set(),
    "sse42": {"sse4_2"},
    "sandybridge": {"sse4_2", "avx"},
    "ivybridge": {"sse4_2", "avx", "f16c"},
    "piledriver": {"sse4_2", "avx", "f16c", "fma"},
    "haswell": _AVX2,
    "alderlake": _AVX2 | {"avx_vnni"},
    "skylakex": _AVX512,
    "cannonlake": _AVX512 | {"avx512vbmi"},
    "cascadelake": _AVX512 | {"avx512_vnni"},
    "icelake": _AVX512 | {"avx512vbmi", "avx512_vnni"},
    "cooperlake": _AVX512 | {"avx512_vnni", "avx512_bf16"},
    "zen4": _AVX512 | {"avx512vbmi", "avx512_vnni", "avx512_bf16"},
    "sapphirerapids": _AVX512 | {"avx512vbmi", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8"},
}
WITHOUT_AVX512 = [name for name, flags in VARIANT_FLAGS.items() if "avx512f" not in flags]
# An AVX-512 instruction names a zmm register, a mask register, or xmm/ymm 16–31 (EVEX only).
AVX512_OPERAND = re.compile(r"%zmm\d|%k[0-7]\b|%[xy]mm(?:1[6-9]|2\d|3[01])\b")

llama_cpp = pytest.importorskip("llama_cpp", reason="needs requirements-llm.txt")
LIB = library_dir()
VARIANTS = variant_files(LIB)


def avx512_instructions(library: Path) -> int:
    listing = subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn", str(library)], capture_output=True, text=True, check=True
    ).stdout
    return sum(1 for line in listing.splitlines() if AVX512_OPERAND.search(line))


def expected_variant(flags: frozenset[str]) -> str:
    """The best variant this CPU runs, AMX left out: those kernels load only when named."""
    usable = [
        name
        for name, needs in VARIANT_FLAGS.items()
        if name in VARIANTS and needs <= flags and "amx_int8" not in needs
    ]
    return max(usable, key=lambda name: len(VARIANT_FLAGS[name]))


def rag_cli(*args: str, env: dict[str, str] | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    """`python -m rag …` as a user runs it, in a fresh process (one CPU variant loads per process)."""
    return subprocess.run(
        [sys.executable, "-m", "rag", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


def llm_info(*args: str, env: dict[str, str] | None = None) -> dict:
    done = rag_cli("llm-info", "--no-speed", "--json", *args, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_build_dispatches_and_has_every_x86_level():
    assert set(VARIANTS) == set(VARIANT_FLAGS), "llama-cpp-python was not built with GGML_CPU_ALL_VARIANTS"
    assert not (LIB / "libggml-cpu.so").exists()  # no single-CPU kernels linked in beside them


@pytest.mark.skipif(shutil.which("objdump") is None, reason="needs binutils' objdump")
def test_no_avx512_outside_the_avx512_variants():
    shared = [LIB / "libggml-base.so", LIB / "libggml.so", LIB / "libllama.so"]
    for library in [*shared, *(VARIANTS[name] for name in WITHOUT_AVX512)]:
        assert avx512_instructions(library) == 0, library.name
    # The check can fail: the AVX-512 kernels are full of such instructions.
    assert avx512_instructions(VARIANTS["skylakex"]) > 1000


def test_the_variant_chosen_here_is_the_one_this_cpu_calls_for():
    flags = cpuinfo_flags()
    info = llm_info()["backend"]
    assert info["variant"] == expected_variant(flags)
    assert info["candidates"][info["variant"]] > 0
    assert set(info["features"]) >= {"SSE3"}  # read back from the loaded library itself
    assert "AMX_INT8" not in info["features"]
    if "amx_int8" in flags:
        assert any(s.startswith("sapphirerapids:") and "only when named" in s for s in info["skipped"])


def test_the_amx_kernels_load_when_named_and_granted():
    """A VM that reports and grants AMX still trapped in ggml's AMX matmul: AMX is opt-in."""
    if not ("amx_int8" in cpuinfo_flags() and kernel_grants_amx()):
        pytest.skip("this CPU or kernel has no AMX")
    info = llm_info(env={"POLICYQA_LLM_CPU_VARIANT": "sapphirerapids"})["backend"]
    assert info["variant"] == "sapphirerapids" and "AMX_INT8" in info["features"]


def test_a_variant_this_cpu_cannot_run_is_refused_by_name():
    unusable = [name for name, needs in VARIANT_FLAGS.items() if not needs <= cpuinfo_flags()]
    if not unusable:
        pytest.skip("this CPU runs every variant")
    done = rag_cli("llm-info", "--no-speed", env={"POLICYQA_LLM_CPU_VARIANT": unusable[-1]})
    assert done.returncode == 2
    assert unusable[-1] in done.stderr and "not have" in done.stderr


def test_a_lower_variant_can_be_forced():
    info = llm_info(env={"POLICYQA_LLM_CPU_VARIANT": "x64"})["backend"]
    assert info["variant"] == "x64" and info["path"].endswith("libggml-cpu-x64.so")


def test_refusal_reads_the_kernel_not_cpuid():
    haswell = ("SSE3", "SSSE3", "AVX", "AVX2", "F16C", "FMA", "BMI2")
    amx = (*haswell, "AVX512", "AVX512_VNNI", "AMX_INT8")
    flags = frozenset({"pni", "ssse3", "avx", "avx2", "f16c", "fma", "bmi2"})
    assert refusal(haswell, flags, amx_granted=False) is None
    assert "AVX512" in (refusal(amx, flags, amx_granted=True) or "")
    all_flags = flags | {"avx512f", "avx512_vnni", "amx_int8"}
    assert "AMX" in (refusal(amx, all_flags, amx_granted=False) or "")
    assert refusal(amx, all_flags, amx_granted=True) is None
    assert cpuinfo_flags("processor\t: 0\nflags\t\t: fpu avx2 bmi2\n") == {"fpu", "avx2", "bmi2"}


def test_unknown_variant_is_an_error():
    from rag.llm.cpu_backend import _load

    with pytest.raises(CpuBackendError, match=r"no llama\.cpp CPU variant 'pentium'"):
        _load(LIB, "pentium")


QEMU_SCRIPT = """
import sys
from rag.llm.cpu_backend import load_cpu_backend
print("variant", load_cpu_backend().variant, flush=True)
from llama_cpp import Llama
llama = Llama(model_path=sys.argv[1], n_ctx=128, n_threads=2, verbose=False)
out = llama.create_completion("安全生产", max_tokens=3, temperature=0)
print("tokens", out["usage"]["completion_tokens"], repr(out["choices"][0]["text"]), flush=True)
"""


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("qemu-x86_64") is None, reason="needs Debian's qemu-user")
def test_the_model_answers_on_an_emulated_haswell(model_cache: Path, tmp_path: Path):
    from rag.llm.bundled import gguf_path

    model = gguf_path("qwen2.5-coder-0.5b", model_cache)
    script = tmp_path / "few_tokens.py"
    script.write_text(QEMU_SCRIPT)
    done = subprocess.run(
        ["qemu-x86_64", "-cpu", "Haswell", sys.executable, str(script), str(model)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "variant haswell" in done.stdout
    assert re.search(r"tokens [1-3] ", done.stdout), done.stdout


def test_llm_info_measures_once_then_answers_from_the_cache(model_cache: Path):
    from rag.llm.bundled import gguf_path

    gguf_path("qwen2.5-coder-0.5b", model_cache)
    env = {"POLICYQA_MODEL_CACHE": str(model_cache)}
    args = ("--llm-model", "qwen2.5-coder-0.5b")
    first = rag_cli("llm-info", "--json", *args, env=env, timeout=300)
    assert first.returncode == 0, first.stderr
    speed = json.loads(first.stdout)["speed"]
    assert speed["prompt_tokens_per_s"] > speed["generation_tokens_per_s"] > 0
    assert speed["variant"] == json.loads(first.stdout)["backend"]["variant"]
    again = rag_cli("llm-info", *args, env=env)
    assert again.returncode == 0, again.stderr
    assert f"generation {speed['generation_tokens_per_s']} tokens/s" in again.stdout
    assert speed["measured_at"] in again.stdout  # the cached figure, not a new measurement


def test_the_model_loads_whether_llama_cpp_or_the_backend_comes_first(model_cache: Path):
    """libllama and our loader must share one ggml (the wheel holds copies of each library)."""
    from rag.llm.bundled import gguf_path

    model = gguf_path("qwen2.5-coder-0.5b", model_cache)
    for first in ("import llama_cpp", "from rag.llm.cpu_backend import load_cpu_backend as f; f()"):
        script = (
            f"{first}\nfrom rag.llm.local import open_llama\nopen_llama({str(model)!r}, 256, 2)\nprint('ok')"
        )
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300
        )
        assert done.stdout.strip().endswith("ok"), (first, done.stderr[-1500:])
