"""Archive exceptions.

ArchiveError
 ├── ArchiveConfigError     unusable configuration or backend (start-up)
 ├── ArchiveConflict        key already holds different bytes (write-once)
 ├── ArchiveIntegrityError  stored bytes no longer match their SHA-256
 ├── InvalidKey             key is not a safe relative path (also a ValueError)
 └── ObjectNotFound         no such key / version
"""

__all__ = [
    "ArchiveError",
    "ArchiveConfigError",
    "ArchiveConflict",
    "ArchiveIntegrityError",
    "InvalidKey",
    "ObjectNotFound",
]


class ArchiveError(Exception):
    pass


class ArchiveConfigError(ArchiveError):
    pass


class ArchiveConflict(ArchiveError):
    pass


class ArchiveIntegrityError(ArchiveError):
    pass


class InvalidKey(ArchiveError, ValueError):
    pass


class ObjectNotFound(ArchiveError, KeyError):
    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""
