"""The ledger page at /ui: a read-only page for auditors and ops, and the few reads it needs beyond the API.

`routes.py` serves the page and its static files (no CDN: the vendored libraries are in
`static/vendor/`); `reads.py` the log searched (GET /ledger/search) and the ledger's health
(GET /ledger/checks); `schemas.py` their bodies. Everything else the page shows comes from the
existing JSON API with the signed-in user's bearer token, so it is scoped exactly as the API is.
"""
