"""``/api/admin/ytdlp``: the running yt-dlp, the newest one, updating and rolling back.

Admin only, like the rest of ``/api/admin`` (the same requirements). The work is
:class:`~mediarip.ytdlp.updater.YtdlpUpdater`'s; update and rollback answer 202 at once and
the panel follows ``update`` in ``GET`` (the server restarts itself when it is done).
"""

from __future__ import annotations

import attrs
from quart import Blueprint

from ..config import YtdlpChannel
from ..ytdlp.updater import UpdateRefused, YtdlpStatus
from .admin import ADMIN
from .context import services
from .contract import Answer, endpoint

__all__ = ["UpdateRequest", "blueprint"]

blueprint = Blueprint("ytdlp", __name__, url_prefix="/api/admin/ytdlp")


@attrs.frozen
class UpdateRequest:
    """``POST /api/admin/ytdlp/update``: the channel to update from (default:
    ``ytdlp.channel``). The body may be left out."""

    channel: YtdlpChannel | None = None


@blueprint.get("")
@endpoint(
    "yt-dlp: the running version and its release date, the bundled one, the newest, an update",
    answers={200: Answer("The running yt-dlp and the newest one", YtdlpStatus)},
    requires=ADMIN,
)
async def status() -> YtdlpStatus:
    return services().ytdlp.status()


@blueprint.post("/check")
@endpoint(
    "Ask the package index for the newest yt-dlp now",
    answers={200: Answer("After asking (check_error says why it failed)", YtdlpStatus)},
    requires=ADMIN,
)
async def check() -> YtdlpStatus:
    await services().ytdlp.check()
    return services().ytdlp.status()


@blueprint.post("/update")
@endpoint(
    "Install the newest yt-dlp into the data folder, then restart the server gracefully",
    body=UpdateRequest,
    body_required=False,
    answers={202: Answer("The update has started; follow it in GET", YtdlpStatus)},
    refuses=(UpdateRefused,),
    requires=ADMIN,
)
async def update(body: UpdateRequest) -> YtdlpStatus:
    services().ytdlp.start_update(body.channel)
    return services().ytdlp.status()


@blueprint.post("/rollback")
@endpoint(
    "Go back to the bundled yt-dlp, then restart the server gracefully",
    answers={202: Answer("Going back; the server restarts", YtdlpStatus)},
    refuses=(UpdateRefused,),
    requires=ADMIN,
)
async def rollback() -> YtdlpStatus:
    await services().ytdlp.rollback()
    return services().ytdlp.status()
