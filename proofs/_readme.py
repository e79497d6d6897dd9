"""README.md of a proof ZIP, in French and English, with this proof's own values filled in so a
reader can run the checks by hand (sha256sum, python3, openssl) without Recouvre."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from ._tokens import head_imprint

__all__ = ["render_readme", "CHAIN_SCRIPT"]

# Standard library only: an outsider can recompute the chain without installing Recouvre.
CHAIN_SCRIPT = '''\
import hashlib, json

def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

ledger = json.load(open("ledger.json", encoding="utf-8"))
prev = "0" * 64
for n, e in enumerate(ledger["events"], start=1):
    assert e["seq"] == n and e["case_id"] == ledger["case_id"], f"event {n}: missing or out of order"
    assert hashlib.sha256(canonical(e["payload"])).hexdigest() == e["payload_digest"], f"event {n}: payload"
    fields = {k: e[k] for k in ("case_id", "seq", "type", "at", "actor", "payload_digest", "prev_hash")}
    assert e["prev_hash"] == prev, f"event {n}: previous-hash link"
    assert hashlib.sha256(canonical(fields)).hexdigest() == e["hash"], f"event {n}: hash"
    prev = e["hash"]
print("chain OK,", len(ledger["events"]), "events, head", prev)
'''


def _timestamp_lines(timestamps: list[Mapping[str, Any]]) -> list[str]:
    if not timestamps:
        return ["_Aucun horodatage / no timestamp._", ""]
    lines = ["| seq | head (ledger.json) | SHA-256(head) = imprint | time (TSA) | file |",
             "|---|---|---|---|---|"]
    for t in timestamps:
        lines.append(f"| {t['seq']} | `{t['head_hash']}` | `{head_imprint(t['head_hash']).hex()}` | "
                     f"{t['time'] or '?'} | `{t['file']}` |")
    lines += ["", "```sh"]
    for t in timestamps:
        lines.append(f"printf %s {t['head_hash']} | sha256sum")
        lines.append(f"openssl ts -verify -digest {head_imprint(t['head_hash']).hex()} -token_in "
                     f"-in {t['file']} -CAfile tsa-chain.pem")
    lines += ["```", ""]
    return lines


def _document_lines(files: Mapping[str, Mapping[str, Any]]) -> list[str]:
    docs = {p: m for p, m in files.items() if p.startswith("documents/")}
    if not docs:
        return ["_Aucun document archivé / no archived document._", ""]
    lines = ["| file | SHA-256 | ledger event(s) |", "|---|---|---|"]
    for path, m in sorted(docs.items()):
        refs = ", ".join(f"{r['seq']} `{r['type']}` `{r['pointer']}`" for r in m.get("ledger", []))
        lines.append(f"| `{path}` | `{m['sha256']}` | {refs} |")
    return lines + [""]


def render_readme(*, case: Mapping[str, Any], head: Mapping[str, Any], events: list[Mapping[str, Any]],
                  timestamps: list[Mapping[str, Any]], files: Mapping[str, Mapping[str, Any]],
                  generated_at: dt.datetime) -> str:
    last = max((t["seq"] for t in timestamps), default=0)
    after = len(events) - last
    ref, cid = case.get("reference", ""), case["id"]
    out = [
        f"# Preuve du dossier {ref} — Proof of case {ref}",
        "",
        f"Dossier / case `{cid}` · {len(events)} événements / events · tête / head `{head['head']}`  ",
        f"Produit le / generated on {generated_at.isoformat()} par / by Recouvre.",
        "",
        "## Français",
        "",
        "### Contenu",
        "",
        "- `ledger.json` — le journal de preuve du dossier : chaque événement, dans l'ordre. Chaque événement "
        "contient l'empreinte SHA-256 de son contenu (`payload_digest`) et celle de l'événement précédent "
        "(`prev_hash`) : modifier, retirer ou réordonner un événement casse tous les suivants.",
        "- `documents/` — chaque fichier archivé auquel le journal se réfère (lettres et dossiers signés, "
        "leur version DOCX modifiable, plis recommandés, pièces versées, avis de réception scannés), et "
        "rien d'autre. L'événement cité dans `manifest.json` en contient l'empreinte SHA-256 : un fichier "
        "qu'aucun événement ne mentionne n'est pas une preuve, et la vérification le signale.",
        "- `timestamps/N.tsr` — jetons d'horodatage RFC 3161 (DER) délivrés par une autorité d'horodatage "
        "sur la tête du journal après l'événement N. L'empreinte horodatée est le SHA-256 du texte "
        "hexadécimal de la tête (64 caractères, sans retour à la ligne). Un jeton atteste l'existence de "
        "tous les événements 1 à N à sa date.",
        "- `timestamps.json` — index des jetons : numéro d'événement, tête, adresse de l'autorité, date.",
        "- `case.json` — l'état actuel du dossier, pour information : le journal fait foi.",
        "- `manifest.json` et `SHA256SUMS` — l'empreinte SHA-256 de chaque fichier (au format `sha256sum` "
        "pour le second) et, dans le manifeste, l'événement du journal qui s'y réfère.",
        "",
        "### Vérifier",
        "",
        "Avec Recouvre, sans serveur ni base de données (`tsa-root.pem` : certificat racine de l'autorité "
        "d'horodatage, obtenu auprès d'elle ou de la liste de confiance européenne) :",
        "",
        "```sh\nrecouvre proof verify preuve.zip --trust tsa-root.pem\n```",
        "",
        "À la main :",
        "",
        "1. Empreintes des fichiers : `unzip preuve.zip -d preuve && cd preuve && sha256sum -c SHA256SUMS`.",
        "2. Chaîne du journal : `python3 verifier_chaine.py` avec le script ci-dessous (bibliothèque "
        "standard seulement) ; il affiche la tête recalculée.",
        "3. Documents : l'empreinte de chaque fichier de `documents/` doit être égale au champ `sha256` "
        "de l'événement indiqué dans le tableau « Documents » (par exemple "
        "`jq '.events[] | select(.seq == 5) | .payload' ledger.json`).",
        "4. Horodatages : pour chaque jeton, la tête citée doit être le `hash` de l'événement N de "
        "`ledger.json` ; calculer l'empreinte avec `printf %s <tête> | sha256sum`, puis "
        "`openssl ts -verify -digest <empreinte> -token_in -in timestamps/N.tsr -CAfile tsa-chain.pem`, "
        "où `tsa-chain.pem` contient la chaîne de certificats de l'autorité, obtenue auprès d'elle et non "
        "de ce fichier. `openssl ts -reply -token_in -in timestamps/N.tsr -text` affiche la date.",
        "",
        "### Limites",
        "",
        "- Ce README et le manifeste ne sont pas signés : la confiance vient de la chaîne du journal et des "
        "jetons de l'autorité d'horodatage, que la vérification recalcule.",
        "- Les événements postérieurs au dernier horodatage ne sont garantis que par la chaîne elle-même."
        + (f" Ici : {after} événement(s) après le dernier jeton." if timestamps else
           " Ce dossier n'a aucun horodatage : rien n'atteste de l'extérieur la date ni l'intégrité du journal."),
        "- La révocation du certificat de l'autorité n'est pas vérifiée hors ligne.",
        "",
        "## English",
        "",
        "### Contents",
        "",
        "- `ledger.json` — the case's evidence ledger: every event, in order. Each event carries the SHA-256 "
        "of its content (`payload_digest`) and the hash of the previous event (`prev_hash`): editing, "
        "removing or reordering an event breaks every later one.",
        "- `documents/` — every archived file the ledger refers to (signed letters and dossiers, their "
        "editable DOCX, registered-mail packets, uploaded evidence, scanned return receipts), and nothing "
        "else. The event named in `manifest.json` holds its SHA-256: a file no event records is not "
        "evidence, and verification reports it.",
        "- `timestamps/N.tsr` — RFC 3161 time-stamp tokens (DER) issued by a time-stamping authority over "
        "the ledger head after event N. The time-stamped imprint is the SHA-256 of the head's hex text "
        "(64 characters, no newline). A token proves that events 1 to N existed at its time.",
        "- `timestamps.json` — index of the tokens: event number, head, TSA URL, time.",
        "- `case.json` — the case's current state, for information: the ledger is authoritative.",
        "- `manifest.json` and `SHA256SUMS` — each file's SHA-256 (in `sha256sum` format for the latter) "
        "and, in the manifest, the ledger event that refers to it.",
        "",
        "### Verify",
        "",
        "With Recouvre, no server or database needed (`tsa-root.pem`: the TSA's root certificate, obtained "
        "from the TSA or the EU trusted list):",
        "",
        "```sh\nrecouvre proof verify proof.zip --trust tsa-root.pem\n```",
        "",
        "By hand:",
        "",
        "1. File digests: `unzip proof.zip -d proof && cd proof && sha256sum -c SHA256SUMS`.",
        "2. Ledger chain: `python3 verify_chain.py` with the script below (standard library only); it "
        "prints the recomputed head.",
        "3. Documents: each file's digest under `documents/` must equal the `sha256` field of the event "
        "listed in the Documents table (e.g. `jq '.events[] | select(.seq == 5) | .payload' ledger.json`).",
        "4. Timestamps: for each token, the head it names must be the `hash` of event N in `ledger.json`; "
        "compute the imprint with `printf %s <head> | sha256sum`, then "
        "`openssl ts -verify -digest <imprint> -token_in -in timestamps/N.tsr -CAfile tsa-chain.pem`, "
        "where `tsa-chain.pem` holds the TSA's certificate chain, obtained from the TSA, not from this file. "
        "`openssl ts -reply -token_in -in timestamps/N.tsr -text` prints the time.",
        "",
        "### Limits",
        "",
        "- This README and the manifest are not signed: trust comes from the ledger chain and the TSA's "
        "tokens, which verification recomputes.",
        "- Events after the last timestamp are vouched for by the chain alone."
        + (f" Here: {after} event(s) after the last token." if timestamps else
           " This case has no timestamp: nothing outside this file attests the ledger's time or integrity."),
        "- The TSA certificate's revocation status is not checked offline.",
        "",
        "## Script — verifier_chaine.py / verify_chain.py",
        "",
        "```python",
        CHAIN_SCRIPT.rstrip("\n"),
        "```",
        "",
        "## Horodatages — Timestamps",
        "",
        *_timestamp_lines(timestamps),
        "## Documents",
        "",
        *_document_lines(files),
    ]
    return "\n".join(out)
