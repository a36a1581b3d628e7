"""Benchmarks: scripts that print their figures and a ratio against a baseline measured in
the same run (CONVENTIONS, habit 12). Run them as `.venv/bin/python bench/<name>.py`."""
