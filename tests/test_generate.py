"""Generated answers with a scripted chat model: the guard, the fall-backs, the prompt budget.

The model is a fake here (a narrow unit test of what we do with its words); the
real llama.cpp model and server are in test_llm_real.py. Everything else is real:
the seed index, the embedding model, retrieval and the extractive gate.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from rag.api import PolicyQA
from rag.config import Settings
from rag.generate.generative import QUOTES_HEADER, GenerativeAnswerer, build_context, take_sentence
from rag.generate.guard import attribution, bigrams, judge, split_claims, support, without_topic
from rag.llm.bundled import ModelIntegrityError, gguf_path, join_parts
from rag.types import Answer
from tests.conftest import SEED

# The national “四个一律” (2013), which the speeches name but never list: a model's memory.
FOUR_ALWAYS_FROM_MEMORY = (
    "对非法生产经营建设和经停产整顿仍未达到要求的,一律关闭取缔[1];"
    "对非法生产经营建设的有关单位和责任人,一律按规定上限予以经济处罚[1];"
    "对存在违法生产行为的单位,一律责令停产整顿[1];"
    "对触犯法律的有关单位和人员,一律依法严格追究法律责任[1]。"
)
FROM_THE_SPEECH = "讲话要求严格执行“四个一律”“五个一批”,做到隐患没消除决不收兵[1]。"


class ScriptedChat(BaseChatModel):
    """Replies with the next scripted text, three characters per streamed chunk."""

    replies: list[str | Callable[[str], str]]  # a callable writes its reply from the prompt
    calls: list[list[BaseMessage]]

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _stream(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any):
        self.calls.append(messages)
        reply = self.replies.pop(0)
        text = reply(messages[-1].text) if callable(reply) else reply
        for i in range(0, len(text), 3):
            yield ChatGenerationChunk(message=AIMessageChunk(content=text[i : i + 3]))

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any):
        text = "".join(c.text for c in self._stream(messages))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


def writing_qa(seed_store_dir: Path, model_cache: Path, embedder: object, *replies: str):
    settings = Settings(
        store_dir=seed_store_dir,
        data_dir=SEED.parent,
        model_cache=model_cache,
        llm="openai",
        openai_base_url="http://127.0.0.1:9/v1",
    )
    qa = PolicyQA(settings)
    qa._embedder = embedder  # type: ignore[assignment]
    model = ScriptedChat(replies=list(replies), calls=[])
    qa._writer = GenerativeAnswerer(model, settings, "scripted")
    return qa, model


def streamed(qa: PolicyQA, question: str, history: Any = None) -> tuple[str, Answer]:
    pieces = list(qa.ask_stream(question, history))
    answer = pieces[-1]
    assert isinstance(answer, Answer)
    return "".join(p for p in pieces if isinstance(p, str)), answer


def test_guard_drops_a_list_the_speeches_never_give(seed_store_dir, model_cache, embedder):
    qa, _ = writing_qa(
        seed_store_dir, model_cache, embedder, FROM_THE_SPEECH + "“四个一律”是指:" + FOUR_ALWAYS_FROM_MEMORY
    )
    text, answer = streamed(qa, "“四个一律”要求什么?")
    assert answer.mode == "generated" and not answer.refused
    for invented in ("关闭取缔", "经济处罚", "责令停产整顿", "追究法律责任"):
        assert invented not in text and invented not in answer.text
    assert "严格执行“四个一律”" in answer.text
    assert answer.generation is not None and len(answer.generation.dropped) >= 4
    assert "略去" in answer.text  # the reader is told something was removed
    assert "没有列出它的具体内容" in answer.text  # and that the speeches never list the items
    assert text == answer.text  # nothing was shown that the final answer does not hold


def test_a_term_only_mentioned_is_named_to_the_model_and_its_re_attribution_dropped(
    seed_store_dir, model_cache, embedder
):
    reattributed = "“四个一律”要求对重点问题、重大隐患盯死看牢、一抓到底[1]。"
    qa, model = writing_qa(seed_store_dir, model_cache, embedder, FROM_THE_SPEECH + reattributed)
    text, answer = streamed(qa, "“四个一律”要求什么?")
    assert "只提到了“四个一律”" in model.calls[0][-1].text, "the model is told the term is only mentioned"
    assert "盯死看牢" not in text.split("讲话原文")[0], "the re-attributed sentence is not shown as written"
    assert answer.generation is not None and any("盯死看牢" in d for d in answer.generation.dropped)


def test_citation_numbers_are_checked_and_renumbered(seed_store_dir, model_cache, embedder):
    qa, _ = writing_qa(
        seed_store_dir,
        model_cache,
        embedder,
        "要全面落实“三个必须”,管行业必须管安全、管业务必须管安全、管生产必须管安全[7]。",
    )
    _, answer = streamed(qa, "“三个必须”指什么?")
    assert answer.mode == "generated"
    assert answer.generation is not None and answer.generation.bad_citations == 1
    assert answer.text.endswith("[1]") and len(answer.citations) == 1
    assert "管业务必须管安全" in answer.citations[0].passage
    assert support(split_claims(answer.text)[0].bare, answer.citations[0].passage) >= 0.6


def test_nothing_supported_falls_back_to_the_quotes(seed_store_dir, model_cache, embedder):
    qa, _ = writing_qa(seed_store_dir, model_cache, embedder, FOUR_ALWAYS_FROM_MEMORY)
    _, answer = streamed(qa, "“四个一律”要求什么?")
    assert answer.mode == "extractive" and answer.generation and answer.generation.fell_back
    assert "关闭取缔" not in answer.text and "严格执行“四个一律”" in answer.text


def test_a_model_refusal_of_an_answerable_question_falls_back(seed_store_dir, model_cache, embedder):
    qa, _ = writing_qa(seed_store_dir, model_cache, embedder, "现有讲话中没有找到能回答这个问题的内容。")
    _, answer = streamed(qa, "汛期排查隐患按什么原则?")
    assert not answer.refused and answer.generation and answer.generation.model_refused
    assert "雨前排查" in answer.text


def test_unanswerable_questions_never_reach_the_model(seed_store_dir, model_cache, embedder):
    qa, model = writing_qa(seed_store_dir, model_cache, embedder, "不应被调用")
    _, answer = streamed(qa, "核电站的乏燃料应该怎么处置?")
    assert answer.refused and model.calls == []


def test_a_follow_up_is_condensed_before_retrieval(seed_store_dir, model_cache, embedder):
    qa, model = writing_qa(
        seed_store_dir,
        model_cache,
        embedder,
        "汛期隐患排查遵循什么原则?",
        "按照“雨前排查、雨中巡查、雨后核查”的原则开展隐患排查[1]。",
    )
    history = [("汛期要做好哪些工作?", "要做好防汛准备。")]
    _, answer = streamed(qa, "那排查隐患按什么原则呢?", history)
    assert "汛期要做好哪些工作" in model.calls[0][-1].text  # the history went to the rewrite
    assert answer.generation and answer.generation.standalone_question == "汛期隐患排查遵循什么原则?"
    assert "雨前排查" in answer.text and answer.mode == "generated"


@pytest.mark.parametrize("mark", ["？", "?"])
def test_a_rewrite_that_still_lacks_the_subject_gives_way_to_the_rule_based_query(mark):
    from rag.generate.condense import condense, takes_from_history

    history = [(f"县财政今年给校园安全拨了多少专项资金{mark}", "县财政今年安排校园安全专项资金860万元。")]
    question = f"这笔钱允许挪作他用吗{mark}"
    assert not takes_from_history(f"这笔钱是否允许挪作他用{mark}", question, history)
    assert takes_from_history(f"校园安全专项资金允许挪作他用吗{mark}", question, history)
    model = ScriptedChat(replies=[f"这笔钱是否允许挪作他用{mark}"], calls=[])
    standalone = condense(model, question, history)
    assert "校园安全" in standalone and question in standalone, "the earlier question joins the follow-up"


def test_the_prompt_keeps_to_its_budget_and_keeps_the_evidence(seed_qa):
    question = "汛期排查隐患按什么原则?"
    passages = seed_qa.retriever.search(question, 6)
    from rag.answer.extractive import AnswerComposer

    composer = AnswerComposer(seed_qa.embedder, seed_qa.settings, seed_qa.keywords, seed_qa.store)
    scored, _ = composer.sentence_scores(question, question, passages)
    best = max(scored, key=lambda s: s.score)
    for budget in (400, 1000):
        context = build_context(passages, scored, [best], budget)
        assert len(context.render()) <= budget
        assert "雨前排查" in context.render()
    assert sum(len(p.text) for p in passages) > 1000  # so the budget did trim


def test_sentences_are_taken_whole_with_their_markers():
    assert take_sentence("要落实责任[1") is None
    assert take_sentence("要落实责任。") is None  # the marker may still come
    assert take_sentence("要落实责任。[1") is None
    assert take_sentence("要落实责任。[1][2]同时") == ("要落实责任。[1][2]", "同时")
    assert take_sentence("要落实责任[1]。同时要") == ("要落实责任[1]。", "同时要")
    claims = split_claims("一是明确责任【1、2】;二是强化监管。[3]")
    assert [c.cited for c in claims] == [(1, 2), (3,)]


def test_a_marker_that_opens_a_line_belongs_to_that_line():
    claims = split_claims("[1]出台了考核记分办法。\n[2]建立了开工报告制度。\n要落实责任。[3]")
    assert [(c.bare, c.cited) for c in claims] == [
        ("出台了考核记分办法。", (1,)),
        ("建立了开工报告制度。", (2,)),
        ("要落实责任。", (3,)),
    ]


IRON = (
    "各地、各部门和各企业一定要把问题想得更细,把功夫下得更深,把工作抓得更实,严防死守,"
    "用铁的手腕抓安全,用铁的规章促安全,用铁的纪律管安全,有效防范和坚决遏制各类安全生产事故的发生。"
)


def test_the_guard_reads_a_restated_question_as_the_topic_not_a_claim():
    question = "讲话最后用哪三个“铁”概括抓安全的方法?"
    answer = "抓安全的方法有铁的手腕、铁的规章、铁的纪律。"  # right, but 的方/方法/法有 are not in the speech
    assert without_topic(answer, question) == "有铁的手腕、铁的规章、铁的纪律。"
    assert support(answer, IRON) < support(answer, IRON, question)
    assert support(answer, IRON, question) >= 0.8
    assert "腕铁" not in bigrams(answer)  # the model's 、 joins items; it is not a word to look for
    # Only an opening counts: the same premise later in the sentence is still checked.
    premise = "铁的手腕就是抓安全的方法,要一律关闭取缔。"
    assert support(premise, IRON, question) < 0.6
    # A sentence that only restates the question claims nothing and backs nothing.
    assert support("抓安全的方法", IRON, question) < 0.6


def test_judge_repoints_to_the_passage_that_backs_a_sentence():
    passages = ["会议要求加强隐患排查治理。", "要全面落实“三个必须”要求。"]
    verdict = judge(split_claims("要全面落实“三个必须”要求[1]。")[0], passages, 0.6)
    assert verdict.passage == 1 and verdict.repointed
    assert not judge(split_claims("一律关闭取缔[2]。")[0], passages, 0.6).supported


HALF = str.maketrans("，：；？！（）", ",:;?!()")


@pytest.mark.parametrize("width", ["full", "half"])
def test_a_sentence_saying_what_a_term_requires_needs_the_passage_to_say_it_of_the_term(width):
    """The issue's case: the passage says the campaigns must watch hazards closely *and* enforce
    “四个一律”; "“四个一律”要求盯死看牢" re-attributes the first to the second."""
    passage = (
        "要对重点问题、重大隐患盯死看牢、一抓到底，综合运用通报、约谈、警示、曝光等措施，"
        "严格执行“四个一律”“五个一批”，做到问题没处理决不放过。"
    )
    claim = "“四个一律”要求对重点问题、重大隐患盯死看牢、一抓到底[1]。"
    if width == "half":
        passage, claim = passage.translate(HALF), claim.translate(HALF)
    assert attribution(split_claims(claim)[0].bare) is not None
    assert support(split_claims(claim)[0].bare, passage) >= 0.6, "every word is in the passage"
    verdict = judge(split_claims(claim)[0], [passage], 0.6)
    assert not verdict.supported and verdict.flagged == "attribution"
    # Said of the passage's own subject, the same words are backed.
    assert judge(split_claims("要对重点问题、重大隐患盯死看牢、一抓到底[1]。")[0], [passage], 0.6).supported


@pytest.mark.parametrize("width", ["full", "half"])
def test_a_definition_after_a_heading_or_by_parts_backs_the_term(width):
    passage = "（二）推行“两查一改”。“两查”就是查隐患、查制度，“一改”就是限期整改。各县区要抓好落实。"
    claims = ["“两查一改”是指查隐患、查制度和限期整改[1]。", "“一改”就是限期整改[1]。"]
    if width == "half":
        passage = passage.translate(HALF)
    for claim in claims:
        verdict = judge(split_claims(claim)[0], [passage], 0.6)
        assert verdict.supported, claim
    # A sentence that attributes nothing is judged as before.
    assert attribution("各县区要抓好落实。") is None


def test_joined_model_parts_are_checked(tmp_path):
    parts = []
    for i, content in enumerate([b"GGUF" + b"a" * 100, b"b" * 50]):
        part = tmp_path / f"part{i}.bin"
        part.write_bytes(content)
        parts.append(part)
    good = hashlib.sha256(b"GGUF" + b"a" * 100 + b"b" * 50).hexdigest()
    target = tmp_path / "cache" / "model.gguf"
    with pytest.raises(ModelIntegrityError, match="SHA-256"):
        join_parts(parts, target, "0" * 64)
    assert not target.exists() and not list(target.parent.glob("*.partial"))
    assert join_parts(parts, target, good).read_bytes().startswith(b"GGUF")
    with pytest.raises(FileNotFoundError, match="neither a bundled model"):
        gguf_path("no-such-model", tmp_path)


def test_extractive_mode_stays_the_default(seed_qa):
    assert seed_qa.settings.llm == "none" and seed_qa.writer is None
    assert seed_qa.ask("“三个必须”指什么?").mode == "extractive"


def test_a_model_that_fails_leaves_the_quotes(seed_store_dir, model_cache, embedder):
    qa, model = writing_qa(seed_store_dir, model_cache, embedder)  # no reply scripted: the call fails
    text, answer = streamed(qa, "汛期排查隐患按什么原则?")
    assert len(model.calls) == 1 and not answer.refused
    assert answer.generation is not None and answer.generation.error and answer.generation.fell_back
    assert "语言模型暂时不可用" in text and "雨前排查" in answer.text


def _passage_numbers(prompt: str) -> dict[int, str]:
    """The excerpts of a rendered prompt by their [n]."""
    found = re.findall(r"^\[(\d+)\]《[^》]*》\n(.*?)(?=\n\n\[\d+\]《|\n\n问题:)", prompt, re.S | re.M)
    return {int(n): text for n, text in found}


def test_an_answer_rests_on_one_passage_and_keeps_what_the_model_left_out(
    seed_store_dir, model_cache, embedder
):
    """The model answers from the right passage but gives one item of three, then wanders into
    another passage: the wandering sentence is set aside and the passage's own sentence with all
    three items follows under 讲话原文, citing the same passage."""
    wandered: list[str] = []

    def reply(prompt: str) -> str:
        excerpts = _passage_numbers(prompt)
        home = next(n for n, text in excerpts.items() if "铁的手腕" in text)
        other = next(
            sentence
            for n, text in excerpts.items()
            if n != home
            for sentence in re.findall(r"[^。;!?……]{15,}[。;]", text)
            if support(sentence, excerpts[home]) < 0.3
        )
        wandered.append(other)
        return f"抓安全首先要用铁的手腕[{home}]。{other}[{home}]"

    qa, _ = writing_qa(seed_store_dir, model_cache, embedder, reply)
    text, answer = streamed(qa, "会议要求用哪三个“铁”来抓安全?")
    assert answer.mode == "generated" and answer.generation is not None
    assert answer.generation.set_aside == (wandered[0].strip(),)
    assert wandered[0].strip() not in answer.text
    assert len(answer.citations) == 1 and "铁的纪律" in answer.citations[0].passage
    written, quotes = answer.text.split(f"\n\n{QUOTES_HEADER}\n")
    assert written.startswith("抓安全首先要用铁的手腕")
    assert "用铁的规章促安全,用铁的纪律管安全" in quotes and quotes.rstrip().endswith("[1]")
    assert answer.generation.completed >= 1
    assert text == answer.text


@pytest.mark.parametrize("comma", ["，", ","])
def test_a_sentence_that_pins_the_question_on_a_passage_about_something_else_is_unsupported(comma):
    """Most of the sentence's bigrams are the passage's, but the passage never names what the
    question asks about: the measure of one thing said of another, or one figure said of another."""
    fire = f"扑救森林火灾{comma}必须坚持“以人为本、科学扑救”{comma}严禁组织老人和学生参与扑火。"
    question = "锂电池储能电站起火有哪些扑救措施?"
    assert support(f"扑救锂电池储能电站起火{comma}必须坚持“以人为本、科学扑救”。", fire, question) == 0.0
    assert support(f"扑救森林火灾{comma}必须坚持“以人为本、科学扑救”。", fire, question) >= 0.6
    fund = f"今年安排专项资金1200万元{comma}主要用于护林员补助。"
    assert support("护林员每个月的补助标准是1200元。", fund, "护林员每个月的补助标准是多少钱?") == 0.0
    # One word of the question restated in other terms than the passage's is framing, not a pin.
    crashes = f"2023年{comma}全市涉及电动自行车的交通事故有132起{comma}死亡29人。"
    restated = f"去年涉及电动自行车的交通事故有132起{comma}死亡29人。"
    assert support(restated, crashes, "去年涉及电动自行车的交通事故有多少起?") >= 0.6
