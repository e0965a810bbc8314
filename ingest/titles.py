"""Display titles: speeches that share a title are told apart wherever a title is shown.

Scraped pages reuse one title for many speeches ("在工作推进会议上的讲话"), and
a user choosing among them, or reading a citation, needs to know which is which.
The original title stays as it is (it is part of the speech's id); the display
title adds, in brackets, the first thing that tells the speech apart from the
others of its title: the place, the speaker, the date, or what its opening
says the meeting is about.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable

from ingest.speeches import is_salutation
from ingest.types import Speech

# "召开全市安全生产电视电话会议", "这次厅直系统党建工作推进会": the meeting an opening names;
# then the work it says it is about ("专题研究循环经济工作", "部署当前全市煤矿安全生产工作").
_SUBJECTS = (
    re.compile(
        r"(?:召开了?|举行了?|这次|本次|今天的|我们将)\s*"
        r"([^，,。；;：:、“”]{2,24}?(?:会议|大会|座谈会|推进会|例会|会))(?![议场谈])"
    ),
    re.compile(r"(?:专题研究|研究部署|安排部署|部署)(?:当前|下一步|近期)?([^，,。；;：:、“”]{2,20}?工作)"),
)
# A named meeting that names nothing: "这次会议", "一系列会议".
_GENERIC_SUBJECT = re.compile(r"^(这次|本次|此次|今天的)?(会议|大会|会)$|一系列|等.{0,2}会议$")
# Longest opening clause shown when the opening names no meeting.
_SUBJECT_MAX = 16
_CLAUSE = re.compile(r"[，,。；;：:！!？?]")
# Opening phrases that say nothing about the subject ("同志们", "刚才", "今天").
_FILLER = re.compile(r"^(同志们|各位[^，,]*|刚才|今天|首先|现在|根据[^，,]*安排|按照[^，,]*安排)$")


def opening_subject(speech: Speech) -> str | None:
    """What the opening says the meeting is: its named meeting, else its first telling clause."""
    opening = "".join(p for p in speech.paragraphs[:2] if not is_salutation(p))
    for pattern in _SUBJECTS:
        for match in pattern.finditer(opening):
            subject = match.group(1).strip()
            if not _GENERIC_SUBJECT.search(subject):
                return subject
    for clause in _CLAUSE.split(opening):
        clause = clause.strip()
        if len(clause) >= 4 and not _FILLER.match(clause):
            return clause if len(clause) <= _SUBJECT_MAX else clause[:_SUBJECT_MAX] + "…"
    return None


# What may tell two speeches apart, in the order a reader would look for it.
_DISTINGUISHERS: tuple[Callable[[Speech], str | None], ...] = (
    lambda s: s.place,
    lambda s: s.speaker,
    lambda s: s.date,
    opening_subject,
)


def display_titles(speeches: Iterable[Speech]) -> dict[str, str]:
    """speech_id → the title to show; a speech whose title no other speech has keeps it as is."""
    speeches = list(speeches)
    by_title: dict[str, list[Speech]] = defaultdict(list)
    for speech in speeches:
        by_title[speech.title].append(speech)
    shown = {speech.speech_id: speech.title for speech in speeches}
    for title, group in by_title.items():
        if len({s.speech_id for s in group}) < 2:
            continue
        labels = [_label(speech, group) for speech in group]
        seen: dict[str, int] = defaultdict(int)
        for speech, label in zip(group, labels, strict=True):
            seen[label] += 1
            if labels.count(label) > 1:  # nothing tells them apart: number them
                label = f"{label}·{seen[label]}" if label else f"之{seen[label]}"
            shown[speech.speech_id] = f"{title}（{label}）"
    return shown


def _label(speech: Speech, group: list[Speech]) -> str:
    """The first distinguisher whose value no other speech of the group shares; else all of them."""
    values = []
    for distinguisher in _DISTINGUISHERS:
        value = distinguisher(speech)
        if not value:
            continue
        others = [distinguisher(other) for other in group if other.speech_id != speech.speech_id]
        if value not in others:
            return value
        values.append(value)
    return "，".join(dict.fromkeys(values))
