"""Bytes to text: BOMs, UTF-8, the GB family, UTF-16 without a BOM, and a refusal for binary."""

from __future__ import annotations

import codecs
import unicodedata

from ingest.loaders.common import CJK_IDEOGRAPH, DecodeError, note

BOMS: tuple[tuple[bytes, str], ...] = (
    # UTF-32 first: its LE BOM starts with the UTF-16 LE BOM.
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_GB_FAMILY = {"gb18030", "gbk", "gb2312", "cp936", "hz", "x-gbk", "euc-cn"}
# A damaged text file has a few bad bytes; binary has them everywhere. One in 200 bytes
# (at least 4) is far above a copy/transfer slip and far below what random bytes give.
MAX_BAD_BYTE_SHARE = 0.005
MIN_BAD_BYTES_ALLOWED = 4
# Stray NULs (a truncated write, a paste from a terminal) are dropped; one in 1,000 bytes
# (at least 2) keeps refusing binary, where NULs are common.
MAX_NUL_SHARE = 0.001
MIN_NULS_ALLOWED = 2


def _allowed(data: bytes, share: float, floor: int) -> int:
    return max(floor, int(len(data) * share))


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def decode_replacing(data: bytes, encoding: str, limit: int) -> tuple[str, int] | None:
    """Decode with U+FFFD for undecodable bytes; (text, bytes replaced), or None past ``limit``.

    Counts bytes, not replacement characters, so the report says how much was lost.
    """
    parts: list[str] = []
    replaced = 0
    position = 0
    decoder = codecs.getincrementaldecoder(encoding)
    while True:
        try:
            parts.append(decoder().decode(data[position:], final=True))
            return "".join(parts), replaced
        except UnicodeDecodeError as exc:
            start, end = position + exc.start, position + max(exc.end, exc.start + 1)
            parts.append(data[position:start].decode(encoding))
            parts.append("\ufffd")
            replaced += end - start
            position = end
            if replaced > limit:
                return None


def _bad_char_ratio(text: str) -> float:
    """Share of characters that real text almost never has: controls, U+FFFD, unassigned..."""
    considered = 0
    bad = 0
    for ch in text:
        if ch in "\n\r\t\f\v ":
            continue
        considered += 1
        if ch == "\ufffd" or unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn"):
            bad += 1
    return bad / considered if considered else 0.0


def _utf16_without_bom(data: bytes) -> str | None:
    """Mostly-ASCII UTF-16 without a BOM shows as a zero in every other byte."""
    if len(data) < 4 or len(data) % 2:
        return None
    pairs = len(data) // 2
    even_zero = data[0::2].count(0) / pairs
    odd_zero = data[1::2].count(0) / pairs
    if odd_zero > 0.4 and even_zero < 0.05:
        encoding = "utf-16-le"
    elif even_zero > 0.4 and odd_zero < 0.05:
        encoding = "utf-16-be"
    else:
        return None
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _looks_like_misread_gb(text: str) -> bool:
    """GB18030 accepts most Big5 bytes; the result is full of rare hanzi, kana and Cyrillic."""
    non_ascii = [ch for ch in text[:20000] if ord(ch) > 0x7F and not ch.isspace()]
    if len(non_ascii) < 10:
        return False
    uncommon = 0
    for ch in non_ascii:
        try:
            ch.encode("gb2312")
        except UnicodeEncodeError:
            uncommon += 1
            continue
        if not (CJK_IDEOGRAPH.match(ch) or unicodedata.category(ch).startswith("P")):
            uncommon += 1  # kana, Cyrillic, Greek, box drawing: GB2312 has them, speeches don't
    return uncommon / len(non_ascii) > 0.3


def _oddness(text: str) -> float:
    """Share of non-ASCII characters that are neither hanzi nor punctuation."""
    non_ascii = [ch for ch in text if ord(ch) > 0x7F and not ch.isspace()]
    if not non_ascii:
        return 0.0
    odd = sum(
        1 for ch in non_ascii if not (CJK_IDEOGRAPH.match(ch) or unicodedata.category(ch).startswith("P"))
    )
    return odd / len(non_ascii)


def _charset_normalizer_guess(data: bytes) -> tuple[str, str] | None:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        return None
    return best.encoding, str(best)


def _codec_name(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return encoding.lower()


def check_plausible(text: str) -> str:
    # Real text has next to none; 30% leaves room for a damaged but still useful file.
    if _bad_char_ratio(text) > 0.3:
        raise DecodeError("looks binary, not text (decodes to control/replacement characters)")
    return text


def decode_bytes(data: bytes) -> str:
    """Decode text bytes of unknown encoding; raise DecodeError for binary data.

    Detectors are unreliable on short Chinese texts (a 20-character GBK line is
    often guessed as Big5 or a Latin code page), so strict decoders that cannot
    silently succeed on the wrong input go first: BOM, UTF-8, GB18030, and only
    then charset-normalizer's best guess.  A leading BOM is removed; nothing
    else (line endings included) is changed.

    A damaged file is still read: a few stray NULs are removed and a few
    undecodable bytes become U+FFFD; how many is recorded with :func:`note` for
    the ingest report. Real binary (NULs or bad bytes throughout) is still refused.
    """
    text, notes = decode_with_notes(data)
    for message in notes:
        note(message)
    return text


def decode_with_notes(data: bytes) -> tuple[str, list[str]]:
    """:func:`decode_bytes`, returning what was repaired instead of recording it."""
    if not data:
        raise DecodeError("file is empty")
    for bom, encoding in BOMS:
        if data.startswith(bom):
            try:
                return check_plausible(data[len(bom) :].decode(encoding)), []
            except UnicodeDecodeError:
                break  # a BOM followed by garbage: let the other decoders judge
    notes: list[str] = []
    if b"\x00" in data:
        text = _utf16_without_bom(data)
        if text is not None:
            return check_plausible(text), []
        nuls = data.count(0)
        if nuls > _allowed(data, MAX_NUL_SHARE, MIN_NULS_ALLOWED):
            raise DecodeError("looks binary, not text (contains NUL bytes)")
        data = data.replace(b"\x00", b"")
        notes.append(f"removed {_plural(nuls, 'NUL byte')}")
        if not data.strip():
            raise DecodeError("looks binary, not text (contains NUL bytes)")
    try:
        return check_plausible(data.decode("utf-8")), notes
    except UnicodeDecodeError:
        pass
    limit = _allowed(data, MAX_BAD_BYTE_SHARE, MIN_BAD_BYTES_ALLOWED)
    # UTF-8 resynchronises after a bad byte, and GB text read as UTF-8 fails on most
    # characters: few failures means UTF-8 with a few damaged bytes.
    repaired = decode_replacing(data, "utf-8", limit)
    if repaired is not None:
        return check_plausible(repaired[0]), [*notes, _replaced_note(repaired[1], "UTF-8")]
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        text = None
    replaced = 0
    if text is None and (repaired := decode_replacing(data, "gb18030", limit)) is not None:
        text, replaced = repaired
    if text is not None:
        if _looks_like_misread_gb(text):
            guess = _charset_normalizer_guess(data)
            if (
                guess is not None
                and _codec_name(guess[0]) not in _GB_FAMILY
                and _oddness(guess[1]) < _oddness(text)
            ):
                return check_plausible(guess[1].lstrip("\ufeff")), notes
        if replaced:
            notes.append(_replaced_note(replaced, "GB18030"))
        return check_plausible(text), notes
    guess = _charset_normalizer_guess(data)
    if guess is None:
        raise DecodeError("looks binary, not text (no text encoding fits)")
    return check_plausible(guess[1].lstrip("\ufeff")), notes


def _replaced_note(count: int, encoding: str) -> str:
    return f"replaced {_plural(count, 'undecodable byte')} with U+FFFD (read as {encoding})"
