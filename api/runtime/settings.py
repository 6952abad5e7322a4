"""The one validated settings object, built at the entry points from ABPARTS_* variables."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Literal

from fastapi.telemetry import TelemetryConfig
from pydantic import AliasChoices, AwareDatetime, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ledger.policy import Limits, NegativeStockPolicy, Policy
from ledger.types import EARLIEST_MOMENT


class Settings(BaseSettings):
    """Service configuration; every field can be set as ABPARTS_<FIELD> in the environment."""

    model_config = SettingsConfigDict(env_prefix="ABPARTS_", extra="ignore", frozen=True)

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("ABPARTS_DATABASE_URL", "DATABASE_URL"),
        description="postgresql:// URL; when unset an embedded PostgreSQL is started.",
    )
    read_database_url: str | None = Field(
        default=None,
        description="postgresql:// URL of a streaming replica of database_url: the read routes use it"
        " (min_position waits on its own checkpoints); writes, sign-in and projectors stay on the primary.",
    )
    data_dir: Path = Field(default=Path(".abparts"), description="Where local state is kept.")
    pgdata: Path | None = Field(default=None, description="Embedded PostgreSQL data directory.")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="Server processes of `abparts serve` (default: one per CPU); with more than one, the"
        " projectors run in a process of their own.",
    )
    reuse_port: bool = Field(
        default=True,
        description="With several server processes, give each a listening socket of its own on the port"
        " (SO_REUSEPORT: Linux spreads the connections over them); false, or not on Linux: one socket"
        " shared by all (uvicorn's supervisor), the first process awake accepting every queued connection.",
    )
    server_loop: Literal["auto", "asyncio", "uvloop"] = Field(
        default="auto", description="uvicorn's event loop (auto: uvloop when installed)."
    )
    server_http: Literal["auto", "h11", "httptools"] = Field(
        default="auto", description="uvicorn's HTTP parser (auto: httptools when installed)."
    )
    access_log: bool = Field(default=False, description="Log a line per request at INFO (else at DEBUG).")
    opentelemetry: bool = Field(
        default=False,
        description="FastAPI's own OpenTelemetry spans, metrics and logs, through the global providers"
        " (off: with no exporter set up, looking the providers up was a tenth of a command's CPU;"
        " /metrics is ours either way).",
    )
    gc_freeze: bool = Field(
        default=True,
        description="Freeze a server process's start-up heap out of the garbage collector's full"
        " collections (api/runtime/heap.py): they would walk it about once a second under load.",
    )

    max_customers: int = Field(default=100, ge=0)
    max_users: int = Field(default=200, ge=0)
    max_parts: int = Field(default=200, ge=0)
    max_machines: int = Field(default=150, ge=0)
    max_warehouses: int = Field(default=150, ge=0)
    max_transactions_per_year: int = Field(default=7500, ge=0)

    negative_stock_policy: NegativeStockPolicy = NegativeStockPolicy.WARN
    approval_quantity_threshold: Decimal | None = Field(default=None, gt=0)
    approval_value_threshold: Decimal | None = Field(default=Decimal("10000.00"), gt=0)
    segregate_approvals: bool = Field(
        default=True, description="Refuse the approval of a held movement by the user who recorded it."
    )

    earliest_date: AwareDatetime = Field(
        default=EARLIEST_MOMENT, description="Earliest transaction_date a movement may carry (>= 1970)."
    )
    max_future_skew: timedelta = Field(
        default=timedelta(minutes=5),
        ge=timedelta(0),
        le=timedelta(days=1),
        description="How far past the server's clock a movement's transaction_date may lie.",
    )
    backdate_window: timedelta = Field(
        default=timedelta(days=30),
        ge=timedelta(0),
        le=timedelta(days=36500),
        description="How far before the server's clock a movement's transaction_date may lie.",
    )

    token_lifetime: timedelta = Field(default=timedelta(hours=8))
    principal_cache_seconds: float = Field(
        default=1.0,
        ge=0,
        le=1,
        description="How long a token's caller is reused without asking the database (0: never); this"
        " process forgets them all at once on a sign-out, a deactivation or any change of users or"
        " organizations.",
    )

    pool_size: int = Field(default=16, ge=2, le=200, description="Database connections of the API process.")
    committers: int = Field(
        default=1,
        ge=0,
        le=16,
        description="Group-commit connections of each API process: the commands that arrive together are"
        " decided and appended in one transaction, each answered with its own result or error."
        " 0 runs each command alone on its request's connection.",
    )
    committer_linger: float = Field(
        default=0.0003,
        ge=0,
        le=0.05,
        description="Seconds at most a committer that just answered several commands waits for those"
        " clients' next ones before it starts its next batch (0: never waits).",
    )
    pool_timeout: float = Field(default=5.0, gt=0, description="Seconds a request waits for a connection.")
    database_timeout: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="Seconds a request may hold a database connection (its statements and their answers);"
        " past it the connection is broken off and the request answered 503 database_unavailable.",
    )

    # Stripe's choice: a client retrying for longer than a day is not retrying.
    idempotency_retention: timedelta = Field(
        default=timedelta(hours=24),
        gt=timedelta(0),
        description="How long an Idempotency-Key's answer is kept.",
    )
    idempotency_prune_interval: float = Field(
        default=300.0, gt=0, description="Seconds between two prunes of expired keys by the API process."
    )

    run_projectors: bool = Field(
        default=True, description="Run the projector workers inside the API process."
    )
    # Catching up, a big batch folds many events into each (warehouse, part) upsert; at the head of the
    # log batches are small anyway, so this bounds only catch-up memory (about 1 KiB per event).
    projector_batch_size: int = Field(default=50_000, ge=1, le=1_000_000)
    snapshot_interval: int = Field(
        default=10_000, ge=100, description="Events between balance snapshots (stock at a past position)."
    )
    projector_poll_interval: float = Field(default=1.0, gt=0, description="Seconds between polls when idle.")
    projector_min_interval: float = Field(
        default=0.03,
        ge=0,
        le=1,
        description="Least seconds between two batches of a projection while the log keeps growing: "
        "appends within it share one batch (the first after a quiet spell is applied at once).",
    )
    ready_max_lag_seconds: float = Field(default=30.0, gt=0, description="/ready fails beyond this lag.")
    log_json: bool = Field(default=True, description="Log one JSON object per line (else plain text).")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO",
        description="The services' log level (serve, project, publish); DEBUG adds a line per command.",
    )
    read_wait_timeout: float = Field(
        default=5.0, ge=0, description="How long a read with min_position waits for the projections."
    )

    nats_url: str | None = Field(
        default=None,
        description="nats:// URL of a NATS server with JetStream; when set, the change feed publishes the"
        " log to it (from `abparts project` and `abparts publish`). Unset: no feed.",
    )
    feed_stream: str = Field(
        default="ABPARTS", pattern=r"^[A-Za-z0-9_-]+$", description="The JetStream stream of the feed."
    )
    # Nats-Msg-Id de-duplication only reaches this far back: a publisher down longer than this
    # between publishing a batch and checkpointing it would publish that batch twice on restart.
    feed_duplicate_window: timedelta = Field(
        default=timedelta(minutes=5),
        ge=timedelta(minutes=2),
        le=timedelta(days=1),
        description="The stream's duplicate window (a re-publish within it is dropped by JetStream).",
    )
    feed_batch_size: int = Field(
        default=1000, ge=1, le=100_000, description="Events read and published per feed checkpoint."
    )

    @field_validator("nats_url")
    @classmethod
    def _nats_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("nats://", "tls://")):
            raise ValueError("must be a nats:// (or tls://) URL")
        return value or None

    @field_validator("earliest_date")
    @classmethod
    def _representable(cls, value: datetime) -> datetime:
        if value < EARLIEST_MOMENT:
            raise ValueError(f"must not be before {EARLIEST_MOMENT.isoformat()}")
        return value

    @field_validator("database_url", "read_database_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL")
        return value or None

    @property
    def pgdata_dir(self) -> Path:
        """The embedded server's data directory (default: <data_dir>/pgdata)."""
        return self.pgdata if self.pgdata is not None else self.data_dir / "pgdata"

    def limits(self) -> Limits:
        """The spec's caps as the ledger sees them."""
        return Limits(
            customers=self.max_customers,
            users=self.max_users,
            parts=self.max_parts,
            machines=self.max_machines,
            warehouses=self.max_warehouses,
            transactions_per_year=self.max_transactions_per_year,
        )

    def telemetry(self) -> TelemetryConfig:
        """FastAPI's `telemetry` option for the app (and for the benchmark's floor app, alike)."""
        on = self.opentelemetry
        return TelemetryConfig(tracing=on, metrics=on, logs=on)

    def policy(self) -> Policy:
        """The business policy the ledger decides commands with."""
        return Policy(
            negative_stock=self.negative_stock_policy,
            approval_quantity_threshold=self.approval_quantity_threshold,
            approval_value_threshold=self.approval_value_threshold,
            segregate_approvals=self.segregate_approvals,
            limits=self.limits(),
            earliest_date=self.earliest_date,
            max_future_skew=self.max_future_skew,
            backdate_window=self.backdate_window,
        )
