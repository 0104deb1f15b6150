"""GET /: a person's browser goes to the sign-in page; a machine client gets the links."""

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from broker.api.routes.oauth import TOKEN_PATH
from schemas.discovery import ApiIndex, ApiLinks

router = APIRouter(tags=["operations"])
_BROWSER: dict[int | str, dict[str, Any]] = {
    303: {"description": "A browser (`Accept: text/html`) is sent to the sign-in page, /login"}
}


def wants_html(accept: str) -> bool:
    """Whether the Accept header names HTML with a non-zero quality, as browsers' do."""
    for item in accept.split(","):
        media, *parameters = (part.strip() for part in item.split(";"))
        if media.lower() in {"text/html", "application/xhtml+xml"}:
            return all(p.replace(" ", "").lower() not in {"q=0", "q=0.0"} for p in parameters)
    return False


@router.get("/", response_model=ApiIndex, responses=_BROWSER, summary="Where to start")
async def index(request: Request) -> ApiIndex | Response:
    """The broker's starting points, as links (paths on this server)."""
    root = request.scope.get("root_path", "")
    if wants_html(request.headers.get("accept", "")):
        return RedirectResponse(f"{root}/login", status_code=303)
    paths = {
        "openapi": request.app.openapi_url,
        "docs": "/docs",
        "redoc": "/redoc",
        "token": TOKEN_PATH,
        "health": "/healthz",
        "readiness": "/readyz",
        "metrics": "/metrics",
        "login": "/login",
    }
    links = ApiLinks(**{name: root + path for name, path in paths.items()})
    return ApiIndex(name=request.app.title, version=request.app.version, links=links)
