"""The PostgreSQL adapter of the ledger: the event store, its reader, seals and the command executor.

Public, for the entry points (api/, the CLI) and the projections:

- `connection`: `Connection`, the one connection type every module names.
- `service`: `PostgresLedger`, which executes every command (one pipeline, retries, idempotency),
  alone (`execute`) or in batches (`execute_batch`).
- `committer`: group commit, `GroupCommitter` (and `Committers`, several): concurrent submissions
  batched onto one connection, each answered through its own Future.
- `queries`: what may be read of the write side: a movement's or an order's stream, stock on hand,
  whether a part has moved, the log's head, the scoped log, the stocktakes recorded, and the lock a
  part's unit change takes.
- `reader`: the commit-safe reader of the log (exports, GET /ledger/events, the projectors).
- `history`: stock as of a past position, replayed from the log (as-of reads, the CLI, verify).
- `seals`: sealing the log's hash chain and auditing it.
- `log_search`: the log narrowed by stream, type, part, warehouse, performer and period (the ledger
  page).

Everything else (`eventstore`, `batch`, `commit`, `context`, `dates`, `idempotency`) is private: the tables
they read and write (`ledger_events`, `ledger_stock_levels`, `ledger_idempotency`) may change with
the pipeline.
"""
