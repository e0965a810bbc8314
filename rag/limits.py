"""Every bound on what one request may ask of the server, with the reason for each, in one place.

Used by the REST routes, the OpenAI route, the Gradio handlers (rag.web) and PolicyQA's entry
points (ask, ask_stream, search), so a request is held to the same bounds whichever way it comes in.
A violation is a LimitError (HTTP 422) — or, from PolicyQA, the caller's error class (QuestionError).
"""

from __future__ import annotations

from collections.abc import Sequence

# ---- request bodies, checked before the body is read (rag.web.security)
MAX_JSON_BODY_BYTES = 1 << 20  # a question, 20 turns and 200 ids fit in ~100 KB; 1 MB is generous
MAX_UPLOAD_FILES = 20  # files in one upload request; each is held to settings.max_upload_mb
UPLOAD_FORM_OVERHEAD_BYTES = 1 << 20  # multipart headers and boundaries around the files

# ---- what a question may carry
MAX_QUESTION_CHARS = 2000  # longer is a document, not a question (rag.api.check_question says so)
MAX_HISTORY_TURNS = 20  # the follow-up logic looks at the last few; 20 is plenty
MAX_TURN_CHARS = 4000  # one earlier question or answer; our longest answers are well under this
MAX_HISTORY_CHARS = 20_000  # all turns together: keeps the keyword analysis of the history < ~0.1 s
MAX_FILTER_IDS = 200  # speech_ids / sources: more than the index holds, far below SQLite's 32,766 variables
MAX_ID_CHARS = 300  # a speech id is 16 hex digits; a source a file name
MIN_K, MAX_K = 1, 50  # passages per search: at least one; more than 50 is a dump, not a search

# ---- failed secrets (API key, page login, admin password), per client address
FAILED_SECRET_LIMIT = 5  # wrong guesses allowed per window before 429
FAILED_SECRET_WINDOW_S = 300.0  # ... so at most 5 guesses per 5 minutes per address
MAX_TRACKED_CLIENTS = 10_000  # addresses remembered; a flood of new ones must not grow memory


class LimitError(ValueError):
    """A request over one of the bounds above, or with text that is not valid Unicode (HTTP 422)."""


def check_text(value: object, what: str, max_chars: int, error: type[Exception] = LimitError) -> str:
    """A string of at most max_chars with no lone surrogates (they cannot be stored or encoded)."""
    if not isinstance(value, str):
        raise error(f"{what} 必须是文字 ({what} must be a string)")
    if len(value) > max_chars:
        raise error(f"{what} 太长了({len(value)} 字,上限 {max_chars})({what} is over {max_chars} characters)")
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        raise error(
            f"{what} 含有无效的 Unicode 字符 ({what} holds a lone surrogate, which is not valid text)"
        )
    return value


def check_history(history: object, error: type[Exception] = LimitError) -> list[tuple[str, str]]:
    """Earlier (question, answer) turns, oldest first, within the turn and character bounds."""
    if history is None:
        return []
    if not isinstance(history, Sequence) or isinstance(history, str):
        raise error("history 必须是 [问题, 回答] 的列表 (history must be a list of [question, answer])")
    if len(history) > MAX_HISTORY_TURNS:
        raise error(
            f"对话历史太长({len(history)} 轮,上限 {MAX_HISTORY_TURNS})"
            f"(history over {MAX_HISTORY_TURNS} turns)"
        )
    turns, total = [], 0
    for turn in history:
        if isinstance(turn, str) or not isinstance(turn, Sequence) or len(turn) != 2:
            raise error("history 的每一轮必须是 [问题, 回答] (each history turn must be [question, answer])")
        question = check_text(turn[0], "history", MAX_TURN_CHARS, error)
        answer = check_text("" if turn[1] is None else turn[1], "history", MAX_TURN_CHARS, error)
        total += len(question) + len(answer)
        turns.append((question, answer))
    if total > MAX_HISTORY_CHARS:
        raise error(
            f"对话历史太长({total} 字,上限 {MAX_HISTORY_CHARS})(history over {MAX_HISTORY_CHARS} characters)"
        )
    return turns


def recent_history(history: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """For clients that resend a whole conversation (chat front ends, the page): the turns that fit."""
    kept: list[tuple[str, str]] = []
    total = 0
    for question, answer in reversed(list(history)[-MAX_HISTORY_TURNS:]):
        question, answer = question[:MAX_TURN_CHARS], (answer or "")[:MAX_TURN_CHARS]
        total += len(question) + len(answer)
        if total > MAX_HISTORY_CHARS:
            break
        kept.append((question, answer))
    return kept[::-1]


def check_ids(ids: object, what: str, error: type[Exception] = LimitError) -> tuple[str, ...] | None:
    """None (no filter) or a non-empty list of at most MAX_FILTER_IDS bounded strings."""
    if ids is None:
        return None
    if isinstance(ids, str) or not isinstance(ids, Sequence):
        raise error(f"{what} 必须是列表或 null ({what} must be a list or null)")
    if not ids:
        raise error(f"{what} 是空列表;不限定请传 null ({what} is empty: send null for no filter)")
    if len(ids) > MAX_FILTER_IDS:
        raise error(f"{what} 太多({len(ids)} 个,上限 {MAX_FILTER_IDS})({what} over {MAX_FILTER_IDS} entries)")
    return tuple(check_text(value, what, MAX_ID_CHARS, error) for value in ids)


def check_k(k: object, error: type[Exception] = LimitError) -> int:
    """A passage count in MIN_K..MAX_K."""
    if isinstance(k, bool) or not isinstance(k, int | float) or int(k) != k:
        raise error("k 必须是整数 (k must be an integer)")
    if not MIN_K <= k <= MAX_K:
        raise error(f"k 必须在 {MIN_K} 到 {MAX_K} 之间 (k must be between {MIN_K} and {MAX_K})")
    return int(k)


def check_request(
    question: object = None,
    history: object = None,
    speech_ids: object = None,
    sources: object = None,
    k: object = None,
    error: type[Exception] = LimitError,
) -> None:
    """All the checks a question or search request needs; the first violation raises."""
    if question is not None:
        check_text(question, "问题", MAX_QUESTION_CHARS * 4, error)  # check_question tidies, then bounds
    check_history(history, error)
    check_ids(speech_ids, "speech_ids", error)
    check_ids(sources, "sources", error)
    if k is not None:
        check_k(k, error)
