"""The one exception the pipeline raises, naming the step that failed so callers can retry or report."""
from __future__ import annotations

from typing import Literal

__all__ = ["GenerationError", "Step"]

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
