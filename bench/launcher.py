"""``python -m bench.launcher``: media-rip's own command line, with one probe added.

The probe stamps every progress report the moment the worker thread hands it over, so the
benchmark can tell how long it takes to reach an SSE client. A job's yt-dlp progress hook
(``mediarip.engine.worker._Reporter.progress_hook``) throttles yt-dlp's calls and passes each
report it keeps to the ``report`` callable that the job's task gave to ``run_job``. We wrap that
callable: it takes ``time.time()``, hands the report on unchanged, and only then appends
``job id<TAB>progress<TAB>time`` to the file named by ``$BENCH_HOOK_LOG``. Writing after
handing over keeps the probe's own cost out of the measured path.

Nothing under ``mediarip/`` is changed; without ``$BENCH_HOOK_LOG`` this is plain ``mediarip``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mediarip.engine.tasks as tasks
import mediarip.engine.worker as worker
from mediarip.cli import main

HOOK_LOG_ENV = "BENCH_HOOK_LOG"


def instrument(log_path: Path) -> None:
    """Wrap the ``report`` callable of every job so progress reports are stamped and logged."""
    original = tasks.run_job
    if original is not worker.run_job:
        raise RuntimeError("mediarip.engine.tasks no longer calls worker.run_job: update the probe")
    log = log_path.open("a", buffering=1)
    lock = threading.Lock()

    def run_job(request: worker.WorkRequest, token: Any, report: Callable[[Any], None]) -> Any:
        def stamped(item: Any) -> None:
            if not isinstance(item, worker.ProgressReport):
                report(item)
                return
            stamp = time.time()
            report(item)
            with lock:
                # Keyed by bytes, not by the (rounded) percentage: several reports can share
                # a percentage on a slow download, and would then be matched to the first.
                key = item.downloaded_bytes if item.downloaded_bytes is not None else item.progress
                log.write(f"{request.job_id}\t{float(key)!r}\t{stamp!r}\n")

        return original(request, token, stamped)

    tasks.run_job = run_job


if __name__ == "__main__":
    if hook_log := os.environ.get(HOOK_LOG_ENV):
        instrument(Path(hook_log))
    raise SystemExit(main([]))
