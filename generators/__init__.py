"""Legal documents of a collection case: DOCX templates → PDF/A-2b → filing bundles.

    pool = ConverterPool(size=2, work_dir=Path("/var/lib/recouvre/lo"), timeout=60.0)
    pipeline = DocumentPipeline(converter=pool)
    doc = pipeline.generate(DocumentRequest(kind=DocumentKind.mise_en_demeure, case=case, claim=claim,
                                            as_of=date.today()))

Amounts always come from the ClaimStatement given; nothing here computes interest.
"""
from ._convert import PDF_EXPORT_OPTIONS, Converter, ConverterPool, cold_convert
from ._errors import GenerationError
from ._formatting import amount_in_words, clean_text, french_date, french_money, french_rate
from ._pieces import (
    PastReminder,
    image_page_pdf,
    latest_notice,
    notice_title,
    proof_of_mailing_title,
    reminder_history,
)
from ._pipeline import DocumentPipeline
from ._render import TEMPLATES_DIR, render_docx, template_environment
from ._signed_copies import flatten_signature_widgets
from ._types import (
                     DocumentKind,
                     DocumentRequest,
                     Finisher,
                     FinishHint,
                     GeneratedDocument,
                     Mailing,
                     Piece,
                     PieceKind,
                     SentLetter,
                     SignatureBox,
)

__all__ = [
    "DocumentKind", "DocumentRequest", "GeneratedDocument", "DocumentPipeline", "ConverterPool", "Converter",
    "Piece", "PieceKind", "GenerationError", "FinishHint", "Finisher", "SignatureBox", "SentLetter", "Mailing",
    "render_docx", "template_environment", "TEMPLATES_DIR", "french_money", "french_date", "french_rate",
    "amount_in_words", "clean_text", "cold_convert", "PDF_EXPORT_OPTIONS", "flatten_signature_widgets",
    "image_page_pdf", "latest_notice", "notice_title", "proof_of_mailing_title", "reminder_history", "PastReminder",
]
