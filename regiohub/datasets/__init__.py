"""Datasets: uploads and sensor feeds loaded once, versioned, access-controlled and queried
by every municipality of the region (Delta Lake tables, queried with DuckDB)."""
