"""The sweep service: the `sweep` CLI, Ray Tune scheduling and the Parquet trial reports.

    spec.py, domains.py  one sweep specification, parsed from the CLI's values
    cli/                 the typer commands
    tune/                Ray Tune glue; the only place Ray is imported
    store/               the Parquet schema, reading and writing, storage, summaries

Ray is imported only inside sweep.tune, never at package import, so commands that do not
need it (train, report, validation of every input) start fast and fail before any
cluster work.
"""
