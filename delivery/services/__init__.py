"""Delivery writes: `codes.py` (the merchant's pool), `deliveries.py` (what an order gets, through its
life), `licenses.py` (the license API), `files.py` (product files and counted downloads). Each function
owns its transaction or says whose it runs in."""
