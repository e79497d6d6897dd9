"""`recouvre demo` end to end, as a new user runs it: every file written, every signature valid."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_demo_writes_signed_documents(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECOUVRE_")}
    env["RECOUVRE_DATA_DIR"] = str(tmp_path / "var")
    out = tmp_path / "demo"
    r = subprocess.run([str(ROOT / ".venv/bin/recouvre"), "demo", "--out", str(out)], env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    for kind in ("relance", "mise_en_demeure", "decompte", "requete_injonction_de_payer", "bordereau_pieces",
                 "dossier_injonction_de_payer"):
        pdf = out / f"{kind}.pdf"
        assert str(pdf) in r.stdout
        sig = subprocess.run(["pdfsig", str(pdf)], capture_output=True, text=True).stdout
        assert "Signature is Valid." in sig and "Total document signed" in sig, (kind, sig)
        meta = subprocess.run(["pdfinfo", "-meta", str(pdf)], capture_output=True, text=True).stdout
        assert "pdfaid" in meta and ("<pdfaid:part>2<" in meta or 'pdfaid:part="2"' in meta), kind
    assert (out / "dossier_injonction_de_payer.zip").stat().st_size > 0
    assert (out / "mise_en_demeure-envoi.pdf").read_bytes().startswith(b"%PDF-")
    assert "effective 2026-03-05" in r.stdout and "valid=True" in r.stdout
    assert "avocate@demo.recouvre.test" in r.stdout and "http://127.0.0.1:8000/app/" in r.stdout
