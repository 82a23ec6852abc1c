"""Reconciliation: the checks that prove the books balance, the service and command that run them, the run records.

It reads every app (wallets, catalog, orders, the gateway), so it sits above
them; no app below imports it.
"""
