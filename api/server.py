"""Running the API: `serve()` starts uvicorn with the app built from the HANDOFF_* settings."""

import os
import secrets

import uvicorn


def serve(
    host: str = "127.0.0.1", port: int = 8000, workers: int = 1, database_url: str | None = None
) -> None:
    """Each worker process builds its own app (and database pool) through the factory; they
    inherit the environment, so one session secret signs the UI's cookies for all of them."""
    if database_url:
        os.environ["HANDOFF_DATABASE_URL"] = database_url
    os.environ.setdefault("HANDOFF_SESSION_SECRET", secrets.token_urlsafe(32))
    uvicorn.run(
        "api.app:serving_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
    )
