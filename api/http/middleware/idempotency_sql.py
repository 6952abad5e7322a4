"""The Idempotency-Key middleware's SQL (idempotency.py): the claim, keeping an answer, releasing a claim."""

from __future__ import annotations

from ledger.postgres import queries

# One round trip: who the caller is, the claim, and (when the key was already claimed) the earlier
# row as it was before this statement. A session's user keys it, else the token's digest.
# The claim's commit does not wait for its WAL flush (synchronous_commit is read at commit, and
# set_config(..., true) lasts until then): the route's own commit, or the keep's, which do wait,
# flush it with them. If PostgreSQL crashes before either, the claim may be lost, but then nothing
# of the request is durable either, so running it again is right.
# A claim without an answer whose key the ledger holds an outcome for was answered by the ledger
# (an order command, its process gone before keeping the answer): the same request takes it over
# at once (and gets the ledger's replay), another never does, however old the claim. Any other
# claim is taken over once it is stale. A key the ledger holds with no row here was a stock
# command's (those routes are not claimed here): never claimed, `held` says so (a 422).
ANSWERED_BY_LEDGER = queries.result_kept("(SELECT user_id || ':' || %(ledger_key)s FROM session)")
CLAIM = f"""
WITH session AS (
    SELECT (SELECT s.user_id::text FROM user_sessions s
            WHERE s.session_token = %(token)s AND s.is_active AND s.expires_at > now()) AS user_id
    FROM (SELECT set_config('synchronous_commit', 'off', true)) AS no_flush_wait
), caller AS (
    SELECT sha256(convert_to(coalesce('user:' || user_id, 'token:' || coalesce(%(token)s, '')), 'UTF8')
        || '\\x00'::bytea || %(key)s::bytea) AS key
    FROM session
), held AS (
    SELECT NOT EXISTS (SELECT FROM api_idempotency a, caller c WHERE a.key = c.key)
        AND {ANSWERED_BY_LEDGER} AS by_ledger
), claimed AS (
    INSERT INTO api_idempotency (key, fingerprint)
    SELECT key, %(fingerprint)s FROM caller WHERE NOT (SELECT by_ledger FROM held)
    ON CONFLICT (key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, created_at = now()
        WHERE api_idempotency.status_code IS NULL AND CASE
            WHEN {ANSWERED_BY_LEDGER}
            THEN api_idempotency.fingerprint = EXCLUDED.fingerprint
            ELSE api_idempotency.created_at < now() - %(takeover)s * interval '1 second' END
    RETURNING key
)
SELECT c.key, EXISTS (SELECT FROM claimed), e.fingerprint, e.status_code, e.headers, e.body,
    (SELECT by_ledger FROM held)
FROM caller c LEFT JOIN api_idempotency e ON e.key = c.key
"""
KEEP = "UPDATE api_idempotency SET status_code = %s, headers = %s, body = %s WHERE key = %s"
RELEASE = "DELETE FROM api_idempotency WHERE key = %s AND status_code IS NULL"
