"""What each balance snapshot covers in time, so stock at a past moment starts from a snapshot too.

A snapshot at P is taken from the previous one (`previous_position`) plus the
events in (previous_position, P]. Each row now records, for those events, the
earliest and latest `recorded_at` (infinity and -infinity when there are none),
and `recorded_through`: the latest `recorded_at` of every event at or below P.

Stock at a moment T then starts from the latest snapshot with
recorded_through <= T (it holds only events recorded by T) and adds the events
after it recorded by T: in the snapshots' intervals, those are found by a
recorded_at range scan bounded below by the intervals' earliest recorded_at,
and after the last snapshot by a position range scan. recorded_at need not
follow position order (it is the writer's clock): the bounds stay exact, only
the scans grow. Existing snapshots are described from the log here.

Revision ID: 0008_snapshot_recorded_range
Revises: 0007_users_email_ci
"""

from alembic import op

revision = "0008_snapshot_recorded_range"
down_revision = "0007_users_email_ci"
branch_labels = None
depends_on = None

UPGRADE = """
ALTER TABLE stock_snapshots
    ADD COLUMN previous_position bigint,
    ADD COLUMN first_recorded_at timestamptz,
    ADD COLUMN last_recorded_at timestamptz,
    ADD COLUMN recorded_through timestamptz;

WITH chain AS (
    SELECT position, coalesce(lag(position) OVER (ORDER BY position), 0) AS previous_position
    FROM stock_snapshots
),
ranges AS (
    SELECT c.position, c.previous_position,
        coalesce(min(e.recorded_at), 'infinity') AS first_recorded_at,
        coalesce(max(e.recorded_at), '-infinity') AS last_recorded_at
    FROM chain c LEFT JOIN ledger_events e ON e.position > c.previous_position AND e.position <= c.position
    GROUP BY c.position, c.previous_position
),
described AS (
    SELECT r.*, max(last_recorded_at) OVER (ORDER BY position) AS recorded_through FROM ranges r
)
UPDATE stock_snapshots s
SET previous_position = d.previous_position, first_recorded_at = d.first_recorded_at,
    last_recorded_at = d.last_recorded_at, recorded_through = d.recorded_through
FROM described d WHERE d.position = s.position;

ALTER TABLE stock_snapshots
    ALTER COLUMN previous_position SET NOT NULL,
    ALTER COLUMN first_recorded_at SET NOT NULL,
    ALTER COLUMN last_recorded_at SET NOT NULL,
    ALTER COLUMN recorded_through SET NOT NULL,
    ADD CONSTRAINT stock_snapshots_interval_ck CHECK (previous_position < position);
"""

DOWNGRADE = """
ALTER TABLE stock_snapshots
    DROP CONSTRAINT stock_snapshots_interval_ck,
    DROP COLUMN previous_position,
    DROP COLUMN first_recorded_at,
    DROP COLUMN last_recorded_at,
    DROP COLUMN recorded_through;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
