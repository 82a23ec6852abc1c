"""How long `manage.py reconcile` takes, and how much memory it needs, as the ledger grows.

For each size (100,000 and 1,000,000 ledger entries by default, one wallet per
100 entries): a scratch database is created (dropped at the end), migrated and
filled by `manage.py generate_ledger` (the bench app's command, so every child
runs with BENCH=true); then `manage.py reconcile --json` runs as
a child process, `--runs` times, and the script prints its wall time and its
peak resident memory (ru_maxrss of that child, from wait4). The memory of
`manage.py check` (Django loaded, no work) is measured too, as the floor.

    .venv/bin/python bench/reconcile_bench.py
    .venv/bin/python bench/reconcile_bench.py --sizes 100000 1000000 3000000 --runs 5

Target: 1,000,000 entries across 10,000 wallets in well under a minute
(we aim at 30 s) with flat memory: the 1M peak no higher than the 100k one,
give or take the noise. Not a test and not part of CI; results: bench/RESULTS.md.
"""

# ruff: noqa: S603 - runs the project's own manage.py with arguments built here.

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
MANAGE = [sys.executable, str(ROOT / "manage.py")]
ENTRIES_PER_WALLET = 100


@dataclass
class Measure:
    seconds: float
    peak_rss_mb: float
    returncode: int
    stdout: str = field(repr=False)
    stderr: str = field(repr=False)


def log(message: str) -> None:
    print(f"[reconcile-bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def measured(command: list[str], *, env: dict[str, str]) -> Measure:
    """Run `command` as a child and return its wall time and its own peak RSS (not its siblings')."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.monotonic()
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=err, text=True)
        # wait4 reaps this very child and hands back its own rusage (RUSAGE_CHILDREN
        # would be the largest of every child so far, generate_ledger included).
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measure(seconds, usage.ru_maxrss / 1024, process.returncode, out.read(), err.read())


def checked(command: list[str], *, env: dict[str, str]) -> Measure:
    result = measured(command, env=env)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command[1:])} failed ({result.returncode}):\n{result.stderr}{result.stdout}")
    return result


def recreate_database(server: str, name: str) -> None:
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def drop_database(server: str, name: str) -> None:
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def generated_ledger(entries: int, *, env: dict[str, str]) -> tuple[int, Measure]:
    """Migrate the scratch database and fill it with `entries` entries; return the wallets and the measure."""
    wallets = max(2, entries // ENTRIES_PER_WALLET)
    log(f"{entries} entries, {wallets} wallets: migrate")
    checked([*MANAGE, "migrate", "--no-input", "-v", "0"], env=env)
    log("generate_ledger")
    generated = checked([*MANAGE, "generate_ledger", "--entries", str(entries), "--wallets", str(wallets)], env=env)
    return wallets, generated


def each_size(args, bench_size, *, name: str) -> tuple[list[dict], float, tuple[float, float, float]]:
    """Run `bench_size(entries, env=…, runs=…)` on a fresh scratch database for each of `args.sizes`.

    Return its rows, the peak RSS of `manage.py check` (the floor) and the load average at the start.
    """
    env = {
        **os.environ,
        "DATABASE_URL": f"{args.server}/{args.database}",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", f"{name}-only"),
        "DJANGO_DEBUG": "false",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        # Installs the bench app, whose generate_ledger fills the scratch database.
        "BENCH": "true",
    }
    load = os.getloadavg()
    floor = checked([*MANAGE, "check"], env=env)
    rows = []
    try:
        for entries in args.sizes:
            recreate_database(args.server, args.database)
            rows.append(bench_size(entries, env=env, runs=args.runs))
    finally:
        if not args.keep:
            drop_database(args.server, args.database)
    return rows, floor.peak_rss_mb, load


def bench_size(entries: int, *, env: dict[str, str], runs: int) -> dict:
    wallets, generated = generated_ledger(entries, env=env)
    measures, document = [], {}
    for run in range(1, runs + 1):
        result = measured([*MANAGE, "reconcile", "--json", "-v", "0"], env=env)
        if result.returncode != 0:
            raise SystemExit(f"reconcile found discrepancies or failed ({result.returncode}):\n{result.stdout}")
        document = json.loads(result.stdout)
        measures.append(result)
        log(f"reconcile run {run}: {result.seconds:.2f} s, peak RSS {result.peak_rss_mb:.1f} MB")
    return {
        "entries": entries,
        "wallets": wallets,
        "generate_seconds": generated.seconds,
        "reconcile_seconds": [m.seconds for m in measures],
        "peak_rss_mb": max(m.peak_rss_mb for m in measures),
        "checks": {check["name"]: check["seconds"] for check in document["checks"]},
        "clean": document["clean"],
    }


def print_report(rows: list[dict], *, floor_mb: float, load: tuple[float, float, float]) -> None:
    print()
    print(f"manage.py check (Django loaded, no work): peak RSS {floor_mb:.1f} MB")
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")
    print()
    print("| entries | wallets | generate_ledger | reconcile (median) | reconcile (min … max) | peak RSS | clean |")
    print("|---:|---:|---:|---:|---:|---:|:---:|")
    for row in rows:
        times = row["reconcile_seconds"]
        print(
            f"| {row['entries']:,} | {row['wallets']:,} | {row['generate_seconds']:.1f} s "
            f"| {statistics.median(times):.2f} s | {min(times):.2f} … {max(times):.2f} s "
            f"| {row['peak_rss_mb']:.1f} MB | {'yes' if row['clean'] else 'NO'} |"
        )
    print()
    names = list(rows[-1]["checks"])
    print("| check | " + " | ".join(f"{row['entries']:,}" for row in rows) + " |")
    print("|---|" + "---:|" * len(rows))
    for name in names:
        print(f"| {name} | " + " | ".join(f"{row['checks'][name]:.2f} s" for row in rows) + " |")
    print_growth(rows)


def print_growth(rows: list[dict]) -> None:
    """Print how the peak RSS moved from the smallest size to the largest (the "flat memory" line)."""
    if len(rows) > 1:
        growth = rows[-1]["peak_rss_mb"] - rows[0]["peak_rss_mb"]
        ratio = rows[-1]["entries"] / rows[0]["entries"]
        print()
        print(f"{ratio:.0f}x the entries: peak RSS {growth:+.1f} MB (from {rows[0]['peak_rss_mb']:.1f} MB)")


def size_arguments(doc: str, *, sizes: list[int], runs: str, database: str) -> argparse.ArgumentParser:
    """Return the parser of a benchmark over ledger sizes, each on a fresh scratch database."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=sizes, help="ledger entries")
    parser.add_argument("--runs", type=int, default=3, help=f"{runs} per size (default 3)")
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server URL")
    parser.add_argument("--database", default=database, help="scratch database (dropped and recreated)")
    parser.add_argument("--keep", action="store_true", help="keep the last scratch database")
    return parser


def main() -> None:
    parser = size_arguments(__doc__, sizes=[100_000, 1_000_000], runs="reconcile runs", database="pf_bench_recon")
    args = parser.parse_args()

    rows, floor_mb, load = each_size(args, bench_size, name="reconcile-bench")
    print_report(rows, floor_mb=floor_mb, load=load)


if __name__ == "__main__":
    main()
