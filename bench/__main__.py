"""Run the benchmarks and report them: `python -m bench [--only http,claim] [--readme README.md]`.

Each benchmark runs in a child process of its own (a crash, a hang or a leftover server in one
cannot stop or skew the next); a failure is recorded with its error and the others go on.
Prints the report in Markdown; with --readme, replaces the part of that file between
``<!-- bench:start -->`` and ``<!-- bench:end -->`` (markers appended if missing). The raw
figures go to out/bench/results.json.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench._support import ROOT, machine

BENCHES = ("claim", "signing", "archive", "documents", "http", "pipeline")
TIMEOUTS = {"claim": 300, "signing": 300, "archive": 300, "documents": 600, "http": 900, "pipeline": 1200}
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
RESULTS = ROOT / "out" / "bench" / "results.json"
QUIET_CORES = 0.3      # the machine counts as quiet below this many busy cores
QUIET_WAIT_S = 120     # default longest wait for quiet before each benchmark


# --- running ---------------------------------------------------------------------------------------

def _child(name: str, out: Path) -> int:
    """In the child process: run one benchmark, write {"result"} or {"error"} to `out`."""
    import importlib
    try:
        result = importlib.import_module(f"bench.bench_{name}").run()
        payload = {"result": result}
        code = 0
    except BaseException as exc:  # noqa: BLE001 - reported, not raised
        payload = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()[-4000:]}
        code = 1
    out.write_text(json.dumps(payload, ensure_ascii=False, default=str))
    return code


def run_one(name: str) -> dict:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="recouvre-bench-") as tmp:
        out = Path(tmp) / "out.json"
        log = Path(tmp) / "log.txt"
        cmd = [sys.executable, "-m", "bench", "--child", name, "--child-out", str(out)]
        try:
            with open(log, "wb") as fh:
                proc = subprocess.run(cmd, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT,
                                      timeout=TIMEOUTS.get(name, 900), check=False)
            code = proc.returncode
        except subprocess.TimeoutExpired:
            code = None
        seconds = round(time.perf_counter() - started, 1)
        if out.exists():
            payload = json.loads(out.read_text())
        elif code is None:
            payload = {"error": f"timed out after {TIMEOUTS.get(name, 900)} s"}
        else:
            payload = {"error": f"exited with status {code} without a result"}
        if "error" in payload:
            payload["log_tail"] = log.read_text(errors="replace")[-3000:]
    payload["seconds"] = seconds
    return payload


def _busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores, /proc/stat)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except OSError:
        return 0.0
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def _own_children_seconds() -> float:
    import resource
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def wait_quiet(max_wait: float, threshold: float = QUIET_CORES, sample: float = 3.0) -> float:
    """Waits (up to max_wait s) until the machine's busy cores stay under `threshold` for
    `sample` s: other jobs on the same cores skew every figure. Answers the busy cores last seen."""
    deadline = time.monotonic() + max_wait
    while True:
        before = _busy_seconds()
        time.sleep(sample)
        busy = (_busy_seconds() - before) / sample
        if busy < threshold or time.monotonic() >= deadline:
            return round(busy, 2)


def _loadavg() -> str:
    try:
        return " / ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


# --- report ----------------------------------------------------------------------------------------

def _yes(ok: bool | None) -> str:
    return "—" if ok is None else ("yes" if ok else "**no**")


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def _section_claim(r: dict) -> list[str]:
    ok = r["median_ms"] < r.get("target_ms", 20)
    return _table(["figure", "measured", "target", "met"], [
        [f"décompte, {r['invoices']} invoices / {r['payments']} payments ({r['lines']} lines), median of {r['repeat']}",
         f"{r['median_ms']} ms (min {r['min_ms']} ms)", f"< {r.get('target_ms', 20)} ms", _yes(ok)]])


def _section_signing(r: dict) -> list[str]:
    ok = r["document_signer_median_ms"] <= 30
    return _table(["figure", "measured", "target", "met"], [
        [f"sign one page, reused DocumentSigner, {r['key']}, {r['level']} (median of {r['document_signer_samples']})",
         f"{r['document_signer_median_ms']} ms", "≤ 30 ms", _yes(ok)],
        [f"same with a visible stamp (median of {r['document_signer_visible_samples']})",
         f"{r['document_signer_visible_median_ms']} ms", "—", "—"],
        [f"naive: load PKCS#12 + pyHanko sign_pdf (median of {r['naive_samples']})",
         f"{r['naive_load_pkcs12_and_sign_median_ms']} ms", "—", "—"],
        ["naive / reused", f"{r['speedup']}×", "—", "—"],
        ["building the signer once (key load, signature sizing)", f"{r['build_signer_ms']} ms", "—", "—"]])


def _section_archive(r: dict) -> list[str]:
    kb = r["object_bytes"] // 1024
    return _table(["figure", "median per put", "objects/s", "target"], [
        [f"local write-once files, {kb} KB object ({r['local']['samples']} puts)",
         f"{r['local']['median_ms_per_put']} ms", r["local"]["objects_per_s"], "reported (no target)"],
        [f"S3 Object Lock via moto server on loopback, {kb} KB ({r['s3_moto']['samples']} puts)",
         f"{r['s3_moto']['median_ms_per_put']} ms", r["s3_moto"]["objects_per_s"], "reported (no target)"]])


def _section_documents(r: dict) -> list[str]:
    t = r["targets"]
    tp = r["throughput_docs_per_s"]
    return _table(["figure", "measured", "target", "met"], [
        [f"mise en demeure, warm converter pool, median of {r['warm_runs']} (p90 {r['warm_p90_ms']} ms)",
         f"{r['warm_median_ms']} ms", f"≤ {t['warm_median_ms_max']:g} ms", _yes(r["warm_median_ms"] <= t["warm_median_ms_max"])],
        [f"cold `soffice --convert-to`, fresh profile, median of {r['cold_runs']}", f"{r['cold_median_ms']} ms", "—", "—"],
        ["cold / warm", f"{r['cold_over_warm']}×", f"≥ {t['cold_over_warm_min']:g}×",
         _yes(r["cold_over_warm"] >= t["cold_over_warm_min"])],
        ["render (docxtpl) alone, median", f"{r['render_median_ms']} ms", "—", "—"],
        ["throughput, pool of 1 / pool of 2", f"{tp['pool_size_1']} / {tp['pool_size_2']} docs/s "
         f"({r['throughput_gain_size_2']}×)", "—", "—"],
        ["LibreOffice", r["libreoffice"], "", ""]])


def _conns(x: dict) -> str:
    spread = x.get("connections_per_worker")
    return f"{x['connections']} ({'+'.join(map(str, spread))})" if spread else str(x["connections"])


def _section_http(r: dict) -> list[str]:
    t = r["targets"]
    rows = []
    for x in r["create"]:
        ok = x["per_s"] >= t["creations_per_s_min"] and x["p99_ms"] < t["p99_ms_max"]
        rows.append([f"POST /v1/cases ({r['invoices_per_case']} invoices)", _conns(x), x["seconds"],
                     f"**{x['per_s']}**", x["p50_ms"], x["p90_ms"], f"**{x['p99_ms']}**", x["max_ms"],
                     f"{x['cpu_ms_per_request']['server']} / {x['cpu_ms_per_request']['postgres']}",
                     x["other_cores_busy"], f"≥ {t['creations_per_s_min']:g}/s, p99 < {t['p99_ms_max']:g} ms",
                     _yes(ok)])
    for x in r["read"]:
        rows.append(["GET /v1/cases/{id}", _conns(x), x["seconds"], x["per_s"], x["p50_ms"], x["p90_ms"],
                     x["p99_ms"], x["max_ms"],
                     f"{x['cpu_ms_per_request']['server']} / {x['cpu_ms_per_request']['postgres']}",
                     x["other_cores_busy"], "—", "—"])
    lines = _table(["requests", "connections (per worker)", "s", "per s", "p50 ms", "p90 ms", "p99 ms", "max ms",
                    "CPU ms/req server / PG", "other load (cores)", "target", "met"], rows)
    v = r["verification"]
    lines += ["", f"Server: {r['server']}, {r.get('server_version', '')}; {r['database']}, "
              f"{r.get('analyze_after_warmup', 'no ANALYZE')}; load: {r['load']}, {r['duration_s']} s per creation level, "
              f"{r['read_duration_s']} s per read level. "
              f"Check: {v['cases_in_db']} cases in the database, {v['server_201']} answered 201 by the server "
              f"(access log), non-2xx: {v['wrk_non_2xx'] + v['server_non_2xx'] + v['reads_non_2xx']}; "
              f"wrk read {v['wrk_201_measured_runs']} of the measured runs' 201s, the rest were in flight when "
              f"it stopped — {'consistent' if r['consistent'] else '**INCONSISTENT**'}. "
              "\"Other load\" is the CPU used meanwhile by processes that are not part of the bench."]
    return lines


def _section_pipeline(r: dict) -> list[str]:
    lat = r["latency_ms"] or {}
    unl = r.get("unloaded_latency_ms") or {}
    return _table(["figure", "measured", "target"], [
        [f"{r['documents']} {r['kind']}: generate + sign + archive, {r['workers']}",
         f"**{r['docs_per_s']} docs/s** ({r['ready']} ready, {r['failed']} failed, {r['seconds']} s)",
         "docs/s with two workers (reported)"],
        ["per-document latency request → ready in that burst (median / p90 / max)",
         f"{lat.get('median')} / {lat.get('p90')} / {lat.get('max')} ms", "—"],
        [f"unloaded latency request → ready, warm workers (median of {unl.get('samples')})",
         f"{unl.get('median')} ms", "—"],
        ["first document of a cold worker (converter start)", f"{r.get('first_document_ms')} ms", "—"],
        ["CPU per document: workers incl. LibreOffice / PostgreSQL (s)",
         f"{(r.get('cpu_s_per_doc') or {}).get('workers')} / {(r.get('cpu_s_per_doc') or {}).get('postgres')}", "—"],
        ["cores busy during the burst: ours / other processes on the machine",
         f"{r.get('cores_busy')} / {r.get('other_cores_busy')}", "—"]])


SECTIONS = {
    "documents": ("Documents (LibreOffice converter pool)", _section_documents),
    "signing": ("Signing (PAdES)", _section_signing),
    "claim": ("Décompte (claim computation)", _section_claim),
    "http": ("HTTP API on PostgreSQL (gunicorn, 2 workers)", _section_http),
    "pipeline": ("Document pipeline (generate → sign → archive)", _section_pipeline),
    "archive": ("Archive (write-once put)", _section_archive),
}


def _summary(results: dict[str, dict]) -> list[str]:
    rows = []

    def add(area, figure, target, ok):
        rows.append([area, figure, target, _yes(ok)])
    for name in BENCHES:
        p = results.get(name)
        if p is None:
            continue
        if "error" in p:
            add(name, f"**failed**: {p['error'][:200]}", "", False)
            continue
        r = p["result"]
        if name == "documents":
            add("documents", f"warm median {r['warm_median_ms']} ms; cold/warm {r['cold_over_warm']}×",
                "≤ 250 ms; ≥ 5×", r["targets"]["met"])
        elif name == "signing":
            add("signing", f"median {r['document_signer_median_ms']} ms (RSA-3072)", "≤ 30 ms",
                r["document_signer_median_ms"] <= 30)
        elif name == "claim":
            add("claim", f"median {r['median_ms']} ms (200 invoices / 200 payments)", "< 20 ms", r["median_ms"] < 20)
        elif name == "http":
            levels = "; ".join(f"{x['connections']} conn.: {x['per_s']}/s, p99 {x['p99_ms']} ms" for x in r["create"])
            met_at = r["targets"]["met_at_connections"]
            add("http", f"creations: {levels} (target met at: {', '.join(map(str, met_at)) or 'none'} connections)",
                "≥ 300/s with p99 < 50 ms", r["targets"]["met"])
        elif name == "pipeline":
            add("pipeline", f"{r['docs_per_s']} docs/s, median latency {(r['latency_ms'] or {}).get('median')} ms "
                f"({r['ready']}/{r['documents']} ready)", "docs/s with two workers (reported)",
                None if not r["failed"] else False)
        elif name == "archive":
            add("archive", f"local {r['local']['median_ms_per_put']} ms, S3 (moto) {r['s3_moto']['median_ms_per_put']} ms",
                "medians reported", None)
    return _table(["area", "measured", "target", "met"], rows)


def report(results: dict[str, dict], meta: dict) -> str:
    lines = [f"Measured {meta['date']} with `{meta['command']}` on {meta['nproc']} cores ({meta['cpu']}), "
             f"load average before the run {meta['loadavg']}. Medians and ratios come from this one run; "
             "each benchmark ran in its own process, one after the other.", ""]
    lines += _summary(results)
    for name in BENCHES:
        p = results.get(name)
        if p is None:
            continue
        title, fn = SECTIONS[name]
        lines += ["", f"### {title}", ""]
        if "error" in p:
            lines.append(f"Failed after {p['seconds']} s: `{p['error'][:500]}`")
            continue
        try:
            lines += fn(p["result"])
        except (KeyError, TypeError, ValueError) as exc:
            lines.append(f"(could not format the result: {exc!r}; raw figures in out/bench/results.json)")
        load = p.get("load") or {}
        lines.append(f"\n_{p['seconds']} s; cores busy meanwhile: {load.get('machine_cores')} in all, "
                     f"{load.get('other_cores')} outside this bench's process tree "
                     f"(PostgreSQL counts there); {load.get('busy_before')} before it started._")
    return "\n".join(lines) + "\n"


def update_readme(path: Path, section: str) -> None:
    text = path.read_text() if path.exists() else ""
    block = f"{START}\n{section}{END}"
    if START in text and END in text and text.index(START) < text.index(END):
        before, rest = text.split(START, 1)
        after = rest.split(END, 1)[1]
        text = before + block + after
    else:
        text = text.rstrip("\n") + "\n\n## Benchmarks\n\n" + block + "\n"
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(BENCHES)}")
    parser.add_argument("--readme", type=Path, help="file whose bench section to replace (e.g. README.md)")
    parser.add_argument("--quiet-wait", type=float, default=QUIET_WAIT_S, metavar="S",
                        help=f"before each benchmark, wait up to S seconds for the machine to be quiet "
                             f"(< {QUIET_CORES} busy cores); 0 to start at once (default {QUIET_WAIT_S})")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args.child, args.child_out)
    names = list(BENCHES)
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in BENCHES]
        if unknown:
            parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHES)}")
    meta = {"date": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            "command": "make bench" if not args.only else f"python -m bench --only {','.join(names)}",
            "loadavg": _loadavg(), **machine()}
    results: dict[str, dict] = {}
    for name in names:
        idle = wait_quiet(args.quiet_wait) if args.quiet_wait > 0 else None
        print(f"[bench] {name} … (machine busy before: {idle} cores)", file=sys.stderr, flush=True)
        busy0, own0 = _busy_seconds(), _own_children_seconds()
        results[name] = run_one(name)
        busy, own = _busy_seconds() - busy0, _own_children_seconds() - own0
        seconds = max(results[name]["seconds"], 1e-9)
        # Cores busy during the bench: all processes, and this bench's own process tree (PostgreSQL,
        # Redis and LibreOffice processes not waited for by the bench count as "others").
        results[name]["load"] = {"busy_before": idle, "machine_cores": round(busy / seconds, 2),
                                 "bench_cores": round(own / seconds, 2),
                                 "other_cores": round(max(0.0, busy - own) / seconds, 2)}
        status = results[name].get("error") or "ok"
        print(f"[bench] {name}: {status} ({results[name]['seconds']} s, load {results[name]['load']})",
              file=sys.stderr, flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"meta": meta, "results": results}, indent=2, ensure_ascii=False, default=str))
    section = report(results, meta)
    print(section)
    if args.readme:
        update_readme(args.readme, section)
        print(f"[bench] wrote the figures to {args.readme}", file=sys.stderr)
    return 0 if all("error" not in p for p in results.values()) else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
