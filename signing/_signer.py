"""PAdES signing of assembled documents with a key loaded once."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from asn1crypto import x509 as asn1_x509
from pyhanko import stamp
from pyhanko.pdf_utils import generic, text
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata import model as pdf_meta
from pyhanko.pdf_utils.metadata.xmp_xml import MetadataStream
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign import fields, signers, timestamps
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko_certvalidator import ValidationContext

from . import _config as env
from ._config import PadesLevel, SignerConfig
from ._devcert import DEV_REASON_SUFFIX
from ._errors import SigningConfigError, SigningError
from ._fonts import find_stamp_font, slim_stamp_font
from ._keys import LoadedKey, load_key, load_pem_bundle
from ._validation import subject_string

__all__ = ["DocumentSigner", "SignatureAppearance", "build_signer"]

log = logging.getLogger("recouvre.signing")

TSA_TIMEOUT_SECONDS = 10
_RESERVE_HEADROOM = 2048  # hex digits on top of pyHanko's own +50 % margin


@dataclass(frozen=True)
class SignatureAppearance:
    """Visible signature block: page index (negative counts from the end), box in points."""

    page: int = -1
    box: tuple[float, float, float, float] = (330.0, 40.0, 560.0, 100.0)
    signatory: str | None = None
    font_size: int = 9


class DocumentSigner:
    """Signs finished PDFs as incremental updates.

    Build it once (see :func:`build_signer`): the key, the certificate chain,
    the TSA client and the size of the signature placeholder are reused, so a
    signature costs one private-key operation instead of a key parse and a
    dry run. Safe to share between threads (calls are serialised). Uses
    pyHanko's synchronous API: do not call it from inside a running event loop.
    """

    def __init__(
        self,
        key: LoadedKey,
        *,
        level: PadesLevel = "B-B",
        timestamper: timestamps.TimeStamper | None = None,
        trust_roots: list[asn1_x509.Certificate] | None = None,
        font_path: Path | None = None,
        font_cache_dir: Path | None = None,
    ) -> None:
        if level != "B-B" and timestamper is None:
            raise SigningConfigError(f"{env.PADES_LEVEL}={level} needs a timestamp authority")
        if level in ("B-LT", "B-LTA") and not trust_roots:
            raise SigningConfigError(
                f"{env.PADES_LEVEL}={level} embeds validation data and needs trust roots: "
                f"set {env.TRUST_ROOTS}"
            )
        self._key = key
        self._level: PadesLevel = level
        self._timestamper = timestamper if level != "B-B" else None
        self._trust_roots = list(trust_roots or [])
        self._font_path = font_path
        self._font_cache_dir = font_cache_dir
        self._stamp_font: Path | None = None
        self._bytes_reserved: int | None = None
        self._lock = threading.Lock()

    @property
    def is_development(self) -> bool:
        return self._key.is_development

    @property
    def level(self) -> PadesLevel:
        return self._level

    @property
    def certificate(self) -> asn1_x509.Certificate:
        return self._key.chain[0]

    @property
    def certificate_subject(self) -> str:
        return subject_string(self.certificate)

    @property
    def trust_roots(self) -> list[asn1_x509.Certificate]:
        return list(self._trust_roots)

    @property
    def development_certificates(self) -> list[asn1_x509.Certificate]:
        """Certificates whose signatures vouch for nothing, for validate_pdf: the self-signed
        development certificate is its own trust root (B-LT needs one), not a trusted signer."""
        return [self.certificate] if self.is_development else []

    def close(self) -> None:
        """Release the PKCS#11 session, if any."""
        self._key.close()

    def __enter__(self) -> DocumentSigner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def sign(
        self,
        pdf: bytes,
        *,
        reason: str,
        location: str | None = None,
        appearance: SignatureAppearance | None = None,
    ) -> bytes:
        """Return ``pdf`` plus an incremental update carrying the signature."""
        _refuse_running_event_loop()
        if self.is_development:
            reason += DEV_REASON_SUFFIX
        with self._lock:
            try:
                return self._sign(pdf, reason, location, appearance, self._reserve())
            except PyHankoSigningError as e:
                if "larger than expected" not in str(e):
                    raise SigningError(f"signing failed: {e}") from e
            # The TSA answered with a bigger token than estimated: grow and retry once.
            assert self._bytes_reserved is not None
            self._bytes_reserved *= 2
            try:
                return self._sign(pdf, reason, location, appearance, self._bytes_reserved)
            except PyHankoSigningError as e:
                raise SigningError(f"signing failed: {e}") from e

    def _sign(
        self,
        pdf: bytes,
        reason: str,
        location: str | None,
        appearance: SignatureAppearance | None,
        bytes_reserved: int,
    ) -> bytes:
        writer = _open_for_signing(pdf)
        try:
            _align_metadata_with_pyhanko(writer)
        except Exception as e:  # an unreadable XMP packet: pyHanko could not rewrite it either
            raise SigningError(f"signing failed: unreadable document metadata: {e!r}") from e
        field_name = _free_field_name(writer)
        long_term = self._level in ("B-LT", "B-LTA")
        meta = signers.PdfSignatureMetadata(
            field_name=field_name,
            md_algorithm="sha256",
            subfilter=SigSeedSubFilter.PADES,
            reason=reason,
            location=location,
            embed_validation_info=long_term,
            use_pades_lta=self._level == "B-LTA",
            validation_context=self._validation_context() if long_term else None,
        )
        field_spec = stamp_style = text_params = None
        if appearance is not None:
            field_spec = fields.SigFieldSpec(
                field_name,
                on_page=_page_index(writer, appearance.page),
                box=_check_box(appearance.box),
            )
            stamp_style, text_params = self._stamp(appearance)
        pdf_signer = signers.PdfSigner(
            meta,
            signer=self._key.signer,
            timestamper=self._timestamper,
            stamp_style=stamp_style,
            new_field_spec=field_spec,
        )
        out = io.BytesIO()
        try:
            pdf_signer.sign_pdf(
                writer,
                bytes_reserved=bytes_reserved,
                appearance_text_params=text_params,
                output=out,
            )
        except PyHankoSigningError:
            raise  # sign() retries when the placeholder was too small
        except Exception as e:  # TSA/OCSP network errors, PDF structure errors, token errors...
            raise SigningError(f"signing failed: {e!r}", transient=_unreachable(e)) from e
        return out.getvalue()

    def _stamp(
        self, appearance: SignatureAppearance
    ) -> tuple[stamp.TextStampStyle, dict[str, str]]:
        from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory

        font_path = self._stamp_font_path()

        lines = ["Signé électroniquement par :", "%(signatory)s", "Le %(date)s"]
        if self.is_development:
            lines.append("Certificat de développement, sans valeur probante")
        style = stamp.TextStampStyle(
            stamp_text="\n".join(lines),
            border_width=1,
            text_box_style=text.TextBoxStyle(
                font=GlyphAccumulatorFactory(str(font_path)), font_size=appearance.font_size
            ),
        )
        signatory = appearance.signatory or self.certificate.subject.native.get(
            "common_name", self.certificate_subject
        )
        now = dt.datetime.now(dt.timezone.utc)
        return style, {"signatory": signatory, "date": now.strftime("%d/%m/%Y à %H:%M UTC")}

    def _stamp_font_path(self) -> Path:
        if self._stamp_font is None:
            font_path = self._font_path or find_stamp_font()
            if font_path is None:
                raise SigningError(
                    f"no TrueType font found for the visible signature; set {env.STAMP_FONT}"
                )
            # fontTools warns about every table it drops while subsetting (FFTM...): noise.
            logging.getLogger("fontTools.subset").setLevel(logging.ERROR)
            if self._font_cache_dir is not None:
                font_path = slim_stamp_font(font_path, self._font_cache_dir)
            self._stamp_font = font_path
        return self._stamp_font

    def _validation_context(self) -> ValidationContext:
        return ValidationContext(
            trust_roots=self._trust_roots, other_certs=self._key.chain[1:], allow_fetching=True
        )

    def _reserve(self) -> int:
        """Size the /Contents placeholder once, instead of a dry run per document."""
        if self._bytes_reserved is None:
            self._bytes_reserved = asyncio.run(self._estimate_reserve())
        return self._bytes_reserved

    async def _estimate_reserve(self) -> int:
        fake_digest = bytes(32)
        try:
            cms = await self._key.signer.async_sign(
                fake_digest,
                "sha256",
                use_pades=True,
                dry_run=True,
                timestamper=self._timestamper,
                signed_attr_settings=PdfCMSSignedAttributes(
                    signing_time=dt.datetime.now(dt.timezone.utc)
                ),
            )
        except Exception as e:
            raise SigningError(
                f"could not size the signature (TSA unreachable?): {e}", transient=_unreachable(e)
            ) from e
        hex_len = len(cms.dump()) * 2
        reserved = hex_len + hex_len // 2 + _RESERVE_HEADROOM
        return reserved + reserved % 2


def build_signer(cfg: SignerConfig) -> DocumentSigner:
    """Load the key (PKCS#12, PKCS#11 or development certificate) and the TSA client."""
    if cfg.font_path is not None and not cfg.font_path.is_file():
        raise SigningConfigError(f"{env.STAMP_FONT}={str(cfg.font_path)!r} does not exist")
    key = load_key(cfg)
    try:
        if cfg.trust_roots_path is not None:
            roots = load_pem_bundle(cfg.trust_roots_path)
        else:
            roots = [c for c in key.chain if c.self_signed != "no"]
        timestamper = (
            timestamps.HTTPTimeStamper(cfg.tsa_url, timeout=TSA_TIMEOUT_SECONDS)
            if cfg.tsa_url
            else None
        )
        signer = DocumentSigner(
            key,
            level=cfg.level,
            timestamper=timestamper,
            trust_roots=roots,
            font_path=cfg.font_path,
            font_cache_dir=cfg.data_dir / "signing",
        )
    except BaseException:
        key.close()
        raise
    if signer.is_development:
        log.warning(
            "signing with a self-signed development certificate (%s): "
            "signatures have no legal value",
            signer.certificate_subject,
        )
    return signer


# What the TSA client and the validation-data fetchers raise when their server does not answer.
_UNREACHABLE = (
    timestamps.TimestampRequestError,
    aiohttp.ClientError,
    asyncio.TimeoutError,
    TimeoutError,
    ConnectionError,
)


def _unreachable(error: Exception) -> bool:
    return isinstance(error, _UNREACHABLE)


def _refuse_running_event_loop() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise SigningError(
        "DocumentSigner.sign uses pyHanko's synchronous API and cannot run inside an event "
        "loop; call it from a worker thread (asyncio.to_thread)"
    )


def _open_for_signing(pdf: bytes) -> IncrementalPdfFileWriter:
    if not isinstance(pdf, (bytes, bytearray, memoryview)):
        raise SigningError("expected the PDF as bytes")
    try:
        # strict=False: accept hybrid-xref files (Office exports), see pyHanko issue #370
        writer = IncrementalPdfFileWriter(io.BytesIO(bytes(pdf)), strict=False)
    except (PdfError, ValueError, KeyError, TypeError, IndexError) as e:
        raise SigningError(f"input is not a readable PDF: {e}") from e
    if writer.prev.encrypted:
        raise SigningError("encrypted PDFs cannot be signed here")
    return writer


_XMP_METADATA_DATE = pdf_meta.ExpandedName(ns=pdf_meta.NS["xmp"], local_name="MetadataDate")


def _align_metadata_with_pyhanko(writer: IncrementalPdfFileWriter) -> None:
    """Keep the Info dictionary and the XMP in agreement, as PDF/A requires, through every
    revision pyHanko writes (the signature's, then the DSS and document timestamp of B-LT/B-LTA).

    In each of them pyHanko sets XMP pdf:Producer to its own name but appends that name to Info
    /Producer ("LibreOffice 7.4; pyHanko 0.38.0"), and stamps Info /ModDate and xmp:ModifyDate
    from two separate clock reads (they can straddle a second), leaving any xmp:MetadataDate
    behind. So, in the signature's revision: Info /Producer becomes pyHanko's name (which it then
    keeps), Info /ModDate goes (an Info entry absent cannot disagree; xmp:ModifyDate carries the
    date, and pyHanko only updates Info entries that exist when the file has XMP), and so does
    xmp:MetadataDate. Files without XMP are left alone: pyHanko then writes Info alone.
    """
    if "/Metadata" not in writer.root:
        return
    xmp = writer.root["/Metadata"]
    if not isinstance(xmp, MetadataStream):
        return
    try:
        info_ref = writer.trailer.raw_get("/Info")
    except KeyError:
        info_ref = None
    if isinstance(info_ref, generic.IndirectObject):
        info = info_ref.get_object()
        info["/Producer"] = generic.TextStringObject(pdf_meta.VENDOR)
        if "/ModDate" in info:
            del info["/ModDate"]
        writer.mark_update(info_ref)
    roots = xmp.xmp
    if any(name == _XMP_METADATA_DATE for root in roots for name, _ in root):
        kept = [
            pdf_meta.XmpStructure({k: v for k, v in root if k != _XMP_METADATA_DATE})
            for root in roots
        ]
        writer.root["/Metadata"] = writer.add_object(MetadataStream.from_xmp(kept))
        writer.update_root()


def _free_field_name(writer: IncrementalPdfFileWriter) -> str:
    taken = {name for name, _, _ in fields.enumerate_sig_fields(writer.prev)}
    n = 1
    while f"Signature{n}" in taken:
        n += 1
    return f"Signature{n}"


def _page_index(writer: IncrementalPdfFileWriter, page: int) -> int:
    count = int(writer.root["/Pages"]["/Count"])
    index = page + count if page < 0 else page
    if not 0 <= index < count:
        raise SigningError(f"appearance page {page} is outside the document ({count} pages)")
    return index


def _check_box(box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    if x2 <= x1 or y2 <= y1:
        raise SigningError(
            f"appearance box {box} must be (x1, y1, x2, y2) with x1 < x2 and y1 < y2"
        )
    return x1, y1, x2, y2
