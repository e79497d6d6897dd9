"""Real parts for the signing tests: certomancer PKI on loopback, SoftHSM2, PDF fixtures."""

from __future__ import annotations

import os
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from certomancer.integrations.animator import Animator, AnimatorArchStore
from certomancer.registry import ArchLabel, CertLabel, CertomancerConfig
from werkzeug.serving import make_server

from .signing_helpers import make_letter

PKI_DIR = Path(__file__).resolve().parents[1] / "pki"
SOFTHSM_MODULES = (
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)
P12_PASSWORD = "secret-p12"
TOKEN_LABEL, TOKEN_PIN, TOKEN_SO_PIN = "recouvre-test", "1234", "567890"


@dataclass(frozen=True)
class Pki:
    arch: object
    base_url: str
    root: asn1_x509.Certificate
    roots_pem: Path
    p12: Path

    @property
    def tsa_url(self) -> str:
        return f"{self.base_url}/recouvre/tsa/tsa"

    def env(self, **overrides: str) -> dict[str, str]:
        """Environment for SignerConfig.from_env with the test PKCS#12 signer."""
        env = {
            "RECOUVRE_SIGNING_P12": str(self.p12),
            "RECOUVRE_SIGNING_P12_PASSWORD": P12_PASSWORD,
            "RECOUVRE_SIGNING_TRUST_ROOTS": str(self.roots_pem),
        }
        env.update(overrides)
        return {k: v for k, v in env.items() if v is not None}


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> Pki:
    """Certomancer's Animator (TSA, OCSP, CRLs) served in-process on an ephemeral port."""
    server = make_server("127.0.0.1", 0, app=None)
    base_url = f"http://127.0.0.1:{server.server_port}"
    cfg = CertomancerConfig.from_file(
        str(PKI_DIR / "certomancer.yml"), key_search_dir=str(PKI_DIR), external_url_prefix=base_url
    )
    server.app = Animator(AnimatorArchStore(cfg.pki_archs), with_web_ui=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    arch = cfg.get_pki_arch(ArchLabel("recouvre"))
    folder = tmp_path_factory.mktemp("pki")
    root = arch.get_cert(CertLabel("root"))
    roots_pem = folder / "roots.pem"
    from asn1crypto import pem

    roots_pem.write_bytes(pem.armor("CERTIFICATE", root.dump()))
    p12 = folder / "signer1.p12"
    p12.write_bytes(arch.package_pkcs12(CertLabel("signer1"), password=P12_PASSWORD.encode()))
    yield Pki(arch=arch, base_url=base_url, root=root, roots_pem=roots_pem, p12=p12)
    server.shutdown()
    thread.join(5)


@dataclass(frozen=True)
class SoftHsmToken:
    module: str
    label: str
    pin: str
    key_label: str


@pytest.fixture(scope="session")
def softhsm_token(pki, tmp_path_factory) -> SoftHsmToken:
    """A SoftHSM2 token in a temp dir holding signer1's key, certificate and chain."""
    module = next((m for m in SOFTHSM_MODULES if os.path.exists(m)), SOFTHSM_MODULES[0])
    folder = tmp_path_factory.mktemp("softhsm")
    (folder / "tokens").mkdir()
    conf = folder / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {folder / 'tokens'}\n"
        "objectstore.backend = file\nlog.level = ERROR\n"
    )
    previous = os.environ.get("SOFTHSM2_CONF")
    # The module reads SOFTHSM2_CONF when first initialised, i.e. once per process.
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(
        [
            "softhsm2-util",
            "--init-token",
            "--free",
            "--label",
            TOKEN_LABEL,
            "--pin",
            TOKEN_PIN,
            "--so-pin",
            TOKEN_SO_PIN,
        ],
        check=True,
        capture_output=True,
    )
    from certomancer.integrations import alchemist

    session = alchemist.open_pkcs11_session(module, token_label=TOKEN_LABEL, pin=TOKEN_PIN)
    try:
        alchemist.Alchemist(alchemist.DefaultAlchemistBackend(session), pki.arch).store_key_bundles(
            certs={CertLabel("signer1")}, include_chains=True
        )
    finally:
        session.close()
    yield SoftHsmToken(module=module, label=TOKEN_LABEL, pin=TOKEN_PIN, key_label="signer1")
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


@pytest.fixture(scope="session")
def letter_pdf() -> bytes:
    return make_letter()
