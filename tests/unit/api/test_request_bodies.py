"""A body cut short by the client's disconnect never reaches a handler as if it were whole."""

from starlette.types import Message, Receive, Scope, Send

from broker.api.bodies import BodyLimit


async def test_a_disconnect_mid_body_reaches_no_handler() -> None:
    reached: list[bytes] = []

    async def handler(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append((await receive()).get("body", b""))

    messages: list[Message] = [
        {"type": "http.request", "body": b"grant_type=client_cred", "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> Message:
        return messages.pop(0)

    async def send(message: Message) -> None:
        raise AssertionError(f"nothing is sent to a client that has gone: {message}")

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/login",
        "headers": [(b"content-length", b"99")],
    }
    await BodyLimit(handler, max_bytes=1024, timeout=1.0)(scope, receive, send)

    assert reached == []
