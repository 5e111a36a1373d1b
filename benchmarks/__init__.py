"""``make bench``: side-by-side measurements of the provider against baselines (see ``run.py``)."""
