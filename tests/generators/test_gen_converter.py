"""The LibreOffice pool under stress: bad documents, hangs, crashes, clean-up. Real LibreOffice only."""
from __future__ import annotations

import io
import os
import signal
import threading
import time
import zipfile
from pathlib import Path

import pytest
from docx import Document
from gen_support import xmp

from generators import ConverterPool, GenerationError, cold_convert
from generators._convert import check_pdf

pytestmark = pytest.mark.libreoffice


def small_docx(text: str = "Bonjour Dupont & Fils <SARL> — 1 234,56 €") -> bytes:
    doc = Document()
    doc.add_paragraph(text)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def slow_docx(paragraphs: int = 30_000) -> bytes:
    """A DOCX of ~600 pages (tens of seconds for LibreOffice) that zips to a few kilobytes."""
    para = "<w:p><w:r><w:t>" + "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 8 + "</w:t></w:r></w:p>"
    ns = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    parts = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/'
        'document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"'
        '/></Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
        'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
        '2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
        "word/document.xml": f'<?xml version="1.0" encoding="UTF-8"?><w:document {ns}><w:body>{para * paragraphs}'
        "</w:body></w:document>",
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return buf.getvalue()


def alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def group_members(pgid: int, name: str | None = None) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z" and (name is None or comm == name):
            pids.append(int(entry.name))
    return pids


def test_poison_document_fails_alone_and_the_pool_keeps_working(pool):
    good = small_docx()
    truncated = good[: len(good) // 2]
    with pytest.raises(GenerationError) as err:
        pool.convert(truncated)
    assert err.value.step == "convert" and str(err.value).startswith("convert: ")
    assert err.value.transient is False        # the same bytes will fail again: not worth a retry
    with pytest.raises(GenerationError, match="convert") as err:
        pool.convert(b"this is plain text, not a DOCX")
    assert err.value.transient is False
    assert pool.convert(good).startswith(b"%PDF-")


def test_poison_next_to_a_good_document_on_two_slots(pool):
    good, bad = small_docx(), small_docx()[:500]
    results: dict[str, object] = {}

    def run(name, data):
        try:
            results[name] = pool.convert(data)
        except GenerationError as exc:
            results[name] = exc

    threads = [threading.Thread(target=run, args=(n, d)) for n, d in (("bad", bad), ("good", good))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert isinstance(results["bad"], GenerationError) and results["bad"].step == "convert"
    assert isinstance(results["good"], bytes) and results["good"].startswith(b"%PDF-")


def test_each_slot_has_its_own_profile_and_process(pool):
    pids = pool.soffice_pids()
    assert len(pids) == 2 and len(set(pids)) == 2 and all(alive(p) for p in pids)
    cmdlines = []
    for worker in pool.worker_pids():
        (soffice,) = group_members(worker, "soffice.bin")
        cmdlines.append(Path(f"/proc/{soffice}/cmdline").read_bytes().decode().split("\0"))
    profiles = {arg for cmd in cmdlines for arg in cmd if arg.startswith("-env:UserInstallation=")}
    assert len(profiles) == 2


def test_timeout_kills_the_converter_and_the_next_document_converts(tmp_path):
    with ConverterPool(size=1, work_dir=tmp_path, timeout=60) as pool:
        pool.start()
        worker, soffice = pool.worker_pids()[0], pool.soffice_pids()[0]
        members = group_members(worker)
        assert len(members) >= 3  # the worker, LibreOffice's launcher and soffice.bin
        started = time.monotonic()
        with pytest.raises(GenerationError) as err:
            pool.convert(slow_docx(), timeout=1.5)
        elapsed = time.monotonic() - started
        assert err.value.step == "convert" and "exceeded 1.5 s" in err.value.message
        assert err.value.transient is True     # a busy or hung converter: retry later
        assert elapsed < 8, elapsed
        assert not any(alive(p) for p in members), "the whole process group is killed"
        assert not alive(soffice)
        pdf = pool.convert(small_docx())
        assert pdf.startswith(b"%PDF-") and pool.restarts == 1
        assert pool.worker_pids()[0] != worker
        assert not list((tmp_path).glob("pool-*/slot-0/jobs/*")), "no half-written job left"


def test_crashed_libreoffice_is_replaced_without_failing_the_document(tmp_path):
    with ConverterPool(size=1, work_dir=tmp_path, timeout=60) as pool:
        pool.start()
        worker = pool.worker_pids()[0]
        (soffice_bin,) = group_members(worker, "soffice.bin")
        os.kill(soffice_bin, signal.SIGKILL)
        time.sleep(0.3)
        assert pool.convert(small_docx()).startswith(b"%PDF-")
        assert pool.restarts == 1
        # and a worker killed outright is replaced too
        os.killpg(pool.worker_pids()[0], signal.SIGKILL)
        time.sleep(0.3)
        assert pool.convert(small_docx()).startswith(b"%PDF-")
        assert pool.restarts == 2


def test_a_libreoffice_that_cannot_start_is_a_transient_failure(tmp_path, monkeypatch):
    monkeypatch.setenv("RECOUVRE_SOFFICE", "/bin/false")
    with ConverterPool(size=1, work_dir=tmp_path, timeout=60, start_timeout=5) as pool:
        with pytest.raises(GenerationError, match="did not start") as err:
            pool.convert(small_docx())
    assert err.value.step == "convert" and err.value.transient is True


def _soffice_bin(pool: ConverterPool) -> int:
    """The soffice.bin of the pool's only converter, once that converter is ready."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        worker, ready = pool.worker_pids()[0], pool.soffice_pids()[0]
        members = group_members(worker, "soffice.bin") if worker and ready else []
        if members:
            return members[0]
        time.sleep(0.1)
    raise AssertionError("no converter came up")


def test_a_document_that_kills_libreoffice_twice_is_poison(tmp_path):
    """Replaced once without failing the document; killed under it a second time, the document is
    reported as permanent so the job is not retried against a third converter."""
    with ConverterPool(size=1, work_dir=tmp_path, timeout=120) as pool:
        pool.start()
        outcome: dict[str, object] = {}

        def run():
            try:
                outcome["pdf"] = pool.convert(slow_docx())
            except GenerationError as exc:
                outcome["error"] = exc

        thread = threading.Thread(target=run)
        thread.start()
        first = _soffice_bin(pool)
        time.sleep(1.5)                         # the conversion is under way
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while pool.restarts < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        second = _soffice_bin(pool)
        assert second != first
        time.sleep(1.5)
        os.kill(second, signal.SIGKILL)
        thread.join(90)
    err = outcome.get("error")
    assert isinstance(err, GenerationError), outcome
    assert err.step == "convert" and "died during the conversion" in err.message and err.transient is False


def test_close_stops_every_process_and_removes_its_files(tmp_path):
    pool = ConverterPool(size=2, work_dir=tmp_path, timeout=60).start()
    workers = pool.worker_pids()
    members = [p for w in workers for p in group_members(w)]
    pool.convert(small_docx())
    pool.close()
    time.sleep(0.2)
    assert not any(alive(p) for p in members)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(GenerationError, match="closed"):
        pool.convert(small_docx())


def test_recycles_a_converter_after_max_conversions(tmp_path):
    with ConverterPool(size=1, work_dir=tmp_path, timeout=60, max_conversions=2) as pool:
        assert pool.worker_pids() == [None]          # started lazily
        for _ in range(3):
            assert pool.convert(small_docx()).startswith(b"%PDF-")
        assert pool.restarts == 1


def test_cold_convert_baseline_is_pdfa_too(tmp_path):
    pdf = cold_convert(small_docx())
    assert "<pdfaid:part>2</pdfaid:part>" in xmp(pdf, tmp_path)
    with pytest.raises(GenerationError, match="convert"):
        cold_convert(b"PK\x03\x04 truncated")


def test_check_pdf_refuses_what_soffice_leaves_on_failure():
    for bad in (None, b"", b"<html>", b"%PDF-1.7\n1 0 obj"):
        with pytest.raises(GenerationError):
            check_pdf(bad)
    assert check_pdf(b"%PDF-1.7\n...\n%%EOF\n")
