"""The engine's errors: one refusal type carrying the spec's stable codes, plus three plain ones."""

from typing import Any

from handoff.domain.vocabulary import RECORDED_REFUSALS

RECORDED_CODES = RECORDED_REFUSALS  # refusals put on the case's record (SPEC §6)


class DomainError(Exception):
    """Base of every error the engine raises on purpose; `code` is stable and machine-readable."""

    code = "domain_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class Refusal(DomainError):
    """A lifecycle rule said no (SPEC §3 refusal table)."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message, **details)
        self.code = code

    @property
    def is_recorded(self) -> bool:
        return self.code in RECORDED_CODES


class NotFound(DomainError):
    """The thing does not exist, or the caller may not see it (existence must not leak)."""

    code = "not_found"


class Forbidden(DomainError):
    """The caller sees the case but has no power to do this."""

    code = "forbidden"


class InvalidInput(DomainError):
    """A value the engine cannot act on: an empty reason, an unknown agent, a bad code."""

    code = "validation_error"

    def __init__(self, field: str, message: str, **details: Any) -> None:
        super().__init__(message, field=field, **details)
        self.field = field


class TooLarge(DomainError):
    """More than the engine takes at once: a file over its size (413)."""

    code = "too_large"
