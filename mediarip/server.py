"""Running media-rip: the root nursery, Hypercorn, and an orderly shutdown.

Why the services are opened here and not in the app's lifespan: shutdown has an order that
Hypercorn's hooks cannot give. On SIGTERM or SIGINT, the shutdown trigger first ends every
event stream and stops every running job (leaving it ``queued`` for the next start), and only
then lets Hypercorn stop; Quart's ``after_serving`` would run only once every connection had
closed, and an open event stream never closes by itself. After Hypercorn returns, the
download service's nursery waits for the job threads, and the database closes last.

Restarting (after a yt-dlp update or rollback, which only a new process can run) is the same
shutdown, asked for by the updater instead of a signal: :func:`serve` then returns
:attr:`ServerExit.RESTART`, and :func:`run`'s caller re-executes the process
(:func:`reexec`) once everything above is closed. The process keeps its id (PID 1 in a
container stays PID 1: the container does not stop), its command line, working folder and the
environment it was started with; event streams reconnect with ``Last-Event-ID`` and get a
fresh ``init`` from the new process; queued and interrupted jobs resume.
"""

from __future__ import annotations

import enum
import functools
import gc
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs
import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve as hypercorn_serve

from .api import create_app
from .api.wire import job_events_to, subscription_events_to
from .broker import Broker
from .config import Settings
from .services import Services, open_services
from .signals import stop_on_signal

__all__ = ["ServerExit", "ServerHandle", "reexec", "run", "serve"]

log = logging.getLogger("mediarip")


class ServerExit(enum.Enum):
    """Why :func:`serve` returned."""

    STOPPED = "stopped"  # a signal or ServerHandle.stop(): the process should end
    RESTART = "restart"  # an update or rollback of yt-dlp: the process should run again


@attrs.define
class ServerHandle:
    """What :func:`serve` reports once it listens: where, and a way to stop it."""

    base_url: str
    services: Services
    _stop: trio.Event
    #: Set when the server stops to restart (an update or rollback of yt-dlp).
    restarting: bool = False

    def stop(self) -> None:
        self._stop.set()


def _hypercorn_config(settings: Settings) -> HypercornConfig:
    config = HypercornConfig()
    host = settings.server.host
    config.bind = [
        f"[{host}]:{settings.server.port}" if ":" in host else f"{host}:{settings.server.port}"
    ]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    # On shutdown Hypercorn waits this long for open connections; an idle keep-alive one
    # (every browser tab has one) would hold every stop up for the whole time. Event streams
    # are ended by the shutdown trigger, so one second is plenty for requests in flight.
    config.graceful_timeout = 1.0
    config.keep_alive_timeout = 5.0
    return config


async def serve(
    settings: Settings,
    *,
    cluster: bool = False,
    handle_signals: bool = True,
    task_status: trio.TaskStatus[ServerHandle] = trio.TASK_STATUS_IGNORED,
) -> ServerExit:
    """Serve until SIGTERM/SIGINT (or :meth:`ServerHandle.stop`, or the updater asking for a
    restart), then shut down in order. ``cluster``: as a web node only (``mediarip serve``:
    the workers download)."""
    stop = trio.Event()
    restart = False
    broker = Broker()
    async with open_services(
        settings, broker, job_events_to(broker), subscription_events_to(broker), cluster=cluster
    ) as services:
        app = create_app(services)
        # yt-dlp's ~1,800 extractor classes are loaded now and live for good: moving them out
        # of the collector's sight cuts full collections from ~27 ms to ~7 ms (latency tails).
        gc.freeze()
        # Worker threads running yt-dlp's pure-Python start-up keep the GIL for whole switch
        # intervals (5 ms by default) while the event loop waits to answer a request: a shorter
        # interval hands it back sooner (POST latency while jobs start).
        sys.setswitchinterval(SWITCH_INTERVAL)

        async def shutdown_trigger() -> None:
            await stop.wait()
            log.info(
                "%s: ending event streams and stopping downloads",
                "restarting" if restart else "shutting down",
            )
            services.broker.close()
            services.downloads.stop_all()

        async def restart_when_wanted() -> None:
            nonlocal restart
            await services.ytdlp.restart_wanted.wait()
            restart = handle.restarting = True
            stop.set()

        handle: ServerHandle
        async with trio.open_nursery() as nursery:
            if handle_signals:
                nursery.start_soon(stop_on_signal, stop.set)
            binds = await nursery.start(
                _serve_hypercorn,
                close_when_asked(app),
                _hypercorn_config(settings),
                shutdown_trigger,
                # Hypercorn ends once the trigger has returned; the signal task would not.
                nursery.cancel_scope.cancel,
            )
            log.info("media-rip is listening on %s", ", ".join(binds))
            base_url = binds[0].replace("0.0.0.0", "127.0.0.1")
            handle = ServerHandle(base_url, services, stop)
            nursery.start_soon(restart_when_wanted)
            task_status.started(handle)
        log.info("stopped serving; waiting for downloads to unwind")
    log.info("shutdown complete")
    return ServerExit.RESTART if restart else ServerExit.STOPPED


#: Seconds a thread may hold the GIL before another may take it (Python's default: 0.005).
SWITCH_INTERVAL = 0.001

#: How long the end of an answer that closes its connection may take to go out.
CLOSING_SEND_TIMEOUT = 10.0


def close_when_asked(app: Any) -> Any:
    """``app`` (ASGI), with connections that are to close (``Connection: close`` from either
    side, HTTP/1.0) really closing.

    Hypercorn closes such a connection from inside the ASGI ``send`` of the answer's last
    body part; Quart-Trio runs that ``send`` in the request's task and cancels the task once
    the answer is out, which cut Hypercorn's close in half: the connection stayed open, not
    even idle, until the client hung up (Hypercorn 0.18, Quart-Trio 0.12). Shielding that last
    ``send`` (bounded in time) lets the close finish, and a kept-alive connection be recycled
    cleanly. The refusals that must not leave a connection open (a 413, ambiguous framing,
    a wrong API key) rely on this."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await app(scope, receive, send)
            return
        # Only answers on a connection that is to close: shielding every answer's end also
        # held the ends of answers on kept-alive connections (event streams among them), and a
        # server restarting itself then left connections that the new process never answered.
        closing = scope.get("http_version") == "1.0" or _says_close(scope.get("headers", ()))

        async def send_last_shielded(message: Any) -> None:
            nonlocal closing
            if message.get("type") == "http.response.start":
                closing = closing or _says_close(message.get("headers", ()))
            elif (
                closing
                and message.get("type") == "http.response.body"
                and not message.get("more_body")
            ):
                with trio.CancelScope(shield=True), trio.move_on_after(CLOSING_SEND_TIMEOUT):
                    await send(message)
                return
            await send(message)

        await app(scope, receive, send_last_shielded)

    return wrapped


def _says_close(headers: Any) -> bool:
    """Whether ASGI ``headers`` carry ``Connection: close``."""
    return any(
        name.lower() == b"connection" and b"close" in value.lower() for name, value in headers
    )


async def _serve_hypercorn(
    app: object,
    config: HypercornConfig,
    shutdown_trigger: Callable[[], Awaitable[None]],
    when_done: Callable[[], None],
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    try:
        await hypercorn_serve(
            app,  # type: ignore[arg-type]
            config,
            shutdown_trigger=shutdown_trigger,
            task_status=task_status,
        )
    finally:
        when_done()


def run(settings: Settings, *, cluster: bool = False) -> ServerExit:
    result: ServerExit = trio.run(functools.partial(serve, settings, cluster=cluster))
    return result


def reexec(environ: Mapping[str, str]) -> None:
    """Replace this process with a fresh ``mediarip``: the same interpreter, command line and
    working folder, and ``environ`` (the environment it was started with: startup removes the
    admin password from ``os.environ``, and the new process needs it as much as the first).
    Call only once :func:`run` has returned, so no thread, socket or database is left open;
    Python's own file descriptors are not inherited (PEP 446), the standard streams are."""
    log.info("restarting: executing %s", " ".join(sys.orig_argv))
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, sys.orig_argv, dict(environ))
