"""Verbatim: the Discord app, the SQLite store, configuration and the CLI."""
