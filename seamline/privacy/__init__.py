"""Privacy: find a person's rows across the raw, staging, snapshot and ops tables, erase them, and
keep them out of later syncs. `seamline.erasure` is the command and the sync hook built on it.

- `catalog`: the tables and which of their columns hold a person (found by name, not listed).
- `identity`: what identifies the person (one-way hashes of email, phones and vendor ids).
- `scrub`: the SQL that finds, deletes and anonymises their rows.
- `store`: `ops.erasures` and the hashed identifiers that keep the person out.
"""
