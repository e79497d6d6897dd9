"""Load the signing key once and keep it for the signer's lifetime."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.sign import signers
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash, process_pss_params

from . import _config as env
from ._config import SignerConfig
from ._devcert import dev_certificate
from ._errors import SigningConfigError

__all__ = ["LoadedKey", "load_key", "load_pem_bundle"]


@dataclass
class LoadedKey:
    signer: signers.Signer
    chain: list[asn1_x509.Certificate]
    is_development: bool
    close: Callable[[], None] = field(default=lambda: None)


class CachedKeySigner(signers.SimpleSigner):
    """SimpleSigner that keeps the parsed private key.

    The stock ``sign_raw`` re-parses (and re-validates) the DER key on every
    signature, which costs tens of milliseconds with RSA-3072.
    """

    def __init__(self, *, private_key, **kwargs):
        super().__init__(**kwargs)
        self._private_key = private_key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        try:
            algo = mechanism.signature_algo
        except ValueError:
            algo = mechanism["algorithm"].native
        key = self._private_key
        if algo == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
            from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15

            return key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        if algo == "rsassa_pss" and isinstance(key, rsa.RSAPrivateKey):
            padding, hash_algo = process_pss_params(mechanism["parameters"])
            return key.sign(data, padding, hash_algo)
        if algo == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
        if algo in ("ed25519", "ed448") and isinstance(
            key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)
        ):
            return key.sign(data)
        return super().sign_raw(data, digest_algorithm)


def load_key(cfg: SignerConfig) -> LoadedKey:
    if cfg.uses_pkcs11:
        return _load_pkcs11(cfg)
    if cfg.p12_path is not None:
        password = cfg.p12_password.encode("utf-8") if cfg.p12_password else None
        return _load_p12(cfg.p12_path, password, is_development=False)
    dev = dev_certificate(cfg.data_dir)
    return _load_p12(dev.p12_path, dev.password, is_development=True)


def _load_p12(path: Path, password: bytes | None, *, is_development: bool) -> LoadedKey:
    try:
        blob = path.read_bytes()
    except OSError as e:
        raise SigningConfigError(f"{env.P12}={str(path)!r} cannot be read: {e.strerror}") from e
    try:
        key, cert, others = pkcs12.load_key_and_certificates(blob, password)
    except ValueError as e:
        raise SigningConfigError(
            f"{env.P12}={str(path)!r} cannot be opened: not a PKCS#12 file "
            f"or wrong {env.P12_PASSWORD}"
        ) from e
    if key is None or cert is None:
        raise SigningConfigError(
            f"{env.P12}={str(path)!r} holds no private key with its certificate"
        )
    der = serialization.Encoding.DER
    signing_cert = asn1_x509.Certificate.load(cert.public_bytes(der))
    chain = [asn1_x509.Certificate.load(c.public_bytes(der)) for c in others]
    key_info = asn1_keys.PrivateKeyInfo.load(
        key.private_bytes(der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    signer = CachedKeySigner(
        private_key=key,
        signing_cert=signing_cert,
        signing_key=key_info,
        cert_registry=SimpleCertificateStore.from_certs(chain),
    )
    return LoadedKey(signer=signer, chain=[signing_cert, *chain], is_development=is_development)


def _load_pkcs11(cfg: SignerConfig) -> LoadedKey:
    try:
        from pkcs11 import exceptions as p11_errors
        from pyhanko.config.pkcs11 import TokenCriteria
        from pyhanko.sign import pkcs11 as p11
    except ImportError as e:  # pragma: no cover - extra is a hard dependency
        raise SigningConfigError(f"{env.PKCS11_MODULE} is set but python-pkcs11 is missing") from e

    assert cfg.pkcs11_module is not None
    if not cfg.pkcs11_module.is_file():
        raise SigningConfigError(f"{env.PKCS11_MODULE}={str(cfg.pkcs11_module)!r} does not exist")
    try:
        session = p11.open_pkcs11_session(
            str(cfg.pkcs11_module),
            token_criteria=TokenCriteria(label=cfg.pkcs11_token),
            user_pin=cfg.pkcs11_pin,
        )
    except p11_errors.PinIncorrect as e:
        raise SigningConfigError(
            f"{env.PKCS11_PIN} was refused by token {cfg.pkcs11_token!r}"
        ) from e
    except p11_errors.PKCS11Error as e:
        if "No token" in str(e):
            raise SigningConfigError(
                f"{env.PKCS11_TOKEN}={cfg.pkcs11_token!r}: no such token"
            ) from e
        raise SigningConfigError(
            f"{env.PKCS11_MODULE}={str(cfg.pkcs11_module)!r} could not be used: {e!r}"
        ) from e
    except (OSError, RuntimeError) as e:
        raise SigningConfigError(
            f"{env.PKCS11_MODULE}={str(cfg.pkcs11_module)!r} could not be used: {e!r}"
        ) from e
    try:
        signer = p11.PKCS11Signer(
            session,
            key_label=cfg.pkcs11_key,
            cert_label=cfg.pkcs11_cert or cfg.pkcs11_key,
            other_certs_to_pull=None,
        )
        signing_cert = signer.signing_cert  # forces the key and certificates to load now
        chain = [signing_cert, *(c for c in signer.cert_registry if c != signing_cert)]
    except Exception as e:
        session.close()
        var = f"{env.PKCS11_CERT}/{env.PKCS11_KEY}" if cfg.pkcs11_cert else env.PKCS11_KEY
        raise SigningConfigError(
            f"{var}: key or certificate not found on token {cfg.pkcs11_token!r}: {e}"
        ) from e
    return LoadedKey(signer=signer, chain=chain, is_development=False, close=session.close)


def load_pem_bundle(path: Path) -> list[asn1_x509.Certificate]:
    """Read every certificate of a PEM (or single DER) file."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise SigningConfigError(
            f"{env.TRUST_ROOTS}={str(path)!r} cannot be read: {e.strerror}"
        ) from e
    try:
        if pem.detect(data):
            certs = [
                asn1_x509.Certificate.load(der) for _, _, der in pem.unarmor(data, multiple=True)
            ]
        else:
            certs = [asn1_x509.Certificate.load(data)]
        for cert in certs:
            _ = cert.native  # parse eagerly so a broken file fails here, not during signing
    except (ValueError, TypeError) as e:
        raise SigningConfigError(
            f"{env.TRUST_ROOTS}={str(path)!r} is not a PEM certificate bundle"
        ) from e
    if not certs:
        raise SigningConfigError(f"{env.TRUST_ROOTS}={str(path)!r} contains no certificate")
    return certs
