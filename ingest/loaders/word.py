"""Word (.docx): paragraphs and tables in document order."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

from ingest.loaders.common import LoadError, check_time, finish

# A .docx is a zip; python-docx inflates every part into memory, so a 1 MB "zip bomb" that
# expands to 1.2 GB cost 2.3 GB of memory. Sizes are checked before anything is inflated.
# The text part of a 500-page report is ~10 MB; five times that is still a speech document.
MAX_DOCUMENT_XML_BYTES = 50 * 1024 * 1024
# Images and embedded objects included: four times the text's cap.
MAX_DOCX_TOTAL_BYTES = 200 * 1024 * 1024
# Word XML compresses 5-20x; beyond 100x a big part is padding made to blow up, not a document.
MAX_COMPRESSION_RATIO = 100
# Small parts may compress better (a repetitive style sheet); the ratio only matters above this.
RATIO_CHECK_FROM_BYTES = 1024 * 1024
MAX_DOCX_PARTS = 10_000  # a real document has tens of parts


def _mb(size: int) -> str:
    return f"{size / 2**20:.0f} MB"


def check_docx_sizes(path: Path, data: bytes) -> None:
    """Refuse a .docx whose parts would inflate to more than the caps (read from the zip's
    directory, before inflating anything). The declared sizes are what zipfile will inflate
    at most: it stops a part at its declared size and fails on a CRC mismatch."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise LoadError(path, f"corrupt .docx (not a valid zip archive): {exc}") from exc
    if len(parts) > MAX_DOCX_PARTS:
        raise LoadError(path, f".docx has too many parts ({len(parts)}; the limit is {MAX_DOCX_PARTS})")
    total = 0
    for part in parts:
        total += part.file_size
        if part.filename == "word/document.xml" and part.file_size > MAX_DOCUMENT_XML_BYTES:
            raise LoadError(
                path,
                f".docx text part expands to {_mb(part.file_size)} "
                f"(the limit is {_mb(MAX_DOCUMENT_XML_BYTES)}); refused as a possible zip bomb",
            )
        if part.file_size > RATIO_CHECK_FROM_BYTES and part.file_size > MAX_COMPRESSION_RATIO * max(
            part.compress_size, 1
        ):
            raise LoadError(
                path,
                f".docx part {part.filename} expands {part.file_size // max(part.compress_size, 1)}x "
                f"(to {_mb(part.file_size)}; the limit is {MAX_COMPRESSION_RATIO}x); "
                "refused as a possible zip bomb",
            )
    if total > MAX_DOCX_TOTAL_BYTES:
        raise LoadError(
            path,
            f".docx expands to {_mb(total)} in all (the limit is {_mb(MAX_DOCX_TOTAL_BYTES)}); "
            "refused as a possible zip bomb",
        )


def _iter_docx_blocks(parent: object) -> Iterator[object]:
    """Body-level paragraphs and tables in document order, looking inside content controls."""
    from docx.oxml.ns import qn

    for child in parent.iterchildren():  # type: ignore[attr-defined]
        if child.tag in (qn("w:p"), qn("w:tbl")):
            yield child
        elif child.tag == qn("w:sdt"):
            content = child.find(qn("w:sdtContent"))
            if content is not None:
                yield from _iter_docx_blocks(content)


def read_docx(path: Path, data: bytes) -> str:
    import docx
    from docx.oxml.ns import qn
    from docx.table import Table, _Cell
    from docx.text.paragraph import Paragraph

    check_docx_sizes(path, data)
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:
        raise LoadError(path, f"corrupt .docx (cannot open as a Word document): {exc}") from exc
    paragraphs: list[str] = []
    body = document.element.body
    for element in _iter_docx_blocks(body):
        check_time()
        if element.tag == qn("w:p"):
            paragraphs.append(Paragraph(element, document).text)
            continue
        table = Table(element, document)
        for tr in element.tr_lst:
            # Walk the XML cells: a horizontal merge is one w:tc, and the continuation
            # rows of a vertical merge are skipped, so merged text appears once.
            cells = [_Cell(tc, table).text.strip() for tc in tr.tc_lst if tc.vMerge != "continue"]
            cells = [c for c in cells if c]
            if len(cells) == 1:
                paragraphs.extend(cells[0].split("\n"))  # a layout table or a text box
            elif cells:
                paragraphs.append(" | ".join(re.sub(r"\s*\n\s*", " ", c) for c in cells))
    return finish(paragraphs)
