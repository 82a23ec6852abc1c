"""`make bench`: the performance benchmarks, each against a baseline measured in the same run.

Starts from nothing: creates a scratch database (dropped at the end), migrates and
seeds it (bench/seed.py), serves the app the way production does (gunicorn
paymentflow.wsgi, several workers, settings from the environment, DEBUG off,
BENCH on for the floor endpoint and the Server-Timing header, throttles raised),
drives it from separate processes (wrk with the Lua scripts in bench/lua, pgbench
with bench/sql/purchase.sql), checks the books after the load and prints a table.

    python bench/run.py                 # everything, ~15 s per load run
    python bench/run.py --duration 5    # quicker, noisier
    python bench/run.py --profile DIR   # also record py-spy profiles of the workers under load

Not a test and not part of CI: figures depend on the machine and on whatever else
runs on it. Method and recorded results: bench/RESULTS.md.
"""

# ruff: noqa: S603 - runs the project's own tools (gunicorn, wrk, pgbench, psql) with arguments built here.

import argparse
import base64
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
PYTHON = sys.executable
sys.path.insert(0, str(ROOT))

from core.tests.localstripe import (  # noqa: E402 (the project's root is on the path only from here)
    STRIPE_TEST_SECRET_KEY,
    STRIPE_TEST_WEBHOOK_SECRET,
    localstripe_running,
)

# The figures `make bench` must reach.
HOT_RATIO_TARGET = 0.50
SPREAD_RATIO_TARGET = 0.40
READ_RATIO_TARGET = 0.90
# A card order's creation, Stripe's own time taken out, against a wallet purchase: at most this many times.
CARD_RATIO_TARGET = 2.0
TAIL_RATIO_TARGET = 5.0
HISTORY_P99_TARGET_MS = 20.0
RECONCILE_TARGET_S = 30.0
# "Flat": ten times the entries may move reconcile's peak memory by no more than this.
RECONCILE_FLAT_MB = 10.0


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(command: list[str], *, env: dict | None = None, check: bool = True, capture: bool = True, **kwargs):
    return subprocess.run(command, env=env, check=check, text=True, capture_output=capture, cwd=ROOT, **kwargs)


# --- tools ----------------------------------------------------------------------------------------


def ensure_tool(binary: str, package: str) -> str:
    """Return the path of `binary`, installing its Debian package first if it is missing."""
    found = shutil.which(binary)
    if found:
        return found
    if not shutil.which("apt-get"):
        sys.exit(f"{binary} is missing and there is no apt-get to install {package}; install it and retry.")
    log(f"installing {package} (for {binary})")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    installed = run([*sudo, "apt-get", "install", "-y", "-qq", package], check=False)
    if installed.returncode != 0:
        run([*sudo, "apt-get", "update", "-qq"])
        run([*sudo, "apt-get", "install", "-y", "-qq", package])
    found = shutil.which(binary)
    if not found:
        sys.exit(f"installing {package} did not provide {binary}")
    return found


def ensure_py_spy() -> str:
    found = shutil.which("py-spy", path=str(Path(PYTHON).parent)) or shutil.which("py-spy")
    if found:
        return found
    log("installing py-spy into the venv")
    run([PYTHON, "-m", "pip", "install", "--quiet", "py-spy"])
    return shutil.which("py-spy", path=str(Path(PYTHON).parent))


# --- results --------------------------------------------------------------------------------------


@dataclass
class Load:
    """One load run: completed operations per second and latency percentiles (ms)."""

    label: str
    per_second: float
    p50_ms: float
    p99_ms: float
    total: int = 0
    statuses: dict = field(default_factory=dict)
    errors: int = 0
    # Milliseconds of CPU the gunicorn workers spent per request (0 for pgbench).
    worker_cpu_ms: float = 0.0
    # The runs this figure combines (see `combined`); just itself for one run.
    rounds: list = field(default_factory=list)

    def tail_ratio(self) -> float:
        return self.p99_ms / self.p50_ms if self.p50_ms else float("inf")


def parse_wrk(output: str, label: str, *, ok_status: str) -> Load:
    line = next((line for line in output.splitlines() if line.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{output}")
    data = json.loads(line.removeprefix("WRK_JSON "))
    seconds = data["duration_us"] / 1e6
    statuses = data["statuses"]
    ok = statuses.get(ok_status, 0)
    # Anything but the expected status and clean 409s (a lost race for the last unit) is an error.
    errors = sum(count for status, count in statuses.items() if status not in (ok_status, "409"))
    return Load(
        label=label,
        per_second=ok / seconds,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        total=data["requests"],
        statuses=statuses,
        errors=errors + data["socket_errors"],
    )


def reconcile_summary(output: str) -> tuple[float, float, float] | None:
    """(median seconds at 1M entries, its peak RSS in MB, RSS growth 100k -> 1M) from reconcile_bench.py's tables."""
    row = re.search(r"^\| 1,000,000 \|.*$", output, re.MULTILINE)
    growth = re.search(r"peak RSS ([+-][\d.]+) MB", output)
    if row is None or growth is None:
        return None
    cells = [cell.strip() for cell in row.group(0).strip("|").split("|")]
    try:
        return float(cells[3].split()[0]), float(cells[5].split()[0]), float(growth.group(1))
    except (IndexError, ValueError):
        return None


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def combined(label: str, rounds: list[Load]) -> Load:
    """One load's rounds as one figure: mean rate, median p50, worst p99, every answer and error counted."""
    statuses: dict = {}
    for load in rounds:
        for status, count in load.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
    total = sum(load.total for load in rounds)
    return Load(
        label=label,
        per_second=statistics.mean(load.per_second for load in rounds),
        p50_ms=statistics.median(load.p50_ms for load in rounds),
        p99_ms=max(load.p99_ms for load in rounds),
        total=total,
        statuses=statuses,
        errors=sum(load.errors for load in rounds),
        worker_cpu_ms=sum(load.worker_cpu_ms * load.total for load in rounds) / total if total else 0.0,
        rounds=rounds,
    )


def ratio_of_rounds(app: Load, baseline: Load) -> float:
    """The median over rounds of app / baseline, each pair measured one after the other."""
    return statistics.median(a.per_second / b.per_second for a, b in zip(app.rounds, baseline.rounds, strict=True))


# --- the bench ------------------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="pf-bench-"))
        self.wrk = ensure_tool("wrk", "wrk")
        self.pgbench = ensure_tool("pgbench", "postgresql-client")
        self.psql = ensure_tool("psql", "postgresql-client")
        self.server: subprocess.Popen | None = None
        self.services = ExitStack()
        # Each load runs in rounds, alternating with its baseline, so both see the same drift.
        self.round_seconds = max(3, args.duration // args.rounds)
        self.results: dict = {}
        database_url = urlsplit(args.database_url)
        self.database = database_url.path.lstrip("/")
        self.admin_url = urlunsplit(database_url._replace(path="/postgres"))
        self.env = {
            **os.environ,
            "DATABASE_URL": args.database_url,
            "REDIS_URL": args.redis_url,
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DELIVERY_ENCRYPTION_KEYS": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DJANGO_SECURE_COOKIES": "false",
            "DJANGO_HSTS_SECONDS": "0",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "AUTH_THROTTLE_RATE": "1000000/min",
            # Tokens are minted once, before the load: they must outlive the run.
            "JWT_ACCESS_TTL_MINUTES": "240",
            "CACHE_KEY_PREFIX": "paymentflow-bench",
            "LOG_LEVEL": "WARNING",
            "BENCH": "true",
            "WRK_THREADS": str(args.wrk_threads),
        }
        for variable in ("PGPASSWORD", "PGHOST", "PGUSER"):
            self.env.pop(variable, None)
        if database_url.password:
            self.env["PGPASSWORD"] = database_url.password
        self.pg = ["-h", database_url.hostname or "127.0.0.1", "-p", str(database_url.port or 5432)]
        self.pg += ["-U", database_url.username or "postgres"]

    # database -------------------------------------------------------------------------------------

    def psql_admin(self, sql: str) -> None:
        run([self.psql, *self.pg, "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql], env=self.env)

    def query(self, sql: str) -> list[tuple]:
        out = run([self.psql, *self.pg, "-d", self.database, "-AtF", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql])
        return [tuple(line.split("\t")) for line in out.stdout.splitlines() if line]

    def prepare(self) -> None:
        log(f"creating scratch database {self.database}")
        self.psql_admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        self.psql_admin(f'CREATE DATABASE "{self.database}"')
        run([PYTHON, "manage.py", "migrate", "--no-input", "-v", "0"], env=self.env)
        run([PYTHON, "-c", "import redis, sys; redis.Redis.from_url(sys.argv[1]).flushdb()", self.args.redis_url])
        log("seeding (hot and spread buyers, 1,000 products, a 1,000,000-entry wallet)")
        seeded = run(
            [PYTHON, str(BENCH_DIR / "seed.py"), "--out", str(self.work), "--history-entries", str(self.args.history)],
            env=self.env,
        )
        self.seed = json.loads(seeded.stdout.strip().splitlines()[-1])
        log(f"seeded in {self.seed['seconds']} s")

    def drop(self) -> None:
        if self.args.keep:
            log(f"keeping database {self.database}")
            return
        self.psql_admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    # server ---------------------------------------------------------------------------------------

    def start_stripe(self) -> None:
        """Run localstripe on loopback and point the app at it (the card orders' PaymentIntents)."""
        stripe = self.services.enter_context(localstripe_running(self.work / "localstripe.log"))
        self.env.update(
            STRIPE_API_BASE=stripe.url,
            STRIPE_SECRET_KEY=STRIPE_TEST_SECRET_KEY,
            STRIPE_WEBHOOK_SECRET=STRIPE_TEST_WEBHOOK_SECRET,
        )
        log(f"localstripe at {stripe.url}")

    def start_server(self) -> None:
        command = [
            str(Path(PYTHON).parent / "gunicorn"),
            "paymentflow.wsgi",
            "--bind",
            f"127.0.0.1:{self.args.port}",
            "--workers",
            str(self.args.workers),
            "--worker-class",
            self.args.worker_class,
            "--threads",
            str(self.args.worker_threads),
            "--backlog",
            "2048",
            "--log-level",
            "warning",
        ]
        log(f"starting {' '.join(command[1:])}")
        self.server = subprocess.Popen(command, env=self.env, cwd=ROOT, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if self.get("/api/v1/bench/ok")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the app did not come up within 30 s")

    def stop_server(self) -> None:
        if self.server and self.server.poll() is None:
            os.killpg(self.server.pid, signal.SIGTERM)
            try:
                self.server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.server.pid, signal.SIGKILL)
                self.server.wait()

    def get(self, path: str, *, token: str | None = None, connection=None) -> tuple[int, dict, bytes]:
        return self.send("GET", path, token=token, connection=connection)

    def send(
        self, method: str, path: str, *, body: dict | None = None, token: str | None = None, connection=None
    ) -> tuple[int, dict, bytes]:
        conn = connection or http.client.HTTPConnection("127.0.0.1", self.args.port, timeout=10)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        payload = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            payload = json.dumps(body)
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        body = response.read()
        if connection is None:
            conn.close()
        return response.status, dict(response.getheaders()), body

    # load generators ------------------------------------------------------------------------------

    def wrk_run(self, label: str, script: str, *script_args: str, ok_status: str = "200", path: str = "/") -> Load:
        command = [
            self.wrk,
            "-t",
            str(self.args.wrk_threads),
            "-c",
            str(self.args.connections),
            "-d",
            f"{self.round_seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(BENCH_DIR / "lua" / script),
            f"http://127.0.0.1:{self.args.port}{path}",
            "--",
            *script_args,
        ]
        cpu_before = self.workers_cpu_seconds()
        result = parse_wrk(run(command, env=self.env).stdout, label, ok_status=ok_status)
        if result.total:
            result.worker_cpu_ms = (self.workers_cpu_seconds() - cpu_before) * 1000 / result.total
        log(
            f"{label}: {result.per_second:.0f}/s p50 {result.p50_ms:.1f} p99 {result.p99_ms:.1f} ms "
            f"{result.statuses}, worker CPU {result.worker_cpu_ms:.2f} ms each"
        )
        return result

    def workers_cpu_seconds(self) -> float:
        """Return the user + system CPU seconds the server's processes (master and workers) have used."""
        ticks = os.sysconf("SC_CLK_TCK")
        pids = [self.server.pid]
        children = Path(f"/proc/{self.server.pid}/task/{self.server.pid}/children").read_text().split()
        total = 0
        for pid in pids + children:
            # Fields 14 and 15 (utime, stime) after the parenthesised command name.
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        return total / ticks

    def pgbench_run(self, label: str, *, buyers: tuple[int, int], products: tuple[int, int]) -> Load:
        # A folder per run (a load runs once per round): its latencies only.
        logs = Path(tempfile.mkdtemp(prefix=f"pgbench-{label.replace(' ', '-')}-", dir=self.work))
        command = [
            self.pgbench,
            *self.pg,
            "-n",
            "-M",
            "simple",
            "-c",
            str(self.args.connections),
            "-j",
            str(self.args.wrk_threads),
            "-T",
            str(self.round_seconds),
            "-f",
            str(BENCH_DIR / "sql" / "purchase.sql"),
            "-D",
            f"bmin={buyers[0]}",
            "-D",
            f"bmax={buyers[1]}",
            "-D",
            f"pmin={products[0]}",
            "-D",
            f"pmax={products[1]}",
            "-l",
            "--log-prefix",
            str(logs / "tx"),
            self.database,
        ]
        output = run(command, env=self.env).stdout
        tps = float(re.search(r"tps = ([\d.]+)", output).group(1))
        failed = int(re.search(r"number of failed transactions: (\d+)", output).group(1))
        latencies = []
        for log_file in logs.iterdir():
            for line in log_file.read_text().splitlines():
                latencies.append(int(line.split()[2]) / 1000)
        result = Load(
            label=label,
            per_second=tps,
            p50_ms=percentile(latencies, 0.50),
            p99_ms=percentile(latencies, 0.99),
            total=len(latencies),
            errors=failed,
        )
        log(f"{label}: {tps:.0f} tps p50 {result.p50_ms:.1f} ms p99 {result.p99_ms:.1f} ms")
        return result

    # the benchmarks -------------------------------------------------------------------------------

    def warm(self) -> None:
        """Use each buyer's token once (GET /auth/me, over a few connections) before any load is measured.

        A steady service has its buyers' auth versions cached (accounts/auth_versions.py,
        five minutes) and every worker's database connection open; the bench starts from
        a flushed Redis, where each buyer's first request would also read its version
        from the database and store it. Measured loads then see the steady state, as
        the read benchmarks see a warm product cache.
        """
        tokens = []
        for name in ("hot_tokens.txt", "spread_tokens.txt"):
            tokens += (self.work / name).read_text().split()

        def use(share: list[str]) -> None:
            connection = http.client.HTTPConnection("127.0.0.1", self.args.port, timeout=10)
            for token in share:
                status, _headers, _body = self.get("/api/v1/auth/me", token=token, connection=connection)
                if status != 200:
                    raise RuntimeError(f"GET /auth/me answered {status}")
            connection.close()

        started = time.monotonic()
        threads = [
            threading.Thread(target=use, args=(tokens[i :: self.args.workers],)) for i in range(self.args.workers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        log(f"warmed: {len(tokens):,} buyers' tokens used once in {time.monotonic() - started:.1f} s")

    def alternate(self, loads: dict) -> None:
        """Run each of `loads` (key -> function returning a Load) once per round, in turn; keep them combined.

        Every other round runs them in the reverse order (A B C, C B A, …), so a machine
        that speeds up or slows down during the rounds favours none of them.
        """
        rounds: dict = {key: [] for key in loads}
        for number in range(self.args.rounds):
            order = list(loads.items())
            for key, load in reversed(order) if number % 2 else order:
                rounds[key].append(load())
        for key, runs in rounds.items():
            self.results[key] = combined(runs[0].label, runs)

    def purchases(self) -> None:
        hot_buyers, spread_buyers = self.seed["hot_buyers"], self.seed["spread_buyers"]
        hot = (1, hot_buyers)
        spread = (hot_buyers + 1, hot_buyers + spread_buyers)

        def app(label: str, tokens: str, products: str, *extra: str):
            return lambda: self.wrk_run(
                label, "purchase.lua", str(self.work / tokens), str(self.work / products), *extra, ok_status="201"
            )

        self.alternate(
            {
                "hot_baseline": lambda: self.pgbench_run("pgbench hot", buyers=hot, products=(0, 0)),
                "hot": app("app hot purchase", "hot_tokens.txt", "hot_products.txt"),
                # The same hot load on a CODES product: what taking a code costs a purchase.
                "hot_codes": app("app hot purchase, CODES product", "hot_tokens.txt", "codes_products.txt"),
            }
        )
        self.alternate(
            {
                "spread_baseline": lambda: self.pgbench_run(
                    "pgbench spread", buyers=spread, products=(1, self.seed["spread_products"])
                ),
                "spread": app("app spread purchase", "spread_tokens.txt", "spread_products.txt"),
            }
        )
        if self.args.idempotency:
            self.alternate(
                {
                    "hot_idempotent": app(
                        "app hot purchase, Idempotency-Key", "hot_tokens.txt", "hot_products.txt", "idempotency"
                    )
                }
            )

    def card(self) -> None:
        """A card order's creation against a wallet purchase: sequential, interleaved, from Server-Timing.

        Both are timed inside Django (`app`); the card order's `gateway` part, its
        PaymentIntent's HTTP round trip to localstripe, is Stripe's own time and is
        taken out. One connection, one request at a time, alternating the two, so
        both see the same machine.
        """
        tokens = (self.work / "spread_tokens.txt").read_text().split()
        products = (self.work / "spread_products.txt").read_text().split()
        connection = http.client.HTTPConnection("127.0.0.1", self.args.port, timeout=30)
        wallet, card, stripe = [], [], []
        for attempt in range(self.args.card_requests + 20):
            for method in ("WALLET", "GATEWAY"):
                # A different buyer and product each time: no hot row, as in the spread purchase.
                k = 2 * attempt + (method == "GATEWAY")
                status, headers, body = self.send(
                    "POST",
                    "/api/v1/orders",
                    body={"productId": products[k % len(products)], "paymentMethod": method},
                    token=tokens[k % len(tokens)],
                    connection=connection,
                )
                if status != 201:
                    raise RuntimeError(f"{method} order answered {status}: {body[:300]!r}")
                app_ms, gateway_ms = (float(value) for value in re.findall(r"dur=([\d.]+)", headers["Server-Timing"]))
                # The first requests warm the worker's connections and caches; they are not counted.
                if attempt >= 20:
                    if method == "WALLET":
                        wallet.append(app_ms)
                    else:
                        card.append(app_ms - gateway_ms)
                        stripe.append(gateway_ms)
        connection.close()
        self.results["card"] = (wallet, card, stripe)
        log(
            f"card order creation: p50 {statistics.median(card):.2f} ms without Stripe's "
            f"{statistics.median(stripe):.2f} ms; wallet purchase p50 {statistics.median(wallet):.2f} ms"
        )

    def reads(self) -> None:
        products = (self.work / "spread_products.txt").read_text().split()
        detail_paths = self.work / "detail_paths.txt"
        detail_paths.write_text("".join(f"/api/v1/products/{product_id}\n" for product_id in products))
        list_paths = self.work / "list_paths.txt"
        list_paths.write_text("".join(f"/api/v1/products?page={page}\n" for page in range(1, 11)))
        floor_paths = self.work / "floor_paths.txt"
        floor_paths.write_text("/api/v1/bench/ok\n")
        # Warm the cache: the load measures hits, as a catalogue under steady reads sees them.
        connection = http.client.HTTPConnection("127.0.0.1", self.args.port, timeout=10)
        for paths in (detail_paths, list_paths):
            for path in paths.read_text().split():
                status, _headers, _body = self.get(path, connection=connection)
                if status != 200:
                    raise RuntimeError(f"GET {path} answered {status}")
        connection.close()
        self.alternate(
            {
                "floor": lambda: self.wrk_run("trivial endpoint", "get.lua", str(floor_paths)),
                "detail": lambda: self.wrk_run("GET /products/{id}", "get.lua", str(detail_paths)),
                "list": lambda: self.wrk_run("GET /products", "get.lua", str(list_paths)),
            }
        )

    def history(self) -> None:
        token = (self.work / "history_token.txt").read_text().strip()
        entries = self.seed["history_entries"]
        pages = {"page 1": 1, "middle page": entries // 40, "last page": entries // 20}
        connection = http.client.HTTPConnection("127.0.0.1", self.args.port, timeout=10)
        floor = self._server_ms("/api/v1/bench/ok", None, connection)
        self.results["history_floor"] = floor
        for label, page in pages.items():
            timings = self._server_ms(f"/api/v1/wallet/transactions?page={page}", token, connection)
            self.results[f"history {label}"] = (page, timings)
            log(
                f"history {label} (page {page}): p50 {statistics.median(timings):.2f} ms "
                f"p99 {percentile(timings, 0.99):.2f} ms"
            )
        connection.close()

    def _server_ms(self, path: str, token: str | None, connection) -> list[float]:
        timings = []
        for attempt in range(self.args.history_requests + 20):
            status, headers, _body = self.get(path, token=token, connection=connection)
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status}")
            # The first requests warm the worker's connection and caches; they are not counted.
            if attempt >= 20:
                timings.append(float(re.search(r"dur=([\d.]+)", headers["Server-Timing"]).group(1)))
        return timings

    def profile(self) -> None:
        """Record py-spy profiles of every worker under the hot purchase and the product detail load."""
        py_spy = ensure_py_spy()
        out = Path(self.args.profile)
        out.mkdir(parents=True, exist_ok=True)
        for name, script, script_args, ok_status in (
            ("hot-purchase", "purchase.lua", ["hot_tokens.txt", "hot_products.txt"], "201"),
            ("spread-purchase", "purchase.lua", ["spread_tokens.txt", "spread_products.txt"], "201"),
            ("product-detail", "get.lua", ["detail_paths.txt"], "200"),
            ("product-list", "get.lua", ["list_paths.txt"], "200"),
        ):
            if not all((self.work / arg).exists() for arg in script_args):
                continue
            recorder = subprocess.Popen(
                [
                    py_spy,
                    "record",
                    "--pid",
                    str(self.server.pid),
                    "--subprocesses",
                    "--nonblocking",
                    "--duration",
                    str(self.round_seconds),
                    "--format",
                    "raw",
                    "--output",
                    str(out / f"{name}.txt"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            self.wrk_run(
                f"profiled {name}", script, *(str(self.work / arg) for arg in script_args), ok_status=ok_status
            )
            recorder.wait()
            log(f"profile written to {out / name}.txt (collapsed stacks)")

    def checks(self) -> None:
        """After the load: no oversell, no negative balance, the ledger sums to zero, reconcile clean."""
        checks = {}
        (oversold,) = self.query(
            """
            SELECT count(*) FROM catalog_product p
            WHERE p.available_units + coalesce((SELECT sum(o.quantity) FROM orders_order o
                                                WHERE o.product_id = p.id
                                                  AND o.status IN ('COMPLETED', 'PENDING')), 0)
                  <> p.units_supplied
            """
        )[0]
        checks["no oversell (stock + units sold or reserved = units supplied, every product)"] = oversold == "0"
        (sold,) = self.query("SELECT count(*) FROM orders_order WHERE status = 'COMPLETED'")[0]
        (negative,) = self.query(
            "SELECT (SELECT count(*) FROM wallets_wallet WHERE balance < 0) + "
            "(SELECT count(*) FROM wallets_ledgerentry WHERE balance_after < 0)"
        )[0]
        checks["no negative balance (wallets and every balance_after)"] = negative == "0"
        (ledger_sum,) = self.query("SELECT coalesce(sum(amount), 0) FROM wallets_ledgerentry")[0]
        (unbalanced,) = self.query(
            "SELECT count(*) FROM (SELECT journal_id FROM wallets_ledgerentry GROUP BY journal_id "
            "HAVING sum(amount) <> 0) j"
        )[0]
        checks["ledger sums to zero (all entries, and every journal)"] = float(ledger_sum) == 0 and unbalanced == "0"
        checks["balances match their entries"] = (
            self.query(
                """
                SELECT count(*) FROM wallets_wallet w WHERE w.kind = 'USER' AND w.balance <>
                    coalesce((SELECT sum(e.amount) FROM wallets_ledgerentry e WHERE e.wallet_id = w.id), 0)
                """
            )[0][0]
            == "0"
        )
        started = time.monotonic()
        reconciled = run([PYTHON, "manage.py", "reconcile", "--json"], env=self.env, check=False)
        seconds = time.monotonic() - started
        checks[f"manage.py reconcile clean ({seconds:.0f} s, exit {reconciled.returncode})"] = (
            reconciled.returncode == 0
        )
        self.results["checks"] = checks
        self.results["orders_completed"] = int(sold)

    def reconcile_at_scale(self) -> None:
        script = BENCH_DIR / "reconcile_bench.py"
        if not script.exists():
            self.results["reconcile"] = None
            return
        log("running bench/reconcile_bench.py (the reconciliation benchmark, its own scratch database)")
        server = urlunsplit(urlsplit(self.args.database_url)._replace(path=""))
        outcome = run([PYTHON, str(script), "--server", server], env=self.env, check=False)
        self.results["reconcile"] = (outcome.returncode, outcome.stdout.strip(), outcome.stderr.strip()[-2000:])

    # report ---------------------------------------------------------------------------------------

    def report(self) -> str:
        r = self.results
        rows = []

        def verdict(ok: bool) -> str:
            return "yes" if ok else "NO"

        for key, name, target in (
            ("hot", "hot purchase", HOT_RATIO_TARGET),
            ("spread", "spread purchase", SPREAD_RATIO_TARGET),
        ):
            if key not in r:
                continue
            app, base = r[key], r[f"{key}_baseline"]
            ratio = ratio_of_rounds(app, base)
            rows.append(
                (
                    f"{name} (16 conn.)",
                    f"{app.per_second:.0f}/s p50 {app.p50_ms:.1f} p99 {app.p99_ms:.1f} ms, "
                    f"worker CPU {app.worker_cpu_ms:.1f} ms each",
                    f"pgbench {base.per_second:.0f} tps p50 {base.p50_ms:.1f} p99 {base.p99_ms:.1f} ms",
                    f"{ratio:.2f}",
                    f">= {target:.2f}",
                    verdict(ratio >= target),
                )
            )
            statuses = ", ".join(f"{status}: {count}" for status, count in sorted(app.statuses.items()))
            rows.append(
                (
                    f"  {name}: tail, errors",
                    f"p99/p50 {app.tail_ratio():.1f}; {statuses}; errors {app.errors}",
                    "",
                    f"{app.tail_ratio():.1f}",
                    f"<= {TAIL_RATIO_TARGET:.0f}, 0 errors",
                    verdict(app.tail_ratio() <= TAIL_RATIO_TARGET and app.errors == 0)
                    if key == "hot"
                    else verdict(app.errors == 0) + " (errors)",
                )
            )
        if "hot_codes" in r:
            app, base = r["hot_codes"], r["hot"]
            rows.append(
                (
                    "hot purchase of a CODES product (context)",
                    f"{app.per_second:.0f}/s p50 {app.p50_ms:.1f} p99 {app.p99_ms:.1f} ms, errors {app.errors}",
                    f"app hot purchase {base.per_second:.0f}/s p50 {base.p50_ms:.1f} ms",
                    f"{ratio_of_rounds(app, base):.2f}",
                    "",
                    "",
                )
            )
        if "card" in r:
            wallet, card, stripe = r["card"]
            ratio = statistics.median(card) / statistics.median(wallet)
            rows.append(
                (
                    "card order creation, Stripe's time out (sequential)",
                    f"server p50 {statistics.median(card):.2f} p99 {percentile(card, 0.99):.2f} ms "
                    f"(+ Stripe p50 {statistics.median(stripe):.2f} ms)",
                    f"wallet purchase p50 {statistics.median(wallet):.2f} p99 {percentile(wallet, 0.99):.2f} ms",
                    f"{ratio:.2f}",
                    f"<= {CARD_RATIO_TARGET:.1f}",
                    verdict(ratio <= CARD_RATIO_TARGET),
                )
            )
        if "hot_idempotent" in r:
            app, base = r["hot_idempotent"], r["hot_baseline"]
            rows.append(
                (
                    "hot purchase + Idempotency-Key",
                    f"{app.per_second:.0f}/s p50 {app.p50_ms:.1f} p99 {app.p99_ms:.1f} ms",
                    f"pgbench {base.per_second:.0f} tps",
                    f"{app.per_second / base.per_second:.2f}",
                    "(context)",
                    "",
                )
            )
        if "floor" in r:
            floor = r["floor"]
            for key, name in (("detail", "GET /products/{id} (cached)"), ("list", "GET /products (cached)")):
                ratio = ratio_of_rounds(r[key], floor)
                rows.append(
                    (
                        name,
                        f"{r[key].per_second:.0f}/s p50 {r[key].p50_ms:.1f} p99 {r[key].p99_ms:.1f} ms",
                        f"trivial endpoint {floor.per_second:.0f}/s",
                        f"{ratio:.2f}",
                        f">= {READ_RATIO_TARGET:.2f}",
                        verdict(ratio >= READ_RATIO_TARGET and r[key].errors == 0),
                    )
                )
        if "history_floor" in r:
            floor = r["history_floor"]
            for label in ("page 1", "middle page", "last page"):
                page, timings = r[f"history {label}"]
                p99 = percentile(timings, 0.99)
                rows.append(
                    (
                        f"history, {label} ({page:,}) of {self.seed['history_entries']:,}",
                        f"server p50 {statistics.median(timings):.2f} p99 {p99:.2f} ms",
                        f"trivial endpoint p50 {statistics.median(floor):.2f} ms",
                        "",
                        f"p99 <= {HISTORY_P99_TARGET_MS:.0f} ms",
                        verdict(p99 <= HISTORY_P99_TARGET_MS),
                    )
                )
        reconcile = r.get("reconcile", None)
        if reconcile is None:
            rows.append(
                ("reconcile at scale", "bench/reconcile_bench.py not present", "", "", "<= 30 s, flat memory", "")
            )
        elif (summary := reconcile_summary(reconcile[1])) is not None:
            seconds, peak_mb, growth_mb = summary
            rows.append(
                (
                    "reconcile at scale (1,000,000 entries)",
                    f"median {seconds:.2f} s, peak RSS {peak_mb:.1f} MB",
                    f"100k -> 1M: peak RSS {growth_mb:+.1f} MB",
                    "",
                    "<= 30 s, flat memory",
                    verdict(seconds <= RECONCILE_TARGET_S and abs(growth_mb) <= RECONCILE_FLAT_MB),
                )
            )
        else:
            code, _stdout, _stderr = reconcile
            rows.append(
                (
                    "reconcile at scale",
                    "see the output of bench/reconcile_bench.py below",
                    "",
                    "",
                    "<= 30 s, flat memory",
                    f"exit {code}",
                )
            )

        header = ("benchmark", "app", "baseline (same run)", "ratio", "target", "met")
        widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

        def line(cells) -> str:
            return "| " + " | ".join(str(cell).ljust(width) for cell, width in zip(cells, widths, strict=True)) + " |"

        out = [line(header), "|" + "|".join("-" * (width + 2) for width in widths) + "|"]
        out += [line(row) for row in rows]
        out.append("")
        out.append(
            f"server: gunicorn {self.args.workers} x {self.args.worker_class}"
            f"{'' if self.args.worker_class == 'sync' else f' ({self.args.worker_threads} threads)'}; "
            f"load: wrk/pgbench {self.args.connections} connections, {self.args.rounds} rounds of "
            f"{self.round_seconds} s per load, alternating with its baseline (ratio: median over rounds); "
            f"{os.cpu_count()} CPUs"
        )
        if "checks" in r:
            out.append(f"after the load ({r['orders_completed']:,} completed orders):")
            for name, ok in r["checks"].items():
                out.append(f"  [{'ok' if ok else 'FAILED'}] {name}")
        if reconcile is not None:
            code, stdout, stderr = reconcile
            out.append("")
            out.append(f"bench/reconcile_bench.py (exit {code}):")
            out.append(stdout or stderr)
        return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pf_bench")
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "8765")))
    parser.add_argument("--duration", type=int, default=15, help="seconds per load, split over --rounds")
    parser.add_argument("--rounds", type=int, default=4, help="rounds per load, alternating with its baseline")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--worker-threads", type=int, default=1, help="threads per worker (gthread)")
    parser.add_argument("--history", type=int, default=1_000_000, help="entries on the history wallet")
    parser.add_argument("--history-requests", type=int, default=300)
    parser.add_argument("--card-requests", type=int, default=200, help="card orders (and wallet purchases) timed")
    parser.add_argument("--idempotency", action="store_true", help="also run the hot purchase with Idempotency-Key")
    parser.add_argument("--only", choices=["purchases", "card", "reads", "history"], action="append")
    parser.add_argument("--profile", metavar="DIR", help="also record py-spy profiles of the workers into DIR")
    parser.add_argument("--skip-reconcile-bench", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database afterwards")
    args = parser.parse_args()

    bench = Bench(args)
    only = set(args.only or ["purchases", "card", "reads", "history"])
    try:
        bench.prepare()
        if "card" in only:
            bench.start_stripe()
        bench.start_server()
        if only & {"purchases", "card"}:
            bench.warm()
        if "purchases" in only:
            bench.purchases()
        if "card" in only:
            bench.card()
        if "reads" in only:
            bench.reads()
        if "history" in only:
            bench.history()
        if args.profile:
            bench.profile()
        bench.stop_server()
        bench.checks()
        if not args.skip_reconcile_bench:
            bench.reconcile_at_scale()
        print(bench.report())
    finally:
        bench.stop_server()
        bench.services.close()
        bench.drop()
        shutil.rmtree(bench.work, ignore_errors=True)


if __name__ == "__main__":
    main()
