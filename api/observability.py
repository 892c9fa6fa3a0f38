"""Prometheus metrics: requests by route template, method and status, latencies, refusals by code.

Each app has its own registry, so several apps in one process (tests) keep separate counts.
"""

import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Observability:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "handoff_http_requests",
            "HTTP requests answered",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "handoff_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["route", "method"],
            registry=self.registry,
        )
        self.refusals = Counter(
            "handoff_refusals", "Refusals by code (SPEC §3)", ["code"], registry=self.registry
        )

    def refused(self, code: str) -> None:
        self.refusals.labels(code=code).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts every answer under its route template (`/v1/cases/{case_id}`), never the raw path."""

    def __init__(self, app: ASGIApp, observability: Observability) -> None:
        self.app = app
        self.observability = observability

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = _template(scope)
            method = scope["method"]
            self.observability.requests.labels(route, method, str(status)).inc()
            self.observability.latency.labels(route, method).observe(time.perf_counter() - started)


def _template(scope: Scope) -> str:
    """The route's template; fixed pages (/docs, /openapi.json) by path; anything else one label."""
    if "route" in scope:
        return str(scope["route"].path)
    return str(scope["path"]) if "endpoint" in scope else "unmatched"
