"""Glocal backend: everything that is true regardless of the messenger or the web."""
