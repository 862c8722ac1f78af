"""The dashboard page and its assets. Mounted by the api app; talks to it only over HTTP."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from pathlib import Path

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from core.config import get_settings

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"
# Installed from the npm registry by `make install` and served locally: intranets are offline.
NODE_MODULES = HERE / "node_modules"
ECHARTS_JS = NODE_MODULES / "echarts" / "dist" / "echarts.min.js"
VENDOR_FILES: dict[str, tuple[Path, str]] = {
    "echarts.min.js": (ECHARTS_JS, "text/javascript"),
    "swagger-ui-bundle.js": (NODE_MODULES / "swagger-ui-dist" / "swagger-ui-bundle.js", "text/javascript"),
    "swagger-ui.css": (NODE_MODULES / "swagger-ui-dist" / "swagger-ui.css", "text/css"),
    "swagger-favicon.png": (NODE_MODULES / "swagger-ui-dist" / "favicon-32x32.png", "image/png"),
}
ECHARTS_MISSING = (f"ECharts not installed ({ECHARTS_JS} missing): run `make install` "
                   "(npm ci in dashboards/); the dashboard works without its chart until then")

# Scraped text is untrusted: no inline script may run, and scripts come only from this app.
# style-src allows inline styles because ECharts positions its tooltip with style attributes.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

templates = Jinja2Templates(directory=TEMPLATES_DIR)  # autoescapes .html templates
router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    """值班与领导舆情看板（单页）。"""
    response = templates.TemplateResponse(
        request, "index.html", {"office_name": get_settings().office_name})
    response.headers.update(SECURITY_HEADERS)
    return response


@router.get("/static/vendor/{name}")
def vendor(name: str) -> FileResponse:
    """Front-end libraries from npm (ECharts, Swagger UI), served by this app: no CDN."""
    if name not in VENDOR_FILES:
        raise HTTPException(status_code=404)
    path, media_type = VENDOR_FILES[name]
    if not path.is_file():
        log.error(ECHARTS_MISSING if name == "echarts.min.js" else f"{path} missing: run `make install`")
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


def mount(app: FastAPI) -> None:
    """Add the page and /static to an app (the vendor route first: mounts match by prefix)."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    if not ECHARTS_JS.is_file():
        log.warning(ECHARTS_MISSING)
