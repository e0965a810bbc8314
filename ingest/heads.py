"""The head of a speech: what a reader finds between the title and the first sentence.

Official speeches open with a few short lines that are facts about the speech,
not its words: a date line ("（2024年4月23日）"), a speaker line ("市长 张三"),
a subtitle ("——在全市安全生产工作会议上的讲话"), sometimes the date and the
place on one line. They go into the speech's metadata, never into its text. A
date may also close a speech, under the signature. These pure functions tell
such lines apart from body text; :mod:`ingest.speeches` decides where they sit.
Every pattern accepts full-width and half-width punctuation alike.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from ingest.index.text import LIST_MARK

# Sentence punctuation: a line holding any is a sentence, never a head line.
SENTENCE_MARKS = "。！？!?；;：:，,"
_SENTENCE = re.compile(f"[{SENTENCE_MARKS}]")
_OPEN = re.escape("（(【[〔")  # for use inside a character class
_CLOSE = re.escape("）)】]〕")
_CN_DIGIT = dict(zip("〇○零一二三四五六七八九", (0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9), strict=True))

_ARABIC_DATE = re.compile(r"(\d{4})\s*年(?:\s*(\d{1,2})\s*月(?:\s*(\d{1,2})\s*日)?)?")
_CN_DATE = re.compile(
    r"([〇○零一二三四五六七八九]{4})\s*年(?:\s*([一二三四五六七八九十]{1,2})\s*月(?:\s*([一二三四五六七八九十]{1,3})\s*日)?)?"
)
# 2024.4.23 / 2024-04-23 / 2024/4/23: only a whole date, and only on a line of its own.
_NUMERIC_DATE = re.compile(r"(?<!\d)(\d{4})\s*[.\-/．]\s*(\d{1,2})\s*[.\-/．]\s*(\d{1,2})(?!\d)日?")
_DATE_PATTERNS = (_ARABIC_DATE, _CN_DATE, _NUMERIC_DATE)
_LABEL = re.compile(r"^(时间|日期|讲话时间|会议时间)\s*[:：]\s*")
_PLACE_LABEL = re.compile(r"^(地点|会议地点|讲话地点)\s*[:：]\s*(.{2,20})$")
# Longest line that is still a date line (date plus a short place or speaker).
_DATE_LINE_MAX = 40
# What may stand beside the date on its line: a place, a speaker, an editor's note.
_BESIDE_DATE_MAX = 20
# ... or the occasion, as published speeches state it: "（2023年11月2日，在全县……会议上）".
_OCCASION = re.compile(r"^[在于][\u4e00-\u9fff“”\"《》·、0-9０-９]{4,48}?[上中]$")
_OCCASION_LINE_MAX = 64
_NOTE = re.compile(r"(根据|据)?(录音|速记|记录)?整理|有删节|略有删减|节选|摘要|定稿")

# Words that name a speech as a genre: a line holding one may be a speech's title.
GENRE = re.compile(r"(讲话|发言|致辞|讲稿|报告|动员令|总结)")
# Words that name a meeting: a line holding one is about an occasion.
MEETING = re.compile(r"会议|大会|会上|座谈会|推进会|例会")
_UNIT = "省|自治区|市|自治州|县|区|镇|乡|州|盟|旗"
_PLACE_WORD = re.compile(rf"^[\u4e00-\u9fff]{{2,8}}?({_UNIT})$")
_GENERIC_PLACE = re.compile(r"^(全|我|本|该|各|今|这|此|市|县|区|镇|乡|省|[xX×＊*])")
# Roles that name who speaks: "市委副书记、市长 张三", "李明同志".
_ROLE = re.compile(
    r"(书记|省长|市长|县长|区长|州长|镇长|乡长|主任|局长|厅长|部长|处长|科长|主席|委员|董事长|"
    r"总经理|经理|队长|秘书长|院长|校长|常委|负责人|同志)"
)
_NAME = re.compile(r"^[\u4e00-\u9fff×xX＊*]{2,4}$")
# Short everyday lines that would pass for a two-to-four-character name.
_NOT_NAME = re.compile(r"大家|谢谢|同志们|你们|我们|好$|们$")
_SPEAKER_MAX = 30
_SUBTITLE = re.compile(r"^[—－\-─━–~～]{1,3}\s*(.+)$")
# "张三同志在……会议上的讲话", "市长在……上的讲话": who speaks, before the 在 of the occasion.
_SPEAKER_IN_TITLE = re.compile(r"^(.{2,16}?)在.{2,}?(?:上|中)的?(?:讲话|发言|致辞|报告)")
# A short line worth taking for a title where no genre word says so (docx headings, markdown #).
_CANDIDATE_MIN, _CANDIDATE_MAX = 5, 40


@dataclass(frozen=True)
class DateLine:
    """A line that states when a speech was given, and maybe where and by whom."""

    date: str
    place: str | None = None
    speaker: str | None = None


def fold(text: str) -> str:
    """Full-width and half-width forms as one (，→, ：→: （→( ), spaces dropped: a comparison key."""
    return "".join(unicodedata.normalize("NFKC", text).split())


# ---------------------------------------------------------------- dates


def _cn_number(text: str) -> int:
    """二十三 → 23, 十二 → 12, 十 → 10, 四 → 4."""
    if "十" not in text:
        return _CN_DIGIT[text] if len(text) == 1 else int("".join(str(_CN_DIGIT[c]) for c in text))
    tens, _, ones = text.partition("十")
    return (_CN_DIGIT[tens] if tens else 1) * 10 + (_CN_DIGIT[ones] if ones else 0)


def _iso(year: int, month: int | None, day: int | None) -> str | None:
    """YYYY, YYYY-MM or YYYY-MM-DD, as precise as stated; None for an impossible date."""
    if not 1900 <= year <= 2100 or (month is not None and not 1 <= month <= 12):
        return None
    if day is not None and not 1 <= day <= 31:
        return None
    if month is None:
        return f"{year:04d}"
    return f"{year:04d}-{month:02d}" if day is None else f"{year:04d}-{month:02d}-{day:02d}"


def _date_of(match: re.Match[str]) -> str | None:
    year, month, day = match.groups()
    if match.re is _CN_DATE:
        return _iso(
            int("".join(str(_CN_DIGIT[c]) for c in year)),
            _cn_number(month) if month else None,
            _cn_number(day) if day else None,
        )
    return _iso(int(year), int(month) if month else None, int(day) if day else None)


def _first_date(text: str) -> tuple[re.Match[str], str] | None:
    """The earliest date expression in the text, with its ISO form."""
    found = [(m, d) for pattern in _DATE_PATTERNS for m in pattern.finditer(text) if (d := _date_of(m))]
    return min(found, key=lambda pair: pair[0].start()) if found else None


def find_date(text: str) -> str | None:
    """The first date the text states to the month or day ("2024-04-23", "2024-04").

    A bare year ("2020年第三季度") names a period, not the day a speech was given,
    so it is no date; a date line that states only a year is read by parse_date_line.
    """
    for pattern in (_ARABIC_DATE, _CN_DATE):
        for match in pattern.finditer(text):
            date = _date_of(match)
            if date and len(date) > 4:
                return date
    return None


def parse_date_line(line: str) -> DateLine | None:
    """'（2024年4月23日）', '二〇二四年四月二十三日', '2024年4月23日 于北京', '市长 张三（2024年4月23日）',
    '（2023年11月2日，在全县森林草原防灭火工作会议上）'."""
    text = _LABEL.sub("", line.strip())
    if not text or len(text) > _OCCASION_LINE_MAX or re.search("[。！？!?；;]", text):
        return None
    first = _first_date(text)
    if first is None:
        return None
    match, date = first
    rest = text[: match.start()] + " " + text[match.end() :]
    rest = re.sub(f"[{_OPEN}{_CLOSE}，,、：:\\s]+", " ", rest).strip()
    if _OCCASION.match(rest.replace(" ", "")) and not GENRE.search(rest):
        # Where it was given, not a title: a title names the genre ("……会议上的讲话").
        return DateLine(date, title_place(rest.replace(" ", "")))
    if len(text) > _DATE_LINE_MAX or GENRE.search(rest) or MEETING.search(rest):
        return None  # "2024年全市安全生产工作会议上的讲话" is a title, not a date line
    if len(rest.replace(" ", "")) > _BESIDE_DATE_MAX:
        return None
    if rest and _first_date(rest) is not None:
        return None  # two dates: a period ("2023年1月至2024年3月"), not a date line
    place = speaker = None
    for part in rest.split():
        part = _NOTE.sub("", part)
        if not part:
            continue
        bare = re.sub(r"^[在于]|(召开|举行)$", "", part)
        named = _PLACE_WORD.match(bare) and not _GENERIC_PLACE.match(bare)
        if named or (part[0] in "在于" and len(bare) >= 2):
            place = place or bare
        elif _ROLE.search(part) or (_NAME.match(part) and not _NOT_NAME.search(part)):
            speaker = f"{speaker} {part}" if speaker else part
    return DateLine(date, place, speaker)


_PAREN_TAIL = re.compile(f"\\s*[{_OPEN}]([^{_OPEN}{_CLOSE}]{{4,30}})[{_CLOSE}]\\s*$")
_SEPARATED_TAIL = re.compile(r"(?:\s+|\s*[—\-－]{1,2}\s*)([^\s—\-－]{4,24})\s*$")


def is_bare_date_line(line: str) -> bool:
    """A line that is a date and nothing else ("（2024年4月23日）"): always a paragraph of its own."""
    text = line.strip()
    first = _first_date(text)
    if first is None:
        return False
    match, _ = first
    rest = text[: match.start()] + text[match.end() :]
    return re.fullmatch(f"[{_OPEN}{_CLOSE}\\s]*", rest) is not None


def split_title_date(line: str) -> tuple[str, str | None]:
    """A date on the title line comes off it: '在……的讲话（2024年4月23日）' → title, '2024-04-23'.

    A date in the middle of a title ("在2024年4月全市……") stays in the title but is still
    the speech's date when it names the month or day; a bare year is never a date.
    """
    text = line.strip()
    for tail in (_PAREN_TAIL.search(text), _SEPARATED_TAIL.search(text)):
        if tail is None or tail.start() == 0:
            continue
        parsed = parse_date_line(tail.group(1))
        if parsed is not None and not parsed.place and not parsed.speaker and len(parsed.date) > 4:
            return text[: tail.start()].rstrip(" —-－"), parsed.date
    return text, find_date(text)


# ---------------------------------------------------------------- other head lines


def is_sentence(line: str) -> bool:
    return _SENTENCE.search(line) is not None


def is_table_row(line: str) -> bool:
    """Loaders write a table row as cells joined by ' | ': a row is never a title."""
    return " | " in line


def is_numbered(line: str) -> bool:
    return LIST_MARK.match(line) is not None


def subtitle_of(line: str) -> str | None:
    """'——在全市安全生产工作会议上的讲话' → '在全市安全生产工作会议上的讲话'."""
    match = _SUBTITLE.match(line.strip())
    if match is None:
        return None
    rest = match.group(1).strip()
    if len(rest) > 60 or re.search("[。！？!?；;]", rest):
        return None
    if not (GENRE.search(rest) or MEETING.search(rest)):
        return None
    return rest


def is_speaker_line(line: str) -> bool:
    """'市委副书记、市长 张三', '李明同志', '张  三': a short line naming who speaks."""
    text = line.strip()
    if not text or len(text) > _SPEAKER_MAX or is_sentence(text) or is_numbered(text):
        return False
    if GENRE.search(text) or MEETING.search(text) or _first_date(text):
        return False
    compact = re.sub(r"\s+", "", text)
    return bool(_ROLE.search(text) or (_NAME.match(compact) and not _NOT_NAME.search(compact)))


def speaker_in_title(title: str) -> str | None:
    """'张三同志在全市……会议上的讲话' → '张三'; '在全市……的讲话' → None."""
    match = _SPEAKER_IN_TITLE.match(title)
    if match is None:
        return None
    who = match.group(1).strip()
    if not _ROLE.search(who) or MEETING.search(who):
        return None  # "年度在全区……" names no one
    return who.removesuffix("同志") or who


# "在铜仁市安全生产工作会议上的讲话": the place a title names right after its 在.
_TITLE_PLACE = re.compile(rf"在(?:中共)?([\u4e00-\u9fff]{{2,6}}?(?:{_UNIT}))(?![域别分间场级长])")


def title_place(title: str) -> str | None:
    """'在铜仁市安全生产工作会议上的讲话' → '铜仁市'; never a generic 全市/本县."""
    for match in _TITLE_PLACE.finditer(title):
        if not _GENERIC_PLACE.match(match.group(1)):
            return match.group(1)
    return None


def place_line(line: str) -> str | None:
    """'地点：铜仁市' → '铜仁市'."""
    match = _PLACE_LABEL.match(line.strip())
    return match.group(2).strip() if match else None


def is_candidate_title(line: str) -> bool:
    """A short line with no sentence punctuation, not an outline item: a title if its
    neighbours say so (a date line or salutation under it, or the top of a file)."""
    text = line.strip()
    return (
        _CANDIDATE_MIN <= len(text) <= _CANDIDATE_MAX
        and not is_sentence(text)
        and not is_numbered(text)
        and not is_table_row(text)
        and len(re.findall(r"[\u4e00-\u9fffA-Za-z]", text)) >= 4
    )


def looks_quoted(line: str) -> bool:
    """《在全省……的讲话》 or “…”: a title someone cites, not one that heads this text."""
    text = line.strip()
    return len(text) >= 2 and text[0] in "《“「『\"'" and text[-1] in "》”」』\"'"


# ---------------------------------------------------------------- file names

# Leading sort numbers, dates and hashes people and sites put in file names.
_NAME_NOISE = re.compile(
    r"^(\d{1,4}[_\-.\s]+)+|[_\-.\s]*[0-9a-f]{8,}[_\-.\s]*|[（(]\d{1,2}[）)]$|"
    r"[_\-\s]*(副本|定稿|终稿|最终版|修改稿|final|copy|v\d+)$",
    re.I,
)


def title_from_file_name(name: str) -> str | None:
    """'2024-安全生产讲话_定稿.docx' → '安全生产讲话'; None when nothing readable is left."""
    stem = name.rsplit("/", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    previous = None
    while previous != stem:
        previous, stem = stem, _NAME_NOISE.sub("", stem).strip(" _-.")
    stem = re.sub(r"[_]+", " ", stem).strip()
    return stem if len(re.findall(r"[\u4e00-\u9fff]", stem)) >= 2 else None
