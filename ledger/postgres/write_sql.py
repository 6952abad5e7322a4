"""The text of the one write statement of a batch, in its forms (many commands, or one; with refusals).

commit.py builds the parameters and reads the rows back: see its docstring for what the statement
does. Kept apart so that the statement can be read, and changed, on its own.
"""

# Both forms of the write move the stock levels (on hand, reserved) and count the year's movements
# alike: net changes per level as parallel arrays, the count on one of 16 shards per backend.
LEVELS_AND_COUNT = """), levels AS (
    UPDATE ledger_stock_levels AS l SET on_hand = l.on_hand + d.delta, reserved = l.reserved + d.held
    FROM unnest(%(level_w)s::uuid[], %(level_p)s::uuid[], %(deltas)s::numeric[], %(held)s::numeric[])
        AS d(w, p, delta, held)
    WHERE l.warehouse_id = d.w AND l.part_id = d.p
), counted AS (
    INSERT INTO ledger_movement_counts AS c (year, shard, movements)
    SELECT %(year)s::int, pg_backend_pid() %% 16, %(movements)s::bigint WHERE %(movements)s::bigint > 0
    ON CONFLICT (year, shard) DO UPDATE SET movements = c.movements + EXCLUDED.movements
"""

# Per-event values travel as array literals (with the index `c` of their command), per-command
# metadata as arrays indexed by `c`, payloads and stored results as JSON arrays, hashes and request
# hashes as bytea of 32-byte slices; WITH ORDINALITY and ORDER BY keep the decision order, so
# positions grow in that order.
APPEND_CTES = f"""
WITH incoming AS (
    SELECT * FROM ROWS FROM (
        unnest(%(streams)s::text[]), unnest(%(versions)s::int[]), unnest(%(types)s::text[]),
        unnest(%(schemas)s::smallint[]), jsonb_array_elements(%(payloads)s::jsonb),
        unnest(%(commands)s::int[])
    ) WITH ORDINALITY AS e(stream_id, version, event_type, schema_version, payload, c, n)
), issued AS (
    SELECT * FROM ROWS FROM (
        unnest(%(users)s::uuid[]), unnest(%(requests)s::text[]), unnest(%(keys)s::text[]),
        unnest(%(correlations)s::uuid[]), unnest(%(causations)s::uuid[])
    ) WITH ORDINALITY AS m(user_id, request_id, key, correlation_id, causation_id, c)
), appended AS (
    INSERT INTO ledger_events (stream_id, stream_version, event_type, schema_version, payload,
        performed_by_user_id, request_id, idempotency_key, correlation_id, causation_id,
        recorded_at, previous_hash, hash)
    SELECT e.stream_id, e.version, e.event_type, e.schema_version, e.payload,
        m.user_id, m.request_id, m.key, m.correlation_id, m.causation_id, %(at)s::timestamptz,
        substring(%(previous)s::bytea FROM 32 * (e.n::int - 1) + 1 FOR 32),
        substring(%(hashes)s::bytea FROM 32 * (e.n::int - 1) + 1 FOR 32)
    FROM incoming e JOIN issued m ON m.c = e.c
    ORDER BY e.n
    RETURNING position, writer_xid::text::bigint AS xid, stream_id, stream_version, event_type
{LEVELS_AND_COUNT}"""

# The keyed commands' results, each kept under its key with the positions and xid its rows got.
REMEMBERED = """), remembered AS (
    INSERT INTO ledger_idempotency (key, request_hash, result)
    SELECT m.key, substring(%(digests)s::bytea FROM 32 * (r.i::int - 1) + 1 FOR 32),
        r.result || jsonb_build_object(
        'position', max(a.position),
        'log_transaction_id', min(a.xid),
        'events', coalesce(jsonb_agg(jsonb_build_object('position', a.position, 'stream_id', a.stream_id,
            'stream_version', a.stream_version, 'event_type', a.event_type) ORDER BY a.position)
            FILTER (WHERE a.position IS NOT NULL), '[]'))
    FROM ROWS FROM (unnest(%(remember)s::int[]), jsonb_array_elements(%(results)s::jsonb))
        WITH ORDINALITY AS r(c, result, i)
    JOIN issued m ON m.c = r.c
    LEFT JOIN incoming e ON e.c = r.c
    LEFT JOIN appended a ON a.stream_id = e.stream_id AND a.stream_version = e.version
    GROUP BY r.i, r.result, m.key
"""
APPENDED = """)
SELECT position, xid FROM appended
"""

# The refusals of a batch's keyed commands, kept under their keys: keys as an array, request hashes
# as bytea of 32-byte slices, records (ledger/postgres/idempotency.py) as a JSON array. A statement
# of its own when the batch accepted nothing, else a part of the batch's write.
REFUSALS = """
    INSERT INTO ledger_idempotency (key, request_hash, refusal)
    SELECT r.key, substring(%(refused_digests)s::bytea FROM 32 * (r.i::int - 1) + 1 FOR 32), r.refusal
    FROM ROWS FROM (unnest(%(refused_keys)s::text[]), jsonb_array_elements(%(refusals)s::jsonb))
        WITH ORDINALITY AS r(key, refusal, i)
"""
WRITE = APPEND_CTES + REMEMBERED + APPENDED
WRITE_REFUSING = APPEND_CTES + REMEMBERED + "), refused AS (" + REFUSALS + APPENDED
# A batch with no key to keep (most batches) leaves `remembered` out: its empty join still cost
# PostgreSQL about 4% of a 14-command batch's CPU.
WRITE_UNKEYED = APPEND_CTES + APPENDED


# A batch of one command (most commands alone, every big stocktake) takes the statement's simpler
# form: the metadata and the key as scalars, no joins; PostgreSQL runs it measurably cheaper.
WRITE_ONE = f"""
WITH appended AS (
    INSERT INTO ledger_events (stream_id, stream_version, event_type, schema_version, payload,
        performed_by_user_id, request_id, idempotency_key, correlation_id, causation_id,
        recorded_at, previous_hash, hash)
    SELECT e.stream_id, e.version, e.event_type, e.schema_version, e.payload,
        %(user)s::uuid, %(request)s::text, %(key)s::text, %(correlation)s::uuid, %(causation)s::uuid,
        %(at)s::timestamptz,
        substring(%(previous)s::bytea FROM 32 * (e.n::int - 1) + 1 FOR 32),
        substring(%(hashes)s::bytea FROM 32 * (e.n::int - 1) + 1 FOR 32)
    FROM ROWS FROM (
        unnest(%(streams)s::text[]), unnest(%(versions)s::int[]), unnest(%(types)s::text[]),
        unnest(%(schemas)s::smallint[]), jsonb_array_elements(%(payloads)s::jsonb)
    ) WITH ORDINALITY AS e(stream_id, version, event_type, schema_version, payload, n)
    ORDER BY e.n
    RETURNING position, writer_xid::text::bigint AS xid, stream_id, stream_version, event_type
{LEVELS_AND_COUNT}), remembered AS (
    INSERT INTO ledger_idempotency (key, request_hash, result)
    SELECT %(key)s::text, %(digest)s::bytea, %(result)s::jsonb || jsonb_build_object(
        'position', max(position),
        'log_transaction_id', min(xid),
        'events', coalesce(jsonb_agg(jsonb_build_object('position', position, 'stream_id', stream_id,
            'stream_version', stream_version, 'event_type', event_type) ORDER BY position), '[]'))
    FROM appended HAVING %(key)s::text IS NOT NULL
)
SELECT position, xid FROM appended
"""
