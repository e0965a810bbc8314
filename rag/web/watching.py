"""The app's --watch: ingest speech files dropped into the data folder, and say so in the index panel.

The watching itself (polling, debouncing, incremental ingest, the generation bump every reader
follows) is ingest.watch; this is the app's side of it: start it with the app's model, keep the
last report for the page, and never prune (a speech ingested from elsewhere by the CLI is not
the data folder's to remove).
"""

from __future__ import annotations

import html
import threading
import time

from ingest.pipeline import IngestReport
from ingest.watch import start_watching
from rag.api import PolicyQA


class DataWatch:
    """One watcher per app; ``note()`` is the line the index panel shows."""

    def __init__(self, qa: PolicyQA) -> None:
        self.qa = qa
        self._last = "尚未发现新文件"
        self._stop: threading.Event | None = None

    def start(self) -> None:
        _, self._stop = start_watching(
            self.qa.settings, self._record, embedder=self.qa.embedder, prune=False, on_error=self._failed
        )

    def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()

    def note(self) -> str:
        folder = html.escape(str(self.qa.settings.data_dir))
        return f'<div class="pq-summary">自动导入:正在监视 {folder};{html.escape(self._last)}</div>'

    def _record(self, report: IngestReport) -> None:
        self._last = f"{time.strftime('%H:%M:%S')} {report.summary()}"
        self.qa.refresh()  # this app answers from the new chunks at once, not at the next check

    def _failed(self, error: BaseException) -> None:
        self._last = f"{time.strftime('%H:%M:%S')} 自动导入失败:{error}"
