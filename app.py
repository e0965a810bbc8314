"""The web app: the Gradio chat page's layout, mounted on the HTTP API, and main().

    python app.py [--host H] [--port P] [--store DIR]

Settings come from POLICYQA_* environment variables; the flags override them.
Importing this module loads no model and opens no store: the index is opened
when the app is built and the model is warmed in the background once the
server is listening, so the page is up within seconds.

What the page does lives in rag.web.page (handlers, callable from tests), what it shows in
rag.web.render (HTML, every piece of outside text escaped), who may call what in
rag.web.security (one middleware for every route) and the bounds in rag.limits.
"""

import argparse
import hmac
import logging
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gradio as gr
from fastapi import FastAPI
from starlette.routing import Mount

from ingest.loaders import SUPPORTED_SUFFIXES
from rag.api import PolicyQA
from rag.config import Settings
from rag.web.http_api import create_api
from rag.web.page import HISTORY_TURNS, Page
from rag.web.render import answer_html, highlight, index_html, llm_html, question_html
from rag.web.security import Guard
from rag.web.watching import DataWatch

__all__ = [
    "HISTORY_TURNS",
    "answer_html",
    "build_app",
    "highlight",
    "index_html",
    "llm_html",
    "question_html",
]

log = logging.getLogger("policyqa.app")

TITLE = "安全生产讲话问答"
EXAMPLES = (
    "“三个必须”指什么?",
    "煤矿当前的“三个多发”是什么?",
    "汛期排查隐患按什么原则?",
    "“四个一律”要求什么?",
)
# System fonts only: the page must not fetch web fonts (it often runs offline).
FONTS = [
    "system-ui",
    "PingFang SC",
    "Microsoft YaHei",
    "Noto Sans CJK SC",
    "WenQuanYi Micro Hei",
    "sans-serif",
]
UPLOAD_SUFFIXES = tuple(sorted(SUPPORTED_SUFFIXES))
DELETE_CACHE = (600, 3600)  # every 10 minutes, drop Gradio's copies of files older than an hour

CSS = """
.pq-answer p { margin: 0 0 .45em 0; }
.pq-answer .pq-ref { color: var(--color-accent); font-weight: 600; margin-left: 1px; }
.pq-note { margin: .4em 0; padding: .4em .6em; border-left: 3px solid #d97706;
  background: rgba(217, 119, 6, .08); }
.pq-error { color: #b91c1c; }
.pq-written { margin: .3em 0; font-size: .85em; opacity: .75; }
.pq-pending { color: var(--body-text-color-subdued); font-style: italic; }
.pq-sources-h { margin: .8em 0 .3em 0; font-weight: 600; font-size: .92em;
  color: var(--body-text-color-subdued); }
.pq-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .55em .75em;
  margin: .45em 0; background: var(--background-fill-secondary); }
.pq-card-h { font-weight: 600; }
.pq-badge { display: inline-block; min-width: 1.5em; text-align: center; margin-right: .35em;
  border-radius: 4px; background: var(--color-accent); color: #fff; font-size: .85em; }
.pq-src { font-size: .85em; color: var(--body-text-color-subdued); margin: .15em 0 .35em 0; }
.pq-passage { font-size: .92em; line-height: 1.65; white-space: pre-wrap; }
.pq-passage mark, .pq-text mark { background: #fde68a; color: #111827; padding: 0 1px; }
.pq-table { width: 100%; border-collapse: collapse; font-size: .92em; }
.pq-table th, .pq-table td { border: 1px solid var(--border-color-primary); padding: .3em .5em;
  text-align: left; vertical-align: top; }
.pq-table td.num { text-align: right; white-space: nowrap; }
.pq-ok { color: #15803d; }
.pq-bad { color: #b91c1c; }
.pq-summary { margin: .3em 0 .6em 0; }
"""


def _parse_users(spec: str) -> list[tuple[str, str]]:
    users = []
    for entry in spec.split(","):
        if not entry.strip():
            continue
        user, sep, password = entry.strip().partition(":")
        if not sep or not user or not password:
            raise ValueError("POLICYQA_CHAT_USERS must look like 'user:password,user2:password2'")
        users.append((user, password))
    return users


def page_login(settings: Settings) -> Callable[[str, str], bool] | None:
    """The page's login check: a POLICYQA_CHAT_USERS account, or any name with the API key as the
    password; None (no login) when neither secret is set."""
    users = dict(_parse_users(settings.chat_users)) if settings.chat_users else {}
    key = settings.api_key.get_secret_value() if settings.api_key else None
    if not users and key is None:
        return None

    def check(username: str, password: str) -> bool:
        given = password.encode("utf-8", "replace")
        if username in users and hmac.compare_digest(given, users[username].encode("utf-8")):
            return True
        return key is not None and hmac.compare_digest(given, key.encode("utf-8"))

    return check


# ---------------------------------------------------------------- the page layout


def build_ui(qa: PolicyQA, guard: Guard | None = None, note: Callable[[], str] | None = None) -> gr.Blocks:
    """The page's layout and wiring; a long function because it is one declarative layout."""
    settings = qa.settings
    page = Page(qa, guard or Guard(settings), note)
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=DELETE_CACHE) as blocks:
        chat_state = gr.State([])
        turns_state = gr.State([])
        gr.Markdown(f"# {TITLE}\n按讲话原文回答问题,每一句都注明出自哪篇讲话;讲话里没有的内容会直说没有。")
        with gr.Tabs():
            with gr.Tab("问答", id="chat"), gr.Row(equal_height=False):
                with gr.Column(scale=4):
                    chatbot = gr.Chatbot(
                        label="对话",
                        show_label=False,
                        elem_id="pq-chat",
                        height=600,
                        render_markdown=False,  # messages are HTML we build and escape ourselves
                        sanitize_html=True,
                        latex_delimiters=[],
                        buttons=[],
                        feedback_options=None,
                        placeholder="请输入问题,或点击下面的示例问题。",
                    )
                    with gr.Row():
                        question_box = gr.Textbox(
                            show_label=False,
                            placeholder="输入问题,按回车发送",
                            elem_id="pq-question",
                            scale=6,
                            autofocus=True,
                        )
                        send = gr.Button("发送", variant="primary", scale=1, elem_id="pq-send")
                        clear = gr.Button("新对话", scale=1, elem_id="pq-new")
                    gr.Markdown("**示例问题**(点击即问):")
                    with gr.Row():
                        example_buttons = [
                            gr.Button(example, size="sm", elem_classes=["pq-example"]) for example in EXAMPLES
                        ]
                with gr.Column(scale=1, min_width=240):
                    speech_filter = gr.Dropdown(
                        choices=[],
                        value=[],
                        multiselect=True,
                        label="只在这些讲话中查找",
                        info="不选 = 在全部讲话中查找",
                        elem_id="pq-filter",
                    )
            with gr.Tab("导入讲话", id="upload"):
                if settings.admin_password is None:
                    gr.Markdown(
                        "**上传已关闭。** 要开启上传,请设置管理员密码后重启应用,例如:\n\n"
                        "```\nPOLICYQA_ADMIN_PASSWORD=你的密码 python app.py\n```"
                    )
                    upload_parts = None
                else:
                    gr.Markdown(
                        f"上传讲话文件({' '.join(UPLOAD_SUFFIXES)},每个不超过 {settings.max_upload_mb} MB),"
                        "输入管理员密码后点击“导入”。已导入过的文件不会重复导入。"
                    )
                    files = gr.File(
                        label="讲话文件",
                        file_count="multiple",
                        file_types=list(UPLOAD_SUFFIXES),
                        type="filepath",
                        elem_id="pq-files",
                    )
                    password_box = gr.Textbox(
                        label="管理员密码", type="password", elem_id="pq-password", max_lines=1
                    )
                    with gr.Row():
                        import_button = gr.Button("导入", variant="primary", elem_id="pq-import")
                        reingest_button = gr.Button(
                            "重新导入数据文件夹", elem_id="pq-reingest", variant="secondary"
                        )
                    report = gr.HTML(elem_id="pq-report")
                    upload_parts = (files, password_box, import_button, reingest_button, report)
            with gr.Tab("索引", id="index"):
                refresh = gr.Button("刷新", size="sm")
                panel = gr.HTML(elem_id="pq-index")

        chat_outputs = [question_box, chatbot, chat_state, turns_state]
        chat_inputs = [question_box, chat_state, turns_state, speech_filter]
        common = {"concurrency_id": "qa", "concurrency_limit": 2, "api_visibility": "private"}
        question_box.submit(page.respond, chat_inputs, chat_outputs, show_progress="hidden", **common)
        send.click(page.respond, chat_inputs, chat_outputs, show_progress="hidden", **common)
        for button, example in zip(example_buttons, EXAMPLES, strict=True):
            button.click(
                page.example(example),
                [chat_state, turns_state, speech_filter],
                chat_outputs,
                show_progress="hidden",
                **common,
            )
        clear.click(page.new_chat, None, chat_outputs, queue=False, api_visibility="private")
        chatbot.clear(page.new_chat, None, chat_outputs, queue=False, api_visibility="private")
        refresh.click(page.refresh_index, [speech_filter], [speech_filter, panel], api_visibility="private")
        blocks.load(page.refresh_index, [speech_filter], [speech_filter, panel], api_visibility="private")
        if upload_parts is not None:
            files, password_box, import_button, reingest_button, report = upload_parts
            reingest_button.click(
                page.reingest,
                [password_box, speech_filter],
                [report, speech_filter, panel],
                concurrency_id="ingest",
                concurrency_limit=1,
                api_visibility="private",
            )
            import_button.click(
                page.upload,
                [files, password_box, speech_filter],
                [report, speech_filter, panel, files],
                concurrency_id="ingest",
                concurrency_limit=1,
                api_visibility="private",
            )

        gr.api(page.ask, api_name="ask", concurrency_id="qa", concurrency_limit=2)
        gr.api(page.ask_stream, api_name="ask_stream", concurrency_id="qa", concurrency_limit=2)
        gr.api(page.search, api_name="search", concurrency_id="qa", concurrency_limit=2)
        gr.api(page.speeches, api_name="speeches")
    return blocks


# ---------------------------------------------------------------- the app


def _join_sessions(api: FastAPI, guard: Guard) -> None:
    """Let the guard read Gradio's login cookie (who is logged in on the page), and hand a caller
    with the API key a page session, so Gradio's routes accept it as they accept a logged-in user."""
    gradio_app = next(r.app for r in api.routes if isinstance(r, Mount) and hasattr(r.app, "tokens"))

    def user(cookies: dict[str, str]) -> str | None:
        cookie_id = gradio_app.cookie_id
        token = cookies.get(f"access-token-{cookie_id}") or cookies.get(f"access-token-unsecure-{cookie_id}")
        return gradio_app.tokens.get(token) if token else None

    guard.session_user = user
    if guard.settings.api_key is not None and gradio_app.auth is not None:
        token = secrets.token_urlsafe(24)
        gradio_app.tokens[token] = "api-key"
        guard.key_session_cookie = lambda: f"access-token-unsecure-{gradio_app.cookie_id}={token}"


def build_app(settings: Settings, qa: PolicyQA | None = None, watch: DataWatch | None = None) -> FastAPI:
    """The HTTP API with the chat page mounted at /, all behind one guard (rag.web.security)."""
    qa = qa or PolicyQA(settings)
    guard = Guard(settings)
    api = create_api(qa, guard)
    api.state.policyqa = qa
    blocks = build_ui(qa, guard, watch.note if watch else None)
    auth = page_login(settings)
    app = gr.mount_gradio_app(
        api,
        blocks,
        path="/",
        auth=auth,
        auth_message="请登录后使用问答(用户名密码,或任意用户名加 API 密钥)。" if auth else None,
        footer_links=["api", "settings"],
        run_history=False,
        max_file_size=f"{settings.max_upload_mb}mb",
        ssr_mode=False,
        mcp_server=False,
        theme=gr.themes.Soft(font=FONTS, font_mono=["ui-monospace", "monospace"]),
        css=CSS,
    )
    _join_sessions(app, guard)
    return app


def ensure_index(settings: Settings) -> None:
    """Build the index from data_dir when there is none, showing progress on the console."""
    if PolicyQA(settings).has_index():
        return
    from ingest.pipeline import ingest_paths

    print(f"索引不存在,正在从 {settings.data_dir} 建立索引(第一次启动需要几分钟)……", flush=True)
    started = time.perf_counter()
    try:
        report = ingest_paths([settings.data_dir], settings, progress=True)
    except Exception as error:  # the app still starts; speeches can be uploaded later
        print(f"建立索引失败:{error}", flush=True)
        return
    print(report.summary(), flush=True)
    print(f"索引已建好,用时 {time.perf_counter() - started:.1f} 秒。", flush=True)


def _warm_up_when_listening(server: Any, qa: PolicyQA) -> None:
    while not server.started and not server.should_exit:
        time.sleep(0.1)
    if server.should_exit:
        return
    started = time.perf_counter()
    try:
        qa.warm_up()
    except Exception:
        log.exception("warming up the model failed; it will load on the first question")
        return
    print(f"模型已加载({time.perf_counter() - started:.1f} 秒),可以提问了。", flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=f"{TITLE}:浏览器问答页面和 HTTP API")
    parser.add_argument("--host", help="listen address (default: POLICYQA_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: POLICYQA_PORT or 7860)")
    parser.add_argument("--store", type=Path, help="index directory (default: POLICYQA_STORE_DIR)")
    parser.add_argument(
        "--watch",
        action="store_true",
        default=None,
        help="ingest speech files dropped into the data folder by itself (POLICYQA_WATCH_DATA=1)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings().with_overrides(
        host=args.host, port=args.port, store_dir=args.store, watch_data=args.watch
    )

    ensure_index(settings)
    qa = PolicyQA(settings)
    watch = DataWatch(qa) if settings.watch_data else None
    app = build_app(settings, qa, watch)
    if watch is not None:
        watch.start()
        print(f"正在监视 {settings.data_dir}:放入其中的讲话文件会自动导入。", flush=True)

    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=settings.host, port=settings.port))
    threading.Thread(target=_warm_up_when_listening, args=(server, qa), daemon=True).start()
    print(f"{TITLE}: http://{settings.host}:{settings.port}/", flush=True)
    server.run()


if __name__ == "__main__":
    main()
