"""One LibreOffice process driven over UNO, for one converter slot.

Run by Debian's /usr/bin/python3, the only interpreter that can ``import uno`` (python3-uno);
the service's own venv talks to it over stdin/stdout, one JSON object per line, so it needs
neither the ``uno`` module nor a port. This file must therefore import nothing from the
project.

Start-up: launches ``soffice`` with its own profile, listening on a private UNO pipe, and
prints ``{"event": "ready", "soffice_pid": N}`` once the desktop answers (or ``failed``).
Requests: ``{"op": "convert", "src": ABS, "dst": ABS}`` answered by ``{"ok": true}`` or
``{"ok": false, "error": MSG, "fatal": BOOL}``; ``fatal`` means LibreOffice is gone and this
worker exits. ``{"op": "quit"}`` or end of input stops LibreOffice and exits. The parent
owns the timeouts: it kills this worker's whole process group (LibreOffice included) when
a conversion hangs.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time
import uuid

import uno
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException

WORD_2007_FILTER = "MS Word 2007 XML"   # forced, so a non-DOCX input fails instead of loading as text
NEVER_EXECUTE_MACROS = 0                # com.sun.star.document.MacroExecMode.NEVER_EXECUTE
NO_LINK_UPDATE = 0                      # com.sun.star.document.UpdateDocMode.NO_UPDATE


def _prop(name, value):
    p = PropertyValue()
    p.Name = name
    p.Value = value
    return p


def _send(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _start_soffice(soffice, profile, start_timeout):
    pipe_name = f"recouvre-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    cmd = [
        soffice, "-env:UserInstallation=" + uno.systemPathToFileUrl(profile),
        "--headless", "--invisible", "--nocrashreport", "--nodefault", "--nologo",
        "--nofirststartwizard", "--norestore",
        f"--accept=pipe,name={pipe_name};urp;StarOffice.ComponentContext",
    ]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.monotonic() + start_timeout
    while True:
        try:
            ctx = resolver.resolve(f"uno:pipe,name={pipe_name};urp;StarOffice.ComponentContext")
            break
        except NoConnectException:
            if proc.poll() is not None:
                raise RuntimeError(f"soffice exited with code {proc.returncode} during start-up") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"soffice did not accept a UNO connection within {start_timeout} s") from None
            time.sleep(0.05)
    desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    return proc, desktop


def _typed_filter_data(filter_data):
    return uno.Any("[]com.sun.star.beans.PropertyValue",
                   tuple(_prop(k, v) for k, v in filter_data.items()))


def _convert(desktop, src, dst, filter_data):
    load_props = (
        _prop("Hidden", True), _prop("ReadOnly", True), _prop("FilterName", WORD_2007_FILTER),
        _prop("MacroExecutionMode", NEVER_EXECUTE_MACROS), _prop("UpdateDocMode", NO_LINK_UPDATE),
    )
    doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(src), "_blank", 0, load_props)
    if doc is None:
        raise ValueError("LibreOffice could not load the document (not a valid DOCX?)")
    try:
        store_props = (_prop("FilterName", "writer_pdf_Export"),
                       _prop("FilterData", _typed_filter_data(filter_data)))
        uno.invoke(doc, "storeToURL", (uno.systemPathToFileUrl(dst), store_props))
    finally:
        try:
            doc.close(True)
        except Exception:  # noqa: BLE001 - a document that cannot close is disposed with the process
            pass


def _stop(proc, desktop):
    try:
        desktop.terminate()
    except Exception:  # noqa: BLE001 - the bridge may already be gone
        pass
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--soffice", required=True)
    ap.add_argument("--profile", required=True)
    ap.add_argument("--filter-data", required=True, help="JSON object of PDF export options")
    ap.add_argument("--start-timeout", type=float, default=30.0)
    args = ap.parse_args()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    filter_data = json.loads(args.filter_data)
    try:
        proc, desktop = _start_soffice(args.soffice, args.profile, args.start_timeout)
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which decides
        _send({"event": "failed", "error": str(exc)})
        return 2
    _send({"event": "ready", "soffice_pid": proc.pid})
    for line in sys.stdin:
        req = json.loads(line)
        if req.get("op") == "quit":
            break
        if proc.poll() is not None:
            _send({"ok": False, "fatal": True, "error": f"LibreOffice exited (code {proc.returncode})"})
            return 3
        try:
            _convert(desktop, req["src"], req["dst"], filter_data)
        except ValueError as exc:
            _send({"ok": False, "fatal": False, "error": str(exc)})
        except Exception as exc:  # noqa: BLE001 - UNO raises its own hierarchy
            fatal = proc.poll() is not None or "disposed" in str(exc).lower() or "DisposedException" in type(exc).__name__
            _send({"ok": False, "fatal": fatal, "error": f"{type(exc).__name__}: {exc}"})
            if fatal:
                return 3
        else:
            _send({"ok": True})
    _stop(proc, desktop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
