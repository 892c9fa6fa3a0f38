"""Operations: liveness, readiness (the database answers), Prometheus metrics."""

from fastapi import APIRouter, Request, Response

from api.deps import DbDep
from api.problems import problem
from api.schemas import outputs
from handoff.services.health import database_reachable

router = APIRouter(tags=["operations"])
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/healthz", response_model=outputs.Health)
def healthz() -> outputs.Health:
    """The process is up."""
    return outputs.Health(status="ok")


@router.get("/readyz", response_model=outputs.Health, responses={503: {}})
def readyz(db: DbDep) -> outputs.Health | Response:
    """The database answers `SELECT 1`."""
    if not database_reachable(db):
        return problem(503, "database_unreachable", "The database does not answer.")
    return outputs.Health(status="ready")


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def metrics(request: Request) -> Response:
    """Requests by route template, method and status; latencies; refusals by code."""
    return Response(request.app.state.observability.exposition(), media_type=PROMETHEUS_TEXT)
