"""The worker's progress throttle: steps and intervals thin yt-dlp's hook calls out, but a
stream's last byte is always reported, so the bar reaches its end when the transfer does."""

from __future__ import annotations

from mediarip.engine.worker import ProgressReport, Report, _Reporter
from mediarip.engine.ytdl import CancelToken

TOTAL = 10_000_000


def _hook(downloaded: int) -> dict[str, object]:
    return {"status": "downloading", "downloaded_bytes": downloaded, "total_bytes": TOTAL}


def _progress(reports: list[Report]) -> list[float]:
    return [r.progress for r in reports if isinstance(r, ProgressReport)]


def test_calls_closer_than_the_step_and_interval_are_thinned_out() -> None:
    reports: list[Report] = []
    reporter = _Reporter(CancelToken(), reports.append)
    for downloaded in (1_000_000, 1_010_000, 1_020_000, 1_030_000):
        reporter.progress_hook(_hook(downloaded))
    assert _progress(reports) == [10.0]


def test_the_last_byte_is_reported_however_soon_after_the_previous_report() -> None:
    reports: list[Report] = []
    reporter = _Reporter(CancelToken(), reports.append)
    reporter.progress_hook(_hook(TOTAL - 20_000))  # 99.8 %
    reporter.progress_hook(_hook(TOTAL))  # 0.2 % and microseconds later: still reported
    assert _progress(reports) == [99.8, 100.0]
    last = [r for r in reports if isinstance(r, ProgressReport)][-1]
    assert last.downloaded_bytes == last.total_bytes == TOTAL
