"""/docs (Swagger UI) and /redoc, served with no request leaving the broker.

The scripts and styles are the ones the fastapi-offline package ships, served from
/docs/assets by IMB itself, so the pages work where the broker has no internet (most NHS
networks). The pages are written here rather than by fastapi-offline, whose pages start
Swagger UI from an inline script: this way the Content-Security-Policy can refuse every
inline and foreign script. Swagger UI's Authorize button speaks OAuth 2.0 client credentials
to /oauth/token, as the OpenAPI document's security scheme says.
"""

import html
from typing import Any

from fastapi import APIRouter, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse, Response

router = APIRouter(include_in_schema=False)
ASSETS = "/docs/assets"
# Inline *styles* are allowed because both viewers set them from script (ReDoc injects its
# stylesheet at run time); inline and foreign *scripts* are not. ReDoc searches in a worker
# it starts from a blob.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": DOCS_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
# Starts Swagger UI on the element the page marks with the document's address.
SWAGGER_INIT = """
const root = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({
  url: root.dataset.openapi,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
"""


class _Assets(StaticFiles):
    """The viewers' scripts, styles and icon, as the fastapi-offline package ships them;
    unlike the API's answers they hold no personal data, so browsers may keep them."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers.setdefault("Cache-Control", "public, max-age=86400")
        return response


def assets() -> StaticFiles:
    return _Assets(packages=[("fastapi_offline", "static")])


def _page(title: str, head: str, body: str) -> HTMLResponse:
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="icon" href="{ASSETS}/favicon.png">{head}</head>'
        f"<body>{body}</body></html>"
    )
    return HTMLResponse(document, headers=HEADERS)


def _openapi_url(request: Request) -> str:
    return html.escape(request.scope.get("root_path", "") + request.app.openapi_url)


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return _page(
        f"{request.app.title} — Swagger UI",
        f'<link rel="stylesheet" href="{root}{ASSETS}/swagger-ui.css">',
        f'<div id="swagger-ui" data-openapi="{_openapi_url(request)}"></div>'
        f'<script src="{root}{ASSETS}/swagger-ui-bundle.js"></script>'
        f'<script src="{root}/docs/swagger-init.js"></script>',
    )


@router.get("/docs/swagger-init.js")
async def swagger_init() -> Response:
    return Response(
        SWAGGER_INIT,
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=3600"},
    )


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return _page(
        f"{request.app.title} — ReDoc",
        "",
        f'<redoc spec-url="{_openapi_url(request)}"></redoc>'
        f'<script src="{root}{ASSETS}/redoc.standalone.js"></script>',
    )
