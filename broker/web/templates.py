"""Rendering pages. Autoescaping is on for every template: nothing a user typed is markup."""

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.responses import HTMLResponse

from broker.web import display


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("broker.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = display.when
    env.filters["clock"] = display.clock
    env.filters["duration"] = display.duration
    env.filters["person"] = display.person
    return env


def render(template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("person", None)
    context.setdefault("flash", None)
    html = environment().get_template(template).render(**context)
    return HTMLResponse(html, status_code=status)
