"""DOCX → PDF/A-2b with LibreOffice: a pool of long-lived converters, and the naive cold path.

A cold ``soffice --convert-to`` costs about a second per document; a LibreOffice process kept
warm converts a letter in well under 100 ms. Each pool slot owns one worker (``_uno_worker.py``
run by Debian's python3, which alone can import ``uno``) and one LibreOffice process with its
own profile directory, because two processes sharing a profile lose conversions. The worker is
the leader of its own process group, so a hung or crashed converter is killed whole
(LibreOffice included) and replaced on next use. LibreOffice exits 0 on failure, so every
output is checked to be a PDF before it is returned.
"""
from __future__ import annotations

import atexit
import json
import os
import queue
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
import weakref
from pathlib import Path
from typing import Protocol, runtime_checkable

from ._errors import GenerationError

__all__ = ["Converter", "ConverterPool", "cold_convert", "PDF_EXPORT_OPTIONS", "check_pdf"]

# PDF/A-2b; LibreOffice's own heading outline off (the pipeline builds outlines itself);
# Writer bookmarks exported as named destinations, so the « signature » bookmark of a
# template tells where the signature block landed.
PDF_EXPORT_OPTIONS: dict[str, bool | int] = {
    "SelectPdfVersion": 2,
    "ExportBookmarks": False,
    "ExportBookmarksToPDFDestination": True,
    "ExportNotes": False,
    "EmbedStandardFonts": True,
}

_WORKER = Path(__file__).with_name("_uno_worker.py")


def _uno_python() -> str:
    return os.environ.get("RECOUVRE_UNO_PYTHON", "/usr/bin/python3")


def _soffice() -> str:
    return os.environ.get("RECOUVRE_SOFFICE") or shutil.which("soffice") or "/usr/bin/soffice"


def _clean_env() -> dict[str, str]:
    """Debian's python3 must not see this venv's paths."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.setdefault("HOME", tempfile.gettempdir())
    return env


def check_pdf(data: bytes | None, what: str = "LibreOffice output") -> bytes:
    """soffice exits 0 even when it wrote nothing: refuse anything that is not a complete PDF."""
    if not data:
        raise GenerationError("convert", f"{what} is missing or empty")
    if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-2048:]:
        raise GenerationError("convert", f"{what} is not a complete PDF")
    return data


@runtime_checkable
class Converter(Protocol):
    """Turns DOCX bytes into PDF/A bytes or raises ``GenerationError(step="convert")``."""

    def convert(self, docx: bytes, *, timeout: float | None = None) -> bytes: ...


class _Died(Exception):
    """The converter process went away under a request: worth one retry on a fresh one."""


class _Slot:
    """One worker process and its LibreOffice, used by one thread at a time."""

    def __init__(self, index: int, root: Path, start_timeout: float, max_conversions: int):
        self.index = index
        self.dir = root / f"slot-{index}"
        self.start_timeout = start_timeout
        self.max_conversions = max_conversions
        self.proc: subprocess.Popen[bytes] | None = None
        self.soffice_pid: int | None = None
        self.conversions = 0
        self.starts = 0
        self.restarts = 0
        self._buf = b""
        self._profile: Path | None = None

    # -- process life -------------------------------------------------------------------
    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def ensure_started(self) -> None:
        if self.alive:
            return
        self.kill()
        if self.starts:
            self.restarts += 1
        self.starts += 1
        self._spawn()

    def _spawn(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        # A fresh profile per process: a profile left by a killed LibreOffice may be locked.
        self._profile = self.dir / f"profile-{uuid.uuid4().hex[:8]}"
        cmd = [_uno_python(), str(_WORKER), "--soffice", _soffice(), "--profile", str(self._profile),
               "--filter-data", json.dumps(PDF_EXPORT_OPTIONS), "--start-timeout", str(self.start_timeout)]
        try:
            with open(self.dir / "worker.log", "ab") as log:  # the child keeps its own copy of the fd
                self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                             start_new_session=True, env=_clean_env(), bufsize=0)
        except OSError as exc:
            raise GenerationError("convert", f"cannot start the LibreOffice worker: {exc}", transient=True) from exc
        self._buf = b""
        self.conversions = 0
        try:
            msg = self._read_message(self.start_timeout + 10)
        except (TimeoutError, ValueError):
            msg = None
        if not msg or msg.get("event") != "ready":
            detail = (msg or {}).get("error") or self._log_tail() or "no answer"
            self.kill()
            raise GenerationError("convert", f"LibreOffice converter did not start: {detail}", transient=True)
        self.soffice_pid = msg.get("soffice_pid")

    def kill(self) -> None:
        """Kill the worker's process group (LibreOffice with it) and drop its profile."""
        proc, self.proc = self.proc, None
        if proc is not None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            for stream in (proc.stdin, proc.stdout):
                try:
                    stream.close()  # type: ignore[union-attr]
                except OSError:
                    pass
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        self.soffice_pid = None
        if self._profile is not None:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None

    def stop(self) -> None:
        """Ask LibreOffice to quit cleanly, then make sure the group is gone."""
        if self.alive:
            try:
                self._write({"op": "quit"})
                self.proc.wait(5)  # type: ignore[union-attr]
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()

    def _log_tail(self) -> str:
        try:
            return (self.dir / "worker.log").read_bytes()[-600:].decode("utf-8", "replace").strip()
        except OSError:
            return ""

    # -- messages -------------------------------------------------------------------------
    def _write(self, obj: dict) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(obj) + "\n").encode())

    def _read_message(self, timeout: float) -> dict | None:
        """One JSON line from the worker; None on end of file; TimeoutError past the deadline."""
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return json.loads(line)

    # -- work -------------------------------------------------------------------------------
    def convert(self, docx: bytes, timeout: float) -> bytes:
        self.ensure_started()
        job = self.dir / "jobs" / uuid.uuid4().hex
        job.mkdir(parents=True)
        try:
            src, dst = job / "document.docx", job / "document.pdf"
            src.write_bytes(docx)
            try:
                self._write({"op": "convert", "src": str(src), "dst": str(dst)})
                reply = self._read_message(timeout)
            except TimeoutError:
                self.kill()
                raise GenerationError(
                    "convert", f"conversion exceeded {timeout:g} s; the converter was killed and will restart",
                    transient=True) from None
            except (OSError, ValueError) as exc:
                self.kill()
                raise _Died(str(exc)) from exc
            if reply is None:
                self.kill()
                raise _Died("the converter process exited")
            if not reply.get("ok"):
                if reply.get("fatal"):
                    self.kill()
                    raise _Died(reply.get("error", "LibreOffice died"))
                raise GenerationError("convert", reply.get("error") or "conversion failed")
            self.conversions += 1
            return check_pdf(dst.read_bytes() if dst.exists() else None)
        finally:
            shutil.rmtree(job, ignore_errors=True)
            if self.conversions >= self.max_conversions:
                self.stop()  # bound LibreOffice's memory growth, as Gotenberg's restart-after does


_LIVE_POOLS: weakref.WeakSet[ConverterPool] = weakref.WeakSet()


@atexit.register
def _close_live_pools() -> None:
    for pool in list(_LIVE_POOLS):
        pool.close()


class ConverterPool:
    """``size`` long-lived LibreOffice converters; ``convert`` blocks until one is free.

    Started lazily (or eagerly with ``start()``); ``close()`` stops every process and removes
    the work directory it created. A conversion that exceeds ``timeout`` fails alone with
    ``GenerationError(step="convert", transient=True)``: its converter is killed and replaced on
    next use. A converter that died under a document is replaced and the document retried once;
    a document that kills it twice is poison (``transient=False``), as is one LibreOffice refuses.
    Thread-safe; create one per process (after a fork, never share a started pool).
    Settings: ``RECOUVRE_SOFFICE`` (soffice binary), ``RECOUVRE_UNO_PYTHON`` (an interpreter
    that can ``import uno``, default /usr/bin/python3).
    """

    def __init__(self, size: int = 2, work_dir: Path | str | None = None, timeout: float = 60.0, *,
                 start_timeout: float = 30.0, max_conversions: int = 200):
        if size < 1:
            raise ValueError("size must be at least 1")
        self.size = size
        self.timeout = timeout
        self._own_root = work_dir is None
        base = Path(work_dir) if work_dir is not None else Path(tempfile.mkdtemp(prefix="recouvre-lo-"))
        base.mkdir(parents=True, exist_ok=True)
        # A private directory even inside a shared work_dir, so close() removes only ours.
        self._root = Path(tempfile.mkdtemp(prefix="pool-", dir=base)) if not self._own_root else base
        self._slots = [_Slot(i, self._root, start_timeout, max_conversions) for i in range(size)]
        self._idle: queue.SimpleQueue[_Slot] = queue.SimpleQueue()
        for slot in self._slots:
            self._idle.put(slot)
        self._closed = False
        self._lock = threading.Lock()
        _LIVE_POOLS.add(self)

    def __enter__(self) -> ConverterPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def restarts(self) -> int:
        """How many times a dead, killed or recycled converter was replaced."""
        return sum(s.restarts for s in self._slots)

    def worker_pids(self) -> list[int | None]:
        """Process-group leader of each slot (None when not running), for supervision."""
        return [s.proc.pid if s.alive else None for s in self._slots]  # type: ignore[union-attr]

    def soffice_pids(self) -> list[int | None]:
        return [s.soffice_pid if s.alive else None for s in self._slots]

    def start(self) -> ConverterPool:
        """Start every converter now (in parallel) instead of on first use."""
        slots = [self._acquire() for _ in self._slots]
        errors: list[BaseException] = []

        def run(slot: _Slot) -> None:
            try:
                slot.ensure_started()
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(s,)) for s in slots]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for slot in slots:
            self._idle.put(slot)
        if errors:
            raise errors[0]
        return self

    def _acquire(self) -> _Slot:
        if self._closed:
            raise GenerationError("convert", "the converter pool is closed", transient=True)
        slot = self._idle.get()
        if self._closed:
            self._idle.put(slot)
            raise GenerationError("convert", "the converter pool is closed", transient=True)
        return slot

    def convert(self, docx: bytes, *, timeout: float | None = None) -> bytes:
        limit = self.timeout if timeout is None else timeout
        for attempt in (1, 2):
            slot = self._acquire()
            try:
                return slot.convert(docx, limit)
            except _Died as exc:
                if attempt == 2:
                    raise GenerationError("convert", f"LibreOffice died during the conversion: {exc}") from exc
            finally:
                self._idle.put(slot)
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for slot in self._slots:
            slot.stop()
        shutil.rmtree(self._root, ignore_errors=True)
        _LIVE_POOLS.discard(self)


def cold_convert(docx: bytes, *, timeout: float = 120.0) -> bytes:
    """The naive baseline: one ``soffice --convert-to`` with a fresh profile per document."""
    options = {k: {"type": "boolean" if isinstance(v, bool) else "long", "value": str(v).lower()}
               for k, v in PDF_EXPORT_OPTIONS.items()}
    with tempfile.TemporaryDirectory(prefix="recouvre-cold-") as tmp:
        src = Path(tmp) / "document.docx"
        src.write_bytes(docx)
        profile = Path(tmp) / "profile"
        cmd = [_soffice(), "--headless", "--norestore", f"-env:UserInstallation={profile.as_uri()}",
               "--convert-to", "pdf:writer_pdf_Export:" + json.dumps(options, separators=(",", ":")),
               "--outdir", str(Path(tmp) / "out"), str(src)]
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True, env=_clean_env())
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise GenerationError("convert", f"soffice --convert-to exceeded {timeout:g} s", transient=True) from None
        out = Path(tmp) / "out" / "document.pdf"
        return check_pdf(out.read_bytes() if out.exists() else None, "soffice --convert-to output")
