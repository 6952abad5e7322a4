"""The change feed: the committed log published to NATS JetStream, one checkpointed projection.

`FEED` names its checkpoint in projection_checkpoints. It owns no tables and has no batch SQL:
its "apply" is a publish to the broker (publisher.py), so it runs its own loop rather than a
ProjectionWorker, and is not in the registry's ALL (rebuild and verify have nothing to do for it).
`abparts status`, /ready and /metrics list it when the feed is configured.
"""

from __future__ import annotations

from projections.engine.projection import Projection

FEED = Projection(name="nats_feed", tables=(), statements=())
