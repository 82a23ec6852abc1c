"""How long a back office CSV export of the ledger takes, and how much memory it needs, as the ledger grows.

For each size (10,000 and 1,000,000 ledger entries by default, one wallet per
100 entries): a scratch database is created (dropped at the end), migrated and
filled by `manage.py generate_ledger` (set-based SQL over generate_series);
then a child process (this script with `--child`) signs an operator in and
downloads `/admin/wallets/ledgerentry/export.csv` through Django's own request
handling (the test client, no server), reading the streamed body to the end,
`--runs` times. The script prints each download's wall time, its rows and
bytes, and the child's peak resident memory (ru_maxrss, from wait4). The
memory of `manage.py check` (Django loaded, no work) is the floor.

    .venv/bin/python bench/export_bench.py           # or: make bench-export
    .venv/bin/python bench/export_bench.py --sizes 10000 1000000 3000000 --runs 5

Target: flat memory (the 1M download's peak no higher than the 10k one, give
or take the noise): rows go from a server-side cursor, 2,000 at a time, to
the response one CSV line at a time. Not a test and not part of CI; results:
bench/RESULTS.md.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
EXPORT_URL = "/admin/wallets/ledgerentry/export.csv"
OPERATOR_EMAIL = "export-bench@bench.invalid"

sys.path.insert(0, str(ROOT))

# The scratch database and the measured child, as the reconcile benchmark does them.
from bench.reconcile_bench import checked, each_size, generated_ledger, print_growth, size_arguments  # noqa: E402


def log(message: str) -> None:
    print(f"[export-bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def child() -> None:
    """Download the export once as an operator; print {rows, bytes, seconds} as JSON."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paymentflow.settings")
    import django

    django.setup()
    from django.test import Client

    from accounts.models import User

    operator, _ = User.objects.get_or_create(
        email=OPERATOR_EMAIL, defaults={"is_staff": True, "is_superuser": True, "password": "!bench"}
    )
    client = Client(HTTP_HOST="localhost")
    client.force_login(operator)
    started = time.monotonic()
    response = client.get(EXPORT_URL)
    if response.status_code != 200 or not response.streaming:
        raise SystemExit(f"export answered {response.status_code}: {response.content[:500]!r}")
    lines = size = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        lines += chunk.count(b"\n")
    response.close()
    print(json.dumps({"rows": lines - 1, "bytes": size, "seconds": time.monotonic() - started}))


def bench_size(entries: int, *, env: dict[str, str], runs: int) -> dict:
    wallets, generated = generated_ledger(entries, env=env)
    downloads, peaks = [], []
    for run in range(1, runs + 1):
        result = checked([sys.executable, str(Path(__file__).resolve()), "--child"], env=env)
        download = json.loads(result.stdout)
        downloads.append(download)
        peaks.append(result.peak_rss_mb)
        log(
            f"export run {run}: {download['rows']:,} rows, {download['bytes'] / 1e6:.1f} MB of CSV "
            f"in {download['seconds']:.2f} s (process {result.seconds:.2f} s), peak RSS {result.peak_rss_mb:.1f} MB"
        )
    return {
        "entries": entries,
        "wallets": wallets,
        "generate_seconds": generated.seconds,
        "rows": downloads[-1]["rows"],
        "megabytes": downloads[-1]["bytes"] / 1e6,
        "seconds": [download["seconds"] for download in downloads],
        "peak_rss_mb": max(peaks),
    }


def print_report(rows: list[dict], *, floor_mb: float, load: tuple[float, float, float]) -> None:
    print()
    print(f"manage.py check (Django loaded, no work): peak RSS {floor_mb:.1f} MB")
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")
    print()
    print("| entries | generate_ledger | rows exported | CSV | export (median) | min … max | rows/s | peak RSS |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        times = row["seconds"]
        print(
            f"| {row['entries']:,} | {row['generate_seconds']:.1f} s | {row['rows']:,} | {row['megabytes']:.1f} MB "
            f"| {statistics.median(times):.2f} s | {min(times):.2f} … {max(times):.2f} s "
            f"| {row['rows'] / statistics.median(times):,.0f} | {row['peak_rss_mb']:.1f} MB |"
        )
    print_growth(rows)


def main() -> None:
    parser = size_arguments(__doc__, sizes=[10_000, 1_000_000], runs="downloads", database="pf_bench_export")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child()
        return

    rows, floor_mb, load = each_size(args, bench_size, name="export-bench")
    print_report(rows, floor_mb=floor_mb, load=load)


if __name__ == "__main__":
    main()
