"""Password hashing for people who sign in to the pages (API keys use `keys.py` instead).

Argon2id with argon2-cffi's defaults (RFC 9106 low-memory profile): passwords are low-entropy
secrets, so unlike API keys they need a slow, memory-hard KDF.
"""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["hash_password", "verify_password", "needs_rehash", "password_problem", "MIN_LENGTH", "MAX_LENGTH"]

MIN_LENGTH = 12
MAX_LENGTH = 1024   # bounds the work an anonymous login attempt can ask for

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so that a miss costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("recouvre: no such user")


def password_problem(password: str) -> str | None:
    """Why a new password is refused, in French, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"Le mot de passe doit compter au moins {MIN_LENGTH} caractères."
    if len(password) > MAX_LENGTH:
        return f"Le mot de passe ne doit pas dépasser {MAX_LENGTH} caractères."
    if password.strip() != password:
        return "Le mot de passe ne doit pas commencer ni finir par une espace."
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Constant-effort check; an absent or malformed hash is a mismatch, never an error."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    try:
        return _hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True
