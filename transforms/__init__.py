"""Pure functions on Polars frames: parse, normalise, derive rule checks, compare periods."""
