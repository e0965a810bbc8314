"""The chat page in a real browser (Debian's Chromium, headless) against a live `python app.py`.

Ask and see cited source cards; upload a new speech as admin and get answers from it; a
question full of markup shows as literal text and runs nothing. Screenshots go to artifacts/.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.test_app import ADMIN_PASSWORD, LiveApp, live_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "artifacts"
TIMEOUT_MS = 90_000  # the first question may wait for the model to finish loading
NEW_SPEECH = (
    "在全县危化品安全会议上的讲话\n\n同志们:\n\n"
    "今年全县要落实“三查两改一销号”,即查隐患、查制度、查责任,改设施、改流程,隐患销号。"
)
XSS_QUESTION = "<img src=x onerror=alert(1)>"

pytestmark = pytest.mark.slow

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium", pytrace=False)
    pytest.skip(
        f"{CHROMIUM} is missing (apt-get install chromium) — browser tests skipped", allow_module_level=True
    )

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect
# Every other expectation gets room too: a loaded CI machine can be slow to repaint.
expect.set_options(timeout=30_000)


@pytest.fixture(scope="module")
def web_app(tmp_path_factory: pytest.TempPathFactory, seed_store_dir: Path, model_cache: Path):
    with live_app(tmp_path_factory.mktemp("browser-app"), seed_store_dir, model_cache) as live:
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, web_app: LiveApp):
    """A fresh page on the app; every dialog it opens is recorded (and dismissed)."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    started = time.perf_counter()
    page.goto(web_app.url)
    page.locator("#pq-question textarea").wait_for(timeout=TIMEOUT_MS)
    print(f"\n[browser] page usable {time.perf_counter() - started:.2f} s after navigation")
    yield page
    context.close()


def shot(page, name: str, top=None) -> None:
    """A screenshot in artifacts/; ``top``: an element to scroll to the top of its container first."""
    if top is not None:
        top.evaluate("element => element.scrollIntoView({block: 'start'})")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"browser-{name}.png"), full_page=True)


def ask(page, question: str) -> object:
    """Type the question, press Enter, wait for the finished answer; return its message element."""
    done = page.locator("#pq-chat .pq-done")
    before = done.count()
    box = page.locator("#pq-question textarea")
    box.fill(question)
    started = time.perf_counter()
    box.press("Enter")
    expect(done).to_have_count(before + 1, timeout=TIMEOUT_MS)
    print(f"[browser] {question[:30]!r} answered in {time.perf_counter() - started:.2f} s")
    return done.nth(before)


def test_question_gets_an_answer_with_citation_cards(page) -> None:
    answer = ask(page, "“三个必须”指什么?")
    card = answer.locator(".pq-card").first
    expect(card).to_be_visible()
    title = card.locator(".pq-title")
    expect(title).to_have_text(re.compile(r"《.+》"))
    expect(card.locator("mark").first).to_contain_text("三个必须")
    expect(card.locator(".pq-src")).to_contain_text("000_6f579f50373472dc.txt")
    expect(answer.locator(".pq-text")).to_contain_text("管行业必须管安全")
    # the question shows in the chat as the user typed it
    expect(page.locator("#pq-chat .pq-question").last).to_have_text("“三个必须”指什么?")
    shot(page, "01-answer", top=page.locator("#pq-chat .pq-question").last)
    ask(page, "汛期排查隐患按什么原则?")
    page.get_by_role("button", name="新对话").click()
    expect(page.locator("#pq-chat .pq-done")).to_have_count(0, timeout=TIMEOUT_MS)
    # an example question is asked by clicking it
    page.get_by_role("button", name="煤矿当前的“三个多发”是什么?").click()
    expect(page.locator("#pq-chat .pq-question")).to_have_text(["煤矿当前的“三个多发”是什么?"])
    expect(page.locator("#pq-chat .pq-done .pq-card").first).to_be_visible(timeout=TIMEOUT_MS)
    assert page.dialogs == []


def test_question_restricted_to_a_chosen_speech(page) -> None:
    chosen = "年度在全区第三季度安全生产工作会议上讲话"
    page.locator("#pq-filter input").click()
    page.locator("#pq-filter input").fill(chosen[:8])
    page.get_by_role("option", name=chosen).click()
    page.keyboard.press("Escape")
    answer = ask(page, "“三个必须”指什么?")
    titles = answer.locator(".pq-card .pq-title")
    expect(titles.first).to_be_visible()
    assert set(titles.all_inner_texts()) == {f"《{chosen}》"}
    shot(page, "02-restricted", top=page.locator("#pq-chat .pq-question").last)


def test_admin_uploads_a_speech_and_it_is_cited(page, web_app: LiveApp, tmp_path: Path) -> None:
    speech = tmp_path / "新讲话.txt"
    speech.write_text(NEW_SPEECH, encoding="utf-8")
    page.get_by_role("tab", name="导入讲话").click()
    files = page.locator("#pq-files input[type=file]")
    report = page.locator("#pq-report")

    # wrong password: a clear message, nothing saved
    files.set_input_files(str(speech))
    expect(page.locator("#pq-files")).to_contain_text(
        re.compile(r"新讲话\s*\.txt"), timeout=TIMEOUT_MS
    )  # name and suffix in two spans
    page.locator("#pq-password input").fill("wrong password")
    page.get_by_role("button", name="导入", exact=True).click()
    expect(report).to_contain_text("管理员密码不正确", timeout=TIMEOUT_MS)
    assert not web_app.uploads.exists() or not any(web_app.uploads.iterdir())

    page.locator("#pq-password input").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="导入", exact=True).click()
    expect(report.locator("td", has_text="已导入")).to_be_visible(timeout=TIMEOUT_MS)
    expect(report).to_contain_text("新讲话.txt")
    shot(page, "03-upload-report")
    saved = list(web_app.uploads.iterdir())
    assert len(saved) == 1 and re.fullmatch(r"[0-9a-f]{16}_新讲话\.txt", saved[0].name)

    # re-ingesting the data folder changes nothing that is already in step
    page.get_by_role("button", name="重新导入数据文件夹").click()
    expect(report).to_contain_text("已重新导入", timeout=TIMEOUT_MS)
    expect(report).not_to_contain_text("出错")

    page.get_by_role("tab", name="索引").click()
    expect(page.locator("#pq-index")).to_contain_text("在全县危化品安全会议上的讲话", timeout=TIMEOUT_MS)
    shot(page, "04-index")

    page.get_by_role("tab", name="问答").click()
    answer = ask(page, "“三查两改一销号”指什么?")
    card = answer.locator(".pq-card", has_text="新讲话")
    expect(card.first).to_be_visible()
    expect(card.first.locator("mark")).to_contain_text("三查两改一销号")
    shot(page, "05-new-speech-answer", top=page.locator("#pq-chat .pq-question").last)
    assert page.dialogs == []


def test_markup_in_a_question_is_shown_as_text(page) -> None:
    ask(page, XSS_QUESTION)
    expect(page.locator("#pq-chat .pq-question").last).to_have_text(XSS_QUESTION)
    ask(page, "**三个必须** [链接](javascript:alert(2)) <script>alert(3)</script>")
    last = page.locator("#pq-chat .pq-question").last
    expect(last).to_contain_text("**三个必须** [链接](javascript:alert(2))")
    assert last.locator("strong, a, script").count() == 0
    shot(page, "06-markup-question", top=page.locator("#pq-chat .pq-question").first)
    assert page.locator('img[src="x"]').count() == 0
    assert page.evaluate("() => document.querySelectorAll('img[onerror]').length") == 0
    assert page.dialogs == []


def test_bad_questions_show_the_message_in_the_chat(page) -> None:
    answer = ask(page, "?!。……")
    expect(answer).to_have_class(re.compile("pq-error"))
    expect(answer).to_contain_text("标点")
    answer = ask(page, "安全" * 5000)
    expect(answer).to_contain_text("太长")
    assert page.dialogs == []
