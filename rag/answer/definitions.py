"""Is a term spelled out in a speech's text? (issue 12)

An answer may say a term is "only mentioned" (讲话只是提到了…) only when its whole speech never spells
it out. Speeches do that in many shapes: "“两查”就是…", "即…", a heading followed by the definition in
the next sentence, a definition by parts ("“两查”…，“一改”…"), a list item labelled by the term
("二是深查，对所有区域……"), a law introduced and then stated ("一个“墨菲定理”，凡是……"). Pure
functions over text; full-width and half-width punctuation alike.
"""

from __future__ import annotations

import re

_NUMERALS = "一二两双三四五六七八九十百千"  # 双: “双盯双查” is 双盯 and 双查
_PART = re.compile(rf"[{_NUMERALS}]+[个项条大]?[^{_NUMERALS}]+")
_OPEN_QUOTE = "“\"「『'‘"
_CLOSE_QUOTE = "”\"」』'’"
# What follows a term that spells it out: "即…", "就是…", "是指…", "：…", "（…", "包括…", "一是…".
_SPELLS_OUT = (
    rf"[{_CLOSE_QUOTE}]?\s*("
    r"[^。；;!！?？\n]{0,12}?([:：(（]|——|—)"
    r"|[^。；;!！?？\n]{0,16}?[,，、]?\s*(即|也就是|就是|是指|指的是|包括|主要是|分别是|具体是|具体包括"
    r"|一个是|一方面|其一)"
    r"|指(?![挥导标出示引南])"  # "“631”指6小时预警…", not "指挥部"
    r"|[^。\n]{0,16}一是"
    r")"
)
# A heading or sentence that names the term, and the next sentence that defines it.
_NEXT_SENTENCE_DEFINES = (
    rf"[{_CLOSE_QUOTE}]?[^。.．！!？?\n]{{0,16}}[。.．!！]?\s*\n?\s*"
    r"(即|也就是说?|就是|是指|具体(来说|而言|是|包括)|主要(是|包括)|包括"
    r"|第[一1][个张条项点道层方]?[是,，、:：])"  # "织密“三张网”。第一张是人防网…" (a bare 一是 may not be)
)


# A list item labelled by the term, its body after the label: "二是深查，对所有区域……开展大排查",
# "（二）“深查”。对所有区域……" — the body is what the term means in this speech (not the next item).
_ITEM_MARK = (
    rf"(?:[{_NUMERALS}]+[是要]|第[{_NUMERALS}]+[,，、]?|首先|其次|再次|最后"
    rf"|[(（][{_NUMERALS}\d]+[)）]|\d+[.．、])"
)
_ITEM_LABEL = rf"{_ITEM_MARK}\s*[{_OPEN_QUOTE}]?"
_LABELS_BODY = rf"[{_CLOSE_QUOTE}]?\s*(?:[,，:：]|[。.．](?!\s*{_ITEM_MARK}))\s*[^。；;!！?？\n]{{6,}}"

# A named law or saying introduced and then stated: "讲了一个“墨菲定理”，凡是有可能发生的一定就会发生".
_INTRODUCED = rf"一[个条句]\s*[{_OPEN_QUOTE}]"
_STATED_THEN = rf"[{_CLOSE_QUOTE}]\s*[,，:：]\s*[^。；;!！?？\n]{{8,}}"

# A sentence that names the term for what it describes: "这种库被称为“头顶库”", "这就是所谓的“X”";
# "有3座属于“头顶库”，下游1公里范围内有村庄" (what it is follows the comma).
_NAMES_IT = rf"(称为|称作|叫做|叫作|称之为|所谓的?|这就是|这就叫|这叫|简称|统称)\s*[{_OPEN_QUOTE}]?"
_BELONGS = rf"属于\s*[{_OPEN_QUOTE}]?"
_BELONGS_THEN = rf"[{_CLOSE_QUOTE}]?\s*[,，]\s*[^。；;!！?？\n]{{6,}}"

_ALL_NUMERALS = re.compile(rf"[{_NUMERALS}0-9]{{2,5}}")


def term_parts(term: str) -> list[str]:
    """A numbered slogan's parts: “两查一改” → 两查, 一改; “四不两直” → 四不, 两直; “一三五” → 一, 三, 五
    (each spelled out as “一”就是…)."""
    if _ALL_NUMERALS.fullmatch(term):
        return list(term)
    parts = _PART.findall(term)
    return parts if len(parts) > 1 and "".join(parts) == term else []


# A counted slogan ("三不进入", "四个一律", "两个全覆盖") is spelled out by as many items, each holding
# its core ("没有检测不进入、没有监护不进入、没有防护器具不进入"), soon after it is named.
_COUNTED = re.compile(rf"([{_NUMERALS}])[个项条大]?([^{_NUMERALS}]{{2,}})")
_COUNT = {"两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CHARS_PER_ITEM = 60


def _counted(term: str) -> tuple[int, str] | None:
    """A counted slogan's count and core: “三不进入” → (3, 不进入), “四个一律” → (4, 一律)."""
    counted = _COUNTED.fullmatch(term)
    if not counted or counted.group(1) not in _COUNT:
        return None
    return _COUNT[counted.group(1)], counted.group(2)


def _counted_out(term: str, text: str) -> bool:
    """As many items holding the core as the term counts, soon after it is named."""
    if not (counted := _counted(term)):
        return False
    items, core = counted
    for mention in re.finditer(re.escape(term), text):
        after = text[mention.end() : mention.end() + _CHARS_PER_ITEM * items].replace(term, "")
        if after.count(core) >= items:
            return True
    return False


_ITEM_CHARS = 8


def _enumerated_before(term: str, text: str) -> bool:
    """As many items as the term counts, right before it: "公司、项目、班组“三级安全教育”"."""
    if not (counted := _counted(term)):
        return False
    count = counted[0]
    for mention in re.finditer(re.escape(term), text):
        clause = re.split(r"[,:;!?。\n]", text[max(0, mention.start() - 80) : mention.start()])[-1]
        items = [item.strip(_OPEN_QUOTE + _CLOSE_QUOTE + " ") for item in clause.split("、")]
        # the items themselves, short, next to it (the first may carry the sentence's start): not
        # "新建、改建、扩建项目执行安全设施“三同时”"
        short = all(0 < len(item) <= _ITEM_CHARS for item in items[1 - count :])
        if len(items) >= count and items[-count] and short:
            return True
    return False


# "建立“路长制”，由乡镇、村两级干部分段担任路长", "要建立“叫应”机制，……要在30分钟内叫应到乡镇": the
# clause after the term says what it does in its own word.
_EXPLAINED = rf"[{_CLOSE_QUOTE}]?(制度|机制|模式|工作法|办法)?,([^。;!?\n]{{4,60}})"


def _explained_after(term: str, text: str) -> bool:
    stem = term[:-1] if len(term) >= 3 and term[-1] in "制员法" else term
    # its own word, not the term named again in quotes ("用好“良方”，…用总书记开出的“良方”…")
    unquoted = re.compile(rf"(?<![{_OPEN_QUOTE}]){re.escape(stem)}")
    return any(unquoted.search(m.group(2)) for m in re.finditer(re.escape(term) + _EXPLAINED, text))


def _normal(text: str) -> str:
    """Half-width punctuation for matching; the source is still quoted as written."""
    table = str.maketrans("，：；？！（）", ",:;?!()")
    return text.translate(table)


def spells_out(term: str, text: str) -> bool:
    """Does the text define the term: directly ("“××”，即…", "“××”就是…"), by its parts
    ("“两查”就是…，“一改”就是…"), in the sentence after a heading that names it, as the label of a
    list item ("二是深查，对所有区域……"), by stating what it introduces ("一个“墨菲定理”，凡是……"),
    or by naming what it describes ("被称为“××”")?"""
    text = _normal(text)
    name = re.escape(term)
    if (
        re.search(name + _normal(_SPELLS_OUT), text)
        or re.search(name + _normal(_NEXT_SENTENCE_DEFINES), text)
        or re.search(_normal(_NAMES_IT) + name, text)
        or re.search(_normal(_BELONGS) + name + _normal(_BELONGS_THEN), text)
        or re.search(_normal(_ITEM_LABEL) + name + _normal(_LABELS_BODY), text)
        or re.search(_normal(_INTRODUCED) + name + _normal(_STATED_THEN), text)
        or _counted_out(term, text)
        or _enumerated_before(term, text)
        or _explained_after(term, text)
    ):
        return True
    parts = term_parts(term)
    if parts:
        defined = [
            # a one-character part only in quotes: “一”就是…, not every 一是…
            re.search(
                rf"[{_OPEN_QUOTE}]{'' if len(part) == 1 else '?'}{re.escape(part)}" + _normal(_SPELLS_OUT),
                text,
            )
            for part in parts
        ]
        return sum(bool(d) for d in defined) >= max(1, len(parts) - 1)
    return False
