"""Tenants, API keys and roles."""
from .keys import KeyCache, Principal, authenticate, create_api_key, create_tenant, get_or_create_tenant
from .roles import PERMISSIONS, ROLES, allowed

__all__ = ["KeyCache", "Principal", "authenticate", "create_api_key", "create_tenant", "get_or_create_tenant",
           "PERMISSIONS", "ROLES", "allowed"]
