"""What each role may do. Integrators (collection software) may do everything."""
from __future__ import annotations

__all__ = ["ROLES", "PERMISSIONS", "allowed"]

PERMISSIONS = {
    "cases:read", "cases:write", "documents:write", "mailings:write", "webhooks:manage",
    "signatures:validate",
}

ROLES: dict[str, frozenset[str]] = {
    "integrator": frozenset(PERMISSIONS),
    "lawyer": frozenset({"cases:read", "documents:write", "signatures:validate"}),
    "clerk": frozenset({"cases:read", "mailings:write", "signatures:validate"}),
}


def allowed(role: str, permission: str) -> bool:
    return permission in ROLES.get(role, frozenset())
