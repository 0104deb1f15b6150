"""Every page for people, as one router for the application."""

from fastapi import APIRouter
from starlette.responses import Response

from broker.web import agreements, audit, duty, overrides, sign_in
from broker.web.duty_js import DUTY_SCRIPT
from broker.web.pages import WebRoute
from broker.web.style import STYLESHEET

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/web/style.css")
async def stylesheet() -> Response:
    return Response(
        STYLESHEET, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"}
    )


@router.get("/web/duty.js")
async def duty_script() -> Response:
    return Response(
        DUTY_SCRIPT,
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=3600"},
    )


for pages in (sign_in, agreements, overrides, duty, audit):
    router.include_router(pages.router)
