"""Outbound sync: the marts say what should exist in the vendors' systems, the jobs make it so.

Each job (one module each) reads one `outbound_*` model, skips the rows `ops.outbound_map`
already records under the same idempotency key, writes the rest through the vendor's client
(ingest/http.py: retries, Retry-After) and records every write in `ops.outbound_log`. See
writer.py for the guarantees and README "Outbound sync" for the jobs.
"""
