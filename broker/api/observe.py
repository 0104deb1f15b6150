"""Counting responses and marking them uncacheable, as plain ASGI middleware (cheap)."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from broker.metrics import Metrics


class ObserveResponses:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.metrics.http_requests.labels(scope["method"], str(message["status"])).inc()
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"cache-control" for name, _ in headers):
                    # Responses may carry personal data: no cache along the way may keep them.
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, observed)
