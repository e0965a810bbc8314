"""Is a question answerable from the passages an answer would quote? (issue 12)

Similarity cannot tell "the speeches say this" from "the speeches talk about something
near this": both share the policy vocabulary (安全生产, 事故, 隐患, 工作…). What separates
them is the question's focus — the specific things it names — and, for questions that ask
for a value (how many, how long, when, which standard), whether a sentence states one.

Terms are weighed by how specific they are: IDF over the index, and nothing for the
index's generic vocabulary (words most speeches use), derived from the corpus itself.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterable, Sequence

from ingest.index.keywords import KeywordIndex
from ingest.index.tokenize import is_word, names_a_thing, tokenize, words

# A word that at least this share of the speeches uses is the corpus's common vocabulary,
# not a question's focus. Calibrated on eval/calibration.jsonl.
GENERIC_SPEECH_SHARE = 0.5
# ... judged by speeches only when the index holds this many (one speech: everything is in it).
MIN_SPEECHES_FOR_SPREAD = 4
# ... and, whatever the speech count, a word in this share of all chunks is generic too.
GENERIC_CHUNK_SHARE = 0.15

_WORD = re.compile(r"[\u4e00-\u9fffA-Za-z]")
_lock = threading.Lock()
_spread_cache: dict[tuple[str, int], tuple[int, dict[str, int]]] = {}


def _speech_count(keywords: KeywordIndex) -> int:
    key = (str(keywords.path), keywords.count())
    with _lock:
        if key not in _spread_cache:
            db = keywords._db()
            total = db.execute("SELECT count(DISTINCT speech_id) FROM chunks").fetchone()[0]
            _spread_cache.clear()
            _spread_cache[key] = (total, {})
        return _spread_cache[key][0]


def speech_spread(keywords: KeywordIndex, tokens: Iterable[str]) -> dict[str, int]:
    """How many speeches use each token (cached per index state)."""
    total = _speech_count(keywords)
    key = (str(keywords.path), keywords.count())
    known = _spread_cache.get(key, (total, {}))[1]
    out = {}
    db = keywords._db()
    for token in tokens:
        if token not in known:
            phrase = '"' + token.replace('"', '""') + '"'
            known[token] = db.execute(
                "SELECT count(DISTINCT speech_id) FROM chunks WHERE chunks MATCH ?", [f"tokens : {phrase}"]
            ).fetchone()[0]
        out[token] = known[token]
    return out


def generic_terms(keywords: KeywordIndex, tokens: Iterable[str]) -> set[str]:
    """The tokens that are the corpus's common vocabulary."""
    tokens = list(dict.fromkeys(tokens))
    chunks = max(1, keywords.count())
    idf = keywords.idf(tokens)
    # idf = ln(1 + (N - n + .5) / (n + .5)) = ln((N + 1) / (n + .5))  →  n = (N + 1) / e^idf - .5
    share = {t: ((chunks + 1) / math.exp(v) - 0.5) / chunks for t, v in idf.items()}
    generic = {t for t, s in share.items() if s >= GENERIC_CHUNK_SHARE}
    speeches = _speech_count(keywords)
    if speeches >= MIN_SPEECHES_FOR_SPREAD:
        spread = speech_spread(keywords, tokens)
        generic |= {t for t, n in spread.items() if n >= GENERIC_SPEECH_SHARE * speeches}
    return generic


def specific_weights(keywords: KeywordIndex, tokens: Sequence[str]) -> dict[str, float]:
    """Each content token's weight: its IDF, or nothing for generic words, single characters, numbers,
    and segmentation fragments (two characters glued across a word boundary that no dictionary
    and no speech knows: "市有", "提了")."""
    tokens = content_tokens(tokens)
    if not tokens:
        return {}
    idf = keywords.idf(tokens)
    generic = generic_terms(keywords, tokens)
    chunks = max(1, keywords.count())
    # No chunk holds it: BM25's idf is log((N + 1) / (df + 0.5)), so df = (N + 1) / e^idf − 0.5.
    unseen = {t for t, v in idf.items() if (chunks + 1) / math.exp(v) - 0.5 < 0.5}
    fragments = {t for t in unseen if len(t) == 2 and not is_word(t)}
    return {t: idf[t] for t in tokens if t not in generic and t not in fragments}


# A Chinese abbreviation keeps characters of its full form in order: "停产" (停止生产), "渔船" (渔业
# 船只), "危化品" (危险化学品). A two-character one shortens two adjacent words, the first of two
# characters or more to its first ("停止生产", not "火燃烧" for "火烧"). A longer one keeps its first
# and last character, with at most three more between, none of them a character that joins words
# ("运输和渔业船" holds no "运输船"). On eval/unseen a and f, answerable questions refused 0.050 → 0.033
# and 0.042 → 0.021 ("烟花厂最晚哪天之前必须停产"); no off-corpus verdict moved on any set.
_JOINING = "和与及等或是的了在对为把被从向之其各个"


def abbreviated_in(word: str, text: str) -> bool:
    """Does the text hold the full form of a word the question abbreviates?"""
    if len(word) < 2 or not all("\u4e00" <= c <= "\u9fff" for c in word):
        return False
    gap = rf"[^\W{_JOINING}]{{0,{len(word)}}}?"
    pattern = re.escape(word[0]) + "".join(gap + re.escape(c) for c in word[1:])
    for match in re.finditer(pattern, text):
        span = match.group()
        if not len(word) < len(span) <= min(2 * len(word), len(word) + 3):
            continue
        if len(word) > 2:
            return True
        parts = words(span)
        if len(parts) == 2 and len(parts[0]) >= 2 and parts[0][0] == word[0] and word[1] in parts[1]:
            return True
    return False


def holds(text: str, term: str) -> bool:
    """The text (whitespace removed) holds the term, or the full form of it."""
    return term in text or abbreviated_in(term, text)


def missing_terms(terms: Iterable[str], text: str) -> list[str]:
    """The terms (a question's specific terms, or their weights) the text lacks, overlapping
    search-mode pieces counted once (有效/效期/有效期 → 有效期)."""
    squashed = "".join(text.split())
    missing = [t for t in terms if not holds(squashed, t)]
    return [t for t in missing if not any(t != other and t in other for other in missing)]


# A passage lacking this many of the question's specific terms (and most of their weight) is about
# something else; one missing term is most often a paraphrase. Calibrated on eval/calibration.jsonl.
MIN_MISSING_TERMS = 2


def lacks_focus(weights: dict[str, float], text: str, most: float) -> bool:
    """Does the text lack what the question is about: at least `most` of its specific weight and two
    of its words, or every word it has? A lone missing word is most often a paraphrase (烟感/感烟),
    but an answer holding none of the question's words ("孔明灯能不能放？") is about something else:
    on eval/unseen d and f off-corpus refused 0.800 → 0.833 and 0.633 → 0.667, no answerable question
    refused on any set."""
    share = missing_share(weights, text)
    return share >= most and (len(missing_terms(weights, text)) >= MIN_MISSING_TERMS or share >= 1.0 - 1e-9)


# A passage close in meaning to the question vouches for it although it lacks the question's words:
# colloquial questions paraphrase (山火 for 森林火灾, 干活 for 作业). A paraphrase rarely renames
# several things at once, and off-corpus questions near a speech's topic name things it never does
# (锂电池, 储能, 电站 beside a fire-safety passage). Calibrated on eval/calibration.jsonl and
# eval/unseen a–d, f: of the questions only the vouch let through, 8 of 29 off-corpus ones and none
# of 49 answerable ones name this many missing things with this many unknown to the index.
VOUCH_VOID_MISSING_THINGS = 3
VOUCH_VOID_UNKNOWN_THINGS = 2


def names_what_is_absent(keywords: KeywordIndex, weights: dict[str, float], text: str) -> bool:
    """Does the question name things (nouns) the text lacks, more than a paraphrase would:
    three or more, of which at least two no chunk of the index holds?"""
    things = [t for t in missing_terms(weights, text) if names_a_thing(t)]
    if len(things) < VOUCH_VOID_MISSING_THINGS:
        return False
    unknown = [t for t, share in keywords.chunk_share(things).items() if share == 0]
    return len(unknown) >= VOUCH_VOID_UNKNOWN_THINGS


def concepts(weights: dict[str, float]) -> list[tuple[str, list[str], float]]:
    """The question's terms grouped by word: search-mode segmentation cuts one word into overlapping
    pieces (自行车 → 自行, 行车, 自行车), and summing the pieces would make one word outweigh
    three others. Each group is (its longest term, its pieces, its weight: the largest piece's)."""
    ordered = sorted(weights, key=len, reverse=True)
    groups: dict[str, list[str]] = {}
    for term in ordered:
        head = next((h for h in groups if term in h), term)
        groups.setdefault(head, []).append(term)
    return [(head, pieces, max(weights[p] for p in pieces)) for head, pieces in groups.items()]


def missing_share(weights: dict[str, float], text: str) -> float:
    """Share of the question's specific weight that the text does not hold, word by word (see
    concepts); a word whose pieces are partly there counts as partly missing."""
    groups = concepts(weights)
    total = sum(weight for _, _, weight in groups)
    if total <= 0:
        return 0.0
    squashed = "".join(text.split())
    missing = 0.0
    for _, pieces, weight in groups:
        lacking = sum(weights[p] for p in pieces if not holds(squashed, p))
        missing += weight * lacking / sum(weights[p] for p in pieces)
    return missing / total


# Words that ask rather than name: "几起", "多少次", "哪个", "什么时候", "意思", "它们"…
_ASKING = re.compile(
    r"^(多少|哪|什么|怎|为何|为什么|如何|是否|有没有|有无)|几|(么|吗|呢)$"
    r"|^[省市县区镇乡村][里上]$"  # "县里", "市上": the speaker's own county, not a focus
    r"|^[一二两三四五六七八九十几]+[个项条点种件类样批]$"  # "哪三个“铁”": a count of items names nothing
)
QUESTION_WORDS = frozenset(
    """
    时候 意思 目的 它们 他们 其中 除了 还是 现在 正是 各是 出来 地方 数量 具体 分别 一般
    情况 方面 内容 问题 东西 那个 这个 那些 这些 当时 以后 之后 以前 之前 期间 需要 应该
    可以 能够 主要 重点 说法 叫做 算是 会上 提到 说到 讲到 强调 指出 一共 总共 一下
    包括 包含 打算 例子 后面 前面 还有 处理 怎样 办法 措施 做法 原因 理由 为啥 咋办
    认为 觉得 看来 一旦 出事 后果 具体措施 进到 用到 说是 讲了 谈到 要求 作用 时间 时间段 时段
    大约 大概 大致 差不多 左右 约为 最少 最多 至少 最高 最低 不少 不低 最晚 最早 最迟 最快 最久
    """.split()
)


def content_tokens(tokens: Iterable[str]) -> list[str]:
    """The tokens that name something: no question words, no single characters, no bare numbers."""
    return [
        t
        for t in dict.fromkeys(tokens)
        if len(t) >= 2 and _WORD.search(t) and t not in QUESTION_WORDS and not _ASKING.search(t)
    ]


# ---- the kind of answer asked for: a value (how many / how much / how long / when / which standard)

# Units a "多少X"/"几X" question names; the answer must state a number in that unit.
_UNITS = (
    "小时 分钟 学时 公里 千米 毫米 厘米 公斤 千克 万元 亿元 周岁 个月 工作日 立方米 平方米 公顷 千瓦 亩 "
    "年 月 天 日 周 米 吨 元 人 名 起 次 种 家 辆 处 倍 轮 户 所 座 台 回 件 宗 项"
).split()
_COUNTS = ("次", "起", "轮", "回", "件", "宗", "个", "处", "项")  # "几次" is answered by "7起"
_UNIT_ALIASES = {
    "钱": ("元",),
    "岁": ("岁", "周岁"),
    "千米": ("千米", "公里"),
    "公里": ("公里", "千米"),
    **{count: _COUNTS for count in _COUNTS},
    "人": ("人", "名"),
    "名": ("人", "名"),
}
_ASKS_VALUE = re.compile(
    r"(多少|(?<![哪这那好十近前])几(?![乎样十百千万])(?![年天月次回遍个]?[了来])"
    r"(?!(个|项|点|条|方面|类|种)?(方面|措施|任务|要求|环节|问题|原因|内容|工作)))(个)?|"
    r"百分之几|什么比例|多大比例|多高|多宽|多深|多远|多重|多大|多久|多长时间|"
    r"哪一?年|哪一?天|几月|何时|什么时候|什么时间|编号|标准号|哪个(国家|行业)?标准|哪项标准"
)
_ASKS_UNIT = re.compile(  # not "哪几件事": that asks for a list
    r"(?:多少|(?<![哪这那好十近前])几(?![十百千万])(?![年天月次回遍个]?[了来]))(?:个)?("
    + "|".join(sorted([*_UNITS, "钱", "岁"], key=len, reverse=True))
    + ")"
)
_ASKS_STANDARD = re.compile(r"编号|标准号|哪个(国家|行业)?标准|哪项标准")
_ASKS_DATE = re.compile(r"哪一?年|哪一?天|几月|何时|什么时候|什么时间")
_ASKS_WHEN = re.compile(r"何时|什么时候|什么时间")
_HOLDS_SPAN = re.compile(
    r"(\d+|[一二两三四五六七八九十半]+|[xX×]+)\s*(个)?(小时|分钟|天|日|周|个月|年)(内|以内|之内|后|以后|以上)?"
    r"|(后|以后|之后)(方可|才能|才可以|再)"
    r"|(?<!\d)\d{1,2}\s*[时点](?![间期代候段刻])"  # a time of day: "每晚22时至次日6时"
)
_NUMBER = r"(\d+(\.\d+)?|[〇零一二两三四五六七八九十百千万半]+|[xX×]+)"
# A stated number: digits, a masked figure ("x起"), or a Chinese numeral counting something ("三个",
# "六成", "一半"). Not a numeral inside a word ("第一时间", "一些", "统一"): such a sentence states no
# value, whatever it shares with the question.
_MEASURES = "|".join(sorted([*_UNITS, *"个成半万亿千百场套艘只支份"], key=len, reverse=True))
_HOLDS_NUMBER = re.compile(
    r"\d|[xX×]+\s*(%|[\u4e00-\u9fff])|百分之"
    r"|(?<![第统唯单同万])[〇零一二两三四五六七八九十百千万]+\s*(多|余)?(" + _MEASURES + ")"
)
_HOLDS_STANDARD = re.compile(r"[A-Z]{2,}(/T)?\s*\d|《[^》]+》")
_ASKS_FREQUENCY = re.compile(r"多久|多长时间|几天|几个月|频次|多少次")
_HOLDS_FREQUENCY = re.compile(
    r"每个?(天|日|周|旬|月|季度?|半年|年|学期)"
    r"|[一二两三四五六七八九十\d]+(个)?(季度|学期|周|月)"
)
_HOLDS_DATE = re.compile(_NUMBER + r"\s*(年|月|日|号)|[xX×]+\s*(年|月|日)")


_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*年")


# The reach a question names: "我国每年…" is not answered by a county's figures (全县, 全市).
_SCOPES = (("全国", "我国", "国内"), ("全省", "本省"), ("全球", "世界", "国际"))


def scope_matches(question: str, text: str) -> bool:
    """Does the text speak of the scope (nationwide, province-wide, worldwide) the question names?
    True when the question names none."""
    squashed = "".join(text.split())
    named = [words for words in _SCOPES if any(word in question for word in words)]
    return all(any(word in squashed for word in words) for words in named)


# "X的Y是谁 / 是多少 / 是哪一年": the question asks for one value or one holder of an attribute Y of X
# (部长, 有效期, 编号). A passage that never names Y does not state it, however close it is to X in
# meaning. Not "X的Y是什么": an open Y (依据, 要求) is often answered in other words (按照…规定).
_ASKED_ATTRIBUTE = re.compile(
    r"的([\u4e00-\u9fff]{2,6}?)(?:是|为|有)?"
    r"(?:谁|哪一?[个项年天种条部位起]|多少|几[年个天项人次]?)(?=[？?，,。!！]|$)"
)


# ... nor "X的Y是什么" when Y is something a speech names by name when it gives it: a theme, a
# standard, a slogan, a name ("安全生产月的主题是什么", "有什么统一标准").
_NAMED_ATTRIBUTE = re.compile(
    r"的[\u4e00-\u9fff]{0,6}?(主题|标准|口号|名称)(?:是|为)?(?:什么|哪[个项条])"
    r"|(?:是|有|按|执行)什么[\u4e00-\u9fff]{0,4}?(主题|标准|口号|名称)"
)


def asked_attribute(question: str) -> str | None:
    """The head word (Chinese compounds are head-final) of the attribute a question asks for."""
    if named := _NAMED_ATTRIBUTE.search(question.strip()):
        return named.group(1) or named.group(2)
    match = _ASKED_ATTRIBUTE.search(question.strip())
    if not match:
        return None
    words = content_tokens(tokenize(match.group(1)))
    return words[-1] if words else None


_DOCUMENT = re.compile(r"[《〈]([^《》〈〉]{2,40})[》〉]")


def named_documents(question: str) -> list[str]:
    """Documents the question names by title ("《防洪法》规定…"): the answer must quote a passage
    that names the document, not one about its subject."""
    return _DOCUMENT.findall(question)


def named_years(question: str) -> list[str]:
    """Years the question names ("2019年全国…"): the passage must be about that year."""
    return _YEAR.findall(question)


def asks_value(question: str) -> bool:
    return bool(_ASKS_VALUE.search(question))


# A fine is a sum of money; a ratio or share is a percentage, a fraction or "one per N".
_ASKS_FINE = re.compile(r"罚(款)?(多少|几)|罚款(金额|数额|标准)")
_HOLDS_MONEY = re.compile(_NUMBER + r"\s*(多|余)?\s*(万|千|百)?元")
_ASKS_RATIO = re.compile(r"比例|占比|百分之几|百分比")
_HOLDS_RATIO = re.compile(
    r"%|百分之|[一二三四五六七八九十\d]\s*成|分之|\d\s*[:：]\s*\d|\d\s*比\s*\d|每[^,，。;；]{0,12}?(配|设|有)[^,，。;；]{0,4}?[\d一二两三四五六七八九十]"
)


_CLAUSE = re.compile(r"[,，;；。!！?？]")  # not colons: "1:2" is a ratio
_RATIO_WORDS = {"比例", "占比", "百分比", "比重"}


def ratio_about(question: str, sentence: str, words: Sequence[str]) -> bool:
    """For a ratio question, does a clause that holds a share also name something the question asks
    about (in it or in the clause before)? A share beside the focus is about something else
    ("带班时间不少于80%，专职人员足额配备" for "专职人员按什么比例配备")."""
    if not _ASKS_RATIO.search(question):
        return True
    words = [w for w in words if w not in _RATIO_WORDS]  # what it asks, not what it is about
    clauses = _CLAUSE.split("".join(sentence.replace("％", "%").split()))
    # The clause before it counts too: its subject often stands there ("坠落事故5起，占总数的55.6%").
    return any(
        _HOLDS_RATIO.search(clause) and any(w in "".join(clauses[max(0, i - 1) : i + 1]) for w in words)
        for i, clause in enumerate(clauses)
    )


# "每个月补助多少钱", "每小时能抽多少立方米": an amount per unit is stated as one ("每艘不超过15万元",
# "人均", "1次/月"); a total beside the focus ("专项资金1200万元，主要用于护林员补助") is not it.
_ASKS_RATE = re.compile(r"每[个一]?[\u4e00-\u9fff]{1,3}?[^，,。？?]{0,12}?(多少|几)(?![月号日])")
_HOLDS_RATE = re.compile(r"每|[人户日月年台]均|平均|/|／")
# "多宽/多高/多深/多厚": a length said of that dimension ("积水深度达到15厘米"), not another length
# in the same sentence ("新开设隔离带86公里" for "隔离带要开多宽").
_ASKS_DIMENSION = re.compile(r"多([宽高深厚])|([宽高深厚])度[^，,。？?]{0,6}?(多少|几)")
# "隔多远", "距离有多远": a distance, said in a unit of length ("不少于50米"), not a count beside it.
_ASKS_DISTANCE = re.compile(r"多远|(距离|间距)[^，,。？?]{0,6}?(多少|几)(?!\s*(米|公里|千米))")
_HOLDS_LENGTH = re.compile(_NUMBER + r"\s*(多|余)?\s*(公里|千米|厘米|毫米|米|km|m)(?![a-z])", re.IGNORECASE)


def states_value(question: str, sentence: str) -> bool:
    """Does the sentence state the kind of value the question asks for?"""
    text = sentence.replace("％", "%")
    if _ASKS_RATE.search(question) and not _HOLDS_RATE.search(text):
        return False
    dimension = _ASKS_DIMENSION.search(question)
    if dimension and (dimension.group(1) or dimension.group(2)) not in text:
        return False
    if _ASKS_DISTANCE.search(question) and not _HOLDS_LENGTH.search(text):
        return False
    if _ASKS_FINE.search(question) and not _HOLDS_MONEY.search(text):
        return False
    if _ASKS_RATIO.search(question) and not _HOLDS_RATIO.search(text):
        return False
    if _ASKS_STANDARD.search(question):
        return bool(_HOLDS_STANDARD.search(text))
    if _ASKS_DATE.search(question) and not _HOLDS_DATE.search(text):
        # "什么时候能撤" is answered by a span or a condition ("不得少于24小时，验收确认后方可撤离");
        # a day, month or year asked by name ("哪一年", "几月") only by a date.
        return bool(_ASKS_WHEN.search(question) and _HOLDS_SPAN.search(text))
    if _ASKS_FREQUENCY.search(question) and _HOLDS_FREQUENCY.search(text):
        return True
    if unit := _ASKS_UNIT.search(question):
        units = _UNIT_ALIASES.get(unit.group(1), (unit.group(1),))
        return any(re.search(_NUMBER + r"\s*(多|余|个|左右)?" + re.escape(u), text) for u in units)
    return bool(_HOLDS_NUMBER.search(text))
