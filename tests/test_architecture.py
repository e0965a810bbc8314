"""The architecture's rules, checked on every test run rather than remembered.

The contracts live in .importlinter: ingest never imports rag (ingest writes the index, rag reads
it), and neither package has an import cycle between its modules and subpackages.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_FILE_LINES = 450  # "no file over ~400 lines": the few near it are one concept each


def test_import_contracts_hold() -> None:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert lint, "import-linter is in requirements-dev.txt; install it"
    result = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_no_source_file_is_a_grab_bag() -> None:
    too_long = {
        str(path.relative_to(ROOT)): n
        for package in ("rag", "ingest")
        for path in (ROOT / package).rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_FILE_LINES
    }
    assert not too_long, f"split these by concept: {too_long}"


def test_ingest_never_reads_rag_even_lazily() -> None:
    """import-linter sees function-level imports too; this says the same in plain Python, so the
    rule survives a missing linter."""
    offenders = []
    for path in (ROOT / "ingest").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            offenders += [
                f"{path.relative_to(ROOT)}: {n}" for n in names if n == "rag" or n.startswith("rag.")
            ]
    assert not offenders
