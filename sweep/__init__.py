"""The sweep service: the `sweep` CLI, Ray Tune scheduling and the Parquet trial reports.

Ray is imported only inside the modules that run sweeps, never at package import, so
commands that do not need it (train, report, validation of every input) start fast and
fail before any cluster work.
"""
