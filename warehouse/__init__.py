"""The DuckDB warehouse: its DDL and SQL (one object per file), the archive, loading and publishing."""
