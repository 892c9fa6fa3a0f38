"""Prometheus metrics: requests by route template, method and status, latencies, refusals by code;
and access logs that never hold a customer's link or what a query carried (SPEC §14).

Each app has its own registry, so several apps in one process (tests) keep separate counts.
"""

import logging
import re
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


ACCESS_LOGGER = "uvicorn.access"
MASK = "***"
CUSTOMER_LINK = re.compile(r"^/c/[^/?#]+")
QUERY_VALUE = re.compile(r"=[^&]*")


def mask_path(path: str) -> str:
    """`/c/<link>/answer?x=1` → `/c/***/answer?x=***`: a status-page link is its customer's only
    key, and a query may carry what a client should not have put there (a token)."""
    path, mark, query = path.partition("?")
    path = CUSTOMER_LINK.sub(f"/c/{MASK}", path)
    return path + mark + QUERY_VALUE.sub(f"={MASK}", query)


class AccessLogMask(logging.Filter):
    """On uvicorn's access logger: its record's arguments are (client, method, path with query,
    HTTP version, status); the path is masked before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], mask_path(args[2]), *args[3:])
        return True


def mask_access_log() -> None:
    """Install the mask on uvicorn's access logger, once per process."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, AccessLogMask) for f in logger.filters):
        logger.addFilter(AccessLogMask())
