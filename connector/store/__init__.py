"""The local state store (SQLite): runs and audit, the fetch ledger, observations and the outbox, one transaction."""

from connector.store.database import Database, utcnow
from connector.store.ledger import FetchLedger, FetchRecord, FetchReserved, FetchTooSoon, Ledger
from connector.store.observations import Observations
from connector.store.outbox import Outbox
from connector.store.runs import AbandonedRun, Runs
from connector.store.schema import MIGRATIONS, SCHEMA_VERSION, Migration
from connector.store.state import Store

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "AbandonedRun",
    "Database",
    "FetchLedger",
    "FetchRecord",
    "FetchReserved",
    "FetchTooSoon",
    "Ledger",
    "Migration",
    "Observations",
    "Outbox",
    "Runs",
    "Store",
    "utcnow",
]
