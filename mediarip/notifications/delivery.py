"""Sending one message to one target: a signed webhook, or Apprise.

Webhook: a POST of the message's JSON body with ``X-Mediarip-Signature: sha256=<hex>``, the
HMAC-SHA256 of the exact body bytes under the target's secret, so a receiver can check that the
message is ours and whole. Each try has :data:`TRY_SECONDS` seconds; a network error or an answer
other than 2xx is tried again up to :data:`RETRIES` more times, after the delays in
:data:`BACKOFF` (a 4xx other than 408/429 is the receiver saying no: not retried). httpx runs on
trio, so a try in progress is cancelled at once on shutdown.

Apprise: the library is synchronous and knows a hundred services; a message goes through it in
a worker thread. A thread cannot be interrupted, so the call is made with
``abandon_on_cancel=True``: on shutdown the task stops waiting and the thread ends by itself
within Apprise's own connect/read timeouts (a few seconds); nothing it does touches our state.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import ssl
from collections.abc import Sequence

import httpx
import trio

from .models import Delivery, Message, Target, TargetKind

__all__ = ["BACKOFF", "RETRIES", "SIGNATURE_HEADER", "TRY_SECONDS", "deliver", "sign"]

log = logging.getLogger("mediarip.notifications")

SIGNATURE_HEADER = "X-Mediarip-Signature"
TRY_SECONDS = 10.0
RETRIES = 3
BACKOFF: tuple[float, ...] = (1.0, 4.0, 15.0)
_NOT_RETRIED = frozenset(range(400, 500)) - {408, 425, 429}
_USER_AGENT = "media-rip notifications"


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every webhook: making one (loading the CA bundle) takes tens of
    milliseconds of CPU, which a fresh client per try would spend on the event loop each time.
    Made once, in a worker thread; contexts are safe to share."""
    return ssl.create_default_context()


async def _tls_context() -> ssl.SSLContext:
    if _tls.cache_info().currsize:
        return _tls()
    return await trio.to_thread.run_sync(_tls)


def sign(body: bytes, secret: str) -> str:
    """The signature header's value for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def deliver(
    target: Target,
    message: Message,
    threads: trio.CapacityLimiter,
    *,
    retries: int = RETRIES,
    backoff: Sequence[float] = BACKOFF,
    try_seconds: float = TRY_SECONDS,
) -> Delivery:
    """Send ``message`` to ``target``, retrying as above; Apprise's calls take a thread of
    ``threads``. Never raises but ``Cancelled``."""
    attempts = 0
    error = "not sent"
    for attempt in range(retries + 1):
        if attempt:
            await trio.sleep(backoff[min(attempt - 1, len(backoff) - 1)])
        attempts += 1
        try:
            if target.kind is TargetKind.WEBHOOK:
                error_or_none, final = await _webhook(target, message, try_seconds)
            else:
                error_or_none, final = await _apprise(target, message, try_seconds, threads)
        except Exception as exc:  # a bug in a library must not end the sender
            log.exception("notification to %s crashed", target.name)
            error_or_none, final = f"{type(exc).__name__}", True
        if error_or_none is None:
            return Delivery(True, attempts)
        error = error_or_none
        if final:
            break
    return Delivery(False, attempts, error)


async def _webhook(target: Target, message: Message, try_seconds: float) -> tuple[str | None, bool]:
    """One try: (None, _) when delivered, else (what went wrong, whether to stop trying)."""
    body = json.dumps(message.body, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", "User-Agent": _USER_AGENT}
    if target.secret:
        headers[SIGNATURE_HEADER] = sign(body, target.secret)
    tls = await _tls_context()
    try:
        # A fresh client per try: a receiver that hung must not leave a pooled connection.
        async with httpx.AsyncClient(
            timeout=try_seconds, follow_redirects=False, verify=tls
        ) as client:
            with trio.fail_after(try_seconds * 2):  # httpx's timeouts are per phase
                response = await client.post(target.url, content=body, headers=headers)
    except trio.TooSlowError:
        return f"no answer within {try_seconds * 2:g} s", False
    except httpx.TimeoutException:
        return f"no answer within {try_seconds:g} s", False
    except httpx.HTTPError as exc:
        # The exception's text would repeat the URL, secrets and all: its class says enough.
        return f"could not connect ({type(exc).__name__})", False
    if 200 <= response.status_code < 300:
        return None, True
    return f"HTTP {response.status_code}", response.status_code in _NOT_RETRIED


async def _apprise(
    target: Target, message: Message, try_seconds: float, threads: trio.CapacityLimiter
) -> tuple[str | None, bool]:
    def send() -> bool:
        import apprise  # ~0.3 s to import: only once someone has an Apprise target

        notifier = apprise.Apprise()
        if not notifier.add(target.url):
            raise _NotApprise()
        return bool(notifier.notify(title=message.title, body=message.text))

    try:
        with trio.fail_after(try_seconds * 3):
            sent = await trio.to_thread.run_sync(send, limiter=threads, abandon_on_cancel=True)
    except _NotApprise:
        return "Apprise does not understand this URL", True
    except trio.TooSlowError:
        return f"Apprise gave no answer within {try_seconds * 3:g} s", False
    return (None, True) if sent else ("the service refused it or could not be reached", False)


class _NotApprise(Exception):
    pass
