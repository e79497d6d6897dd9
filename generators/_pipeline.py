"""From a case file and its décompte to final PDFs: render, convert, assemble, finish.

Each step fails with ``GenerationError`` naming it, so the service layer can tell a
template bug (render) from a LibreOffice hiccup (convert), a bad upload (assemble) or a
signing failure (finish); ``transient`` says which of them are worth retrying (a timeout, a
converter that did not start, a TSA out of reach). Only the final PDFs go through ``finish``.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ._assemble import Part, build_zip, merge_parts, signature_box
from ._context import build_context
from ._convert import Converter, check_pdf
from ._errors import GenerationError
from ._pieces import PlannedPiece, piece_pdf, plan_pieces, slugify, stamp_piece
from ._render import render_docx, template_path
from ._types import DocumentKind, DocumentRequest, Finisher, FinishHint, GeneratedDocument

__all__ = ["DocumentPipeline", "TITLES"]

TITLES = {
    DocumentKind.relance: "Relance",
    DocumentKind.mise_en_demeure: "Mise en demeure",
    DocumentKind.decompte: "Décompte de la créance",
    DocumentKind.requete_injonction_de_payer: "Requête en injonction de payer",
    DocumentKind.bordereau_pieces: "Bordereau des pièces",
    DocumentKind.dossier_injonction_de_payer: "Dossier d'injonction de payer",
}
# Documents whose template reserves a signature space (bookmark « signature »).
_SIGNED = {DocumentKind.relance, DocumentKind.mise_en_demeure, DocumentKind.requete_injonction_de_payer}
_DOSSIER_DOCS = (
    (DocumentKind.requete_injonction_de_payer, "01-requete.pdf", "R-"),
    (DocumentKind.decompte, "02-decompte.pdf", "D-"),
    (DocumentKind.bordereau_pieces, "03-bordereau.pdf", "B-"),
)


class DocumentPipeline:
    """Generates every document kind; ``converter`` is a ConverterPool (or a fake in unit tests)."""

    def __init__(self, converter: Converter, *, templates_dir: Path | None = None):
        self.converter = converter
        self.templates_dir = templates_dir

    # -- public ----------------------------------------------------------------------------------
    def context(self, request: DocumentRequest) -> tuple[dict, list[str]]:
        """The template context of a request and its warnings (for previews and template tests)."""
        planned, piece_warnings = plan_pieces(request.case, request.pieces, request.date, request.letters)
        ctx, notes = build_context(request, planned)
        return ctx, notes + piece_warnings

    def generate(self, request: DocumentRequest, finish: Finisher | None = None) -> GeneratedDocument:
        if request.payment_days < 1:
            raise GenerationError("render", "payment_days must be at least 1")
        kind = DocumentKind(request.kind)
        planned, piece_warnings = plan_pieces(request.case, request.pieces, request.date, request.letters)
        ctx, notes = build_context(request, planned)
        # The claim's own warnings are the caller's (and printed in the décompte): not repeated here.
        warnings = list(notes)
        if kind in (DocumentKind.requete_injonction_de_payer, DocumentKind.bordereau_pieces,
                    DocumentKind.dossier_injonction_de_payer):
            warnings += piece_warnings
        if kind is DocumentKind.dossier_injonction_de_payer:
            return self._dossier(request, ctx, planned, warnings, finish)
        docx = self._render(kind, ctx, request)
        pdf = self._convert([docx])[0]
        box = self._signature(kind, pdf, warnings)
        name = self._filename(kind, request)
        final = _finish(finish, pdf, FinishHint(kind, self._title(kind, request), box, name))
        return GeneratedDocument(kind=kind, pdf=final, docx=docx, filename=name, warnings=warnings,
                                 parts=[(name, final)], signature_box=box)

    # -- steps -----------------------------------------------------------------------------------
    def _title(self, kind: DocumentKind, request: DocumentRequest) -> str:
        return f"{TITLES[kind]} — {request.case.reference}"

    def _filename(self, kind: DocumentKind, request: DocumentRequest) -> str:
        return f"{slugify(kind.value.replace('_', '-'))}-{slugify(request.case.reference)}-{request.date.isoformat()}.pdf"

    def _render(self, kind: DocumentKind, ctx: dict, request: DocumentRequest) -> bytes:
        template = template_path(kind.value, self.templates_dir)
        sender = request.case.collection_agency.name if request.case.collection_agency else request.case.creditor.name
        return render_docx(template, ctx, title=self._title(kind, request), author=sender)

    def _convert(self, documents: list[bytes]) -> list[bytes]:
        """Documents converted side by side when the converter has several slots."""
        workers = min(len(documents), max(1, int(getattr(self.converter, "size", 1))))
        if workers == 1:
            return [self.converter.convert(d) for d in documents]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="convert") as ex:
            return list(ex.map(self.converter.convert, documents))

    def _signature(self, kind: DocumentKind, pdf: bytes, warnings: list[str]):
        if kind not in _SIGNED:
            return None
        try:
            box = signature_box(pdf)
        except GenerationError:
            box = None
        if box is None:
            warnings.append(f"{TITLES[kind]} : le modèle n'a pas de signet « signature » ; "
                            "emplacement de la signature inconnu.")
        return box

    def _dossier(self, request: DocumentRequest, ctx: dict, planned: list[PlannedPiece], warnings: list[str],
                 finish: Finisher | None) -> GeneratedDocument:
        kind = DocumentKind.dossier_injonction_de_payer
        docxs = [self._render(k, ctx, request) for k, _, _ in _DOSSIER_DOCS]
        pdfs = self._convert(docxs)
        box = self._signature(DocumentKind.requete_injonction_de_payer, pdfs[0], warnings)
        parts = [Part(TITLES[k], pdf, label) for (k, _, label), pdf in zip(_DOSSIER_DOCS, pdfs, strict=True)]
        files = [(name, pdf, k) for (k, name, _), pdf in zip(_DOSSIER_DOCS, pdfs, strict=True)]
        for piece in planned:
            if not piece.attached:
                continue
            stamped, piece_warnings = stamp_piece(piece_pdf(piece), piece)
            warnings += piece_warnings
            title = f"Pièce n°{piece.number} — {piece.title}"
            parts.append(Part(title, stamped, f"P{piece.number}-"))
            files.append((f"piece-{piece.number:02d}-{slugify(piece.title)}.pdf", stamped, None))
        try:
            merged = merge_parts(parts, title=self._title(kind, request))
        except GenerationError:
            raise
        except Exception as exc:  # noqa: BLE001 - pypdf raises many types on odd input
            raise GenerationError("assemble", f"cannot merge the dossier: {type(exc).__name__}: {exc}") from exc
        name = self._filename(kind, request)
        final_parts = []
        for filename, pdf, part_kind in files:
            part_box = box if part_kind is DocumentKind.requete_injonction_de_payer else None
            title = TITLES[part_kind] if part_kind else filename
            final_parts.append((filename, _finish(finish, pdf, FinishHint(part_kind, title, part_box, filename))))
        final = _finish(finish, merged, FinishHint(kind, self._title(kind, request), box, name))
        return GeneratedDocument(kind=kind, pdf=final, docx=None, filename=name, warnings=warnings,
                                 parts=final_parts, zip=build_zip(final_parts, request.date), signature_box=box)


def _finish(finish: Finisher | None, pdf: bytes, hint: FinishHint) -> bytes:
    if finish is None:
        return pdf
    try:
        out = finish(pdf, hint)
    except GenerationError:
        raise
    except Exception as exc:  # noqa: BLE001 - any finisher failure is reported as the finish step
        # The finisher says whether a retry may help (signing.SigningError.transient: a TSA out of reach).
        raise GenerationError("finish", f"{hint.filename or hint.title}: {type(exc).__name__}: {exc}",
                              transient=bool(getattr(exc, "transient", False))) from exc
    try:
        return check_pdf(out, "finish output")
    except GenerationError as exc:
        raise GenerationError("finish", exc.message) from None

