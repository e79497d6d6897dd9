"""The domain services the pages call that may not be installed yet (documents, delivery).

The pages show what exists: a missing capability hides its section with a note, rather than
taking the whole case page down.
"""
from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["documents", "delivery"]


def _optional(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name not in (name, name.rsplit(".", 1)[0]):
            raise
        return None


def documents() -> ModuleType | None:
    return _optional("documents.service")


def delivery() -> ModuleType | None:
    return _optional("delivery.service")
