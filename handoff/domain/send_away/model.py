"""Placeholder until the model is trained."""

from __future__ import annotations

from handoff.domain.send_away.text import Span


def first_match(seen: str) -> Span | None:
    return None
