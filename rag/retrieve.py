"""Retrieval: dense search in Chroma and BM25 keyword search, fused by reciprocal rank.

Dense search finds paraphrases ("按颜色分级公示" → "五色管理"); keyword search
finds exact slogans and names ("两重点一重大", "县住建局") that an embedding
blurs. Reciprocal-rank fusion needs no score calibration between the two.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np

from ingest.index.keywords import KeywordIndex
from ingest.index.store import ChunkStore
from ingest.index.tokenize import find_slogans, tokenize
from rag.types import Passage

# Fusion: the vector ranking weighs 0.7 of the keyword ones (e5's neighbours share the policy
# vocabulary; the keyword index finds the question's own words), and k = 30 lets first places
# count more than k = 60 does. Chosen on eval/calibration.jsonl (grid k 10/30/60 × dense 0.5–1.0,
# answers rerun for the best): MRR@10 0.872 → 0.906 with keyword recall 0.898 → 0.894 and citation
# precision 0.694 → 0.717; k = 10 ranks better still (0.912) but its answers lose recall (0.886).
RRF_K = 30
DENSE_WEIGHT = 0.7
# A keyword hit that clearly outscores the rest (BM25 at least this multiple of the runner-up's) holds
# the question's rare words together; rank fusion alone buries it under passages both rankings put
# midway ("病险小水库…除险加固": keyword 1st at 25.5 vs 7.8, outside the fused top 10). It counts as
# first in one more ranking. On eval/calibration.jsonl (margins 1.0–1.75) MRR@10 goes 0.906 → 0.914
# at 1.5 (0.917 at 1.2, one question's rank; the answers are the same for 1.2–1.5, and 1.5 fires for
# 60% of questions rather than 80%); hit@5 stays 0.970. Test: 0.896 → 0.937, hit@5 0.985.
KEYWORD_CLEAR_MARGIN = 1.5
NEAR_DUPLICATE = 0.8
# A word the question quotes gets its own ranking when at most this share of chunks holds it: a
# list item's label ("深查": 0.4-0.5% of the chunks of our stores, "严防" 3.5-4.1%), not a common
# word quoted as a pattern ("严格" 21-24%, "到位" 14-16%).
QUOTED_WORD_MAX_SHARE = 0.05


class QueryEmbedder(Protocol):
    def embed_query(self, text: str) -> np.ndarray: ...


class Reranker(Protocol):
    """sentence_transformers.CrossEncoder fits: higher score = more relevant."""

    def predict(self, pairs: list[tuple[str, str]]) -> Sequence[float]: ...


@dataclass(frozen=True)
class Filters:
    """Restrict a search to some speeches and/or source files."""

    speech_ids: tuple[str, ...] | None = None
    sources: tuple[str, ...] | None = None

    def chroma_where(self) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = []
        if self.speech_ids is not None:
            clauses.append({"speech_id": {"$in": list(self.speech_ids)}})
        if self.sources is not None:
            clauses.append({"source": {"$in": list(self.sources)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[str]], k: int = RRF_K, weights: Sequence[float] | None = None
) -> dict[str, float]:
    """score(d) = Σ weight / (k + rank of d in each ranking)."""
    weights = weights or [1.0] * len(rankings)
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return scores


def fuse(
    dense: Sequence[str], keyword: Sequence[tuple[str, float]], exact: Sequence[str]
) -> dict[str, float]:
    """The vector ranking, the keyword ranking (with BM25 scores) and the named-slogan ranking as
    one score per chunk; a clear keyword winner (KEYWORD_CLEAR_MARGIN) counts as first once more."""
    rankings = [list(dense), [i for i, _ in keyword], list(exact)]
    weights = [DENSE_WEIGHT, 1.0, 1.0]
    runner_up = keyword[1][1] if len(keyword) > 1 else 0.0
    if keyword and keyword[0][1] >= KEYWORD_CLEAR_MARGIN * runner_up:
        rankings.append([keyword[0][0]])
        weights.append(1.0)
    return reciprocal_rank_fusion(rankings, weights=weights)


def rare_words(words: Sequence[str], chunk_share: Callable[[list[str]], dict[str, float]]) -> list[str]:
    """The words that at most QUOTED_WORD_MAX_SHARE of the chunks hold: a term a speech names or
    defines ("深查"), not a common word quoted as a pattern ("严格")."""
    share = chunk_share([w.lower() for w in words])
    return [w for w in words if share.get(w.lower(), 0.0) <= QUOTED_WORD_MAX_SHARE]


def named_terms(
    query: str, known_terms: set[str], chunk_share: Callable[[list[str]], dict[str, float]]
) -> list[str]:
    """The speeches' slogans the query holds, and the rare words it puts in quotes: "“深查”要查哪些
    地方" names 深查, which the speech lists unquoted ("二是深查，对所有区域……") and no dictionary of
    slogans holds; ranked by keywords alone, its chunk lost to chunks both rankings put midway.
    A common word in quotes ("哪几个“严格”") asks for a pattern, not a passage that holds it."""
    quoted = [s for s in find_slogans(query) if tokenize(s) == [s.lower()]]
    slogans = {t for t in known_terms if len(t) >= 3 and t in query}
    return sorted(slogans | set(rare_words(quoted, chunk_share)))


def char_ngrams(text: str, n: int = 3) -> set[str]:
    compact = "".join(text.split())
    return {compact[i : i + n] for i in range(max(1, len(compact) - n + 1))}


def drop_near_duplicates(passages: list[Passage], threshold: float = NEAR_DUPLICATE) -> list[Passage]:
    """Keep the better-ranked of two passages that say nearly the same thing."""
    kept: list[Passage] = []
    grams: list[set[str]] = []
    for passage in passages:
        mine = char_ngrams(passage.text)
        if all(len(mine & g) / max(1, min(len(mine), len(g))) < threshold for g in grams):
            kept.append(passage)
            grams.append(mine)
    return kept


class Retriever:
    """question → passages, from the vector store and the keyword index together."""

    def __init__(
        self,
        store: ChunkStore,
        keywords: KeywordIndex,
        embedder: QueryEmbedder,
        candidates: int = 30,
        reranker: Reranker | None = None,
        rerank_top: int = 20,
    ) -> None:
        self.store = store
        self.keywords = keywords
        self.embedder = embedder
        self.candidates = candidates
        self.reranker = reranker
        self.rerank_top = rerank_top

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        filters: Filters | None = None,
        query_vector: np.ndarray | None = None,
        keyword_query: str | None = None,
    ) -> list[Passage]:
        filters = filters or Filters()
        vector = self.embedder.embed_query(query) if query_vector is None else query_vector
        dense = self.store.query(vector, self.candidates, where=filters.chroma_where())
        keyword = self.keywords.search(
            keyword_query or query, self.candidates, speech_ids=filters.speech_ids, sources=filters.sources
        )
        # A slogan the question names ("“五个一批”") is a strong signal: passages holding it
        # get a ranking of their own, so one retriever's miss cannot bury them.
        named = named_terms(query, self.keywords.terms(), self.keywords.chunk_share)
        exact = self.keywords.search_tokens(
            named, self.candidates, speech_ids=filters.speech_ids, sources=filters.sources
        )
        fused = fuse([d[0] for d in dense], keyword, [i for i, _ in exact])
        order = sorted(fused, key=lambda i: -fused[i])

        found = {chunk_id: (text, meta, sim) for chunk_id, text, meta, sim in dense}
        missing = [i for i in order[: k * 3] if i not in found]
        if missing:
            docs = self.store.documents(missing)
            vectors = self.store.embeddings(missing)
            for chunk_id in missing:
                if chunk_id in docs and chunk_id in vectors:  # an ingest may delete it between the reads
                    text, meta = docs[chunk_id]
                    found[chunk_id] = (text, meta, float(vectors[chunk_id] @ vector))

        dense_rank = {d[0]: r for r, d in enumerate(dense, start=1)}
        keyword_rank = {i: r for r, (i, _) in enumerate(keyword, start=1)}
        passages = [
            _passage(chunk_id, *found[chunk_id], fused[chunk_id], dense_rank, keyword_rank)
            for chunk_id in order
            if chunk_id in found
        ]
        passages = drop_near_duplicates(passages)
        if self.reranker is not None:
            passages = rerank(self.reranker, query, passages[: max(k, self.rerank_top)])
        return passages[:k]


def _passage(
    chunk_id: str,
    text: str,
    meta: dict[str, Any],
    similarity: float,
    score: float,
    dense_rank: dict[str, int],
    keyword_rank: dict[str, int],
) -> Passage:
    return Passage(
        chunk_id=chunk_id,
        text=text,
        speech_title=str(meta.get("speech_title", "")),
        source=str(meta.get("source", "")),
        score=score,
        similarity=similarity,
        heading_path=str(meta.get("heading_path", "")),
        speech_id=str(meta.get("speech_id", "")),
        sources=tuple(meta.get("sources") or ()),
        date=meta.get("date"),
        place=meta.get("place"),
        dense_rank=dense_rank.get(chunk_id),
        keyword_rank=keyword_rank.get(chunk_id),
    )


def rerank(reranker: Reranker, query: str, passages: list[Passage]) -> list[Passage]:
    """Order fused candidates by a cross-encoder's judgement of each (question, passage) pair."""
    if not passages:
        return passages
    scores = reranker.predict([(query, p.text) for p in passages])
    ranked = sorted(
        zip(scores, range(len(passages)), passages, strict=True), key=lambda t: (-float(t[0]), t[1])
    )
    return [replace(p, score=float(score)) for score, _, p in ranked]
