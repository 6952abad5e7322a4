"""The `transaction_approvals` projection: one row per approval or rejection of a pending movement."""

from __future__ import annotations

from projections.engine.projection import BATCH, Projection, Table

INSERT_DECISIONS = f"""
WITH {BATCH}
INSERT INTO transaction_approvals (id, transaction_id, approver_id, status, notes, created_at)
SELECT md5(stream_id || ':' || stream_version)::uuid, (payload->>'transaction_id')::uuid,
    performed_by_user_id,
    CASE event_type WHEN 'MovementApproved' THEN 'approved' ELSE 'rejected' END
        ::transaction_approval_status_enum,
    payload->>'notes', recorded_at
FROM batch
WHERE event_type IN ('MovementApproved', 'MovementRejected')
"""

PROJECTION = Projection(
    name="transaction_approvals",
    tables=(Table("transaction_approvals"),),
    statements=(INSERT_DECISIONS,),
    depends_on=("transactions",),  # its rows refer to transactions rows
)
