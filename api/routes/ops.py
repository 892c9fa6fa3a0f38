"""Operations: liveness, readiness (the database answers), Prometheus metrics (for an admin or
an auditor)."""

from fastapi import APIRouter, Depends, Request, Response

from api.deps import BearerDep, DbDep, authenticated, per_case
from api.problems import problem
from api.schemas import outputs
from handoff.services.authentication import require_operations_reader
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


@per_case
def metrics_reader(request: Request, db: DbDep, credentials: BearerDep) -> None:
    """An admin or an auditor, unless HANDOFF_METRICS_PUBLIC opens the figures to anyone."""
    if not db.settings.metrics_public:
        require_operations_reader(authenticated(request, db, credentials))


@router.get(
    "/metrics",
    response_class=Response,
    dependencies=[Depends(metrics_reader)],
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
        401: {"description": "No valid bearer token (unless HANDOFF_METRICS_PUBLIC=1)"},
        403: {"description": "The token is neither an admin's nor an auditor's"},
        429: {"description": "Too many tokens that were not valid from this address"},
    },
)
def metrics(request: Request) -> Response:
    """Requests by route template, method and status; latencies; refusals by code. For an
    admin's or an auditor's token (anyone's with HANDOFF_METRICS_PUBLIC=1)."""
    return Response(request.app.state.observability.exposition(), media_type=PROMETHEUS_TEXT)
