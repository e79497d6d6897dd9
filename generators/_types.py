"""What the service layer hands the pipeline and what it gets back."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum

from casefiles.model import CaseFile
from law.statement import ClaimStatement

__all__ = ["DocumentKind", "Piece", "PieceKind", "DocumentRequest", "GeneratedDocument", "FinishHint",
           "Finisher", "SignatureBox", "SentLetter", "Mailing"]


class DocumentKind(str, Enum):
    relance = "relance"
    mise_en_demeure = "mise_en_demeure"
    decompte = "decompte"
    requete_injonction_de_payer = "requete_injonction_de_payer"
    bordereau_pieces = "bordereau_pieces"
    dossier_injonction_de_payer = "dossier_injonction_de_payer"


class PieceKind(str, Enum):
    """Known values of ``Piece.kind``; any other string is filed as evidence, in the order given."""

    contract = "contract"
    invoice = "invoice"
    reminder = "reminder"
    mise_en_demeure = "mise_en_demeure"
    proof_of_mailing = "proof_of_mailing"
    evidence = "evidence"


@dataclass(frozen=True)
class Piece:
    """A supporting document. ``pdf`` or ``image`` (PNG/JPEG…) carries the file; neither means
    the pièce is listed in the bordereau as « copie à joindre ».

    An ``invoice`` pièce covers the case invoice whose number appears in its title; a
    ``reminder`` pièce covers the written reminder of the same date.
    """

    number: int | None
    title: str
    kind: str
    date: dt.date | None = None
    pdf: bytes | None = None
    image: bytes | None = None
    media_type: str = "application/pdf"


@dataclass(frozen=True)
class Mailing:
    """How a letter was posted: ``service`` is "lrar" or "lre"; ``deposited`` the post office's date."""

    service: str
    tracking_number: str | None = None
    deposited: dt.date | None = None


@dataclass(frozen=True)
class SentLetter:
    """A letter of the case generated earlier (a ready relance or mise en demeure).

    Generated relances count towards the rank of the next reminder, a mise en demeure gives
    the requête its date and posting, and an agency's first letter is recalled by ``reference``
    in every later one (CPCE R124-4, last paragraph).
    """

    kind: DocumentKind
    date: dt.date                           # the letter's own date
    reference: str                          # printed in the letter (« courrier n° … »)
    mailing: Mailing | None = None


# (page_index, x1, y1, x2, y2) in PDF points, origin bottom-left of the page.
SignatureBox = tuple[int, float, float, float, float]


@dataclass(frozen=True)
class FinishHint:
    """Tells ``finish`` what it is given: ``kind`` is None for a stamped pièce of the dossier."""

    kind: DocumentKind | None
    title: str
    signature_box: SignatureBox | None
    filename: str = ""


# Signs (or otherwise finishes) a final PDF. An exception whose ``transient`` attribute is true
# (signing.SigningError from a TSA out of reach) makes the finish error worth a retry.
Finisher = Callable[[bytes, FinishHint], bytes]


@dataclass(frozen=True)
class DocumentRequest:
    kind: DocumentKind
    case: CaseFile
    claim: ClaimStatement
    as_of: dt.date
    payment_days: int = 8
    pieces: Sequence[Piece] = ()
    letter_date: dt.date | None = None      # defaults to as_of
    place: str | None = None                # « Fait à … »; defaults to the sender's city
    letters: Sequence[SentLetter] = ()      # letters of the case generated earlier, as created
    reference: str | None = None            # this letter's own reference (« courrier n° … »)

    def __post_init__(self) -> None:
        # A letter dated after this document was not sent yet: kept out once, here, for every use.
        object.__setattr__(self, "letters", tuple(x for x in self.letters if x.date <= self.date))

    @property
    def date(self) -> dt.date:
        return self.letter_date or self.as_of


@dataclass
class GeneratedDocument:
    kind: DocumentKind
    pdf: bytes
    docx: bytes | None
    filename: str
    warnings: list[str] = field(default_factory=list)
    parts: list[tuple[str, bytes]] = field(default_factory=list)
    zip: bytes | None = None
    signature_box: SignatureBox | None = None
