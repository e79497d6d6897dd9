"""The one exception the pipeline raises, naming the step that failed so callers can retry or report."""
from __future__ import annotations

import asyncio
from typing import Literal

__all__ = ["GenerationError", "Step", "is_transient_cause"]

Step = Literal["render", "convert", "assemble", "finish"]


class GenerationError(Exception):
    """A document could not be produced; ``step`` says where (a bad template, LibreOffice, pypdf, the finisher).

    ``transient`` says whether the same request may succeed later (a conversion timeout, a
    LibreOffice that did not start, a time-stamping authority out of reach) or never will (a
    template error, an unreadable pièce, a document that crashed LibreOffice twice).
    """

    def __init__(self, step: Step, message: str, *, transient: bool = False):
        super().__init__(f"{step}: {message}")
        self.step = step
        self.message = message
        self.transient = transient


def _network_errors() -> tuple[type[BaseException], ...]:
    kinds: list[type[BaseException]] = [ConnectionError, TimeoutError, asyncio.TimeoutError]
    try:
        import aiohttp  # pyHanko's HTTP time-stamper and fetchers
        kinds.append(aiohttp.ClientError)
    except ImportError:  # pragma: no cover - a pyHanko dependency
        pass
    try:
        from pyhanko.sign.timestamps import TimestampRequestError
        kinds.append(TimestampRequestError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(kinds)


def is_transient_cause(exc: BaseException) -> bool:
    """True when a network or time-stamping failure is somewhere in the exception's chain.

    The signer wraps what went wrong (``SigningError(...) from e``), so the chain, not the
    outer type, tells a TSA outage from a PDF the signer cannot parse.
    """
    kinds = _network_errors()
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, kinds):
            return True
        current = current.__cause__ or current.__context__
    return False
