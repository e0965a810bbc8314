"""python -m rag ask|search|eval|llm-info — the command line over the speech index."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rag.api import PolicyQA
from rag.config import Settings
from rag.llm import LLMError


def _print_answer(answer, as_json: bool) -> None:
    if as_json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return
    print(answer.text)
    if answer.citations:
        print("\n来源:")
        for c in answer.citations:
            print(f"[{c.index}] 《{c.speech_title}》({c.source})")
            print(f"    “{c.quote}”")


def _llm_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--llm", choices=["none", "local", "openai"], help="who writes the answer (env POLICYQA_LLM)"
    )
    parser.add_argument("--llm-model", help="bundled model name, .gguf path or endpoint model name")


def _llm_info(settings: Settings, as_json: bool, measure: bool) -> None:
    """Which llama.cpp kernels this machine runs and how fast the local model is here."""
    from rag.llm.bundled import gguf_path
    from rag.llm.cpu_backend import load_cpu_backend
    from rag.llm.speed import speed

    backend = load_cpu_backend(settings.llm_cpu_variant)
    model = gguf_path(settings.llm_model, settings.model_cache)
    rate = None
    if measure:
        rate = speed(settings.model_cache, model, settings.llm_threads, settings.llm_cpu_variant)
    if as_json:
        print(json.dumps({"backend": backend.to_dict(), "speed": rate and rate.to_dict()}, indent=2))
        return
    where = f" ({backend.path.name})" if backend.path else " (built for one CPU level, no dispatch)"
    print(f"llama.cpp CPU kernels: {backend.variant}{where}")
    print(f"  compiled for: {' '.join(backend.features) or '-'}")
    if backend.candidates:
        print("  variants built (ggml's score on this CPU; 0 = cannot run here):")
        print("    " + ", ".join(f"{name} {score}" for name, score in backend.candidates))
    for line in backend.skipped:
        print(f"  skipped {line}")
    if rate:
        print(f"model: {rate.model}, {rate.threads} threads, llama-cpp-python {rate.llama_cpp_version}")
        print(
            f"  prompt {rate.prompt_tokens_per_s} tokens/s, "
            f"generation {rate.generation_tokens_per_s} tokens/s"
        )
        print(f"  (measured {rate.measured_at}, cached in {settings.model_cache})")


def main(argv: list[str] | None = None) -> int:
    """The CLI. Long because most of it is the argparse declaration of its commands; the work is
    PolicyQA's, and every error goes through the one map (rag.errors)."""
    parser = argparse.ArgumentParser(prog="python -m rag", description="Ask the work-safety speeches.")
    parser.add_argument("--store", type=Path, help="index folder (env POLICYQA_STORE_DIR)")
    commands = parser.add_subparsers(dest="command", required=True)

    ask = commands.add_parser("ask", help="answer a question with cited quotes")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print the answer and its citations as JSON")
    ask.add_argument("--store", type=Path, dest="store_sub")
    ask.add_argument("--build", action="store_true", help="build the index from the data folder if missing")
    _llm_options(ask)

    search = commands.add_parser("search", help="show the best matching passages")
    search.add_argument("query")
    search.add_argument("-k", type=int, default=5)
    search.add_argument("--json", action="store_true")
    search.add_argument("--store", type=Path, dest="store_sub")

    evaluate = commands.add_parser("eval", help="score retrieval and answers on questions with gold evidence")
    evaluate.add_argument("file", type=Path)
    evaluate.add_argument("--json", action="store_true")
    evaluate.add_argument("--baseline", action="store_true", help="also score a plain LangChain baseline")
    evaluate.add_argument("--store", type=Path, dest="store_sub")
    evaluate.add_argument(
        "--corpus",
        type=Path,
        action="append",
        default=[],
        help="a folder of speeches the questions also cover (e.g. eval/speeches): it and the data folder "
        "are ingested into the store first; repeatable",
    )
    _llm_options(evaluate)

    info = commands.add_parser("llm-info", help="the local model's CPU kernels and speed on this machine")
    info.add_argument("--llm-model", help="bundled model name or .gguf path (default: the default model)")
    info.add_argument("--no-speed", action="store_true", help="only say which kernels are used")
    info.add_argument("--json", action="store_true")

    args = parser.parse_args(argv)
    if args.command == "llm-info":
        try:
            _llm_info(Settings().with_overrides(llm_model=args.llm_model), args.json, not args.no_speed)
        except (LLMError, FileNotFoundError) as error:
            print(f"rag: {error}", file=sys.stderr)
            return 2
        return 0
    store = getattr(args, "store_sub", None) or args.store
    qa = PolicyQA.open(
        Settings().with_overrides(
            store_dir=store, llm=getattr(args, "llm", None), llm_model=getattr(args, "llm_model", None)
        )
    )
    try:
        if getattr(args, "build", False) and not qa.has_index():
            print("building the index from", qa.settings.data_dir, file=sys.stderr)
            print(qa.ingest([qa.settings.data_dir]).summary(), file=sys.stderr)
        if args.command == "ask":
            _print_answer(qa.ask(args.question), args.json)
        elif args.command == "search":
            passages = qa.search(args.query, k=args.k)
            if args.json:
                print(json.dumps([p.to_dict() for p in passages], ensure_ascii=False, indent=2))
            for rank, p in enumerate(passages, start=1):
                if not args.json:
                    print(f"{rank}. 《{p.speech_title}》({p.source}) score {p.score:.4f}")
                    print("   " + p.text.replace("\n", "\n   "))
        else:
            from rag.evaluation.evaluate import format_report, run_evaluation

            data = run_evaluation(qa, args.file, baseline=args.baseline, corpus=args.corpus)
            print(json.dumps(data, ensure_ascii=False, indent=2) if args.json else format_report(data))
    except FileNotFoundError as error:  # an evaluation file, or a model file that is not there
        print(f"rag: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # the one error map every surface uses (rag.errors)
        from rag.errors import user_error

        mapped = user_error(error)
        if not mapped.expected:
            raise
        print(f"rag: {mapped.message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
