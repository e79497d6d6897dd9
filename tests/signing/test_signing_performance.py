"""The signer keeps its key and placeholder size: far cheaper than pyHanko's stock path.

Speed itself is measured by `make bench` (bench/bench_signing.py), not asserted here: these
tests pin the two behaviours the speed comes from.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import load_der_private_key

from signing import SignerConfig, build_signer


def test_key_parsed_once_and_placeholder_sized_once(tmp_path, letter_pdf, monkeypatch):
    signer = build_signer(SignerConfig.from_env({}, tmp_path))  # dev key: RSA-3072
    estimates = []
    original = type(signer)._estimate_reserve

    async def counting(self):
        estimates.append(1)
        return await original(self)
    monkeypatch.setattr(type(signer), "_estimate_reserve", counting)
    parses = []

    def counting_load(*a, **kw):
        parses.append(1)
        return load_der_private_key(*a, **kw)
    # pyHanko's stock SimpleSigner calls serialization.load_der_private_key on every signature
    monkeypatch.setattr(serialization, "load_der_private_key", counting_load)
    for i in range(5):
        signer.sign(letter_pdf, reason=f"Mise en demeure {i}")
    assert len(estimates) <= 1        # no dry-run signature per document
    assert parses == []               # the loaded key object is reused, never re-parsed


def test_one_signer_shared_by_threads(tmp_path, letter_pdf):
    from concurrent.futures import ThreadPoolExecutor

    from signing import validate_pdf

    signer = build_signer(SignerConfig.from_env({}, tmp_path))
    with ThreadPoolExecutor(max_workers=4) as pool:
        signed = list(pool.map(lambda i: signer.sign(letter_pdf, reason=f"doc {i}"), range(8)))
    for pdf in signed:
        assert validate_pdf(pdf, trust_roots=signer.trust_roots).ok
