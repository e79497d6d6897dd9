"""Self-signed development certificate, so a fresh install can sign at once.

Its signatures carry no legal weight; the reason text says so.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

__all__ = ["DevCertificate", "dev_certificate", "DEV_REASON_SUFFIX"]

log = logging.getLogger("recouvre.signing")

DEV_REASON_SUFFIX = " (certificat de développement, sans valeur probante)"
DEV_KEY_BITS = 3072
DEV_VALIDITY = dt.timedelta(days=5 * 365)
P12_NAME = "dev-signer.p12"
PASSWORD_NAME = "dev-signer.p12.password"


@dataclass(frozen=True)
class DevCertificate:
    p12_path: Path
    password_path: Path
    created: bool

    @property
    def password(self) -> bytes:
        return self.password_path.read_bytes().strip()


def dev_certificate(
    data_dir: Path, common_name: str = "Recouvre (développement)"
) -> DevCertificate:
    """Return the development PKCS#12 under ``data_dir/signing``, generating it once.

    A file lock makes concurrent workers agree on a single key.
    """
    folder = Path(data_dir) / "signing"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    p12_path, password_path = folder / P12_NAME, folder / PASSWORD_NAME
    with _locked(folder / ".dev-signer.lock"):
        if p12_path.exists() and password_path.exists():
            return DevCertificate(p12_path, password_path, created=False)
        password = secrets.token_urlsafe(32).encode("ascii")
        blob = _generate_p12(common_name, password)
        _write_private(password_path, password + b"\n")
        _write_private(p12_path, blob)
    log.warning("generated development signing certificate %s (no legal value)", p12_path)
    return DevCertificate(p12_path, password_path, created=True)


def _generate_p12(common_name: str, password: bytes) -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=DEV_KEY_BITS)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Recouvre"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Certificat de développement"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    now = dt.datetime.now(dt.timezone.utc)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + DEV_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return pkcs12.serialize_key_and_certificates(
        b"recouvre-dev-signer", key, cert, None, serialization.BestAvailableEncryption(password)
    )


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
