"""`abparts project`, `publish`, `rebuild`, `status`: the workers, the feed, rebuilding, where each stands."""

from __future__ import annotations

import argparse
import sys

from api.cli.common import Commands, json_argument, names_argument, print_json
from api.runtime.database import checked_database, ready_database
from api.runtime.settings import Settings
from projections.engine.status import ProjectionStatus


def project(settings: Settings, args: argparse.Namespace) -> int:
    """Run the projector workers in the foreground (migrating first, like serve)."""
    from api.runtime.projectors import run_in_foreground
    from projections.registry import select

    run_in_foreground(settings, ready_database(settings, migrate_it=True), select(args.names))
    return 0


def publish(settings: Settings, args: argparse.Namespace) -> int:
    """Run the change feed's publisher alone in the foreground (it needs ABPARTS_NATS_URL)."""
    from api.runtime.projectors import run_in_foreground

    if settings.nats_url is None:
        print("abparts publish: set ABPARTS_NATS_URL to the NATS server to publish to", file=sys.stderr)
        return 2
    run_in_foreground(settings, ready_database(settings, migrate_it=True), ())
    return 0


def rebuild(settings: Settings, args: argparse.Namespace) -> int:
    """Rebuild projections from position 0 into shadow tables and swap them in atomically."""
    import psycopg

    from projections.registry import select
    from projections.tools.rebuild import rebuild as rebuild_projections

    projections = select(args.names)
    with psycopg.connect(checked_database(settings), autocommit=True) as conn:
        result = rebuild_projections(conn, projections, sys.stderr, batch_size=args.batch_size)
    print(f"rebuilt {', '.join(result.projections)} from {result.events} events and swapped them in")
    return 0


def status(settings: Settings, args: argparse.Namespace) -> int:
    """Each projection's position, events applied, lag, and whether a worker holds it."""
    import psycopg

    from projections.engine.status import status as projection_status
    from projections.registry import watched

    with psycopg.connect(checked_database(settings), autocommit=True) as conn:
        rows = projection_status(conn, watched(feed=settings.nats_url is not None))
    if args.json:
        print_json({"projections": [_status_document(r) for r in rows]})
        return 0
    print(f"{'projection':<24}{'position':>12}{'applied':>12}{'lag':>10}{'lag s':>10}  worker")
    for r in rows:
        print(
            f"{r.name:<24}{r.position:>12}{r.events_applied:>12}{r.lag_events:>10}{r.lag_seconds:>10.1f}"
            f"  {'active' if r.worker_active else '-'}"
        )
    return 0


def _status_document(row: ProjectionStatus) -> dict[str, object]:
    return {
        "name": row.name,
        "position": row.position,
        "events_applied": row.events_applied,
        "lag_events": row.lag_events,
        "lag_seconds": row.lag_seconds,
        "updated_at": None if row.updated_at is None else row.updated_at.isoformat(),
        "worker_active": row.worker_active,
    }


def register(sub: Commands) -> None:
    """Add this group's commands to `sub`."""
    parser = sub.add_parser("project", help="run the projector workers in the foreground")
    names_argument(parser, "run")
    parser.set_defaults(func=project)
    sub.add_parser("publish", help="run the change feed to NATS JetStream alone").set_defaults(func=publish)
    parser = sub.add_parser("rebuild", help="rebuild projections from the log and swap them in atomically")
    names_argument(parser, "rebuild")
    parser.add_argument("--batch-size", type=int, default=50_000)
    parser.set_defaults(func=rebuild)
    parser = sub.add_parser("status", help="each projection's position and lag")
    json_argument(parser)
    parser.set_defaults(func=status)
