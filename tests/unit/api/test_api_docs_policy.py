"""Who counts as a browser at `/`, and what the API docs pages may run."""

from broker.api.routes.docs import DOCS_POLICY
from broker.api.routes.index import wants_html

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_only_an_accept_header_naming_html_counts_as_a_browser() -> None:
    assert wants_html(BROWSER_ACCEPT)
    assert wants_html("text/html")
    assert not wants_html("*/*")
    assert not wants_html("application/json")
    assert not wants_html("text/html;q=0, application/json")
    assert not wants_html("")


def test_the_docs_policy_refuses_inline_and_foreign_scripts() -> None:
    script_src = next(d for d in DOCS_POLICY.split(";") if d.strip().startswith("script-src"))
    assert script_src.split()[1:] == ["'self'"]
