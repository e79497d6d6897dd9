"""Third-party-verifiable evidence of a case: RFC 3161 timestamps of the ledger head, and a proof
ZIP (ledger, tokens, archived files, README) that `recouvre proof verify` checks offline.

`verify_proof_zip` needs neither server nor database; `timestamp_pending_heads` and
`build_proof_zip` work on the service's container and database.
"""
from ._bundle import build_proof_zip
from ._references import ArchiveReference, archive_references
from ._timestamping import (
    STAMPED_EVENT_TYPES, PyHankoTimeStamper, TimeStamper, stamper_from_environ, timestamp_pending_heads,
)
from ._tokens import TokenError, TokenInfo, head_imprint, read_token
from ._verify import FORMAT, ProofReport, load_trust_roots, verify_proof_zip

__all__ = [
    "FORMAT", "STAMPED_EVENT_TYPES", "ArchiveReference", "ProofReport", "PyHankoTimeStamper", "TimeStamper",
    "TokenError", "TokenInfo", "archive_references", "build_proof_zip", "head_imprint", "load_trust_roots",
    "read_token", "stamper_from_environ", "timestamp_pending_heads", "verify_proof_zip",
]
