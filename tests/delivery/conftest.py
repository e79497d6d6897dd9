"""Session fixtures for the delivery tests: an address sheet and a pyHanko-signed letter."""

import datetime as dt
import io

import pytest
from delivery_helpers import PARIS, RECIPIENT, SENDER, SignedLetter, pdfa_pdf

from delivery import build_address_sheet


@pytest.fixture(scope="session")
def sheet() -> bytes:
    return build_address_sheet(
        SENDER,
        RECIPIENT,
        "RA473124829FR",
        "R1",
        "lrar",
        "D-2026/0042",
        created_at=dt.datetime(2026, 3, 5, 10, 0, tzinfo=PARIS),
    )


@pytest.fixture(scope="session")
def signed_letter() -> SignedLetter:
    """A letter signed with pyHanko by a throwaway self-signed key, visible stamp included."""
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Maitre Test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    certificate = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    signer = signers.SimpleSigner(
        signing_cert=certificate,
        signing_key=asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
        cert_registry=None,
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdfa_pdf("Mise en demeure de payer", "Page deux")))
    signed = signers.sign_pdf(
        writer,
        signers.PdfSignatureMetadata(field_name="Signature"),
        signer=signer,
        new_field_spec=fields.SigFieldSpec("Signature", on_page=0, box=(72, 72, 272, 122)),
    )
    return SignedLetter(signed.getvalue(), certificate)
