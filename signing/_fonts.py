"""Locate a TrueType font for visible signatures.

PDF/A forbids non-embedded fonts, and pyHanko's default stamp font is a
non-embedded Courier, so the stamp must use an embeddable TTF.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import subprocess
from pathlib import Path

__all__ = ["find_stamp_font", "slim_stamp_font"]

log = logging.getLogger("recouvre.signing")

_CANDIDATES = (
    "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/TTF/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
)


def find_stamp_font() -> Path | None:
    for candidate in _CANDIDATES:
        path = Path(candidate)
        if path.is_file():
            return path
    return _ask_fontconfig()


def _ask_fontconfig() -> Path | None:
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return None
    for family in ("Liberation Sans", "DejaVu Sans"):
        try:
            out = subprocess.run(
                [fc_match, "--format=%{file}", family],
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            ).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return None
        if out.lower().endswith(".ttf") and Path(out).is_file():
            return Path(out)
    return None


def slim_stamp_font(source: Path, cache_dir: Path) -> Path:
    """Copy of ``source`` without OpenType layout tables, at 1000 units per em, cached in ``cache_dir``.

    pyHanko subsets the stamp font for every document, and fontTools decodes
    the whole GSUB/GPOS tables each time only to drop them: ~100 ms with
    Liberation Sans. Without them, a visible signature costs ~20 ms.
    pyHanko 0.38 also writes the glyph widths (/W) in the font's own units, while
    PDF reads them in thousandths of an em: a 2048-unit font (Liberation, DejaVu)
    is drawn with every glyph twice too far apart. Rescaling to 1000 makes the two agree.
    Every Unicode character of the source is kept. Falls back to ``source``.
    """
    try:
        digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
        target = cache_dir / f"stamp-font-{digest}-1000upem.ttf"
        if target.is_file():
            return target
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            _write_slim_font(source, tmp)
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        return target
    except Exception as e:  # noqa: BLE001 - the full font still works, only slower
        log.warning("could not prepare a slim stamp font from %s: %r", source, e)
        return source


def _write_slim_font(source: Path, target: Path) -> None:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.layout_features = []
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "kern"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    font = TTFont(str(source))
    unicodes: set[int] = set()
    for table in font["cmap"].tables:
        if table.isUnicode():
            unicodes.update(table.cmap)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=unicodes)
    subsetter.subset(font)
    if font["head"].unitsPerEm != 1000:
        from fontTools.ttLib.scaleUpem import scale_upem
        scale_upem(font, 1000)
    font.save(str(target))
