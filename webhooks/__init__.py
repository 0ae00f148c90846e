"""The real-time path: signed vendor webhooks received durably and replayed into incremental syncs.

`receiver` (ASGI, `POST /webhooks/<source>`) checks each vendor's signature and commits the
delivery to `ops.webhook_events` before answering 2xx; `processor` turns pending events into
debounced incremental syncs, retrying failures on the ladder and parking the hopeless in
`ops.dead_letter` (replayed by `seamline retry --dead-letter ID`).
"""
