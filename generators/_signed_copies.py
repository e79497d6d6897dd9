"""Copies of signed PDFs: a copied signature no longer matches its byte range.

A pièce or an annexe that was signed keeps its visible stamp, painted into the page, but
no signature field: left as a field, pdfsig and viewers would report the copy's signature
"invalid" (digest mismatch), which a court reads as tampering. The signed original stays
archived as the evidence.
"""
from __future__ import annotations

from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, StreamObject

__all__ = ["flatten_signature_widgets"]


def _field_type(annotation: DictionaryObject) -> str | None:
    node: DictionaryObject | None = annotation
    while node is not None:
        if "/FT" in node:
            return node["/FT"]
        node = node.get("/Parent")
        node = node.get_object() if node is not None else None
    return None


def _transformed_bbox(form: DictionaryObject) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = (float(v) for v in form["/BBox"])
    a, b, c, d, e, f = (float(v) for v in form.get("/Matrix", (1, 0, 0, 1, 0, 0)))
    corners = [(a * x + c * y + e, b * x + d * y + f) for x in (x0, x1) for y in (y0, y1)]
    xs, ys = [p[0] for p in corners], [p[1] for p in corners]
    return min(xs), min(ys), max(xs), max(ys)


def flatten_signature_widgets(writer: PdfWriter, first_page: int = 0) -> None:
    """Paint signature appearances into the pages from `first_page` on and drop the signature fields.

    Painted, the visible stamp still prints, and the copy claims no signature of its own.
    """
    for n, page in enumerate(writer.pages[first_page:], first_page):
        annotations = page.get("/Annots")
        if annotations is None:
            continue
        kept = ArrayObject()
        painted: list[bytes] = []
        for ref in annotations.get_object():
            annotation = ref.get_object()
            if annotation.get("/Subtype") != "/Widget" or _field_type(annotation) != "/Sig":
                kept.append(ref)
                continue
            appearance = annotation.get("/AP", {}).get("/N")
            hidden = int(annotation.get("/F", 0)) & 2
            if appearance is None or hidden or "/BBox" not in appearance.get_object():
                continue
            x0, y0, x1, y1 = (float(v) for v in annotation["/Rect"])
            bx0, by0, bx1, by1 = _transformed_bbox(appearance.get_object())
            if bx1 == bx0 or by1 == by0:
                continue
            # Map the form's (transformed) box onto the annotation rectangle, as a
            # viewer does (ISO 32000-1, 12.5.5); `Do` applies the form's /Matrix.
            sx, sy = abs(x1 - x0) / (bx1 - bx0), abs(y1 - y0) / (by1 - by0)
            name = f"/RecouvreSig{n}_{len(painted)}"
            resources = page.setdefault(NameObject("/Resources"), DictionaryObject()).get_object()
            xobjects = resources.setdefault(NameObject("/XObject"), DictionaryObject()).get_object()
            xobjects[NameObject(name)] = appearance
            tx, ty = min(x0, x1) - bx0 * sx, min(y0, y1) - by0 * sy
            painted.append(f"q {sx:.6f} 0 0 {sy:.6f} {tx:.4f} {ty:.4f} cm {name} Do Q".encode())
        if painted:
            _append_content(writer, page, b"\n".join(painted))
        if len(kept):
            page[NameObject("/Annots")] = kept
        else:
            del page["/Annots"]
    form = writer.root_object.get("/AcroForm")
    if form is not None:
        form = form.get_object()
        fields = ArrayObject(
            f for f in form.get("/Fields", []) if _field_type(f.get_object()) != "/Sig"
        )
        if fields:
            form[NameObject("/Fields")] = fields
            form.pop("/SigFlags", None)
        else:
            del writer.root_object["/AcroForm"]


def _append_content(writer: PdfWriter, page, operators: bytes) -> None:
    def stream(data: bytes):
        s = StreamObject()
        s.set_data(data)
        return writer._add_object(s)  # content streams must be indirect

    contents = page.get("/Contents")
    if contents is None:
        old = []
    elif isinstance(contents.get_object(), ArrayObject):
        old = list(contents.get_object())
    else:
        old = [contents]
    # The page's own content may leave the graphics state altered: isolate it.
    page[NameObject("/Contents")] = ArrayObject(
        [stream(b"q"), *old, stream(b"Q"), stream(operators)]
    )
