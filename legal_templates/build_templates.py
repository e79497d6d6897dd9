"""Builds the DOCX templates of legal_templates/ with python-docx.

The .docx files are committed and lawyers may edit them directly in Word or LibreOffice;
this script is the reproducible starting point (re-running it overwrites their edits, so
edit either the script or the .docx, not both). Run: ``python legal_templates/build_templates.py``.

Conventions the renderer relies on: every Jinja tag is typed in a single run; ``{%p …%}``
and ``{%tr …%}`` tags sit alone in their paragraph or table row; every font is Liberation
Serif (it has the U+00A0 / U+202F spaces and « » we print); the paragraph that leaves room
for the signature carries the Word bookmark ``signature`` (exported by LibreOffice as a PDF
destination, so a visible signature can be placed there).
"""
from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

HERE = Path(__file__).resolve().parent
FONT = "Liberation Serif"
NB = "\u00a0"
ALIGN = {"left": WD_ALIGN_PARAGRAPH.LEFT, "center": WD_ALIGN_PARAGRAPH.CENTER,
         "right": WD_ALIGN_PARAGRAPH.RIGHT, "justify": WD_ALIGN_PARAGRAPH.JUSTIFY}
RECIPIENT_INDENT = Mm(90)
FIXED_DATE = dt.datetime(2026, 1, 1)   # core properties fixed so a rebuild without changes is identical


def plural(word: str, many: str) -> str:
    """``word`` with an « s » when the Jinja condition ``many`` holds."""
    return f"{word}{{% if {many} %}}s{{% endif %}}"


def agree(condition: str, yes: str, no: str) -> str:
    """One of two spellings, as Jinja: an agreement that follows a noun chosen elsewhere."""
    return f"{{% if {condition} %}}{yes}{{% else %}}{no}{{% endif %}}"


DAYS = plural("jour", "delai_jours != '1'")              # « un (1) jour », « huit (8) jours »
# Between businesses the interest is « pénalités de retard » (feminine plural), otherwise « intérêts ».
INTEREST_STOPPED = agree("creance.commercial", "arrêtées", "arrêtés")

L111_8_AL2 = ("Les frais de recouvrement entrepris sans titre exécutoire restent à la charge du créancier, "
              "sauf s'ils concernent un acte dont l'accomplissement est prescrit par la loi au créancier. "
              "Toute stipulation contraire est réputée non écrite, sauf disposition législative contraire.")
L111_8_AL3 = ("Cependant, le créancier qui justifie du caractère nécessaire des démarches entreprises pour "
              "recouvrer sa créance peut demander au juge de l'exécution de laisser tout ou partie des frais "
              "ainsi exposés à la charge du débiteur de mauvaise foi.")


class Builder:
    """A python-docx document with the few layout helpers the templates need."""

    def __init__(self, title: str):
        self.doc = Document()
        self._bookmark_id = 0
        self._setup(title)

    # -- set-up ------------------------------------------------------------------------------
    def _setup(self, title: str) -> None:
        sec = self.doc.sections[0]
        sec.page_width, sec.page_height = Mm(210), Mm(297)
        sec.left_margin, sec.right_margin = Mm(25), Mm(20)
        sec.top_margin, sec.bottom_margin = Mm(18), Mm(18)
        sec.header_distance, sec.footer_distance = Mm(8), Mm(8)
        # One font everywhere: drop the theme fonts (Calibri/Cambria → Carlito/Caladea substitutes).
        styles = self.doc.styles.element
        for rfonts in styles.iter(qn("w:rFonts")):
            for attr in list(rfonts.attrib):
                if attr.lower().endswith("theme"):
                    del rfonts.attrib[attr]
            for key in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
                rfonts.set(qn(key), FONT)
        normal = self.doc.styles["Normal"]
        normal.font.name = FONT
        normal.font.size = Pt(11)
        normal.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)
        normal.element.rPr.rFonts.set(qn("w:cs"), FONT)
        pf = normal.paragraph_format
        pf.space_before, pf.space_after = Pt(0), Pt(6)
        pf.line_spacing = 1.08
        # French, so LibreOffice hyphenates and spell-checks in French.
        lang = OxmlElement("w:lang")
        lang.set(qn("w:val"), "fr-FR")
        normal.element.rPr.append(lang)
        props = self.doc.core_properties
        props.title, props.author, props.language = title, "Recouvre", "fr-FR"
        props.comments = "Modèle Recouvre : voir legal_templates/README.md"
        props.created = props.modified = FIXED_DATE
        props.last_modified_by, props.revision = "Recouvre", 1

    # -- paragraphs ----------------------------------------------------------------------------
    def p(self, text: str = "", *, align: str = "justify", size: float | None = None, indent=None,
          before: float = 0, after: float = 6, keep: bool = False, italic: bool = False, bold: bool = False,
          first_line=None):
        """A paragraph; ``**…**`` marks bold runs (a tag must not straddle a ``**``)."""
        par = self.doc.add_paragraph()
        par.alignment = ALIGN[align]
        fmt = par.paragraph_format
        fmt.space_before, fmt.space_after = Pt(before), Pt(after)
        if indent is not None:
            fmt.left_indent = indent
        if first_line is not None:
            fmt.first_line_indent = first_line
        fmt.keep_with_next = keep
        for i, chunk in enumerate(text.split("**")):
            if not chunk:
                continue
            run = par.add_run(chunk)
            run.bold = bold or i % 2 == 1
            run.italic = italic
            if size:
                run.font.size = Pt(size)
        return par

    def tag(self, tag: str) -> None:
        """A control paragraph ({%p if … %}, {%p for … %}, …) alone on its line."""
        assert re.fullmatch(r"\{%p .+ %\}", tag), tag
        self.doc.add_paragraph().add_run(tag)

    def heading(self, text: str, *, size: float = 11.5, before: float = 10, after: float = 4) -> None:
        self.p(text, align="left", size=size, before=before, after=after, keep=True, bold=True)

    def title(self, text: str, subtitle: str | None = None) -> None:
        self.p(text, align="center", size=15, after=2 if subtitle else 12, bold=True)
        if subtitle:
            self.p(subtitle, align="center", size=11, after=12, italic=True)

    def bookmark(self, par, name: str) -> None:
        start = OxmlElement("w:bookmarkStart")
        start.set(qn("w:id"), str(self._bookmark_id))
        start.set(qn("w:name"), name)
        end = OxmlElement("w:bookmarkEnd")
        end.set(qn("w:id"), str(self._bookmark_id))
        self._bookmark_id += 1
        par._p.append(start)
        par._p.append(end)

    # -- tables ----------------------------------------------------------------------------------
    def table(self, columns: list[tuple[str, float, str]], *, loop: str | None = None, row: list[str] | None = None,
              rows: list[tuple[list[str], str | None]] = (), size: float = 9.5, bold_last: bool = False):
        """A grid: a shaded header row, then a ``{%tr for %}`` row per item of ``loop``, then fixed
        ``rows`` (each optionally wrapped in ``{%tr if cond %}``). Columns: (header, width mm, align).

        No row breaks across pages (a label on one page, its amount on the next); a table of
        fixed rows only (a summary) is kept on one page with the paragraph after it."""
        body: list[tuple[list[str], str | None, bool]] = []  # cells, condition, is a tag row
        if loop:
            body.append(([f"{{%tr for {loop} %}}"], None, True))
            body.append((row or [], None, False))
            body.append((["{%tr endfor %}"], None, True))
        for cells, cond in rows:
            if cond:
                body.append(([f"{{%tr if {cond} %}}"], None, True))
            body.append((cells, None, False))
            if cond:
                body.append((["{%tr endif %}"], None, True))
        t = self.doc.add_table(rows=1 + len(body), cols=len(columns))
        t.style = "Table Grid"
        t.alignment = WD_TABLE_ALIGNMENT.CENTER
        t.autofit = False
        data_rows = [i for i, (_, _, is_tag) in enumerate(body, 1) if not is_tag]
        for c, (header, width, align) in enumerate(columns):
            for r, tr in enumerate(t.rows):
                cell = tr.cells[c]
                cell.width = Mm(width)
                if r == 0:
                    text, bold, al = header, True, "center"
                    _shade(cell, "E7E6E6")
                else:
                    cells, _, is_tag = body[r - 1]
                    text = cells[c] if c < len(cells) and (is_tag or len(cells) == len(columns) or c == 0) else ""
                    bold = bold_last and r == data_rows[-1]
                    al = "left" if is_tag else align
                par = cell.paragraphs[0]
                par.alignment = ALIGN[al]
                par.paragraph_format.space_after = Pt(0)
                par.paragraph_format.space_before = Pt(0)
                run = par.add_run(text)
                run.font.size = Pt(size)
                run.bold = bold
        for c, (_, width, _) in enumerate(columns):
            t.columns[c].width = Mm(width)   # the grid LibreOffice lays out from
        for r, (cells, _, is_tag) in enumerate(body, 1):
            if is_tag or len(cells) == len(columns):
                continue
            # Fewer cells than columns: the first one spans the gap (a label before a total).
            span = len(columns) - len(cells)
            merged = t.rows[r].cells[0].merge(t.rows[r].cells[span])
            for extra in merged.paragraphs[1:]:
                extra._p.getparent().remove(extra._p)
            for c in range(1, len(cells)):
                par = t.rows[r].cells[span + c].paragraphs[0]
                par.runs[0].text = cells[c]
                par.alignment = ALIGN[columns[span + c][2]]
        _repeat_header(t.rows[0])
        for tr in t.rows:
            _cant_split(tr)
        if not loop:
            # keep-with-next on every row but the last keeps a short summary whole
            for tr in t.rows[:-1]:
                for cell in tr.cells:
                    for par in cell.paragraphs:
                        par.paragraph_format.keep_with_next = True
        else:
            for cell in t.rows[0].cells:
                for par in cell.paragraphs:
                    par.paragraph_format.keep_with_next = True   # the header never ends a page alone
        self.p("", after=2)
        return t

    # -- page furniture ---------------------------------------------------------------------------
    def footer(self, text: str) -> None:
        par = self.doc.sections[0].footer.paragraphs[0]
        par.alignment = WD_ALIGN_PARAGRAPH.CENTER
        for chunk in re.split(r"(\[PAGE\]|\[PAGES\])", text):
            if chunk == "[PAGE]":
                _field(par, "PAGE")
            elif chunk == "[PAGES]":
                _field(par, "NUMPAGES")
            elif chunk:
                run = par.add_run(chunk)
                run.font.size = Pt(8)
                run.font.color.rgb = RGBColor(0x55, 0x55, 0x55)

    def save(self, name: str) -> Path:
        path = HERE / f"{name}.docx"
        self.doc.save(path)
        return path


def _shade(cell, fill: str) -> None:
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shd)


def _repeat_header(row) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    tr_pr.append(el)


def _cant_split(row) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    if tr_pr.find(qn("w:cantSplit")) is None:
        el = OxmlElement("w:cantSplit")
        el.set(qn("w:val"), "true")
        tr_pr.insert(0, el)   # CT_TrPr: cantSplit comes before tblHeader


def _field(par, instr: str) -> None:
    fld = OxmlElement("w:fldSimple")
    fld.set(qn("w:instr"), f" {instr} ")
    run = OxmlElement("w:r")
    rpr = OxmlElement("w:rPr")
    sz = OxmlElement("w:sz")
    sz.set(qn("w:val"), "16")
    rpr.append(sz)
    run.append(rpr)
    t = OxmlElement("w:t")
    t.text = "1"
    run.append(t)
    fld.append(run)
    par._p.append(fld)


# -- shared blocks ------------------------------------------------------------------------------

def letter_head(b: Builder, *, registered: bool, subject: str) -> None:
    b.p("**{{ expediteur.nom }}**", align="left", after=0)
    b.p("{{ expediteur.adresse }}", align="left", after=0)
    b.tag("{%p if mandataire %}")
    b.p("Société de recouvrement amiable, pour le compte {{ creancier.nom|de }}", align="left", after=0,
        italic=True, size=10)
    b.tag("{%p endif %}")
    b.tag("{%p if expediteur.email %}")
    b.p("{{ expediteur.email }}", align="left", after=0, size=10)
    b.tag("{%p endif %}")
    b.p("", after=18)
    b.p("**{{ debiteur.nom }}**", align="left", indent=RECIPIENT_INDENT, after=0)
    b.p("{{ debiteur.adresse }}", align="left", indent=RECIPIENT_INDENT, after=24)
    b.p("{{ lieu }}, le {{ date_lettre }}", align="left", indent=RECIPIENT_INDENT, after=18)
    if registered:
        b.p("**Lettre recommandée avec demande d'avis de réception**", align="left", after=6)
    b.p(f"**Objet{NB}:** {subject}", align="left", after=0)
    b.p(f"**Réf.{NB}:** dossier {{{{ dossier.reference }}}}{{% if dossier.courrier %}}, courrier n° "
        "{{ dossier.courrier }}{% endif %}", align="left", after=14)
    b.p("Madame, Monsieur,", align="left", after=10)


def signature(b: Builder) -> None:
    """The signatory's lines, with a bookmarked blank paragraph where the signature goes."""
    b.p("Nous vous prions d'agréer, Madame, Monsieur, l'expression de nos salutations distinguées.",
        before=6, after=14, keep=True)
    signature_block(b)


def signature_block(b: Builder) -> None:
    b.tag("{%p if signataire.pour %}")
    b.p("{{ signataire.pour }}", align="left", indent=RECIPIENT_INDENT, after=0, keep=True)
    b.tag("{%p endif %}")
    space = b.p("", align="left", indent=RECIPIENT_INDENT, after=0, keep=True)
    space.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    space.paragraph_format.line_spacing = Pt(62)
    b.bookmark(space, "signature")
    b.p("**{{ signataire.nom }}**", align="left", indent=RECIPIENT_INDENT, after=0, keep=True)
    b.tag("{%p if signataire.qualite %}")
    b.p("{{ signataire.qualite }}", align="left", indent=RECIPIENT_INDENT, after=0)
    b.tag("{%p endif %}")


INVOICE_COLUMNS = [("Facture", 30, "left"), ("Date", 22, "center"), ("Échéance", 22, "center"),
                   ("Montant TTC", 30, "right"), ("Déjà réglé", 28, "right"), ("Reste dû", 30, "right")]
INVOICE_ROW = ["{{ f.numero }}", "{{ f.date }}", "{{ f.echeance }}", "{{ f.montant }}", "{{ f.paye }}",
               "{{ f.reste }}"]


def claim_summary(b: Builder, *, interest_label: str) -> None:
    b.table([("Nature", 120, "left"), ("Montant", 42, "right")], rows=[
        (["Principal restant dû", "{{ creance.principal_restant }}"], None),
        ([interest_label, "{{ creance.interets_restants }}"], "creance.a_interets"),
        (["Indemnités forfaitaires pour frais de recouvrement (art. L. 441-10 et D. 441-5 du code de commerce), "
          "{{ creance.nb_indemnites }} × 40 €", "{{ creance.indemnites }}"], "creance.a_indemnites"),
        (["Total restant dû", "{{ creance.total }}"], None),
    ], size=10, bold_last=True)


def r124_4_block(b: Builder, *, deadline: bool = False) -> None:
    """The mentions a collection agency's first letter must carry (CPCE R124-4, 1° to 5°)."""
    b.tag("{%p if mandataire %}")
    b.heading("Informations légales (article R. 124-4 du code des procédures civiles d'exécution)")
    b.p("La présente lettre vous est adressée par **{{ mandataire.nom }}**, {{ mandataire.adresse_ligne }}, "
        "qui exerce une activité de recouvrement amiable de créances pour le compte d'autrui.")
    b.p("Créancier : **{{ creancier.nom }}**, {{ creancier.adresse_ligne }}.")
    b.p("Fondement de la créance : {{ fondement.texte }}.")
    b.p(f"Montant de la somme due au {{{{ creance.arretee_au }}}}, en distinguant ses éléments{NB}:", keep=True)
    b.table([("Élément de la dette", 120, "left"), ("Montant", 42, "right")], rows=[
        (["Principal", "{{ creance.principal_restant }}"], None),
        (["Intérêts{% if creance.commercial %} (pénalités de retard, art. L. 441-10 du code de commerce)"
          "{% else %} au taux légal{% endif %}", "{{ creance.interets_restants }}"], None),
        (["Autres accessoires : indemnités forfaitaires pour frais de recouvrement (art. L. 441-10 II et D. 441-5 "
          "du code de commerce)", "{{ creance.indemnites }}"], "creance.a_indemnites"),
        (["Total", "{{ creance.total }}"], None),
    ], size=10, bold_last=True)
    when = ("{% if relance.premiere %} dans les meilleurs délais{% else %} sous {{ delai_jours_lettres }} "
            f"({{{{ delai_jours }}}}) {DAYS}{{% endif %}}") if deadline else ""
    b.p("Vous êtes invité(e) à payer la somme due de **{{ creance.total }}**" + when + ", {{ paiement.texte }}. "
        "Les frais du recouvrement amiable, dont la rémunération {{ mandataire.nom|de }}, restent à la charge du "
        "créancier et ne vous sont pas réclamés.")
    b.tag("{%p if creance.a_indemnites %}")
    b.p("L'indemnité forfaitaire pour frais de recouvrement comprise dans la somme due n'est pas la rémunération "
        "{{ mandataire.nom|de }} : elle est due de plein droit par le débiteur professionnel en retard de paiement, "
        "pour chaque facture, en vertu des articles L. 441-10 II et D. 441-5 du code de commerce, disposition "
        "législative contraire au sens de l'article L. 111-8, alinéa 2, reproduit ci-dessous.")
    b.tag("{%p endif %}")
    b.p("Article L. 111-8 du code des procédures civiles d'exécution, alinéas 2 et 3 :", keep=True, after=2)
    b.p(f"«{NB}{L111_8_AL2}", italic=True, indent=Mm(8), after=2, size=10.5)
    b.p(f"{L111_8_AL3}{NB}»", italic=True, indent=Mm(8), size=10.5)
    b.tag("{%p if mandataire.premiere_lettre %}")
    b.p("Rappel (article R. 124-4 du code des procédures civiles d'exécution) : notre première lettre relative à "
        "cette créance porte la référence **{{ mandataire.premiere_lettre.reference }}** et est datée du "
        "{{ mandataire.premiere_lettre.date }}{% if mandataire.premiere_lettre.envoi %} ; elle vous a été envoyée "
        "le {{ mandataire.premiere_lettre.envoi }}{% endif %}.")
    b.tag("{%p endif %}")
    b.tag("{%p endif %}")


# -- the templates --------------------------------------------------------------------------------

def relance() -> Builder:
    b = Builder("Relance amiable")
    plural = "factures_impayees|length > 1"
    letter_head(b, registered=False, subject="{% if relance.premiere %}Rappel de "
                                             f"{{% if {plural} %}}factures impayées{{% else %}}facture impayée"
                                             "{% endif %}{% else %}Relance : "
                                             f"{{% if {plural} %}}factures toujours impayées{{% else %}}facture "
                                             "toujours impayée{% endif %}{% endif %}")
    b.tag("{%p if relance.premiere %}")
    b.p(f"Sauf erreur ou omission de notre part, le règlement {{% if {plural} %}}des factures{{% else %}}de la "
        "facture{% endif %} ci-dessous ne nous est pas parvenu à ce jour. Il s'agit peut-être d'un simple "
        "oubli :", keep=True)
    b.tag("{%p else %}")
    b.p(f"Malgré le rappel du {{{{ relance.derniere }}}}, nous constatons que {{% if {plural} %}}les factures "
        "ci-dessous restent impayées{% else %}la facture ci-dessous reste impayée{% endif %} :", keep=True)
    b.tag("{%p endif %}")
    b.table(INVOICE_COLUMNS, loop="f in factures_impayees", row=INVOICE_ROW)
    b.p("Montant restant dû en principal : **{{ creance.principal_restant }}**.")
    r124_4_block(b, deadline=True)
    b.tag("{%p if not mandataire %}")
    b.p("Nous vous remercions de bien vouloir procéder à ce règlement {% if relance.premiere %}dans les "
        f"meilleurs délais{{% else %}}sous {{{{ delai_jours_lettres }}}} ({{{{ delai_jours }}}}) {DAYS}"
        "{% endif %}, {{ paiement.texte }}.")
    b.tag("{%p endif %}")
    b.tag("{%p if creance.commercial %}")
    b.p("Nous vous rappelons qu'entre professionnels, tout retard de paiement rend exigibles de plein droit "
        "des pénalités de retard (article L. 441-10 du code de commerce) et une indemnité forfaitaire pour "
        "frais de recouvrement de 40 € par facture (article D. 441-5 du code de commerce).")
    b.tag("{%p endif %}")
    b.tag("{%p if not relance.premiere %}")
    b.p("À défaut de règlement dans ce délai, une mise en demeure vous sera adressée, préalable à une action "
        "en justice.")
    b.tag("{%p endif %}")
    b.p("Si votre règlement a été effectué entre-temps, nous vous prions de ne pas tenir compte de la présente. "
        "Nous restons à votre disposition pour toute question, ou pour convenir d'un échéancier.")
    signature(b)
    b.footer("Réf. {{ dossier.reference }} — page [PAGE]/[PAGES]")
    return b


def mise_en_demeure() -> Builder:
    b = Builder("Mise en demeure")
    letter_head(b, registered=True, subject="Mise en demeure de payer")
    b.tag("{%p if mandataire %}")
    b.p("Nous intervenons pour le compte **{{ creancier.nom|de }}**, {{ creancier.adresse_ligne }}, en qualité "
        "de société de recouvrement amiable de créances pour le compte d'autrui.")
    b.tag("{%p endif %}")
    b.p("{% if mandataire %}Notre mandant vous a adressé{% else %}Nous vous avons adressé{% endif %}"
        "{% if contrat %}, en exécution du contrat {{ contrat.reference }}{% if contrat.date %} du "
        "{{ contrat.date }}{% endif %}{% if contrat.description %} ({{ contrat.description }}){% endif %},"
        "{% endif %} {% if factures|length > 1 %}les factures suivantes, qui n'ont pas été intégralement réglées à "
        "leur échéance{% else %}la facture suivante, qui n'a pas été intégralement réglée à son échéance{% endif %} :",
        keep=True)
    b.table(INVOICE_COLUMNS, loop="f in factures", row=INVOICE_ROW)
    b.tag("{%p if paiements %}")
    b.p("Nous avons bien reçu les règlements suivants, imputés comme indiqué :", keep=True)
    b.table([("Date", 22, "center"), ("Montant", 28, "right"), ("Mode", 24, "left"), ("Imputation", 88, "left")],
            loop="r in paiements", row=["{{ r.date }}", "{{ r.montant }}", "{{ r.mode }}", "{{ r.imputation }}"])
    b.tag("{%p endif %}")
    b.tag("{%p if relance.precedentes %}")
    b.p("{% if relance.precedentes|length > 1 %}Nos relances{% else %}Notre relance{% endif %}"
        "{% for r in relance.precedentes %}{% if loop.first %} du{% elif loop.last %} et du{% else %}, du"
        "{% endif %} {{ r.date }} ({{ r.canal }}){% endfor %} {% if relance.precedentes|length > 1 %}sont "
        "restées{% else %}est restée{% endif %} sans effet.")
    b.tag("{%p endif %}")
    b.p("Au {{ creance.arretee_au }}, vous restez redevable de la somme totale de **{{ creance.total }}** "
        "({{ creance.total_lettres }}), qui se décompose ainsi :", keep=True)
    claim_summary(b, interest_label=agree("creance.commercial", "Pénalités de retard échues",
                                          "Intérêts au taux légal échus")
                  + f", {INTEREST_STOPPED} au {{{{ creance.arretee_au }}}}")
    b.tag("{%p if creance.commercial %}")
    b.p("Conformément à l'article L. 441-10 du code de commerce, des pénalités de retard sont exigibles de plein "
        "droit, sans qu'un rappel soit nécessaire, à compter du jour suivant la date d'échéance de chaque "
        "facture, au taux de {{ creance.taux }}. Elles continuent de courir jusqu'au complet paiement.")
    b.p("En outre, en application des articles L. 441-10 et D. 441-5 du code de commerce, une indemnité "
        "forfaitaire pour frais de recouvrement de 40 € est due pour chaque facture payée en retard, soit "
        "{{ creance.indemnites }} pour {{ creance.nb_indemnites }} facture{% if creance.nb_indemnites > 1 %}s"
        "{% endif %}.")
    b.tag("{%p else %}")
    b.p("Conformément aux articles 1231-6 et 1344-1 du code civil, la présente mise en demeure fait courir, sur "
        "la somme due en principal, les intérêts moratoires au taux de l'intérêt légal jusqu'au complet "
        "paiement{% if creance.a_interets %} ; les intérêts déjà échus sont calculés au taux de {{ creance.taux }}"
        "{% endif %}.")
    b.tag("{%p endif %}")
    b.p("En conséquence, nous vous mettons en demeure de régler la somme de **{{ creance.total }}** dans un "
        f"délai de **{{{{ delai_jours_lettres }}}} ({{{{ delai_jours }}}}) {DAYS} "
        "à compter de la réception de la "
        "présente**, {{ paiement.texte }}.")
    b.p("À défaut de paiement dans ce délai, {% if mandataire %}le créancier saisira{% else %}nous saisirons"
        "{% endif %}, sans autre avis, la juridiction compétente d'une requête en injonction de payer (articles "
        "1405 et suivants du code de procédure civile) afin d'obtenir un titre exécutoire pour la totalité de la "
        "créance, augmentée des intérêts échus jusqu'au paiement.")
    b.p("La présente lettre vaut mise en demeure au sens des articles 1231 et 1344 du code civil.")
    r124_4_block(b)
    signature(b)
    b.footer("Réf. {{ dossier.reference }} — mise en demeure du {{ date_lettre }} — page [PAGE]/[PAGES]")
    return b


def decompte() -> Builder:
    b = Builder("Décompte de la créance")
    b.title("DÉCOMPTE DE LA CRÉANCE", "arrêté au {{ creance.arretee_au }}")
    b.p("**Dossier :** {{ dossier.reference }}", align="left", after=0)
    b.p("**Créancier :** {{ creancier.nom }}, {{ creancier.adresse_ligne }}", align="left", after=0)
    b.p("**Débiteur :** {{ debiteur.nom }}, {{ debiteur.adresse_ligne }}", align="left", after=0)
    b.p("**Régime :** {% if creance.commercial %}pénalités de retard entre professionnels (art. L. 441-10 du "
        "code de commerce) et indemnité forfaitaire de 40 € par facture (art. D. 441-5 du code de commerce)"
        "{% else %}intérêts moratoires au taux légal (art. 1231-6 et 1344-1 du code civil){% endif %}",
        align="left", after=8)
    b.heading("1. Factures")
    b.table([("Facture", 24, "left"), ("Date", 19, "center"), ("Échéance", 19, "center"),
             ("Montant TTC", 22, "right"), ("Principal réglé", 22, "right"), ("Principal restant", 22, "right"),
             ("Intérêts restants", 20, "right"), ("Indemnité", 17, "right")],
            loop="f in factures", row=["{{ f.numero }}", "{{ f.date }}", "{{ f.echeance }}", "{{ f.montant }}",
                                       "{{ f.paye }}", "{{ f.reste }}", "{{ f.interets }}", "{{ f.indemnite }}"],
            size=8.5)
    b.heading("2. Règlements et imputation")
    b.tag("{%p if imputations %}")
    b.p("Imputation selon les articles 1342-10 (dette désignée, sinon échue, sinon la plus ancienne) et 1343-1 "
        "(intérêts avant principal) du code civil.", size=9.5)
    b.table([("Date", 20, "center"), ("Paiement", 24, "right"), ("Facture", 28, "left"),
             ("Sur intérêts", 26, "right"), ("Sur principal", 26, "right"), ("Désignée par le débiteur", 38, "center")],
            loop="i in imputations", row=["{{ i.date }}", "{{ i.montant }}", "{{ i.facture }}", "{{ i.sur_interets }}",
                                          "{{ i.sur_principal }}", "{{ i.designee }}"], size=8.5)
    b.tag("{%p else %}")
    b.p("Aucun règlement reçu.")
    b.tag("{%p endif %}")
    b.heading("3. Intérêts")
    b.tag("{%p if interets %}")
    b.p("Chaque ligne : principal × taux × jours / base, arrondi au centime le plus proche. Les périodes "
        "s'entendent premier et dernier jour inclus.", size=9.5)
    b.table([("Facture", 24, "left"), ("Du", 19, "center"), ("Au", 19, "center"), ("Jours", 12, "right"),
             ("Principal", 24, "right"), ("Taux", 18, "right"), ("Base", 13, "right"), ("Intérêts", 22, "right")],
            loop="l in interets", row=["{{ l.facture }}", "{{ l.du }}", "{{ l.au }}", "{{ l.jours }}",
                                       "{{ l.principal }}", "{{ l.taux }}", "{{ l.diviseur }}", "{{ l.montant }}"],
            rows=[(["Total des intérêts courus", "{{ creance.interets_courus }}"], None)],
            size=8.5, bold_last=True)
    b.p("Détail des calculs et fondement des taux :", size=9.5, keep=True, after=2)
    b.table([("Facture", 22, "left"), ("Période", 36, "center"), ("Calcul", 60, "left"),
             ("Fondement du taux", 47, "left")],
            loop="l in interets", row=["{{ l.facture }}", "{{ l.du }} – {{ l.au }}", "{{ l.formule }}",
                                       "{{ l.fondement }}{% if not l.verifie %} (taux non vérifié){% endif %}"],
            size=8)
    b.p("Sources des taux :", size=9, keep=True, after=0)
    b.tag("{%p for s in sources_taux %}")
    b.p("– {{ s.fondement }} : {{ s.source }}{% if not s.verifie %} (non vérifié){% endif %}", align="left",
        size=8, after=0)
    b.tag("{%p endfor %}")
    b.tag("{%p else %}")
    b.p("Aucun intérêt n'est réclamé à la date du décompte.")
    b.tag("{%p endif %}")
    b.tag("{%p if indemnites %}")
    b.heading("4. Indemnités forfaitaires pour frais de recouvrement")
    b.table([("Facture", 40, "left"), ("Fondement", 90, "left"), ("Montant", 32, "right")],
            loop="x in indemnites", row=["{{ x.facture }}", "{{ x.fondement }}", "{{ x.montant }}"], size=9)
    b.tag("{%p endif %}")
    b.heading("Récapitulatif")
    b.table([("", 120, "left"), ("Montant", 42, "right")], rows=[
        (["Principal facturé", "{{ creance.principal }}"], None),
        (["Règlements reçus", "{{ creance.paye }}"], None),
        (["Principal restant dû", "{{ creance.principal_restant }}"], None),
        (["Intérêts courus", "{{ creance.interets_courus }}"], None),
        (["Intérêts réglés (imputés sur les règlements)", "{{ creance.interets_payes }}"], None),
        (["Intérêts restant dus", "{{ creance.interets_restants }}"], None),
        (["Indemnités forfaitaires", "{{ creance.indemnites }}"], None),
        (["Trop-perçu en faveur du débiteur", "{{ creance.avoir }}"], "creance.a_avoir"),
        (["Total restant dû", "{{ creance.total }}"], None),
    ], size=10, bold_last=True)
    b.p("Soit {{ creance.total_lettres }}.", italic=True)
    b.heading("Conventions de calcul")
    b.tag("{%p for c in conventions %}")
    b.p("{{ c.libelle }} : {{ c.valeur }}", align="left", after=0, size=9.5)
    b.tag("{%p endfor %}")
    b.p("Intérêts simples, sans capitalisation (article 1343-2 du code civil). Montants en euros TTC.",
        size=9.5, before=4)
    b.tag("{%p if avertissements %}")
    b.heading("Avertissements")
    b.tag("{%p for a in avertissements %}")
    b.p("– {{ a }}", align="left", after=0, size=9.5)
    b.tag("{%p endfor %}")
    b.tag("{%p endif %}")
    b.footer("Décompte {{ dossier.reference }} arrêté au {{ creance.arretee_au }} — page [PAGE]/[PAGES]")
    return b


def requete() -> Builder:
    b = Builder("Requête en injonction de payer")
    b.title("REQUÊTE EN INJONCTION DE PAYER", "(articles 1405 à 1425 du code de procédure civile)")
    b.p("**À Madame, Monsieur le Président {{ juridiction.article }} {{ juridiction.designation }}**", align="left",
        after=12)
    b.heading("À LA REQUÊTE DE :")
    b.p("{{ creancier.identite }}{% if mandataire %}, agissant par l'intermédiaire de {{ mandataire.nom }}, "
        "{{ mandataire.adresse_ligne }}, son mandataire muni d'un pouvoir spécial{% endif %}.")
    b.p("Ci-après « le requérant ».", italic=True)
    b.heading("CONTRE :")
    b.p("{{ debiteur.identite }}.")
    b.p("Ci-après « le débiteur ».", italic=True)
    b.heading("OBJET DE LA DEMANDE")
    b.p("Le requérant sollicite une ordonnance portant injonction de payer à l'encontre du débiteur pour la somme "
        "de **{{ creance.total }}** ({{ creance.total_lettres }}), arrêtée au {{ creance.arretee_au }}.")
    b.heading("EXPOSÉ DES FAITS")
    b.p("Le requérant est créancier du débiteur au titre {{ fondement.de }}, {% if fondement.pluriel %}"
        "demeurées impayées{% else %}demeurée impayée{% endif %} à l'échéance :", keep=True)
    b.table(INVOICE_COLUMNS, loop="f in factures", row=INVOICE_ROW)
    b.tag("{%p if paiements %}")
    b.p("Le débiteur a effectué les règlements suivants, imputés conformément aux articles 1342-10 et 1343-1 "
        "du code civil :", keep=True)
    b.table([("Date", 22, "center"), ("Montant", 28, "right"), ("Mode", 24, "left"), ("Imputation", 88, "left")],
            loop="r in paiements", row=["{{ r.date }}", "{{ r.montant }}", "{{ r.mode }}", "{{ r.imputation }}"])
    b.tag("{%p endif %}")
    b.tag("{%p if mise_en_demeure %}")
    b.p("{{ mise_en_demeure.texte }} Cette mise en demeure est restée sans effet.")
    b.tag("{%p else %}")
    b.p("Les relances adressées au débiteur sont restées sans effet.")
    b.tag("{%p endif %}")
    b.heading("MONTANT RÉCLAMÉ ET DÉCOMPTE")
    b.p("Le décompte détaillé de la créance, arrêté au {{ creance.arretee_au }}, est joint à la présente. "
        "{% if creance.commercial %}Les pénalités de retard{% else %}Les intérêts{% endif %} courent, pour chaque "
        "facture, à compter de la date indiquée et au taux suivant :", keep=True)
    b.table([("Facture", 30, "left"), ("Échéance", 22, "center"), ("Intérêts depuis le", 30, "center"),
             ("Taux annuel", 40, "center"), ("Intérêts restant dus", 40, "right")],
            loop="f in factures", row=["{{ f.numero }}", "{{ f.echeance }}", "{{ f.interets_depuis }}",
                                       "{{ f.taux }}", "{{ f.interets }}"])
    claim_summary(b, interest_label="{% if creance.commercial %}Pénalités de retard (art. L. 441-10 du code de "
                                    "commerce){% else %}Intérêts au taux légal (art. 1231-6 du code civil)"
                                    "{% endif %}, au taux de {{ creance.taux }}, "
                                    f"{INTEREST_STOPPED} au {{{{ creance.arretee_au }}}}")
    b.p("Soit la somme totale de **{{ creance.total }}** ({{ creance.total_lettres }}).")
    b.heading("FONDEMENT DE LA CRÉANCE")
    b.p("La créance a une cause contractuelle et s'élève à un montant déterminé (article 1405, 1°, du code de "
        "procédure civile). Elle résulte {{ fondement.de }}, que le débiteur n'a pas "
        "{% if fondement.pluriel %}réglées{% else %}réglée{% endif %} (articles 1103 et 1217 du code civil).")
    b.tag("{%p if creance.commercial %}")
    b.p("Les pénalités de retard sont dues de plein droit, sans qu'un rappel soit nécessaire, en application de "
        "l'article L. 441-10 du code de commerce, au taux de {{ creance.taux }}. L'indemnité forfaitaire pour "
        "frais de recouvrement de 40 € par facture payée en retard est due en application des articles "
        "L. 441-10 et D. 441-5 du code de commerce.")
    b.tag("{%p else %}")
    b.p("Les intérêts moratoires au taux de l'intérêt légal sont dus à compter de la mise en demeure, sans que le "
        "créancier soit tenu de justifier d'une perte, en application des articles 1231-6 et 1344-1 du code civil.")
    b.tag("{%p endif %}")
    b.tag("{%p if not juridiction.commerciale %}")
    b.p("La demande en injonction de payer n'est pas soumise à la tentative préalable de résolution amiable "
        "prévue à l'article 750-1 du code de procédure civile (Cass. 2e civ., avis, 25 septembre 2025, "
        "n° 25-70.013).")
    b.tag("{%p endif %}")
    b.heading("PAR CES MOTIFS")
    b.p("Le requérant sollicite qu'il plaise à Madame, Monsieur le Président de rendre une ordonnance enjoignant "
        "à {{ debiteur.designation }} de lui payer :", keep=True)
    b.p("– la somme de {{ creance.principal_restant }} en principal ;", indent=Mm(8), after=2)
    b.tag("{%p if creance.a_interets %}")
    b.p("– la somme de {{ creance.interets_restants }} au titre des {% if creance.commercial %}pénalités de "
        "retard échues{% else %}intérêts au taux légal échus{% endif %} au {{ creance.arretee_au }} ;",
        indent=Mm(8), after=2)
    b.tag("{%p endif %}")
    b.p("– les {% if creance.commercial %}pénalités de retard au taux prévu à l'article L. 441-10 du code de "
        "commerce{% else %}intérêts au taux légal{% endif %} sur la somme de {{ creance.principal_restant }} à "
        "compter du {{ creance.lendemain }} jusqu'à parfait paiement ;", indent=Mm(8), after=2)
    b.tag("{%p if creance.a_indemnites %}")
    b.p("– la somme de {{ creance.indemnites }} au titre des indemnités forfaitaires pour frais de recouvrement "
        "({{ creance.nb_indemnites }} × 40 €) ;", indent=Mm(8), after=2)
    b.tag("{%p endif %}")
    b.p("soit, au {{ creance.arretee_au }}, la somme totale de **{{ creance.total }}**.", before=4)
    b.heading("BORDEREAU DES PIÈCES JOINTES")
    b.table([("N°", 12, "center"), ("Pièce", 100, "left"), ("Date", 22, "center"), ("Observation", 28, "left")],
            loop="p in pieces", row=["{{ p.numero }}", "{{ p.intitule }}", "{{ p.date }}", "{{ p.observation }}"])
    b.p("Fait à {{ lieu }}, le {{ date_lettre }}", align="left", indent=RECIPIENT_INDENT, before=10, after=8,
        keep=True)
    signature_block(b)
    b.footer("Requête en injonction de payer — {{ creancier.nom }} c/ {{ debiteur.nom }} — page [PAGE]/[PAGES]")
    return b


def bordereau() -> Builder:
    b = Builder("Bordereau des pièces")
    b.title("BORDEREAU DES PIÈCES", "communiquées à l'appui de la requête en injonction de payer")
    b.p("**{{ creancier.nom }}** c/ **{{ debiteur.nom }}**", align="center", after=0)
    b.p("Dossier {{ dossier.reference }}", align="center", after=14)
    b.table([("N°", 24, "center"), ("Pièce", 88, "left"), ("Date", 22, "center"), ("Observation", 28, "left")],
            loop="p in pieces", row=["Pièce n°{{ p.numero }}", "{{ p.intitule }}", "{{ p.date }}",
                                     "{{ p.observation }}"], size=10)
    b.p("Fait à {{ lieu }}, le {{ date_lettre }}", align="left", indent=RECIPIENT_INDENT, before=10)
    b.footer("Bordereau des pièces — {{ creancier.nom }} c/ {{ debiteur.nom }} — page [PAGE]/[PAGES]")
    return b


TEMPLATES = {"relance": relance, "mise_en_demeure": mise_en_demeure, "decompte": decompte,
             "requete_injonction_de_payer": requete, "bordereau_pieces": bordereau}


def main(names: list[str]) -> None:
    for name in names or TEMPLATES:
        print(TEMPLATES[name]().save(name))


if __name__ == "__main__":
    main(sys.argv[1:])
