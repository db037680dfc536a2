"""The local state store (SQLite): runs and audit, the fetch ledger, observations and the outbox, one transaction."""

from connector.store.database import utcnow
from connector.store.schema import MIGRATIONS, SCHEMA_VERSION
from connector.store.state import Store

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Store", "utcnow"]
