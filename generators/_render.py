"""DOCX templates rendered with docxtpl the safe way.

docxtpl's default environment escapes nothing (« Dupont & Fils <SARL> » silently becomes
« Dupont  Fils »), leaves a misspelt variable blank, and turns control characters in user
text into page or paragraph breaks. Here autoescape and StrictUndefined are always on and
every string of the context is cleaned before it reaches the template.
"""
from __future__ import annotations

import io
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from docxtpl import DocxTemplate

from ._errors import GenerationError
from ._formatting import amount_in_words, clean_text, de, french_date, french_money, french_rate

__all__ = ["render_docx", "template_environment", "TEMPLATES_DIR", "template_path", "clean_context"]

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "legal_templates"


def template_environment() -> jinja2.Environment:
    """The Jinja environment every template is rendered (and checked) with."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters.update(eur=french_money, date_fr=french_date, en_lettres=amount_in_words, taux=french_rate, de=de)
    return env


def clean_context(value: Any) -> Any:
    """Every plain string cleaned of control characters, however deep; other objects untouched."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, Mapping):
        return {k: clean_context(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_context(v) for v in value]
    return value


def template_path(name: str, templates_dir: Path | None = None) -> Path:
    return (templates_dir or TEMPLATES_DIR) / f"{name}.docx"


@lru_cache(maxsize=64)
def _template_bytes(path: str, mtime_ns: int) -> bytes:
    return Path(path).read_bytes()


def _load(template: str | Path | bytes) -> tuple[bytes, str]:
    if isinstance(template, bytes):
        return template, "template"
    path = Path(template) if isinstance(template, Path) or str(template).endswith(".docx") \
        else template_path(str(template))
    try:
        return _template_bytes(str(path), path.stat().st_mtime_ns), path.name
    except OSError as exc:
        raise GenerationError("render", f"template {path} cannot be read: {exc}") from exc


def render_docx(template: str | Path | bytes, context: Mapping[str, Any], *,
                title: str | None = None, author: str | None = None) -> bytes:
    """Render a DOCX template (a name under legal_templates/, a path, or bytes) to DOCX bytes."""
    data, name = _load(template)
    try:
        tpl = DocxTemplate(io.BytesIO(data))
        tpl.render(clean_context(context), jinja_env=template_environment(), autoescape=True)
        props = tpl.docx.core_properties
        if title is not None:
            props.title = clean_text(title)
        if author is not None:
            props.author = clean_text(author)
        out = io.BytesIO()
        tpl.save(out)
    except jinja2.TemplateError as exc:
        where = " | ".join(x.strip() for x in getattr(exc, "docx_context", []) if x.strip())
        raise GenerationError("render", f"{name}: {type(exc).__name__}: {exc}" + (f" (near: {where})" if where else "")
                              ) from exc
    except Exception as exc:  # noqa: BLE001 - a corrupt template fails in python-docx or lxml
        raise GenerationError("render", f"{name}: {type(exc).__name__}: {exc}") from exc
    return out.getvalue()
