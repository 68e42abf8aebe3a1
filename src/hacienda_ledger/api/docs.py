"""The API's documentation pages, from the package's own copy of their assets.

FastAPI's default ``/docs`` (Swagger UI) and ``/redoc`` load their scripts and styles from a
CDN: offline, or behind a proxy that blocks it, they are blank. Here both pages load them
from ``api/static/`` (versions and licences in its README), mounted at ``/static``, and
nothing else from elsewhere (no Google fonts, no remote favicon, no validator badge).
``GET /`` is a small page that leads to them. None of these is in the OpenAPI document.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
ASSETS = "/static"

HOME = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{title}</title>
<link rel="icon" href="{assets}/swagger-ui/favicon-32x32.png"></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 2em auto">
<h1>{title} {version}</h1>
<p>The ledger of aires d'accueil des gens du voyage, as an HTTP API. Every request but
<code>/health</code> and <code>/ready</code> carries
<code>Authorization: Bearer &lt;token&gt;</code>.</p>
<ul>
<li><a href="/docs">/docs</a>: the API, to read and try (Swagger UI)</li>
<li><a href="/redoc">/redoc</a>: the API, to read (ReDoc)</li>
<li><a href="{openapi}">{openapi}</a>: the OpenAPI document</li>
<li><a href="/health">/health</a> and <a href="/ready">/ready</a>: is it up, does the
database answer</li>
</ul>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    """``/docs``, ``/redoc`` and ``/`` on ``app``, created with ``docs_url=None`` and
    ``redoc_url=None`` (FastAPI's own pages would load their assets from a CDN)."""
    openapi = app.openapi_url or "/openapi.json"
    title = f"{app.title}: API"
    icon = f"{ASSETS}/swagger-ui/favicon-32x32.png"
    app.mount(ASSETS, StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def home() -> HTMLResponse:
        return HTMLResponse(
            HOME.format(title=app.title, version=app.version, openapi=openapi, assets=ASSETS)
        )

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        scripts = f"{ASSETS}/swagger-ui/swagger-ui"
        return get_swagger_ui_html(
            openapi_url=openapi,
            title=title,
            swagger_js_url=f"{scripts}-bundle.js",
            swagger_css_url=f"{scripts}.css",
            swagger_favicon_url=icon,
            swagger_ui_parameters={"validatorUrl": None},  # no badge from a remote validator
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        script = f"{ASSETS}/redoc/redoc.standalone.js"
        return get_redoc_html(
            openapi_url=openapi,
            title=title,
            redoc_js_url=script,
            redoc_favicon_url=icon,
            with_google_fonts=False,
        )
