"""Word (.docx): paragraphs and tables in document order."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

from ingest.loaders.common import LoadError, finish


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

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:
        raise LoadError(path, f"corrupt .docx (cannot open as a Word document): {exc}") from exc
    paragraphs: list[str] = []
    body = document.element.body
    for element in _iter_docx_blocks(body):
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
