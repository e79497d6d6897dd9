"""Failures the service layer reports; the HTTP layer maps each to one status code."""
from __future__ import annotations

from .model import FieldError

__all__ = ["DomainError", "NotFound", "Conflict", "InvalidInput", "Unprocessable"]


class DomainError(Exception):
    title = "Error"

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    title = "Not found"


class Conflict(DomainError):
    title = "Conflict"


class Unprocessable(DomainError):
    """The request is well formed but cannot be honoured (e.g. a rate not yet published)."""

    title = "Unprocessable request"

    def __init__(self, detail: str, **extra):
        super().__init__(detail)
        self.extra = extra


class InvalidInput(DomainError):
    title = "Invalid input"

    def __init__(self, errors: list[FieldError], detail: str | None = None):
        super().__init__(detail or "; ".join(f"{e.pointer or '/'}: {e.message}" for e in errors[:5]))
        self.errors = errors
