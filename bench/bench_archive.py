"""Median cost of archiving a 100 KB document: local files vs S3 (moto server on loopback).

Run with ``python -m bench.bench_archive``; prints a JSON object. The S3
figure measures our client path plus moto, not a real S3 round trip.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

from storage import RetentionPolicy, open_archive

OBJECT_SIZE = 100 * 1024
SAMPLES = 50
REGION = "eu-west-3"


def _measure(store, samples: int) -> dict:
    payloads = [os.urandom(OBJECT_SIZE) for _ in range(samples)]
    timings = []
    wall = time.perf_counter()
    for i, payload in enumerate(payloads):
        start = time.perf_counter()
        store.put(f"bench/{i:05d}.pdf", payload, "application/pdf")
        timings.append((time.perf_counter() - start) * 1000)
    wall = time.perf_counter() - wall
    return {
        "median_ms_per_put": round(statistics.median(timings), 2),
        "objects_per_s": round(samples / wall, 1),
        "samples": samples,
    }


def _moto_store(tmp: Path):
    import boto3
    from botocore.config import Config
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    client = boto3.client(
        "s3",
        endpoint_url=f"http://{host}:{port}",
        region_name=REGION,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(s3={"addressing_style": "path"}),
    )
    client.create_bucket(
        Bucket="bench-archive",
        ObjectLockEnabledForBucket=True,
        CreateBucketConfiguration={"LocationConstraint": REGION},
    )
    store = open_archive(
        "s3://bench-archive/recouvre", tmp, RetentionPolicy("GOVERNANCE", 1), s3_client=client
    )
    store.check()
    return server, store


def run(samples: int = SAMPLES) -> dict:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto logs every request
    with tempfile.TemporaryDirectory() as tmp:
        local = open_archive(None, Path(tmp))
        local.check()
        result = {"object_bytes": OBJECT_SIZE, "local": _measure(local, samples)}
        server, s3_store = _moto_store(Path(tmp))
        try:
            s3_store.put("warm-up.pdf", b"warm-up", "application/pdf")
            result["s3_moto"] = _measure(s3_store, samples)
        finally:
            server.stop()
    return result


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
