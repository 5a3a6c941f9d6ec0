"""The sweep's files: the Parquet schema, reading and writing, storage locations, summaries."""
