"""Shared plumbing of the service-level benchmarks: a throw-away PostgreSQL schema, a free
loopback port, the `recouvre` command with a clean environment, percentiles.

Nothing here talks to anything but 127.0.0.1.
"""
from __future__ import annotations

import contextlib
import copy
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
# Same variables (and defaults) as the test suite; both are allowed by settings.Settings.
PG_URL = os.environ.get("RECOUVRE_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("RECOUVRE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def recouvre_cmd() -> list[str]:
    """The `recouvre` console script of this interpreter's environment (or `python -m cli.main`)."""
    script = Path(sys.executable).with_name("recouvre")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli.main"]


def service_env(data_dir: Path, database_url: str | None = None, broker_url: str | None = None,
                **extra: str) -> dict[str, str]:
    """The parent's environment without any RECOUVRE_* variable, plus the ones given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECOUVRE_")}
    env["RECOUVRE_DATA_DIR"] = str(data_dir)
    if database_url:
        env["RECOUVRE_DATABASE_URL"] = database_url
    if broker_url:
        env["RECOUVRE_BROKER_URL"] = broker_url
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(extra)
    return env


@contextlib.contextmanager
def pg_schema(prefix: str = "bench") -> Iterator[str]:
    """A fresh schema in the test database; yields the service URL pointing at it; dropped at the end."""
    from sqlalchemy import create_engine, text
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(args: list[str], env: Mapping[str, str], timeout: float = 120) -> str:
    proc = subprocess.run(recouvre_cmd() + args, env=dict(env), cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"recouvre {' '.join(args)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc.stdout


def create_key(env: Mapping[str, str], tenant: str, role: str = "integrator") -> str:
    """`recouvre api-key create`; the key is the last line it prints."""
    return run_cli(["api-key", "create", "--tenant", tenant, "--role", role], env).strip().splitlines()[-1]


def start_process(args: list[str], env: Mapping[str, str], log_path: Path) -> subprocess.Popen:
    """A `recouvre` sub-command in its own process group (so it and its children stop together)."""
    log = open(log_path, "ab")  # noqa: SIM115 - closed with the process by stop_process
    proc = subprocess.Popen(recouvre_cmd() + args, env=dict(env), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    proc._bench_log = log  # type: ignore[attr-defined]
    return proc


def stop_process(proc: subprocess.Popen, timeout: float = 20) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    log = getattr(proc, "_bench_log", None)
    if log:
        log.close()


def wait_http(url: str, proc: subprocess.Popen, log_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}): {tail(log_path)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server not answering {url} after {timeout:.0f} s: {tail(log_path)}")


def tail(path: Path, chars: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def http_json(method: str, url: str, key: str, body: object | None = None, timeout: float = 30) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def case_with_invoices(reference: str, invoices: int = 10) -> dict:
    """The b2b fixture with `invoices` invoices (the fixture's payment still points at the first)."""
    base = json.loads((FIXTURES / "case-b2b.json").read_text())
    case = copy.deepcopy(base)
    case["reference"] = reference
    first = base["invoices"][0]
    items = []
    for n in range(invoices):
        month = 1 + n % 9
        items.append({"number": first["number"] if n == 0 else f"F-2025-{500 + n:04d}",
                      "issue_date": f"2025-{month:02d}-01", "due_date": f"2025-{month:02d}-28",
                      "amount": f"{1000 + 137 * n}.{n:02d}", "description": f"Prestation {n + 1}"})
    case["invoices"] = items
    return case


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def machine() -> dict[str, object]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"nproc": os.cpu_count(), "cpu": model}


# --- CPU accounting from /proc ------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def proc_table() -> dict[int, tuple[str, int, int, float]]:
    """pid -> (comm, ppid, pgid, CPU seconds user + system) of every live process."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2:].split()
        table[int(entry.name)] = (raw[raw.index("(") + 1: raw.rindex(")")], int(fields[1]), int(fields[2]),
                                  (int(fields[11]) + int(fields[12])) / _TICK)
    return table


def descendants(table: Mapping[int, tuple], root: int) -> set[int]:
    """root and every process below it (by parent pid)."""
    children: dict[int, list[int]] = {}
    for pid, row in table.items():
        children.setdefault(row[1], []).append(pid)
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid in found:
            continue
        found.add(pid)
        todo.extend(children.get(pid, ()))
    return found


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy since boot (all cores; /proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / _TICK


def pg_backend_pids(admin, application_name: str) -> set[int]:
    """PostgreSQL backends of one application (by application_name), and the WAL writer."""
    rows = admin.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s "
                         "OR backend_type = 'walwriter'", (application_name,)).fetchall()
    return {r[0] for r in rows}


def admin_connection():
    """A plain psycopg connection to the test database (autocommit), for pg_stat_activity."""
    import psycopg
    return psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
