"""Parquet trial reports -> frontier, figures and an HTML page."""
