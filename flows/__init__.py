"""Prefect flows and the `ctip` command line: they only wire the steps together."""
