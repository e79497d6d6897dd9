"""moto's S3 server on loopback, and helpers to make buckets."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from .storage_helpers import REGION, make_bucket


@pytest.fixture(scope="session")
def moto_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def aws_env(moto_endpoint):
    return {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }


@pytest.fixture
def boto_env(aws_env, monkeypatch):
    """boto3's own environment variables pointing at moto, as in production."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in aws_env.items():
        monkeypatch.setenv(name, value)
    return aws_env


@pytest.fixture(scope="session")
def s3(aws_env):
    return boto3.client(
        "s3",
        endpoint_url=aws_env["AWS_ENDPOINT_URL"],
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(s3={"addressing_style": "path"}),
    )


@pytest.fixture
def locked_bucket(s3) -> str:
    return make_bucket(s3)


@pytest.fixture
def s3_container(s3, boto_env, tmp_path, shared_signer):
    """The service's composition root on an S3 archive (moto, GOVERNANCE so tests can clean up)."""
    from bootstrap import build_container
    from settings import Settings
    bucket = make_bucket(s3)
    container = build_container(Settings.from_env({
        "RECOUVRE_DATA_DIR": str(tmp_path), "RECOUVRE_ARCHIVE": f"s3://{bucket}/recouvre",
        "RECOUVRE_RETENTION_MODE": "GOVERNANCE", "RECOUVRE_RETENTION_YEARS": "1"}))
    container.__dict__["signer"] = shared_signer
    container.db.upgrade()
    yield container
    container.close()
