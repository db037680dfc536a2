"""One sync with what the configuration enables: its sources and sink, under the store's sync lock."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from connector.core.config import Settings
from connector.operations.alerts import Alerter
from connector.operations.heap import fewer_collections
from connector.store import Store, utcnow
from connector.store.retention import first_day_kept, waiting_periods
from connector.sync.engine import SyncEngine
from connector.sync.report import RunReport
from connector.wiring import enabled_sink, enabled_sources
from providers.spec import BuildContext

log = logging.getLogger(__name__)


def sync_once(
    settings: Settings,
    *,
    period: str | None = None,
    dry_run: bool = False,
    push: bool = True,
    progress: Callable[[str], None] = lambda stage: None,
    now: Callable[[], datetime] = utcnow,
) -> RunReport:
    """Fetch, compute and push once; a second sync on the same store meanwhile is refused (StoreBusyError).

    `now` is the run's one clock: the engine's periods and the sources' observation times read the same time.
    """
    with Store.open(settings.store.path) as store, store.sync_lock():
        context = BuildContext(settings.http, store.ledger, now, settings.billing.timezone, settings.billing.mode)
        sink = None
        try:
            # Inside the try: a sink that cannot be built (its key file missing) bills nothing and is alerted too.
            sink = enabled_sink(settings, context)
            sources = enabled_sources(settings, context)
            engine = SyncEngine(settings, store, sources, sink, now=now, progress=progress)
            with fewer_collections():
                report = engine.run(period_key=period, dry_run=dry_run, push=push)
        except Exception as error:
            # The one place after every sync (CLI and daemon alike): a run that raised is a condition too.
            if not dry_run:
                Alerter(settings.alerts).after_run(store, None, error)
            raise
        else:
            # A dry run writes nothing, so it neither tells nor forgets a condition.
            if not dry_run:
                Alerter(settings.alerts).after_run(store, report)
                retain(settings, store, now())
            return report
        finally:
            close = getattr(sink, "close", None)
            if close is not None:
                close()


def retain(settings: Settings, store: Store, now: datetime) -> None:
    """Drop what only periods older than `[store] keep_periods` closed ones could use; nothing when it is unset."""
    keep = settings.store.keep_periods
    if keep is None:
        return
    calendar = settings.billing.calendar()
    # Every line a run may bill: explicit ones and those `auto_match` templates give, each with its own period kind.
    explicit = {line.billing_period for customer in settings.customers for line in customer.lines}
    templated = {line.billing_period for lines in settings.mapping.templates.values() for line in lines}
    kinds = explicit | templated
    first = first_day_kept(calendar, kinds, keep, waiting_periods(store.database), now)
    if first is None:
        log.debug("store: nothing pruned: no mapped line, or one billed on demand, leaves no period known closed")
        return
    pruned = store.prune(first, now)
    if pruned.observations or pruned.payloads:
        log.info(
            "store: dropped %d observation(s) and %d report body(ies) from before %s ([store] keep_periods = %d)",
            pruned.observations,
            pruned.payloads,
            first,
            keep,
        )
