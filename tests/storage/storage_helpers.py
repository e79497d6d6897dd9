"""Helpers shared by the storage tests."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from pathlib import Path

REGION = "eu-west-3"
_bucket_numbers = itertools.count(1)


def make_bucket(s3, *, object_lock: bool = True) -> str:
    name = f"archives-{next(_bucket_numbers)}"
    s3.create_bucket(
        Bucket=name,
        ObjectLockEnabledForBucket=object_lock,
        CreateBucketConfiguration={"LocationConstraint": REGION},
    )
    return name


def forge_local(root: Path, key: str, forged: bytes, *, fix_sidecar: bool) -> None:
    """Replace a local archive's bytes behind its back, as someone with file access would;
    `fix_sidecar` also rewrites the digest the store keeps beside the file."""
    path = root.joinpath(*key.split("/"))
    os.chmod(path, 0o644)
    path.write_bytes(forged)
    if fix_sidecar:
        meta_path = path.with_name(f".{path.name}.meta.json")
        meta = json.loads(meta_path.read_bytes())
        meta.update(sha256=hashlib.sha256(forged).hexdigest(), size=len(forged))
        os.chmod(meta_path, 0o644)
        meta_path.write_text(json.dumps(meta))
