"""Kring's benchmark (`make bench`, `python -m bench`): pages in `bench.web`.

Nothing is imported here: `python -m bench` loads this package before Django is set up.
"""
