"""`recouvre demo` end to end, as a new user runs it: every file written, every signature valid."""
from __future__ import annotations

import io
import os
import re
import subprocess
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("relance", "mise_en_demeure", "decompte", "requete_injonction_de_payer", "bordereau_pieces",
         "dossier_injonction_de_payer")


def pdfsig(path: Path) -> str:
    r = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True)
    return r.stdout + r.stderr


def check_signatures(path: Path, *, signed: bool) -> None:
    """Every signature pdfsig finds is valid: one bad signature among good ones must fail too."""
    out = pdfsig(path)
    count = len(re.findall(r"^Signature #\d+:", out, re.MULTILINE))
    if signed:
        assert count >= 1, (path.name, out)
    assert out.count("Signature is Valid.") == count, (path.name, out)
    assert "Digest Mismatch" not in out and "Signature is Invalid" not in out, (path.name, out)
    if count:
        # the last signature covers the whole file: nothing was written after signing
        assert "Total document signed" in out[out.rindex(f"Signature #{count}:"):], (path.name, out)


def test_demo_writes_signed_documents(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECOUVRE_")}
    env["RECOUVRE_DATA_DIR"] = str(tmp_path / "var")
    out = tmp_path / "demo"
    r = subprocess.run([str(ROOT / ".venv/bin/recouvre"), "demo", "--out", str(out)], env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    for kind in KINDS:
        pdf = out / f"{kind}.pdf"
        assert str(pdf) in r.stdout
        check_signatures(pdf, signed=True)
        meta = subprocess.run(["pdfinfo", "-meta", str(pdf)], capture_output=True, text=True).stdout
        assert "pdfaid" in meta and ("<pdfaid:part>2<" in meta or 'pdfaid:part="2"' in meta), kind
    # every other PDF the demo wrote: none may carry a broken signature (a copied one, say)
    others = sorted(set(out.glob("*.pdf")) - {out / f"{k}.pdf" for k in KINDS})
    assert out / "mise_en_demeure-envoi.pdf" in others
    for pdf in others:
        assert pdf.read_bytes().startswith(b"%PDF-")
        check_signatures(pdf, signed=False)
    archive = out / "dossier_injonction_de_payer.zip"
    assert archive.stat().st_size > 0
    with zipfile.ZipFile(io.BytesIO(archive.read_bytes())) as z:
        names = [n for n in z.namelist() if n.endswith(".pdf")]
        assert any(n.startswith("01-") for n in names) and any(n.startswith("piece-") for n in names)
        for name in names:
            part = tmp_path / "zip" / name
            part.parent.mkdir(exist_ok=True)
            part.write_bytes(z.read(name))
            check_signatures(part, signed=True)     # each part of the dossier is signed on its own
    assert "effective 2026-03-05" in r.stdout and "valid=True" in r.stdout
    assert "avocate@demo.recouvre.test" in r.stdout and "http://127.0.0.1:8000/app/" in r.stdout
