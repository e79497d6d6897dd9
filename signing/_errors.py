"""Exceptions raised by the signing package."""

__all__ = ["SigningError", "SigningConfigError"]


class SigningError(Exception):
    """A document could not be signed (bad input, TSA down, token error...)."""


class SigningConfigError(SigningError):
    """The signing configuration is unusable; the message names the variable."""
