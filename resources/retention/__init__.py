"""Retention and deletion (docs/architecture.md, rule 6): requests, deletion planning and
execution, physical rewrite of the stores, verification, certificates and tombstones.

- ``requests``: deletion requests in the control plane (the subject sealed until verified).
- ``subjects``: who or what a request is about, and the salted/keyed hashes that stand for it.
- ``person``: every row about a person, deleted or irreversibly de-linked.
- ``tombstones``: hashed identifiers that stop a running or later sync bringing a subject back.
- ``physical``: rewriting the org's DuckDB file into a fresh encrypted one, shredding files.
- ``verify``: SQL and raw-byte scans proving the subject is gone.
- ``execute``: one request carried out end to end, certified in the audit log.
- ``instance``: purging an organization from the Dagster instance.
- ``report``: the routine access audit.
"""
