"""Prefect flows, the dbt runner and the `seamline` command."""
