"""What the benchmarks need inside Django, installed only with `BENCH=true` (`make bench` sets it).

- `views.ok`: `GET /api/v1/bench/ok`, the framework's floor that `bench/run.py`
  compares the cached product reads against.
- `middleware.ServerTimingMiddleware`: the `Server-Timing` header the history
  benchmark reads.
- `manage.py generate_ledger`: the large consistent ledger of
  `bench/reconcile_bench.py`.

Production settings never install it: `BENCH` defaults to false, and then
none of its URLs, middleware or commands exist.
"""
