"""Chinese word segmentation for keyword search: jieba, taught the speeches' own slogans.

Policy speeches coin compact slogans (“四不两直”, “三个必须”, “两书一函”) that a
general dictionary splits into meaningless pieces; every quoted slogan found at
ingest is added to the dictionary so it stays one searchable token.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from functools import lru_cache

import jieba
import jieba.posseg

_QUOTED = re.compile(r"[“\"「『]([^“”\"「」『』\n]{2,12})[”\"」』]")
_NOT_A_SLOGAN = re.compile(r"[,，、;；:：。!！?？\s]|^[xX×*]+$")
_PUNCT_OR_SPACE = re.compile(r"^[\W_]+$")

# Question words and function words that say nothing about the topic.
STOPWORDS = frozenset(
    """
    的 了 和 与 及 或 是 在 对 把 被 为 以 于 就 都 也 又 还 并 而 等
    之 其 这 那 哪 些 个 要 会 中 上 下 什么 怎么 怎样 如何 哪些 哪个 哪里
    为什么 为何 多少 几 是否 有没有 吗 呢 吧 啊 呀 么 请问 请 指 指的是 具体
    分别 主要 提出 提到 讲话 讲 说 里 中 方面 有 有哪些 一下 那次 这次 哪次
    领导 要求 哪一年 哪年 多长 多长时间 长时间 多久 怎么样 什么样 哪几 哪几个
    几个 一共 怎么办 哪种 哪类 the a an of to in on for and
    or is are was were what which how why who
    does do did
    """.split()
)

_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None
_tagger: jieba.posseg.POSTokenizer | None = None
_known: set[str] = set()


def find_slogans(text: str) -> set[str]:
    """Short quoted terms: “四个一律”, “三个必须”, “两书一函”."""
    return {m for m in _QUOTED.findall(text) if not _NOT_A_SLOGAN.search(m)}


def _jieba() -> jieba.Tokenizer:
    with _lock:
        return _jieba_unlocked()


def _jieba_unlocked() -> jieba.Tokenizer:
    global _tokenizer
    if _tokenizer is None:
        jieba.setLogLevel(logging.WARNING)
        tokenizer = jieba.Tokenizer()
        tokenizer.initialize()
        _tokenizer = tokenizer
    return _tokenizer


def add_terms(terms: Iterable[str]) -> None:
    """Teach jieba terms it must keep whole (idempotent, cheap for known terms)."""
    tokenizer = _jieba()
    with _lock:
        taught = False
        for term in terms:
            if term in _known:
                continue
            _known.add(term)
            # A word the dictionary knows already stays whole at its own frequency; forced to
            # 50,000 it would split the longer words that hold it (“消防” → 消防/站 of 消防站).
            if not tokenizer.FREQ.get(term):
                tokenizer.add_word(term, freq=50_000)
                taught = True
        if taught:
            _segment.cache_clear()  # a new term changes how texts that hold it are cut


def words(text: str) -> list[str]:
    """Precise-mode segmentation: each character in exactly one word (停止生产 → 停止/生产)."""
    return [w for w in _jieba().lcut(text) if w.strip()]


def is_word(token: str) -> bool:
    """Is the token a word of the segmenter's dictionary (or a taught term)? Pieces that jieba's
    HMM glues across a word boundary ("市有" of "全市有多少", "前要" of "上岗前要") are not."""
    return bool(_jieba().FREQ.get(token))


# jieba's part-of-speech tags for things: nouns (n, nr, ns, nt, nz…), abbreviations (j), verbal nouns (vn).
_NAMING_TAGS = re.compile(r"^(n|j$|vn$)")


def names_a_thing(word: str) -> bool:
    """Does the word name a thing (a noun: 骑手, 锂电池, 集装箱) rather than say something about one
    (干活, 明明, 冬天, 这块)? A compound is judged by its last word, its head (液化气罐 → 罐)."""
    global _tagger
    with _lock:
        if _tagger is None:
            _tagger = jieba.posseg.POSTokenizer(_jieba_unlocked())
        tagger = _tagger
    pieces = [p for p in tagger.lcut(word) if p.word.strip()]
    return bool(pieces) and bool(_NAMING_TAGS.match(pieces[-1].flag))


# Stored tokens are only as good as the segmenter that cut them: bump this when a change here cuts
# the same text differently, and the next ingest cuts every chunk again (KeywordIndex.cut_here).
SEGMENTER_VERSION = f"2/jieba-{jieba.__version__}"  # 2: dictionary words keep their frequency

# Answers cut the sentences of the same retrieved passages question after question (~1 ms each);
# short texts' tokens are remembered, a bounded number of them.
CACHED_TEXT_CHARS = 400
CACHED_TEXTS = 50_000


def tokenize(text: str) -> list[str]:
    """Search-mode segmentation (both 安全生产 and 安全/生产), lower-cased, no stopwords."""
    if len(text) <= CACHED_TEXT_CHARS:
        return list(_segment(text))
    return _cut(text)


@lru_cache(maxsize=CACHED_TEXTS)
def _segment(text: str) -> tuple[str, ...]:
    return tuple(_cut(text))


def _cut(text: str) -> list[str]:
    tokens = []
    for token in _jieba().cut_for_search(text):
        token = token.strip().lower()
        if token and token not in STOPWORDS and not _PUNCT_OR_SPACE.match(token):
            tokens.append(token)
    return tokens
