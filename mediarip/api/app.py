"""The Quart-Trio application: blueprints, session cookies, security headers, JSON errors."""

from __future__ import annotations

from typing import TYPE_CHECKING

from quart import Response, g, request
from quart_trio import QuartTrio

from . import (
    admin,
    auth_routes,
    batch,
    cookies,
    cors,
    downloads,
    events,
    guard,
    notifications,
    openapi,
    presets,
    probes,
    spa,
    subscriptions,
    system,
    themes,
    users,
    webapp,
    ytdlp,
)
from .context import EXTENSION, ApiState
from .errors import register_error_handlers
from .sessions import SessionTracker

if TYPE_CHECKING:
    from ..services import Services

__all__ = ["create_app", "routed_app"]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https: http:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
MAX_BODY = 2 * 1024 * 1024  # a 1 MiB cookies.txt in multipart, with room to spare
#: Besides every response that serves the web app's page (``spa``), these start a session.
SESSION_START_PATHS = frozenset({"/api/config/public"})


def routed_app() -> QuartTrio:
    """The app with every route and no state: what the OpenAPI document is made from
    (``python -m mediarip.api``) without running anything."""
    app = QuartTrio("mediarip")
    app.url_map.converters["spa"] = spa.SpaPath
    for module in (
        downloads,
        batch,
        subscriptions,
        events,
        probes,
        cookies,
        system,
        openapi,
        admin,
        presets,
        notifications,
        ytdlp,
        themes,
        webapp,
        auth_routes,  # issue 14
        users,  # issue 14
        spa,
    ):
        app.register_blueprint(module.blueprint)
    return app


def create_app(services: Services) -> QuartTrio:
    app = routed_app()
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    app.config["RESPONSE_TIMEOUT"] = None
    app.config["JSON_SORT_KEYS"] = False
    tracker = SessionTracker(services)
    app.extensions[EXTENSION] = ApiState(services, tracker)
    themes.load_at_startup(app)
    register_error_handlers(app)
    app.before_request(cors.before_request)
    app.before_request(guard.check_request)
    metrics = services.metrics

    @app.after_request
    async def finish(response: Response) -> Response:
        rule = request.url_rule
        metrics.observe_request(
            rule.rule if rule is not None else "(no route)", request.method, response.status_code
        )
        if g.get("cross_origin"):
            cors.decorate(response)
        elif response.status_code < 400 and (
            g.get("serves_web_app") or request.path in SESSION_START_PATHS
        ):
            # The web app gets its session and CSRF cookies with its page and its first call.
            await tracker.current()
        if g.get("session_id") and not g.get("cross_origin"):
            tracker.set_cookie(response)
            guard.set_csrf_cookie(response)
        headers = response.headers
        headers["Content-Security-Policy"] = CSP
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        headers["X-Frame-Options"] = "DENY"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if guard.is_https():
            headers["Strict-Transport-Security"] = "max-age=31536000"
        if request.path.startswith("/api/") and "Cache-Control" not in headers:
            headers["Cache-Control"] = "no-store"
        return response

    return app
