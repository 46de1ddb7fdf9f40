"""`python -m bench` (`make bench`): every figure of issue 12 in one table.

Each row is a figure, its baseline measured in the same run (interleaved A/B/A/B), the
ratio (figure / baseline, so lower is better for times and higher for throughput), the
goal, the spread of the measured repetitions and the load average when the row ended.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import fanout, load, micro, scratch
from bench.stats import interleaved, median, p99, spread
from bench.stats import load as load_average

# `python -m bench --only "report POST,GET /"`: just those rows (labels as printed), to
# rerun the figures a change touches without the whole ten minutes.
ONLY = (frozenset(sys.argv[sys.argv.index("--only") + 1].split(","))
        if "--only" in sys.argv[1:-1] else None)
HTTP_LABELS = ("report POST", "GET /", "GET /alerts", "check")


def wanted(*labels: str) -> bool:
    return ONLY is None or any(label in ONLY for label in labels)


HTTP_SECONDS = float(os.environ.get("BENCH_HTTP_SECONDS", "5"))
HTTP_REPS = int(os.environ.get("BENCH_HTTP_REPS", "2"))


@dataclass
class Row:
    label: str
    figure: str
    baseline: str
    ratio: str
    goal: str
    spread: str
    load: str
    note: str = ""


def _ratio_of_pairs(base: list[float], fig: list[float]) -> float:
    return median([f / b for b, f in zip(base, fig, strict=True) if b])


def micro_row(label: str, measure, goal: float, note: str = "") -> Row:
    base, fig = measure()
    ratio = _ratio_of_pairs(base, fig)
    return Row(label, f"{median(fig):.1f} us", f"raw {median(base):.1f} us", f"{ratio:.2f}x",
               f"<= {goal}x raw {'ok' if ratio <= goal else 'MISSED'}", spread(fig),
               load_average(), note)


def http_row(label: str, figure_run, baseline_run, goal: float, *, p99_goal: float | None = None,
             note: str = "") -> Row:
    base: list[load.Load] = []
    fig: list[load.Load] = []
    for _ in range(HTTP_REPS):
        base.append(baseline_run())
        fig.append(figure_run())
    rps, base_rps = median([f.rps for f in fig]), median([b.rps for b in base])
    fig_p99, base_p99 = median([f.p99_ms for f in fig]), median([b.p99_ms for b in base])
    ratio = rps / base_rps
    ok = ratio >= goal and (p99_goal is None or fig_p99 < p99_goal)
    goal_text = f">= {goal}x" + (f", p99 < {p99_goal:g} ms" if p99_goal else "")
    errors = sum(f.errors for f in fig)
    extra = f"{errors} errors; " if errors else ""
    return Row(label, f"{rps:.0f} req/s, p99 {fig_p99:.1f} ms",
               f"{base_rps:.0f} req/s, p99 {base_p99:.1f} ms", f"{ratio:.2f}x",
               f"{goal_text} {'ok' if ok else 'MISSED'}", spread([f.rps for f in fig]),
               load_average(), extra + note)


def _form(**fields: str) -> str:
    return urllib.parse.urlencode(fields)


def check_service_p99(data: scratch.Scratch) -> tuple[float, str]:
    """The service call alone: median over repetitions of each repetition's p99, in ms."""
    from app.checker import service
    from crypto import keystore
    from crypto.blind_index import BlindIndexer

    conn = data.connect()
    try:
        indexer = BlindIndexer(keystore.load_server_keys(data.keys_dir).index_key)
        found = service.published_alerts_mentioning(conn, indexer, *scratch.CHECKED)
        assert found, "the checked identifier is published"
        p99s, medians = [], []
        for _ in range(5):
            samples = []
            for _ in range(400):
                start = time.perf_counter()
                service.published_alerts_mentioning(conn, indexer, "phone", "07700 900999")
                samples.append((time.perf_counter() - start) * 1000)
            p99s.append(p99(samples))
            medians.append(median(samples))
        rows = conn.execute("SELECT count(*) FROM alert_identifier_index").fetchone()[0]
        return median(p99s), f"{rows:,} identifiers (median {median(medians):.3f} ms)"
    finally:
        conn.close()


def http_rows(rows: list[Row], root: Path) -> None:
    started = time.monotonic()
    data = scratch.make(root / "web")
    [member] = scratch.add_member_login(data)
    scratch.publish_alerts(data, alerts=2000, identifier_rows=1_000_000)
    browser = scratch.signed_in(data, member, "/reports/new")
    print(f"  scratch database ready in {time.monotonic() - started:.0f} s", file=sys.stderr)
    hello = load.gunicorn("bench.hello:app", dict(os.environ))
    service = load.gunicorn("bench.served:app", data.env())
    cookie = {"Cookie": browser.cookie}
    try:
        def hello_get() -> load.Load:
            return load.run(hello.url + "/", seconds=HTTP_SECONDS)

        def hello_post() -> load.Load:
            return load.run(hello.url + "/", seconds=HTTP_SECONDS, method="POST",
                            body=_form(a="1", b="2", csrf_token=browser.csrf_token))

        yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
        report = _form(csrf_token=browser.csrf_token, incident_date=yesterday,
                       incident_time="evening", area="ldn", categories="threats",
                       narrative="He refused to pay and became aggressive.")
        conn = data.connect()
        created: list[tuple[int, int]] = []

        def report_post() -> load.Load:
            before = conn.execute("SELECT count(*) FROM reports").fetchone()[0]
            result = load.run(service.url + "/reports/new", seconds=HTTP_SECONDS,
                              method="POST", body=report, headers=cookie)
            time.sleep(0.5)  # requests still in flight when wrk stopped
            after = conn.execute("SELECT count(*) FROM reports").fetchone()[0]
            created.append((result.requests, after - before))
            return result

        if wanted("report POST"):
            rows.append(http_row("report POST", report_post, hello_post, 0.5, p99_goal=50))
            done = sum(r for r, _ in created)
            made = sum(c for _, c in created)
            rows[-1].note += (f"{made} reports for {done} answered requests "
                              f"(<= {load.CONNECTIONS * HTTP_REPS} in flight at each stop)")
        conn.close()

        if wanted("GET /"):
            rows.append(http_row("GET /", lambda: load.run(service.url + "/",
                                                           seconds=HTTP_SECONDS),
                                 hello_get, 0.6))
        if wanted("GET /alerts"):
            rows.append(http_row("GET /alerts", lambda: load.run(service.url + "/alerts",
                                                                seconds=HTTP_SECONDS,
                                                                headers=cookie),
                                 hello_get, 0.3, note="2,000 published alerts, 20 a page"))
            floor = http_row("floor", lambda: load.run(service.url + "/bench/floor",
                                                      seconds=HTTP_SECONDS, headers=cookie),
                             hello_get, 0)
            rows[-1].note += (f"; a members-only page answering only 'ok' (bench/served.py) "
                              f"runs at {floor.ratio} of the same hello-world GET")
        if not wanted("check"):
            return
        check_body = _form(csrf_token=browser.csrf_token, kind="phone", value="07700 900123")
        service_p99, what = check_service_p99(data)
        rows.append(http_row("check", lambda: load.run(service.url + "/check",
                                                      seconds=HTTP_SECONDS, method="POST",
                                                      body=check_body, headers=cookie),
                             hello_post, 0.3,
                             note=f"service call p99 {service_p99:.3f} ms with {what} "
                                  f"(goal < 1 ms {'ok' if service_p99 < 1 else 'MISSED'})"))
    finally:
        service.stop()
        hello.stop()


def fanout_row(root: Path) -> Row:
    data = scratch.make(root / "fanout")
    fanout.populate(data)
    sink = fanout.SmtpSink()
    try:
        base, fig = interleaved(lambda: fanout.limit_run(data, sink),
                                lambda: fanout.worker_run(data, sink), 2)
    finally:
        sink.stop()
    ratio = _ratio_of_pairs(base, fig)
    return Row("fan-out 10k", f"{median(fig):.1f} s", f"limit {median(base):.1f} s",
               f"{ratio:.2f}x", f"<= 1.5x {'ok' if ratio <= 1.5 else 'MISSED'}", spread(fig),
               load_average(), "worker defaults (relay on loopback: 1,000/s), aiosmtpd Sink")


def signin_row() -> Row:
    out = subprocess.run([sys.executable, "-m", "bench.signin"], capture_output=True,
                         text=True, check=True, env={**os.environ, "PYTHONPATH": str(load.REPO)},
                         cwd=load.REPO).stdout
    result = json.loads(out.strip().splitlines()[-1])
    ratio = _ratio_of_pairs(result["limit"], result["figure"])
    memory_ok = result["peak_mib"] <= result["allowed_mib"]
    return Row("sign-in 32", f"{median(result['figure']):.2f} s",
               f"Argon2id x32 on 2 threads {median(result['limit']):.2f} s", f"{ratio:.2f}x",
               f"~1.0x, memory {'ok' if memory_ok else 'MISSED'}", spread(result["figure"]),
               load_average(),
               f"peak {result['peak_mib']:.0f} MiB <= {result['allowed_mib']:.0f} MiB "
               f"(idle {result['idle_mib']:.0f} + 2 x 64 MiB, +20%)")


def rotation_row() -> Row:
    """app.vault.rotation's own rewrap over N envelopes, in a process of its own (its RSS)."""
    out = subprocess.run([sys.executable, "-m", "bench.rotation"], capture_output=True,
                         text=True, check=True, env={**os.environ, "PYTHONPATH": str(load.REPO)},
                         cwd=load.REPO).stdout
    result = json.loads(out.strip().splitlines()[-1])
    n, scale = result["n"], 1_000_000 / result["n"]
    ratio = _ratio_of_pairs(result["limit"], result["figure"])
    scaled = f" (x{scale:g}: {median(result['figure']) * scale:.0f} s for 1M)" if scale != 1 else ""
    return Row("rotation 1M", f"{median(result['figure']):.1f} s for {n:,}{scaled}",
               f"limit {median(result['limit']):.1f} s", f"{ratio:.2f}x",
               f"<= 1.5x {'ok' if ratio <= 1.5 else 'MISSED'}", spread(result["figure"]),
               load_average(),
               f"{n:,} envelopes (BENCH_ROTATION_N; 1M does not fit the 2-minute row on 2 "
               f"cores), {result['cores']} rewrap processes + 1 writer, batches of "
               f"{result['batch']}; peak RSS {result['peak_mib']:.0f} MiB; the machine gave "
               f"{median(result['free_cores']):.1f} of {result['cores']} cores to the raw work "
               f"at once (the limit assumes all {result['cores']})")


def print_table(rows: list[Row]) -> None:
    headers = ("row", "figure", "baseline", "ratio", "goal", "spread", "load (1 5 15)", "note")
    cells = [headers] + [(r.label, r.figure, r.baseline, r.ratio, r.goal, r.spread, r.load,
                          r.note) for r in rows]
    print("| " + " | ".join(headers) + " |")
    print("|" + "|".join("---" for _ in headers) + "|")
    for line in cells[1:]:
        print("| " + " | ".join(line) + " |")


def main() -> None:
    # The in-process app (sign-in, the worker's run) would log a line per request and
    # per batch; a handler here stops create_app installing its own.
    logging.getLogger("uglymugs").addHandler(logging.NullHandler())
    logging.getLogger("uglymugs").setLevel(logging.WARNING)
    began = time.monotonic()
    print(f"uglymugs bench: {os.cpu_count()} CPUs, load {load_average()}, "
          f"load generator {'wrk' if load.have_wrk() else 'Python (wrk not installed)'}, "
          f"wrk -t{load.THREADS} -c{load.CONNECTIONS} -d{HTTP_SECONDS:g}s x{HTTP_REPS}",
          file=sys.stderr)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="uglymugs-bench-") as tmp:
        root = Path(tmp)
        if wanted("seal"):
            rows.append(micro_row("seal", micro.seal, 1.1, note=micro.peers()))
        if wanted("open_envelope"):
            rows.append(micro_row("open_envelope", micro.open_envelope, 1.1))
        if wanted("rewrap"):
            rows.append(micro_row("rewrap", micro.rewrap, 1.1))
        if wanted("rotation 1M"):
            rows.append(rotation_row())
        if wanted(*HTTP_LABELS):
            http_rows(rows, root)
        if wanted("fan-out 10k"):
            rows.append(fanout_row(root))
        if wanted("sign-in 32"):
            rows.append(signin_row())
    print_table(rows)
    print(f"\nwhole run {time.monotonic() - began:.0f} s; ratio = figure / baseline, "
          "median of A/B pairs (times) or of medians (HTTP); p99 = median of repetitions' "
          "p99s")


if __name__ == "__main__":
    main()
