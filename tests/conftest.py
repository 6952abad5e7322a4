"""Test configuration: the database fixtures are loaded as a plugin."""

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.ledger",
    "tests.fixtures.api",
    "tests.fixtures.shop",
]
