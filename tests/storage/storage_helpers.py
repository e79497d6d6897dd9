"""Helpers shared by the storage tests."""

from __future__ import annotations

import itertools

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
