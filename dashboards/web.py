"""Serve the built web application (dashboards/dist, from `npm run build`) and the local Swagger UI.

Mounted last by the api app: /assets/* are the hashed bundles, every other GET outside /api is the
single-page app's index.html (SPA fallback), sent with the real Content-Security-Policy.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import html
import logging
import re
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers
from starlette.types import Scope

from core.config import get_settings

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
DIST = HERE / "dist"
INDEX = DIST / "index.html"
# Installed from the npm registry by `make install` and served locally: intranets are offline.
NODE_MODULES = HERE / "node_modules"
VENDOR_FILES: dict[str, tuple[Path, str]] = {
    "swagger-ui-bundle.js": (NODE_MODULES / "swagger-ui-dist" / "swagger-ui-bundle.js", "text/javascript"),
    "swagger-ui.css": (NODE_MODULES / "swagger-ui-dist" / "swagger-ui.css", "text/css"),
    "swagger-favicon.png": (NODE_MODULES / "swagger-ui-dist" / "favicon-32x32.png", "image/png"),
}
NOT_BUILT = f"web app not built ({INDEX} missing): run `make install` (npm ci && npm run build in dashboards/)"
OFFICE_META = '<meta name="yuqing-office" content="" />'

# Scraped text is untrusted: no inline script may run, and scripts come only from this app.
# style-src allows inline styles because Element Plus and ECharts position popups and tooltips with style attributes.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
NOT_FOUND_PREFIXES = ("api/", "assets/", "static/")

router = APIRouter(include_in_schema=False)


COMPRESSIBLE = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".json": "application/json"}


@lru_cache(maxsize=256)
def _gzipped(path: Path, mtime_ns: int) -> bytes:
    """A bundle gzipped once per build (the name is hashed, the mtime guards a rebuild in place)."""
    return gzip.compress(path.read_bytes(), compresslevel=6, mtime=0)


class Assets(StaticFiles):
    """Hashed bundles: gzipped when the browser accepts it (a third of the bytes on an intranet link),
    cached for a year, with the same security headers as the page."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200 and isinstance(response, FileResponse):
            file = Path(response.path)
            accepts = Headers(scope=scope).get("accept-encoding", "")
            if file.suffix in COMPRESSIBLE and "gzip" in accepts:
                body = _gzipped(file, file.stat().st_mtime_ns)
                response = Response(body, media_type=COMPRESSIBLE[file.suffix],
                                    headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
        response.headers.update(SECURITY_HEADERS)
        if response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def index_html() -> str:
    """index.html with the office name filled in (escaped: it comes from settings, but is still data)."""
    text = INDEX.read_text(encoding="utf-8")
    office = html.escape(get_settings().office_name, quote=True)
    return text.replace(OFFICE_META, f'<meta name="yuqing-office" content="{office}" />', 1)


def app_page() -> HTMLResponse:
    if not INDEX.is_file():
        log.error(NOT_BUILT)
        page = ('<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>网页应用尚未构建</title>'
                "<p>网页应用尚未构建：请在项目目录运行 <code>make install</code>"
                "（或 <code>make run</code>）。</p></html>")
        return HTMLResponse(page, status_code=503, headers=SECURITY_HEADERS)
    # no-store like every answer of the app (a new build reaches people at once); only the hashed
    # assets it names are cached for good.
    return HTMLResponse(index_html(), headers={**SECURITY_HEADERS, "Cache-Control": "no-store"})


@router.get("/static/vendor/{name}")
def vendor(name: str) -> FileResponse:
    """Swagger UI from npm, served by this app: no CDN."""
    if name not in VENDOR_FILES:
        raise HTTPException(status_code=404)
    path, media_type = VENDOR_FILES[name]
    if not path.is_file():
        log.error("%s missing: run `make install`", path)
        raise HTTPException(status_code=404, detail="前端组件未安装，请运行 make install")
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"})


@router.get("/docs", response_class=HTMLResponse)
def api_docs() -> HTMLResponse:
    """Swagger UI from the local copy, so /docs works on an offline intranet."""
    page = get_swagger_ui_html(
        openapi_url="/openapi.json", title="政务舆情监测与回应系统 - 接口文档",
        swagger_js_url="/static/vendor/swagger-ui-bundle.js",
        swagger_css_url="/static/vendor/swagger-ui.css",
        swagger_favicon_url="/static/vendor/swagger-favicon.png",
    )
    # Swagger UI starts from one inline script: allow exactly that script by its hash.
    inline = re.findall(rb"<script>(.*?)</script>", bytes(page.body), re.S)
    hashes = " ".join("'sha256-" + base64.b64encode(hashlib.sha256(s).digest()).decode() + "'" for s in inline)
    page.headers.update({**SECURITY_HEADERS, "Content-Security-Policy": CONTENT_SECURITY_POLICY.replace(
        "script-src 'self'", f"script-src 'self' {hashes}")})
    return page


@router.get("/", response_class=HTMLResponse)
def index() -> HTMLResponse:
    """网页应用（单页应用的入口）。"""
    return app_page()


# Every method: a POST to a path no API route takes (/api/tickets/x/assign) is a 404 as before the
# app existed, not a 405 from this GET-only page route.
@router.api_route("/{path:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"], response_model=None)
def spa_fallback(path: str, request: Request) -> Response:
    """Any page path of the app (/tickets/7, /alerts?id=3) gets index.html; the client router takes it from there."""
    if request.method not in ("GET", "HEAD") or path.startswith(NOT_FOUND_PREFIXES) or path == "api":
        return JSONResponse({"detail": "未找到"}, status_code=404)
    return app_page()


def mount(app: FastAPI) -> None:
    """Add /assets, /docs, the vendor files and the SPA fallback to the app. Call after the API routers."""
    if not INDEX.is_file():
        log.warning(NOT_BUILT)
    app.mount("/assets", Assets(directory=DIST / "assets", check_dir=False), name="assets")
    app.include_router(router)
