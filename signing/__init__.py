"""PAdES signing and validation of Recouvre's documents.

Sign once the document is fully assembled; afterwards only pyHanko
incremental updates (DSS, document timestamps, further signatures) may touch
the file.
"""

from ._config import PADES_LEVELS, PadesLevel, SignerConfig
from ._devcert import DevCertificate, dev_certificate
from ._errors import SigningConfigError, SigningError
from ._signer import DocumentSigner, SignatureAppearance, build_signer
from ._validation import ValidationReport, validate_pdf

__all__ = [
    "DevCertificate",
    "DocumentSigner",
    "PADES_LEVELS",
    "PadesLevel",
    "SignatureAppearance",
    "SignerConfig",
    "SigningConfigError",
    "SigningError",
    "ValidationReport",
    "build_signer",
    "dev_certificate",
    "validate_pdf",
]
