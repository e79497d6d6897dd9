"""Exceptions raised by the signing package."""

__all__ = ["SigningError", "SigningConfigError"]


class SigningError(Exception):
    """A document could not be signed (bad input, TSA down, token error...).

    ``transient``: the time-stamping authority, or a server the validation data comes from,
    did not answer; the same document may sign later. Anything else will fail again.
    """

    def __init__(self, message: str, *, transient: bool = False):
        super().__init__(message)
        self.transient = transient


class SigningConfigError(SigningError):
    """The signing configuration is unusable; the message names the variable."""
