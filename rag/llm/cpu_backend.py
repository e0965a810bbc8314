"""Which llama.cpp CPU kernels this machine gets, chosen at start rather than at compile time.

llama-cpp-python is built with ``GGML_BACKEND_DL=ON`` and ``GGML_CPU_ALL_VARIANTS=ON``
(requirements-llm.txt): one ``libggml-cpu-<variant>.so`` per instruction-set level, from
plain x86-64 (``x64``) and ``sse42`` up to AVX2 (``haswell``), AVX-512 (``skylakex``,
``icelake``, ``zen4`` …) and AMX (``sapphirerapids``). A wheel built that way runs on any
x86-64 CPU, so pip's cache can serve it to every machine.

ggml would pick the variant itself (``ggml_backend_load_all``), but two things stop us from
leaving it there: it searches the executable's folder and the working directory, never the
package's ``lib/`` folder; and it trusts CPUID alone, so a VM that reports AMX without the
kernel granting the tile state gets the AMX kernels and crashes in the first matrix multiply.
So we rank the variants by ggml's own score (each library's ``ggml_backend_score`` checks
CPUID), load the best, read back the features it was compiled for, and keep it only if the
kernel lists each of them in /proc/cpuinfo and, for AMX, grants the tile state through
``arch_prctl``; otherwise the next one is tried. Once a CPU backend is registered,
``llama_backend_init`` loads nothing more.

The AMX kernels (``sapphirerapids``) are never chosen unasked, only by name
(POLICYQA_LLM_CPU_VARIANT=sapphirerapids): a VM guest was seen that reports AMX in CPUID and
/proc/cpuinfo, grants the tile state and runs a tile instruction in a probe, and still traps
(SIGILL) in ggml's AMX matrix multiply on the first answer. No check short of running those
kernels tells such a machine from a sound one, so they are the user's choice where AMX works.
"""

from __future__ import annotations

import ctypes
import importlib.util
import platform
import threading
from dataclasses import dataclass
from pathlib import Path

from rag.llm.errors import LLMError, LLMUnavailable

VARIANT_PREFIX = "libggml-cpu-"
# ggml's feature names → the flag Linux shows in /proc/cpuinfo when the kernel supports it
# (Linux hides a flag whose register state it does not manage, e.g. AVX-512 under some VMs).
CPUINFO_FLAGS = {
    "SSE3": "pni",
    "SSSE3": "ssse3",
    "AVX": "avx",
    "AVX2": "avx2",
    "F16C": "f16c",
    "FMA": "fma",
    "BMI2": "bmi2",
    "AVX_VNNI": "avx_vnni",
    "AVX512": "avx512f",
    "AVX512_VBMI": "avx512vbmi",
    "AVX512_VNNI": "avx512_vnni",
    "AVX512_BF16": "avx512_bf16",
    "AMX_INT8": "amx_int8",
}
# Linux x86-64: arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) asks for the AMX tile state.
SYS_ARCH_PRCTL = 158
ARCH_REQ_XCOMP_PERM = 0x1023
XFEATURE_XTILEDATA = 18
# Kernels compiled for these are loaded only when named (see the module docstring).
OPT_IN_FEATURES = ("AMX_INT8",)


class CpuBackendError(LLMError):
    """No llama.cpp CPU kernels can run on this machine (or the one asked for cannot)."""


@dataclass(frozen=True)
class CpuBackend:
    """The CPU kernels llama.cpp runs on in this process."""

    variant: str  # "haswell", …; "static" for a build without runtime dispatch
    path: Path | None
    features: tuple[str, ...]  # what the kernels were compiled for (ggml's names)
    candidates: tuple[tuple[str, int], ...]  # every variant built, with ggml's score on this CPU
    skipped: tuple[str, ...] = ()  # variants CPUID allowed but the kernel does not: "name: why"

    def to_dict(self) -> dict[str, object]:
        return {
            "variant": self.variant,
            "path": str(self.path) if self.path else None,
            "features": list(self.features),
            "candidates": dict(self.candidates),
            "skipped": list(self.skipped),
        }


class _Feature(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("value", ctypes.c_char_p)]


_lock = threading.Lock()
_loaded: CpuBackend | None = None


def library_dir() -> Path:
    """llama-cpp-python's ``lib/`` folder, found without importing (and so loading) llama.cpp."""
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.origin:
        raise LLMUnavailable("POLICYQA_LLM=local needs llama-cpp-python: pip install -r requirements-llm.txt")
    return Path(spec.origin).parent / "lib"


def variant_files(lib_dir: Path) -> dict[str, Path]:
    """The CPU variants a dispatch build installed, by name (empty for a single-CPU build)."""
    return {
        p.name.removeprefix(VARIANT_PREFIX).removesuffix(".so"): p
        for p in sorted(lib_dir.glob(f"{VARIANT_PREFIX}*.so"))
    }


def cpuinfo_flags(text: str | None = None) -> frozenset[str]:
    """The CPU flags the kernel reports (first processor)."""
    if text is None:
        try:
            text = Path("/proc/cpuinfo").read_text()
        except OSError:
            return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def kernel_grants_amx() -> bool:
    """Whether this process may use the AMX tile registers (asking is what ggml does too)."""
    if platform.system() != "Linux" or platform.machine() != "x86_64":
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.syscall(SYS_ARCH_PRCTL, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0


def refusal(features: tuple[str, ...], flags: frozenset[str], amx_granted: bool) -> str | None:
    """Why kernels compiled for ``features`` must not run here, or None if they may."""
    if flags:  # no /proc/cpuinfo (not Linux): CPUID, which ggml checked, is all we have
        missing = [f for f in features if f in CPUINFO_FLAGS and CPUINFO_FLAGS[f] not in flags]
        if missing:
            return "the kernel does not report " + ", ".join(missing)
    if "AMX_INT8" in features and not amx_granted:
        return "the kernel does not grant the AMX tile state"
    return None


def _linked_copy(lib_dir: Path, stem: str) -> Path:
    """The file libllama links against (``libggml.so.0``), not its namesakes.

    A wheel cannot hold symlinks, so ``libggml.so``, ``.so.0`` and ``.so.0.x.y`` are three copies
    of one library. Opening another copy than libllama's would load a second ggml, whose backend
    registry llama.cpp never sees ("no backends are loaded").
    """
    versioned = sorted(lib_dir.glob(f"{stem}.so.*"), key=lambda p: len(p.name))
    return versioned[0] if versioned else lib_dir / f"{stem}.so"


def _ggml(lib_dir: Path) -> ctypes.CDLL:
    # The variant modules carry no RPATH and find ggml-base by its soname, which must already
    # be loaded when they are opened.
    ctypes.CDLL(str(_linked_copy(lib_dir, "libggml-base")), mode=ctypes.RTLD_GLOBAL)
    ggml = ctypes.CDLL(str(_linked_copy(lib_dir, "libggml")), mode=ctypes.RTLD_GLOBAL)
    ggml.ggml_backend_load.argtypes = [ctypes.c_char_p]
    ggml.ggml_backend_load.restype = ctypes.c_void_p
    ggml.ggml_backend_unload.argtypes = [ctypes.c_void_p]
    ggml.ggml_backend_unload.restype = None
    ggml.ggml_backend_reg_get_proc_address.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    ggml.ggml_backend_reg_get_proc_address.restype = ctypes.c_void_p
    ggml.ggml_backend_reg_count.restype = ctypes.c_size_t
    return ggml


def score(path: Path) -> int:
    """ggml's own score for a variant on this CPU (0: CPUID lacks something it needs).

    Opening the library runs no kernel code; ggml's loader does the same to every variant.
    """
    library = ctypes.CDLL(str(path), mode=ctypes.RTLD_LOCAL)
    function = getattr(library, "ggml_backend_score", None)
    if function is None:
        return 0
    function.restype = ctypes.c_int
    return int(function())


def _features(ggml: ctypes.CDLL, reg: int) -> tuple[str, ...]:
    address = ggml.ggml_backend_reg_get_proc_address(reg, b"ggml_backend_get_features")
    if not address:
        return ()
    getter = ctypes.CFUNCTYPE(ctypes.POINTER(_Feature), ctypes.c_void_p)(address)
    table = getter(reg)
    names = []
    for i in range(64):  # the table ends with a NULL name; ggml has about 30 features in all
        if not table[i].name:
            break
        names.append(table[i].name.decode())
    return tuple(names)


def current_backend() -> CpuBackend | None:
    """The kernels this process loaded, or None before the first local model (loads nothing)."""
    return _loaded


def load_cpu_backend(force: str | None = None) -> CpuBackend:
    """Load this machine's CPU kernels into the process once, before the first model.

    ``force`` names a variant (POLICYQA_LLM_CPU_VARIANT): for benchmarks and for working around
    a faulty one. It must still pass the same checks.
    """
    global _loaded
    with _lock:
        if _loaded is not None:
            if force and force != _loaded.variant:
                raise CpuBackendError(
                    f"llama.cpp already runs on the {_loaded.variant!r} kernels in this process; "
                    f"{force!r} can only be chosen before the first model loads"
                )
            return _loaded
        _loaded = _load(library_dir(), force)
        return _loaded


def _load(lib_dir: Path, force: str | None) -> CpuBackend:
    files = variant_files(lib_dir)
    if not files:  # a build without runtime dispatch: ggml-cpu is linked in, nothing to choose
        return CpuBackend("static", None, (), ())
    ggml = _ggml(lib_dir)
    scores = {name: score(path) for name, path in files.items()}
    candidates = tuple(sorted(scores.items(), key=lambda item: -item[1]))
    if force is not None:
        if force not in files:
            raise CpuBackendError(f"no llama.cpp CPU variant {force!r}; built: {', '.join(files)}")
        if scores[force] == 0:
            raise CpuBackendError(f"the {force!r} kernels need instructions this CPU does not have")
    order = [force] if force else [name for name, s in candidates if s > 0]
    flags = cpuinfo_flags()
    amx_granted: bool | None = None
    skipped = []
    for name in order:
        reg = ggml.ggml_backend_load(str(files[name]).encode())
        if not reg:
            skipped.append(f"{name}: ggml could not load it")
            continue
        features = _features(ggml, reg)
        opt_in = [f for f in features if f in OPT_IN_FEATURES]
        if opt_in and not force:  # not even asking the kernel for the AMX state
            why = f"{', '.join(opt_in)} kernels are loaded only when named (POLICYQA_LLM_CPU_VARIANT={name})"
        else:
            if "AMX_INT8" in features and amx_granted is None:
                amx_granted = kernel_grants_amx()
            why = refusal(features, flags, bool(amx_granted))
        if why is None:
            return CpuBackend(name, files[name], features, candidates, tuple(skipped))
        ggml.ggml_backend_unload(reg)
        skipped.append(f"{name}: {why}")
    raise CpuBackendError(
        "no llama.cpp CPU kernels can run on this machine: " + ("; ".join(skipped) or "none scored above 0")
    )
