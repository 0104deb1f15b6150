"""Every page for people, as one router for the application."""

from fastapi import APIRouter
from starlette.responses import Response

from broker.web import agreements, overrides, sign_in
from broker.web.pages import WebRoute
from broker.web.style import STYLESHEET

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/web/style.css")
async def stylesheet() -> Response:
    return Response(
        STYLESHEET, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"}
    )


for pages in (sign_in, agreements, overrides):
    router.include_router(pages.router)
