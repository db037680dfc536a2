"""The sync engine: fetch usage, observe it, compute each mapped line, review it, stage it, push it exactly once.

Each source is collected in isolation: one vendor failing blocks only the lines that need it, loudly.
A line is written to the outbox (pending or held) before any push, and marked pushed only after the PSA confirms.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from connector.config import Settings
from connector.errors import ConnectorError
from connector.plan import PlannedLine, Sink
from connector.report import LineOutcome, RunReport, SourceOutcome
from connector.review import hold_reason
from connector.store import Store
from connector.usage import UsageReport, UsageSource, billed_quantity, vendor_period_overlaps
from mappings.customer import CustomerMapping, LineMapping
from mappings.lines import Line, LineIdentity, LineStatus
from mappings.money import round_money
from mappings.periods import Period, parse_period_key, period_containing

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


class Blocked(Exception):
    """This line cannot be billed this run; the message says why and what to do."""


class SyncEngine:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        sources: Mapping[str, UsageSource],
        sink: Sink | None,
        *,
        now: Clock = lambda: datetime.now(UTC),
        progress: Callable[[str], None] = lambda stage: None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.sources = sources
        self.sink = sink
        self.now = now
        # Told what the run is doing (the CLI shows it beside a spinner): a sync can take minutes on a big portal.
        self.progress = progress

    def run(self, *, period_key: str | None = None, dry_run: bool = False, push: bool = True) -> RunReport:
        """One sync. `period_key` picks the period to bill (default: the one containing today)."""
        started = self.now()
        run_id = None if dry_run else self.store.runs.start("sync" + (f" --period {period_key}" if period_key else ""))
        report = RunReport(run_id=run_id, started_at=started, dry_run=dry_run)
        try:
            self._run(report, run_id, period_key=period_key, started=started, dry_run=dry_run, push=push)
        except BaseException as error:
            # The run's row must not claim to be running forever; the error itself stays loud (re-raised).
            if run_id is not None:
                self.store.runs.finish(run_id, "crashed", {"error": f"{type(error).__name__}: {error}"})
            raise
        report.finished_at = self.now()
        if run_id is not None:
            self.store.runs.finish(run_id, report.status, report.to_data())
        return report

    def _run(
        self,
        report: RunReport,
        run_id: int | None,
        *,
        period_key: str | None,
        started: datetime,
        dry_run: bool,
        push: bool,
    ) -> None:
        reports = self._collect(report, run_id)
        self._find_unmapped(report, reports)
        day = parse_period_key(period_key).start if period_key else started.date()
        self.progress(f"computing the lines of {len(self.settings.customers)} customer(s)")
        for customer in self.settings.customers:
            for mapping in customer.lines:
                report.lines.append(self._plan_line(customer, mapping, day, reports, dry_run=dry_run))
        self._report_held(report)
        if push and not dry_run:
            self._push_pending(report)

    # -- fetch and observe -------------------------------------------------------------------------------------

    def _collect(self, report: RunReport, run_id: int | None) -> dict[str, UsageReport | str]:
        """Usage per source, or the reason the source gave none."""
        collected: dict[str, UsageReport | str] = {}
        for name in ("altaro", "axcient"):
            source = self.sources.get(name)
            if source is None:
                collected[name] = f"[{name}] is not enabled in the configuration"
                report.sources.append(SourceOutcome(name, "disabled"))
                continue
            self.progress(f"fetching usage from {name}")
            try:
                usage = source.collect(run_id=run_id)
            except ConnectorError as error:
                log.error("%s: %s", name, error)
                collected[name] = f"{name} failed: {error}"
                report.sources.append(SourceOutcome(name, "failed", problems=[str(error)]))
                continue
            status = "ok" if usage.complete else "incomplete"
            if usage.from_cache and status == "ok":
                status = "cached"
            problems = usage.problems + [
                f"{c.vendor_customer}: {p}" for c in usage.customers if not c.complete for p in c.problems
            ]
            for problem in problems:
                log.error("%s: %s", name, problem)
            report.sources.append(SourceOutcome(name, status, customers=len(usage.customers), problems=problems))
            collected[name] = usage
        return collected

    def _find_unmapped(self, report: RunReport, reports: Mapping[str, UsageReport | str]) -> None:
        """Vendor customers no mapping bills: never skipped in silence."""
        ignored = {(i.source, i.customer.casefold()) for i in self.settings.ignored_customers}
        for name, usage in reports.items():
            if isinstance(usage, str):
                continue
            mapped = {
                vendor.casefold() for c in self.settings.customers if (vendor := c.vendor_customer(name)) is not None
            }
            for customer in usage.customers:
                key = customer.vendor_customer.casefold()
                if key not in mapped and (name, key) not in ignored:
                    log.error(
                        "%s customer %r is not mapped to a PSA customer: add a [[customers]] block with "
                        "%s_customer = %r, or list it under [[ignored_customers]]",
                        name,
                        customer.vendor_customer,
                        name,
                        customer.vendor_customer,
                    )
                    report.unmapped.append({"source": name, "vendor_customer": customer.vendor_customer})

    # -- compute and review ------------------------------------------------------------------------------------

    def _plan_line(
        self,
        customer: CustomerMapping,
        mapping: LineMapping,
        day: date,
        reports: Mapping[str, UsageReport | str],
        *,
        dry_run: bool,
    ) -> LineOutcome:
        period = period_containing(mapping.billing_period, day)
        identity = (customer.psa_customer, mapping.contract, period.key, mapping.metric.value)
        if mapping.start_date is not None and period.end < mapping.start_date:
            return LineOutcome(*identity, outcome="unchanged", reason=f"contract starts {mapping.start_date}")
        try:
            line = self._price(customer, mapping, period, reports)
        except Blocked as blocked:
            log.error("%s / %s: not billed: %s", customer.psa_customer, mapping.contract, blocked)
            return LineOutcome(*identity, outcome="blocked", reason=str(blocked))
        existing = self.store.outbox.get(LineIdentity(*line.identity))
        previous = self.store.outbox.last_pushed_quantity(
            line.psa_customer, line.contract, line.metric, line.period_key
        )
        reason = hold_reason(
            self.settings.review,
            line.quantity,
            previous,
            approved=existing.approved_quantity if existing else None,
        )
        outcome = LineOutcome(
            *identity,
            outcome="held" if reason else "planned",
            quantity=line.quantity,
            unit=line.unit,
            rate=line.rate,
            amount=line.amount,
            reason=reason or "",
        )
        if dry_run:
            if existing is not None and existing.status == "pushed" and existing.pushed_quantity == line.quantity:
                outcome.outcome, outcome.reason = "unchanged", "already in the PSA"
            elif existing is not None and existing.status == "discarded" and existing.line.quantity == line.quantity:
                outcome.outcome, outcome.reason = "discarded", "discarded by an operator"
            return outcome
        staged = self.store.outbox.stage(Line.from_record(line.to_record(), line.inputs), reason)
        outcome.outcome = {"pushed": "unchanged", "held": "held", "discarded": "discarded"}.get(
            staged.status, "pending"
        )
        if staged.status == "pushed":
            outcome.reason, outcome.psa_ref = "already in the PSA", staged.psa_ref
        elif staged.status == "discarded":
            outcome.reason = "discarded by an operator"
        return outcome

    def _report_held(self, report: RunReport) -> None:
        """Lines of other periods still waiting for approval: unbilled until someone acts, so never out of sight."""
        planned = {(o.psa_customer, o.contract, o.period_key, o.metric) for o in report.lines}
        for stored in self.store.outbox.lines(LineStatus.HELD):
            if stored.identity not in planned:
                report.lines.append(
                    LineOutcome(
                        *stored.identity,
                        outcome="held",
                        quantity=stored.line.quantity,
                        unit=stored.line.unit,
                        rate=stored.line.rate,
                        amount=stored.line.amount,
                        reason=stored.hold_reason or "",
                    )
                )

    def _price(
        self,
        customer: CustomerMapping,
        mapping: LineMapping,
        period: Period,
        reports: Mapping[str, UsageReport | str],
    ) -> PlannedLine:
        source = mapping.metric.source
        usage_report = reports.get(source)
        if usage_report is None or isinstance(usage_report, str):
            raise Blocked(usage_report or f"no source {source}")
        if usage_report.problems:
            raise Blocked(f"{source} report unusable: {'; '.join(usage_report.problems)}")
        vendor_name = customer.vendor_customer(source)
        assert vendor_name is not None  # guaranteed by CustomerMapping validation
        usage = usage_report.customer(vendor_name)
        if usage is None:
            raise Blocked(
                f"{source} customer {vendor_name!r} is not in the {source} data; check {source}_customer "
                f"for {customer.psa_customer!r}"
            )
        # Every vendor period of the customer that falls in the billing period, not just the first one listed.
        spoiled = [
            u
            for u in usage_report.customer_periods(vendor_name)
            if not u.complete and (u is usage or vendor_period_overlaps(u.period_key, period.start, period.end))
        ]
        if spoiled:
            problems = "; ".join(p for u in spoiled for p in u.problems)
            raise Blocked(f"{source} usage for {vendor_name!r} is incomplete: {problems}")
        product = mapping.product or ""
        observed = billed_quantity(
            self.store, source, usage.vendor_customer, mapping.metric, period.start, period.end, product=product
        )
        if observed is None:
            raise Blocked(
                f"no complete {mapping.metric.value} observation for {vendor_name!r}"
                + (f" and product {product!r}" if product else "")
                + f" in {period.key}"
            )
        quantity, observations = observed
        return PlannedLine(
            psa_customer=customer.psa_customer,
            contract=mapping.contract,
            period_key=period.key,
            metric=mapping.metric.value,
            quantity=quantity,
            unit=mapping.metric.unit.value,
            rate=mapping.rate,
            # Rounded once, on the line total.
            amount=round_money(quantity * mapping.rate),
            billing_period=mapping.billing_period,
            period_start=period.start,
            period_end=period.end,
            psa_customer_id=customer.psa_customer_id,
            contract_id=mapping.contract_id,
            rate_sku=mapping.rate_sku,
            start_date=mapping.start_date,
            create_if_missing=mapping.create_if_missing,
            inputs={
                "source": source,
                "vendor_customer": usage.vendor_customer,
                "product": product or "all",
                "rule": "peak of the period's complete observations",
                "observations": observations,
            },
        )

    # -- push --------------------------------------------------------------------------------------------------

    def _push_pending(self, report: RunReport) -> None:
        # Failed lines too: one from a period no longer computed (its push failed at the period's end) is never
        # re-staged, so without this it would stay unbilled, and out of every later report, for good.
        pending = [line for line in self.store.outbox.lines() if line.status in (LineStatus.PENDING, LineStatus.FAILED)]
        if not pending:
            return
        if self.sink is None:
            report.problems.append(f"{len(pending)} line(s) pending but [atera] is not enabled: nothing was pushed")
            return
        outcomes = {(o.psa_customer, o.contract, o.period_key, o.metric): o for o in report.lines}
        for number, stored in enumerate(pending, start=1):
            self.progress(f"pushing line {number} of {len(pending)} to the PSA")
            outcome = outcomes.get(stored.identity)
            if outcome is not None and outcome.outcome == "blocked":
                # Staged by an earlier run, but what stops this run's computation stops the push too.
                continue
            if outcome is None:  # approved or failed earlier, pushed now
                outcome = LineOutcome(
                    *stored.identity,
                    outcome="pending",
                    quantity=stored.line.quantity,
                    unit=stored.line.unit,
                    rate=stored.line.rate,
                    amount=stored.line.amount,
                )
                report.lines.append(outcome)
            if not stored.has_plan:
                # Staged before the outbox kept what a push needs (schema v1): say so on every run, never crash.
                outcome.outcome = "failed"
                outcome.reason = f"staged without a push plan; run `connector sync --period {stored.line.period_key}`"
                log.error("push %s not attempted: %s", stored.identity, outcome.reason)
                continue
            line = PlannedLine.from_record(_plan_record(stored.line), stored.line.inputs)
            try:
                result = self.sink.push(line)
            except ConnectorError as error:
                log.error("push %s failed: %s", stored.identity, error)
                self.store.outbox.mark_failed(stored.identity, str(error))
                outcome.outcome, outcome.reason = "failed", str(error)
                continue
            except Exception as error:
                # Unexpected: keep the outbox truthful, then let it be loud.
                self.store.outbox.mark_failed(stored.identity, f"unexpected {type(error).__name__}: {error}")
                raise
            self.store.outbox.mark_pushed(stored.identity, result.psa_ref)
            self.store.runs.audit(
                "pushed" if result.wrote else "confirmed",
                stored.line.psa_customer,
                {
                    "identity": list(stored.identity),
                    "quantity": str(stored.line.quantity),
                    "previous_quantity": str(result.previous_quantity),
                    "psa_ref": result.psa_ref,
                },
            )
            outcome.outcome = "pushed" if result.wrote else "unchanged"
            outcome.psa_ref = result.psa_ref
            if not result.wrote:
                outcome.reason = "the PSA already held this quantity"


def _plan_record(line: Line) -> dict[str, Any]:
    """A stored line as the sink's planned line reads it: the PSA options back on the line itself."""
    return {**line.to_record(), **line.psa}
