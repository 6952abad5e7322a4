"""The projection engine: what a projection is, applying a batch with its checkpoint,
the workers, their wake-ups, read-your-writes waits and status."""
