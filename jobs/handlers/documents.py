"""Registers `document.generate` (defined with the documents service)."""
import documents.service  # noqa: F401
