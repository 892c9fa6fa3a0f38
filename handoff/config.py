"""Deployment settings, read from HANDOFF_* environment variables."""

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

WINDOW_NAMES = (
    "claim_window",
    "handoff_window",
    "request_window",
    "auto_close_window",
    "reopen_window",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HANDOFF_", extra="ignore")

    database_url: str = "sqlite:///handoff.db"
    # Windows in seconds (SPEC §3 defaults).
    claim_window: int = Field(15 * 60, gt=0)
    handoff_window: int = Field(24 * 3600, gt=0)
    request_window: int = Field(24 * 3600, gt=0)
    auto_close_window: int = Field(7 * 24 * 3600, gt=0)
    reopen_window: int = Field(30 * 24 * 3600, gt=0)
    # A deployment's own send-away wordings, merged with the built-in ones.
    send_away_rules: Path | None = None
    # How a handoff needs the customer present, for orgs that say nothing (SPEC §12).
    customer_presence: Literal["attested", "verified"] = "attested"
    # Webhook delivery: tries before a delivery is dead, first retry delay (doubling, capped at
    # an hour), and how long one POST may take.
    webhook_max_attempts: int = Field(10, ge=1)
    webhook_backoff: float = Field(5.0, gt=0)
    webhook_timeout: float = Field(10.0, gt=0)
    # Webhook receivers on a private network (and the tests' own): off, only public addresses.
    webhook_allow_private: bool = False
    # What one case may hold at once (SPEC §14): its open requests.
    max_open_requests: int = Field(50, ge=1)
    # Signs the web UI's session cookie; when unset, each process makes up its own.
    session_secret: str | None = None
    # Where people reach this server (`https://handoff.example.com`): when it is https, the web
    # UI's session cookie is sent only over https (`Secure`).
    public_url: str | None = None
    # `/metrics` without a token (a scraper inside a private network); otherwise it needs an
    # admin's or an auditor's.
    metrics_public: bool = False
    # Each process's PostgreSQL connection pool: connections kept open, more opened under load,
    # and seconds a request waits for one before it is answered 503 (docs/operations.md,
    # "Running at scale").
    pool_size: int = Field(5, ge=1)
    pool_max_overflow: int = Field(10, ge=0)
    pool_timeout: float = Field(5.0, gt=0)
    # On the event loop the store PREPAREs its statements on each connection (handoff.store.driver);
    # false where connections are shared between sessions (PgBouncer in transaction mode).
    prepared_statements: bool = True
    # Requests of each API process that work on PostgreSQL at once (on the event loop), and the
    # threads it runs blocking work in (the web UI, audit reads, keyed requests). Unset: 4 (on
    # SQLite writes queue for its one write lock anyway; raise it on PostgreSQL when the database
    # is far away and its answers wait on the network).
    api_threads: int | None = Field(None, ge=1)
    # Event streams (SPEC §12): seconds between keep-alive comments, and between two reads of
    # the events table on SQLite (PostgreSQL is woken by NOTIFY instead).
    stream_keepalive: float = Field(15.0, gt=0, le=15)
    stream_poll: float = Field(0.25, gt=0)


@dataclass(frozen=True)
class Windows:
    """The time windows in force for one org: the deployment's, overridden by the org's own."""

    claim: timedelta
    handoff: timedelta
    request: timedelta
    auto_close: timedelta
    reopen: timedelta

    @classmethod
    def for_org(cls, settings: Settings, overrides: dict[str, Any] | None) -> "Windows":
        seconds = {name: getattr(settings, name) for name in WINDOW_NAMES}
        seconds.update({k: v for k, v in (overrides or {}).items() if k in WINDOW_NAMES})
        return cls(
            claim=timedelta(seconds=seconds["claim_window"]),
            handoff=timedelta(seconds=seconds["handoff_window"]),
            request=timedelta(seconds=seconds["request_window"]),
            auto_close=timedelta(seconds=seconds["auto_close_window"]),
            reopen=timedelta(seconds=seconds["reopen_window"]),
        )
