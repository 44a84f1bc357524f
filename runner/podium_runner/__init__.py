"""Builds and runs one space on a backend. Knows nothing of HTTP routes, users or databases."""
