"""Signer configuration, read once from the environment at start-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from ._errors import SigningConfigError

__all__ = ["SignerConfig", "PadesLevel", "PADES_LEVELS"]

PadesLevel = Literal["B-B", "B-T", "B-LT", "B-LTA"]
PADES_LEVELS: tuple[PadesLevel, ...] = ("B-B", "B-T", "B-LT", "B-LTA")

P12 = "RECOUVRE_SIGNING_P12"
P12_PASSWORD = "RECOUVRE_SIGNING_P12_PASSWORD"
PKCS11_MODULE = "RECOUVRE_PKCS11_MODULE"
PKCS11_TOKEN = "RECOUVRE_PKCS11_TOKEN"
PKCS11_KEY = "RECOUVRE_PKCS11_KEY"
PKCS11_CERT = "RECOUVRE_PKCS11_CERT"
PKCS11_PIN = "RECOUVRE_PKCS11_PIN"
TSA_URL = "RECOUVRE_TSA_URL"
PADES_LEVEL = "RECOUVRE_PADES_LEVEL"
TRUST_ROOTS = "RECOUVRE_SIGNING_TRUST_ROOTS"
STAMP_FONT = "RECOUVRE_SIGNING_FONT"


@dataclass(frozen=True)
class SignerConfig:
    """Where the key lives and which PAdES level to produce.

    Neither ``p12_path`` nor ``pkcs11_module`` set means: development
    certificate generated under ``data_dir/signing``.
    """

    data_dir: Path
    p12_path: Path | None = None
    p12_password: str | None = field(default=None, repr=False)
    pkcs11_module: Path | None = None
    pkcs11_token: str | None = None
    pkcs11_key: str | None = None
    pkcs11_cert: str | None = None
    pkcs11_pin: str | None = field(default=None, repr=False)
    tsa_url: str | None = None
    level: PadesLevel = "B-B"
    trust_roots_path: Path | None = None
    font_path: Path | None = None

    def __post_init__(self) -> None:
        self._check()

    @property
    def uses_pkcs11(self) -> bool:
        return self.pkcs11_module is not None

    @property
    def uses_development_certificate(self) -> bool:
        return self.p12_path is None and self.pkcs11_module is None

    @classmethod
    def from_env(cls, environ: Mapping[str, str], data_dir: Path) -> SignerConfig:
        def get(name: str) -> str | None:
            value = environ.get(name, "").strip()
            return value or None

        def path(name: str) -> Path | None:
            value = get(name)
            return Path(value).expanduser() if value else None

        tsa_url = get(TSA_URL)
        level = get(PADES_LEVEL)
        if level is None:
            level = "B-T" if tsa_url else "B-B"
        level = level.upper()
        if level not in PADES_LEVELS:
            raise SigningConfigError(
                f"{PADES_LEVEL}={environ.get(PADES_LEVEL)!r} "
                f"is not one of {', '.join(PADES_LEVELS)}"
            )
        pkcs11_vars = (PKCS11_MODULE, PKCS11_TOKEN, PKCS11_KEY, PKCS11_CERT, PKCS11_PIN)
        if get(PKCS11_MODULE) is None:
            stray = [name for name in pkcs11_vars if get(name) is not None]
            if stray:
                raise SigningConfigError(f"{', '.join(stray)} set but {PKCS11_MODULE} is not")
        if get(P12) is None and get(P12_PASSWORD) is not None:
            raise SigningConfigError(f"{P12_PASSWORD} is set but {P12} is not")
        return cls(
            data_dir=Path(data_dir),
            p12_path=path(P12),
            p12_password=environ.get(P12_PASSWORD) or None,
            pkcs11_module=path(PKCS11_MODULE),
            pkcs11_token=get(PKCS11_TOKEN),
            pkcs11_key=get(PKCS11_KEY),
            pkcs11_cert=get(PKCS11_CERT),
            pkcs11_pin=environ.get(PKCS11_PIN) or None,
            tsa_url=tsa_url,
            level=level,  # type: ignore[arg-type]
            trust_roots_path=path(TRUST_ROOTS),
            font_path=path(STAMP_FONT),
        )

    def _check(self) -> None:
        if self.p12_path is not None and self.pkcs11_module is not None:
            raise SigningConfigError(
                f"set either {P12} or {PKCS11_MODULE}, not both: which key signs is ambiguous"
            )
        if self.level not in PADES_LEVELS:
            raise SigningConfigError(
                f"{PADES_LEVEL}={self.level!r} is not one of {', '.join(PADES_LEVELS)}"
            )
        if self.pkcs11_module is not None:
            if not self.pkcs11_token:
                raise SigningConfigError(
                    f"{PKCS11_TOKEN} (token label) is required with {PKCS11_MODULE}"
                )
            if not self.pkcs11_key:
                raise SigningConfigError(
                    f"{PKCS11_KEY} (key label) is required with {PKCS11_MODULE}"
                )
            if self.pkcs11_pin is None:
                raise SigningConfigError(f"{PKCS11_PIN} is required with {PKCS11_MODULE}")
        if self.tsa_url is not None:
            parts = urlsplit(self.tsa_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise SigningConfigError(f"{TSA_URL}={self.tsa_url!r} is not an http(s) URL")
            if self.level == "B-B":
                raise SigningConfigError(
                    f"{PADES_LEVEL}=B-B contradicts {TSA_URL}: "
                    "a timestamped signature is B-T or higher"
                )
        elif self.level != "B-B":
            raise SigningConfigError(
                f"{PADES_LEVEL}={self.level} needs a timestamp authority: set {TSA_URL}"
            )
