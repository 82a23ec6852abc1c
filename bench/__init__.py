"""The benchmarks: scripts run by hand or by `make bench` (run.py, reconcile_bench.py, seed.py), and
`bench.app`, the Django app they need, installed only when the BENCH setting is on."""
