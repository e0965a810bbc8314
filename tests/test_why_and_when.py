"""Answers to why, how-long and when questions on speeches nobody tuned for (issue 12): the
sentence that states the value, the causes after the speaker's own question, the whole list.
Every rule on full-width and half-width punctuation alike. No model, no Chroma."""

from __future__ import annotations

import pytest

from ingest.index.tokenize import tokenize
from rag.answer.answerability import asks_value, content_tokens, states_value
from rag.answer.continuation import continuation, following_sentences
from rag.answer.scoring import Sentence, score_sentences
from tests.test_answerability import _passage, both


def _at(text: str, opening: str) -> Sentence:
    """The sentence of `text` (passage 0) that starts with `opening`."""
    from ingest.index.text import split_sentences

    span = next(s for s in split_sentences(text) if text[s.start : s.end].strip().startswith(opening))
    return Sentence(0, span.start, span.end, text[span.start : span.end].strip(), 1.0)


@pytest.mark.parametrize("mark", ["？", "?"])
def test_an_opening_sentence_that_answers_is_scored_for_its_words(mark: str) -> None:
    """Words of the speech's opening pick the speech, so they are left out of its sentences' scores;
    but an opening sentence that does not describe the meeting may itself be the answer. One that
    does (“今天召开全市防汛工作会议”) still names the occasion only."""
    question = f"防汛期是从哪天开始的{mark}"
    tokens = tokenize(question)
    idf = dict.fromkeys(tokens, 1.0)
    title = "在全市安全生产工作会议上的讲话\n"
    opening = "同志们：从6月1日起，全市正式进入防汛期。"
    passages = [_passage(opening + "下面我讲三点意见。", "c1", "flood"), _passage("要落实防汛期值班制度。")]
    occasions = {"flood": title + opening, "s1": title}
    scored = score_sentences(tokens, passages, idf, occasions=occasions, value_asked=question)
    best = max(scored, key=lambda s: s.score)
    assert best.passage == 0 and "6月1日" in best.text, scored
    meeting = "同志们：今天召开全市防汛工作会议。"
    passages[0] = _passage(meeting + "下面我讲三点意见。", "c1", "flood")
    occasions["flood"] = title + meeting
    asked = tokenize(f"那次防汛会议部署了哪些值班制度{mark}")
    scored = score_sentences(asked, passages, dict.fromkeys(asked, 1.0), occasions=occasions)
    assert [s.score for s in scored if s.text == meeting] == [0]


@pytest.mark.parametrize("mark", ["？", "?"])
def test_several_is_no_count_asked_and_when_is_answered_by_a_span(mark: str) -> None:
    assert not asks_value(f"为什么井下出事往往不是死一个而是死好几个{mark}")
    assert not asks_value(f"为什么一死就是几十人{mark}")
    assert asks_value(f"井下有几个人{mark}")
    comma = "，" if mark == "？" else ","
    # "什么时候能撤" is answered by how long and on what condition; "哪一年" only by a year.
    span = f"看守火场时间不得少于24小时{comma}经验收确认后方可撤离。"
    assert states_value(f"明火扑灭后什么时候能撤{mark}", span)
    assert not states_value(f"防火指挥部是哪一年成立的{mark}", span)
    assert not states_value(f"什么时候能撤{mark}", f"要组织人员彻底清理余火{comma}严防复燃。")


@pytest.mark.parametrize("fullwidth", [True, False])
def test_a_list_whose_first_item_stands_after_a_colon_is_quoted_whole(fullwidth: bool) -> None:
    """ "为什么……？我看原因主要有三条：一是……；二是……；三是……。": the sentence after the question opens
    the list itself, so "二是" and "三是" are its items, not another list's (only two were quoted)."""
    text = (
        "为什么事故还是降不下来？我看原因主要有三条：一是外包管理失控；二是超能力生产；"
        "三是人员素质偏低。（三）抓好防汛。"
    )
    if not fullwidth:
        text = both(text)[1]
    lead = text[: text.index("？" if fullwidth else "?") + 1]
    following = following_sentences([_passage(text)], 0, len(lead), lambda p: None)
    items = continuation(lead, following)
    assert [i.text[:4] for i in items] == ["我看原因", "二是超能", "三是人员"]
    # ... and a lead that itself holds the first item after its colon is followed by the rest.
    first = following[0].text
    assert [i.text[:2] for i in continuation(first, following[1:])] == ["二是", "三是"]


@pytest.mark.parametrize("mark", ["？", "?"])
def test_a_why_question_quotes_the_reasons_after_the_speakers_own_question(mark: str) -> None:
    """ "我的判断是：比往年更加严峻。为什么这样说？一是……": the judgment is quoted with the reasons
    after it; the speaker's question between them is not."""
    from rag.answer.following import follow_list

    text = f"我的判断是比往年更加严峻。为什么这样说{mark}一是气候条件不利。二是可燃物大量积累。三、加强领导。"
    passages = [_passage(text)]
    end = text.index("。") + 1
    lead = Sentence(0, 0, end, text[:end], 1.0)
    quoted = [s.text for s in follow_list([lead], passages, lambda p: None)]
    assert quoted == [lead.text, "一是气候条件不利。", "二是可燃物大量积累。"]


@pytest.mark.parametrize("mark", ["？", "?"])
def test_a_why_question_prefers_a_cause_and_the_speakers_own_why(mark: str) -> None:
    from rag.answer.scoring import CAUSE_BONUS

    question = f"边坡为什么容易出事{mark}"
    tokens = tokenize(question)
    idf = dict.fromkeys(tokens, 1.0)
    plain = "边坡最容易出事的时候到了。"
    cause = "边坡容易出事，是因为台阶高度超过设计。"
    asked = f"为什么边坡容易出事{mark}"
    scores = {
        s.text: s.score
        for s in score_sentences(tokens, [_passage(plain + cause + asked)], idf, cause_bonus=CAUSE_BONUS)
    }
    assert scores[cause] > scores[plain] and scores[asked] > scores[cause]
    same = {s.text: s.score for s in score_sentences(tokens, [_passage(plain + cause)], idf)}
    assert same[cause] == same[plain]  # not for other questions


def test_when_at_the_latest_is_asking_not_naming() -> None:
    for mark in "？?":
        assert content_tokens(tokenize(f"报警器最晚要在什么时候装好{mark}")) == ["报警", "报警器"]


@pytest.mark.parametrize("fullwidth", [True, False])
def test_a_quoted_sentence_holding_the_first_item_brings_the_rest_of_its_list(fullwidth: bool) -> None:
    """A heading led the answer, and the sentences with 一是 and 三是 scored high enough to be quoted
    while 二是 did not: the list a quoted sentence opens is quoted whole."""
    from ingest.index.text import split_sentences
    from rag.answer.following import follow_lead

    text = (
        "（二）抓好除尘系统改造。除尘系统是粉尘防爆的心脏。"
        "重点抓好三件事：一是不得正压吹送；二是设置泄爆装置；三是不得共用系统。"
    )
    if not fullwidth:
        text = both(text)[1]
    spans = [(s.start, s.end, text[s.start : s.end].strip()) for s in split_sentences(text)]
    heading, opener, third = (
        next(s for s in spans if s[2].startswith(p)) for p in ("（二" if fullwidth else "(二", "重点", "三是")
    )
    chosen = [Sentence(0, *heading, 1.0), Sentence(0, *opener, 0.5), Sentence(0, *third, 0.4)]
    quoted = [s.text[:2] for s in follow_lead(chosen, [_passage(text)], lambda p: None, wants_set=True)]
    assert quoted[2:] == ["重点", "二是", "三是"]


@pytest.mark.parametrize("fullwidth", [True, False])
def test_a_heading_that_leads_a_list_answer_brings_its_sections_list(fullwidth: bool) -> None:
    """ "边坡讲话定了哪几条硬规矩？": the heading leads, its body restates the problem, and the rules
    stand three sentences on ("对此，要做到以下几点：一是……"); the next section's list is not its own."""
    from ingest.index.text import split_sentences
    from rag.answer.following import follow_lead

    text = (
        "（二）守住边坡这条生命线。事故十起有六起出在边坡上。台阶高度远远超过设计。"
        "对此，要做到以下几点：一是限期削坡减载；二是安装在线监测系统；三是先巡查边坡再复工。"
        "（三）管好尾矿库。要做到两点：一是闭库设计；二是专人管护。"
    )
    if not fullwidth:
        text = both(text)[1]
    first = split_sentences(text)[0]
    heading = Sentence(0, first.start, first.end, text[first.start : first.end].strip(), 1.0)
    quoted = [s.text[:4] for s in follow_lead([heading], [_passage(text)], lambda p: None, wants_set=True)]
    assert quoted[-2:] == ["二是安装", "三是先巡"] and quoted[-3].startswith("对此")
    assert not any("闭库" in q for q in quoted)


@pytest.mark.parametrize("fullwidth", [True, False])
def test_a_list_whose_first_item_is_quoted_already_is_quoted_whole(fullwidth: bool) -> None:
    """ "凭什么说管得住？": the speaker's question and its "一是……；" scored high and were chosen, after a
    sentence from elsewhere; "二是" and "三是" were left out because the first item was quoted already.
    The list is quoted in its order, without the speaker's question."""
    from rag.answer.following import follow_lead

    text = (
        "有人说渔船一出海就管不着。为什么说管得着？一是有了北斗，岸上看得清楚；"
        "二是责任可以追到人头上；三是出港报告制度已经建立。关键是愿不愿意管。"
    )
    if not fullwidth:
        text = both(text)[1]
    elsewhere = _passage("船东是渔船安全生产的第一责任人。", "c2", "s2")
    chosen = [Sentence(1, 0, 16, elsewhere.text, 1.0), _at(text, "为什么"), _at(text, "一是")]
    quoted = follow_lead(chosen, [_passage(text), elsewhere], lambda p: None, wants_set=True)
    assert [s.text[:2] for s in quoted] == ["船东", "一是", "二是", "三是"]


def test_every_why_word_asks_for_the_set_of_reasons() -> None:
    from rag.answer.extractive import ASKS_FOR_SET
    from rag.answer.scoring import ASKS_WHY

    for question in ("凭什么说管得住？", "何以见得形势严峻?", "为啥总是整改不彻底？", "怎么会反复出问题?"):
        assert ASKS_WHY.search(question) and ASKS_FOR_SET.search(question), question
    assert ASKS_FOR_SET.search("水上安全有哪些薄弱点？") and ASKS_FOR_SET.search("还有哪些差距?")
    assert not ASKS_WHY.search("什么是“三查三清”？")


@pytest.mark.parametrize("fullwidth", [True, False])
def test_a_why_question_answered_by_a_conclusion_quotes_the_grounds_before_it(fullwidth: bool) -> None:
    """ "这就告诉我们，防火的重点不在深山，而在林缘。" answers "为什么重点在林子边上？" only with the
    facts before it, in its paragraph; the paragraph before is not quoted, nor is anything for a
    sentence that concludes nothing."""
    from rag.answer.following import follow_lead

    text = (
        "今年要抓好宣传。\n去年发生火情6起，其中5起由农事用火引起。火情发生在哪里？"
        "基本都在林缘结合部。这就告诉我们，防火的重点不在深山，而在林缘。"
    )
    if not fullwidth:
        text = both(text)[1]
    conclusion = _at(text, "这就告诉")
    quoted = [
        s.text[:4] for s in follow_lead([conclusion], [_passage(text)], lambda p: None, wants_grounds=True)
    ]
    assert quoted == ["去年发生", "火情发生", "基本都在", "这就告诉"]
    fact = _at(text, "基本都在")
    assert follow_lead([fact], [_passage(text)], lambda p: None, wants_grounds=True) == [fact]


@pytest.mark.parametrize("fullwidth", [True, False])
def test_a_how_question_answered_inside_a_numbered_item_quotes_the_item_whole(fullwidth: bool) -> None:
    """ "清明上坟这事怎么管？": the best sentence is one step of item "3." (登记、值守), and the next step
    (倡导鲜花祭扫) is in the same item: the item is quoted whole, heading first. A sentence of a
    plain paragraph, or of an item longer than one measure, is left as it was."""
    from rag.answer.following import ITEM_SENTENCES, follow_lead

    item = (
        "3.把住祭祀用火关。清明是祭祀用火的高峰期。各乡镇要组织对坟地逐一登记，安排专人值守。要倡导鲜花祭扫。"
    )
    text = "（二）管住火源。\n" + item + "\n4.管好特殊人群。要逐一登记造册。"
    if not fullwidth:
        text = both(text)[1]
    lead = _at(text, "各乡镇")
    quoted = [s.text[:2] for s in follow_lead([lead], [_passage(text)], lambda p: None, wants_measures=True)]
    assert quoted == ["3.", "清明", "各乡", "要倡"]
    plain = text.replace("3.", "")
    lead = _at(plain, "各乡镇")
    assert follow_lead([lead], [_passage(plain)], lambda p: None, wants_measures=True) == [lead]
    long = text.replace("要倡导鲜花祭扫。", "要倡导鲜花祭扫。" * ITEM_SENTENCES)
    lead = _at(long, "各乡镇")
    assert follow_lead([lead], [_passage(long)], lambda p: None, wants_measures=True) == [lead]


@pytest.mark.parametrize("fullwidth", [True, False])
def test_a_how_question_quotes_the_measures_a_sentence_announces_but_not_the_next_headings(
    fullwidth: bool,
) -> None:
    """ "网格员怎么用到消防上？": "要把消防安全纳入网格化管理。" is followed by its measures, "第一，……；
    第二，……", which are quoted; a sentence followed by the headings of the next sections is not."""
    from rag.answer.following import follow_lead

    text = (
        "（三）落实属地责任。\n各区要把消防安全纳入网格化管理。第一，要把网格员用起来，年底前完成培训；"
        "第二，要建立有奖举报制度。\n（四）加强宣传。\n（五）严格考核。"
    )
    if not fullwidth:
        text = both(text)[1]
    lead = _at(text, "各区")
    quoted = [s.text[:2] for s in follow_lead([lead], [_passage(text)], lambda p: None, wants_measures=True)]
    assert quoted == ["各区", "第一", "第二"]
    last = _at(text, "第二")
    assert follow_lead([last], [_passage(text)], lambda p: None, wants_measures=True) == [last]


@pytest.mark.parametrize("mark", ["？", "?"])
def test_the_speakers_why_question_is_read_with_its_heading(mark: str) -> None:
    """The speaker's own why-question points back to its subject ("为什么这里最容易出事？"), which its
    section heading names; read with it, it outscores a sentence elsewhere that only names the subject."""
    from dataclasses import replace

    from rag.answer.scoring import CAUSE_BONUS

    question = f"农村自建房为什么特别容易坍塌{mark}"
    tokens = tokenize(question)
    idf = dict.fromkeys(tokens, 1.0)
    asked = f"为什么这类房子这么容易出问题{mark}"
    passages = [
        _passage("进入汛期，正是农村自建房最容易坍塌的时候。"),
        replace(
            _passage(f"{asked}因为不少房子私搭乱建，没有经过设计。", "c2"),
            heading_path="二、突出重点 > （二）守住农村自建房安全",
        ),
    ]
    scored = score_sentences(tokens, passages, idf, cause_bonus=CAUSE_BONUS)
    best = max(scored, key=lambda s: s.score)
    assert best.passage == 1 and best.text == asked, scored


@pytest.mark.parametrize(
    "text",
    both(
        "原因在哪里？我看主要有三条：一是主体责任悬空，重效益、轻安全；二是部门监管存在缝隙，信息不互通；"
        "三是执法处罚偏软，违法成本低。这些问题必须解决。"
    ),
)
def test_a_later_item_lead_brings_the_items_before_it(text: str) -> None:
    """ "根源在哪里？" led by "三是执法处罚偏软": one reason of three; the list is quoted from its first
    item, which stands in the sentence that announces it."""
    from rag.answer.continuation import earlier_items, preceding_sentences
    from rag.answer.following import follow_items

    passage = _passage(text)
    lead = _at(text, "三是")
    before = earlier_items(lead.text, preceding_sentences(passage, 0, lead.start))
    assert [f.text[:6] for f in before] == ["我看主要有三", "二是部门监管"]
    chosen = follow_items([lead], [passage], lambda p: None)
    assert [s.text[:2] for s in chosen] == ["我看", "二是", "三是"]
    # A list that cannot be followed back to its first item is not this one.
    cut = text[text.index("二是") :]
    assert earlier_items(lead.text, preceding_sentences(_passage(cut), 0, cut.index("三是"))) == []


@pytest.mark.parametrize("fullwidth", [True, False])
def test_a_measures_question_answered_by_a_description_quotes_what_its_paragraph_directs(
    fullwidth: bool,
) -> None:
    """ "快开门式压力容器的联锁问题怎么整治？": the best sentence describes the subject ("全市现有……146台，
    主要是……"); the measure is said later in its paragraph, pointing back ("必须对146台设备……核查"), and is
    quoted after it. The next paragraph's directions are not, nor is anything added to a lead that directs."""
    from rag.answer.following import follow_lead

    text = (
        "压力容器方面，重点是快开门式压力容器。全市现有快开门式压力容器146台，主要是蒸压釜和杀菌锅。"
        "去年检查发现，有21台联锁装置失效。今年6月底前，必须对146台设备逐台核查。\n（四）气瓶。要推行一瓶一码。"
    )
    if not fullwidth:
        text = both(text)[1]
    lead = _at(text, "全市现有")
    quoted = follow_lead([lead], [_passage(text)], lambda p: None, wants_directions=True)
    assert [s.text[:2] for s in quoted] == ["全市", "今年"]
    directing = _at(text, "今年")
    assert follow_lead([directing], [_passage(text)], lambda p: None, wants_directions=True) == [directing]


def test_asking_for_requirements_is_asking_for_measures() -> None:
    from rag.answer.scoring import ASKS_MEASURES

    for question in ("新盖自建房有什么要求？", "游乐设备营业前要做哪些检查?", "发证时要把什么关?"):
        assert ASKS_MEASURES.search(question), question
    for question in ("“四个一律”要求什么？", "全市有多少台电梯?", "为什么要整治?"):
        assert not ASKS_MEASURES.search(question), question


@pytest.mark.parametrize("fullwidth", [True, False])
def test_a_why_question_quotes_the_speakers_own_answer_a_chosen_sentence_belongs_to(fullwidth: bool) -> None:
    """ "为什么总有房主冒险乱改自建房？": the best sentence is the body of the first cause, inside the
    speaker's answer to "这些问题的根源在哪里？"; that answer's items are quoted first. A chosen speaker's
    question gives way to its answer; a section's heading ends the search, and an answer given by
    sections (headings that open paragraphs) is left alone."""
    from rag.answer.following import follow_lead

    text = (
        "（四）机制不健全。部门之间衔接不够。这些问题的根源在哪里？归根到底有三条。一是利益驱动。"
        "一栋自建房改成民宿，一年租金收入十几万元，有的业主不惜冒险拆改结构。二是法治意识淡薄。三是监管存在盲区。"
    )
    other = text.replace("一栋", "\n（五）加强监管。一栋")
    if not fullwidth:
        text, other = both(text)[1], both(other)[1]
    body = _at(text, "一栋")
    quoted = follow_lead([body], [_passage(text)], lambda p: None, wants_grounds=True)
    assert [s.text[:2] for s in quoted] == ["一是", "二是", "三是", "一栋"]
    asked = _at(text, "这些问题")
    quoted = follow_lead([_at(text, "部门"), asked], [_passage(text)], lambda p: None, wants_grounds=True)
    assert [s.text[:2] for s in quoted] == ["一是", "二是", "三是", "部门"]
    lead = _at(other, "一栋")
    assert follow_lead([lead], [_passage(other)], lambda p: None, wants_grounds=True) == [lead]
    sections = "为什么要二次创业？\n（一）是形势的需要。\n形势变了。\n（二）是现状决定的。\n产业还小。"
    if not fullwidth:
        sections = both(sections)[1]
    lead = _at(sections, "产业")
    assert follow_lead([lead], [_passage(sections)], lambda p: None, wants_grounds=True) == [lead]


def test_the_speaker_asks_back_for_roots_too_and_a_vague_count_asks_no_value() -> None:
    from rag.answer.scoring import ASKED_BACK

    for said in ("这些问题的根源在哪里？", "问题到底出在哪儿?", "症结在哪里？", "原因何在?"):
        assert ASKED_BACK.search(said), said
    assert not ASKED_BACK.search("要找准问题的根源。")
    for question in ("整治都搞了几年了，为什么还说不能松劲？", "近几年事故为什么多?", "干了几天了?"):
        assert not asks_value(question), question
    for question in ("检验周期是几年？", "发生了几起事故?", "每天几点开门？"):
        assert asks_value(question), question


class _NoOpenings:
    """A store whose speeches have no opening, no head and no other chunks."""

    def titled_openings(self, speech_ids: object) -> dict[str, tuple[str, str]]:
        return {}

    def speech_heads(self, speech_ids: object) -> dict[str, str]:
        return {}

    def speech_chunks(self, speech_id: str) -> list[tuple[str, str, dict[str, object]]]:
        return []


@pytest.mark.parametrize("fullwidth", [True, False])
def test_asking_for_requirements_prefers_what_must_be_done_as_a_how_question_does(
    fullwidth: bool, tmp_path
) -> None:
    """ "新建自建房在设计施工上有什么要求？" asks what is to be done as "怎么设计施工" does: a sentence that
    directs outranks one that describes the subject with a few more of the question's words."""
    from tests.test_value_questions import _best, _composer

    text = (
        "全县农村自建房中，不少当初没有经过正规设计，施工全靠工匠凭经验。"
        "今后新建3层及以上的自建房，必须由有资质的单位设计，由有资质的单位施工。"
    )
    text = text if fullwidth else both(text)[1]
    composer, mark = _composer(text, tmp_path), "？" if fullwidth else "?"
    assert _best(composer, f"农村新建自建房在设计施工上有什么要求{mark}", text)[:2] == "今后"
    assert _best(composer, f"农村新建自建房怎么设计施工{mark}", text)[:2] == "今后"
    assert _best(composer, f"农村新建自建房的设计施工情况{mark}", text)[:2] == "全县"  # not what to do


@pytest.mark.parametrize("fullwidth", [True, False])
def test_a_which_ones_question_prefers_the_sentence_that_enumerates(fullwidth: bool, tmp_path) -> None:
    """ "高风险的游乐项目都有哪些？" is answered by the sentence that lists them ("玻璃栈道、高空滑索、
    丛林穿越等…"), not by the one before it that names their kind with the same words; a
    which-measures question is a how-question and gets no such factor."""
    from tests.test_value_questions import _best, _composer

    text = (
        "全市景区要规范高风险游乐项目管理，逐个开展安全评估。"
        "玻璃栈道、高空滑索、丛林穿越、峡谷漂流等全市景区高风险游乐项目共37个。"
    )
    text = text if fullwidth else both(text)[1]
    composer, mark = _composer(text, tmp_path), "？" if fullwidth else "?"
    assert _best(composer, f"景区里的高风险游乐项目都有哪些{mark}", text)[:2] == "玻璃"
    assert _best(composer, f"景区里的高风险游乐项目管理得怎么样{mark}", text)[:2] == "全市"  # no list
    assert _best(composer, f"景区里的高风险游乐项目有哪些管理措施{mark}", text)[:2] == "全市"  # measures


@pytest.mark.parametrize("fullwidth", [True, False])
def test_a_sentence_that_lists_its_own_items_does_not_bring_the_next_sections(fullwidth: bool) -> None:
    """ "分几个阶段，各是什么时间？": the sentence gives the three stages after its colon; the
    sub-section headings that follow it ("（一）电梯：…") are the section's next topics, not its list.
    A sentence that only announces ("重点抓好三项工作：") still brings them."""
    from ingest.index.text import split_sentences
    from rag.answer.following import follow_lead

    def quoted(lead: str) -> list[str]:
        text = f"{lead}\n（一）电梯：抓住老旧更新\n（二）起重机械：严防带病运转\n"
        if not fullwidth:
            text = both(text)[1]
        first = split_sentences(text)[0]
        chosen = [Sentence(0, first.start, first.end, text[first.start : first.end].strip(), 1.0)]
        return [s.text[:3] for s in follow_lead(chosen, [_passage(text)], lambda p: None, wants_set=True)]

    own = (
        "整个行动分三个阶段推进：3月至6月底为集中排查阶段，7月至9月底为集中整治阶段，10月至11月底为总结阶段。"
    )
    assert len(quoted(own)) == 1
    assert len(quoted("今年重点抓好以下两项工作：")) == 3
