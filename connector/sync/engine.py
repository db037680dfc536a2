"""The sync engine: fetch usage, observe it, compute each mapped line, review it, stage it, push it exactly once.

Each source is collected in isolation: one vendor failing blocks only the lines that need it, loudly.
A line is written to the outbox (pending or held) before any push, and marked pushed only after the PSA confirms.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import providers
from connector.core.config import Settings
from connector.core.errors import ConnectorError
from connector.interfaces.psa import PeriodSink, Sink
from connector.interfaces.usage import UsageReport, UsageSource
from connector.mapping import automatch
from connector.mapping.renames import tell_renames
from connector.mapping.unmapped import tell_unmapped
from connector.store import Store
from connector.sync import corrections
from connector.sync.invoiced import line_period, read_invoiced, requested_period_of
from connector.sync.observe import observe
from connector.sync.psa_truth import contract_ref, created_empty, judge, named, read_psa, unverified
from connector.sync.push import misconfigured, push_pending
from connector.sync.report import RunReport, SourceOutcome
from connector.sync.usable import Blocked, usable_usage
from mappings.billing import bill_line
from mappings.calendar import BillingCalendar, Invoiced, coverage_hold
from mappings.customer import CustomerMapping, LineMapping
from mappings.lines import (
    Decision,
    Line,
    LineIdentity,
    LineResult,
    LineStatus,
    Outcome,
    StoredLine,
    next_status,
    staged_result,
)
from mappings.measure import Measured, measure
from mappings.periods import Period, period_containing
from mappings.review import hold_reason
from mappings.truth import Held, HeldContract

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


class SyncEngine:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        sources: Mapping[str, UsageSource | None],
        sink: Sink | None,
        *,
        now: Clock = lambda: datetime.now(UTC),
        progress: Callable[[str], None] = lambda stage: None,
    ) -> None:
        self.settings = settings
        self.store = store
        # Every registered source by name, in registry order; None for one the configuration does not enable.
        self.sources = sources
        self.sink = sink
        self.now = now
        # Told what the run is doing (the CLI shows it beside a spinner): a sync can take minutes on a big portal.
        self.progress = progress

    def run(self, *, period_key: str | None = None, dry_run: bool = False, push: bool = True) -> RunReport:
        """One sync. `period_key` picks the period to bill (default: the one containing today)."""
        started = self.now()
        command = "sync" + (f" --period {period_key}" if period_key else "")
        run_id, abandoned = (None, []) if dry_run else self.store.start_run(command)
        report = RunReport(run_id=run_id, started_at=started, dry_run=dry_run)
        for run in abandoned:
            # Not this run's failure (it pushes what the killed one left pending), but never out of sight.
            log.warning("%s", run.note)
            report.abandoned.append(run.to_data())
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
        # A bad --period is refused before any vendor is called: a fetch spent for nothing costs Altaro's 5 minutes.
        calendar = self.settings.billing.calendar()
        requested = requested_period_of(self.settings, period_key, calendar, started) if period_key else None
        reports = self._collect(report, run_id)
        self.settings = automatch.resolve(self.settings, reports, self.store)
        tell_renames(self.settings, reports, self.store, record=not dry_run)
        report.unmapped += tell_unmapped(self.settings, reports, log)
        misconfigured = {s.name for s in report.sources if s.status == "misconfigured"}
        # Read once per run, dry runs included: "unchanged" must mean the PSA holds what was computed.
        truth = read_psa(self.settings, self.sink, report, self.progress, self.store)
        # Once per run: which ended periods the PSA has invoiced decides which period each contract carries.
        invoiced = read_invoiced(
            self.store, self.settings, self.sink, calendar, started, requested, report, self.progress
        )
        self.progress(f"computing the lines of {len(self.settings.customers)} customer(s)")
        compared = 0
        psa = providers.psa(self.settings)
        for customer in self.settings.customers:
            for mapping in customer.lines:
                held = truth.get(contract_ref(customer, mapping, psa)) if truth is not None else None
                seen = invoiced.of(customer.psa_customer, mapping.contract)
                period = line_period(self.store, customer, mapping, calendar, requested, started, seen)
                if requested is not None and calendar.invoiced(period, started, seen):
                    self._compare_invoiced(report, customer, mapping, period, reports)
                    compared += 1
                    continue
                if requested is None:
                    # The period before the open one is closed: a late change to it is news, but not for the PSA.
                    closed = period_containing(period.kind, period.start - timedelta(days=1))
                    self._correction(report, customer, mapping, closed, reports, dry_run=dry_run)
                result = self._plan_line(customer, mapping, period, reports, held, dry_run=dry_run)
                if result.outcome is Outcome.BLOCKED and mapping.source in misconfigured:
                    report.misconfigured.add(result.identity)
                report.lines.append(result)
        if requested is not None and compared == sum(len(c.lines) for c in self.settings.customers):
            # Every line's period asked for is invoiced: a dry comparison, so no other period's line is pushed either.
            report.dry_run = dry_run = True
        if truth is None:
            unverified(report, self.sink)
        self._report_held(report)
        if requested is None:
            # Waiting lines of a period invoiced since: a correction recorded once, in place of a push.
            corrections.settle(self.store, report, _moved_on(calendar, invoiced, started), dry_run=dry_run)
        if push and not dry_run:
            push_pending(self.store, self.sink, report, progress=self.progress, calendar=calendar, now=started)

    # -- fetch and observe -------------------------------------------------------------------------------------

    def _collect(self, report: RunReport, run_id: int | None) -> dict[str, UsageReport | str]:
        """Usage per source, or the reason the source gave none."""
        collected: dict[str, UsageReport | str] = {}
        for name, source in self.sources.items():
            if source is None:
                collected[name] = f"[{name}] is not enabled in the configuration"
                report.sources.append(SourceOutcome(name, "disabled"))
                continue
            self.progress(f"fetching usage from {name}")
            try:
                usage = source.collect(run_id=run_id)
            except ConnectorError as error:
                log.error("%s", error if str(error).startswith(f"{name}:") else f"{name}: {error}")
                collected[name] = f"{name} failed: {error}"
                # A key that is missing or refused is configuration to fix (exit 2), not a vendor being down.
                status = "misconfigured" if misconfigured(error) else "failed"
                report.sources.append(SourceOutcome(name, status, problems=[str(error)]))
                continue
            # The engine, not the source, keeps the history billing reads: one place decides what is observed.
            observe(self.store, usage, run_id=run_id)
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

    # -- the billing calendar ----------------------------------------------------------------------------------

    def _correction(
        self,
        report: RunReport,
        customer: CustomerMapping,
        mapping: LineMapping,
        closed: Period,
        reports: Mapping[str, UsageReport | str],
        *,
        dry_run: bool,
    ) -> bool:
        """A closed (invoiced) period whose quantity moved since its invoice: recorded once and reported to bill by
        hand, not pushed (the contract has moved on: pushing would bill the old usage under the new period).
        False when the store holds no line of that period to compare with."""
        stored = self.store.outbox.get(
            LineIdentity(customer.psa_customer, mapping.contract, closed.key, mapping.metric)
        )
        if stored is None:
            return False
        try:
            line = self._price(customer, mapping, closed, reports, stored.line.rate)
        except Blocked:
            return True  # nothing newer to compare: what was invoiced stands (a waiting line is settled later)
        correction = corrections.correct(self.store, stored, line, dry_run=dry_run)
        if correction is not None:
            report.lines.append(correction)
        return True

    def _compare_invoiced(
        self,
        report: RunReport,
        customer: CustomerMapping,
        mapping: LineMapping,
        period: Period,
        reports: Mapping[str, UsageReport | str],
    ) -> None:
        """An invoiced period asked for is only compared: what it would record is said, nothing written. One that no
        run ever staged a line of is said, with what its source has, never an "ok" with no line (nothing can be billed
        for it, and nothing says it was)."""
        if self._correction(report, customer, mapping, period, reports, dry_run=True):
            return
        identity = LineIdentity(customer.psa_customer, mapping.contract, period.key, mapping.metric)
        observed = sorted(
            {o.period_key[:7] for o in self.store.observations.query(mapping.source, metric=mapping.metric)}
        )
        held = f"it holds {observed[0]} to {observed[-1]}" if observed else "it holds none yet"
        reason = (
            f"no line of {period.key} was ever staged and {mapping.source} has no observation in it ({held}): "
            "vendors report only the current period, so a past one is billed only from what earlier runs observed"
        )
        report.lines.append(LineResult(identity, Outcome.BLOCKED, reason=reason))

    # -- compute and review ------------------------------------------------------------------------------------

    def _plan_line(
        self,
        customer: CustomerMapping,
        mapping: LineMapping,
        period: Period,
        reports: Mapping[str, UsageReport | str],
        held: Held | None,
        *,
        dry_run: bool,
    ) -> LineResult:
        identity = LineIdentity(customer.psa_customer, mapping.contract, period.key, mapping.metric)
        if mapping.start_date is not None and period.end < mapping.start_date:
            return LineResult(identity, Outcome.UNCHANGED, reason=f"contract starts {mapping.start_date}")
        if held is not None and isinstance(self.sink, PeriodSink):
            try:
                held = self.sink.held_in(held, period.start, period.end)
            except ConnectorError as error:
                unread = f"could not read what {self.sink.psa_title} holds for {period.key}: {error}"
                log.error("%s / %s: not billed: %s", customer.psa_customer, mapping.contract, unread)
                return LineResult(identity, Outcome.BLOCKED, reason=unread)
        rate = held.rate if isinstance(held, HeldContract) else None  # the price of a line whose mapping gives none
        try:
            line = self._price(customer, mapping, period, reports, rate)
        except Blocked as blocked:
            # A failed source's cause was logged once when it failed; each line it blocks is news at INFO only.
            level = logging.INFO if isinstance(reports.get(mapping.source), str) else logging.ERROR
            log.log(level, "%s / %s: not billed: %s", customer.psa_customer, mapping.contract, blocked)
            return LineResult(identity, Outcome.BLOCKED, reason=str(blocked))
        existing = self.store.outbox.get(line.identity)
        previous = self.store.outbox.last_pushed_quantity(
            line.psa_customer, line.contract, line.metric, line.period_key
        )
        psa = getattr(self.sink, "psa_title", "the PSA")
        verdict = None
        if held is not None:
            verdict = judge(self.store, held, line, mapping, period, existing, previous, psa, dry_run=dry_run)
        if isinstance(verdict, LineResult):
            return verdict
        edited = verdict  # the PSA's quantity was edited: held for a person, whatever the review says
        # Days of an ended period never observed may have held more usage: a person decides, whatever the review says.
        partial = coverage_hold(line, existing)
        in_psa = held.quantity if isinstance(held, HeldContract) else None
        # Never pushed by the connector: what the PSA bills now (typed by hand before it, 0 included) is what the push
        # changes. Only the 0 of a contract the connector itself created (onboarding does so) is no one's figure.
        found = None
        if previous is None and isinstance(held, HeldContract) and in_psa is not None:
            found = None if created_empty(self.store, line.psa_customer, held) else (psa, in_psa)
        reason = edited or partial or self._review(line, existing, previous, found)
        recheck = edited is not None or partial is not None
        if dry_run:
            # What staging would decide, by the very rule staging uses, with nothing written.
            decision = next_status(line, existing, reason, recheck=recheck)
            result = named(staged_result(line, decision, dry_run=True), edited)
        else:
            now_in_psa = self._psa_figure(existing, previous, in_psa, edited, psa)
            staged = self.store.outbox.stage(line, reason, recheck=recheck, found_in_psa=found, in_psa=now_in_psa)
            result = named(staged_result(line, _decided(staged), dry_run=False, psa_ref=staged.psa_ref), edited)
        result.psa_quantity = in_psa
        return result

    def _psa_figure(
        self,
        existing: StoredLine | None,
        previous: Decimal | None,
        in_psa: Decimal | None,
        edited: str | None,
        psa: str,
    ) -> tuple[Decimal, str] | None:
        """What the PSA holds, to record in the line's history, when it is news since the connector's last push:
        someone typed another figure there (the line is held as edited), or a figure recorded so is no longer
        there. Review reads the latest one (the card's "PSA holds" and amount before)."""
        if previous is None or in_psa is None:
            return None  # never pushed: what the PSA held first is `found_in_psa`
        waiting_on_edit = existing is not None and (existing.hold_reason or "").startswith(Outcome.EDITED.value)
        if edited is None and not waiting_on_edit:
            return None
        recorded = self.store.outbox.psa_figure(existing.id) if existing is not None else None
        if recorded == in_psa or (edited is None and recorded is None):
            return None
        if edited is not None:
            return in_psa, f"{psa} holds {in_psa}, not the {previous} the connector pushed: edited there"
        return in_psa, f"{psa} holds {in_psa} now"

    def _review(
        self, line: Line, existing: StoredLine | None, previous: Decimal | None, found: tuple[str, Decimal] | None
    ) -> str | None:
        """The review step's reason to hold, against the last push, or else against what the PSA holds now."""
        baseline = previous if previous is not None or found is None else found[1]
        approved = existing.approved_quantity if existing else None
        reason = hold_reason(self.settings.review, line.quantity, baseline, approved=approved, unit=line.unit)
        if reason is not None and previous is None and found is not None:
            reason += f", against what {found[0]} holds now (the connector never pushed this contract)"
        return reason

    def _report_held(self, report: RunReport) -> None:
        """Lines of other periods still waiting for approval: unbilled until someone acts, so never out of sight."""
        planned = {result.identity for result in report.lines}
        for stored in self.store.outbox.lines(LineStatus.HELD):
            if stored.identity not in planned:
                report.lines.append(staged_result(stored.line, _decided(stored), dry_run=report.dry_run))

    def _price(
        self,
        customer: CustomerMapping,
        mapping: LineMapping,
        period: Period,
        reports: Mapping[str, UsageReport | str],
        rate: Decimal | None,
    ) -> Line:
        """The line as mappings/ bills it, from the period's observations; Blocked when it must not be billed."""
        source = mapping.source
        usage = usable_usage(customer, source, period, reports)
        product = mapping.product or ""
        observations = self.store.observations.query(
            source, vendor_customer=usage.vendor_customer, metric=mapping.metric, product=product
        )
        measured = measure(mapping.measure, observations, period, self.settings.billing.timezone)
        if measured is None:
            raise Blocked(
                f"no complete {mapping.metric} observation for {usage.vendor_customer!r}"
                + (f" and product {product!r}" if product else "")
                + f" in {period.key}"
            )
        partial = self.settings.billing.calendar().partial_coverage(observations, period, self.now())
        if partial:  # stated in the line itself; _plan_line holds it for review
            measured = Measured(measured.quantity, {**measured.explanation, "coverage": partial})
        spec = providers.metric(mapping.metric)
        assert spec is not None  # the configuration checks every metric against the registry
        psa = providers.psa(self.settings)
        try:
            return bill_line(
                customer,
                mapping,
                period,
                measured,
                unit=spec.unit,
                psa=mapping.psa.get(psa.name, {}) if psa is not None else {},
                inputs={"source": source, "vendor_customer": usage.vendor_customer, "product": product or "all"},
                contract_rate=rate,
                whole_units=psa.billed_quantity if psa is not None else None,
            )
        except ValueError as error:
            raise Blocked(f"{error}: set the mapping's rate, or create the contract in the PSA") from None


def _moved_on(calendar: BillingCalendar, invoiced: Invoiced, now: datetime) -> Callable[[Line], bool]:
    """Whether a line's period is invoiced and its contract carries a later one, by the run's read of the invoices."""
    return lambda line: calendar.moved_on(line.period_key, now, invoiced.of(line.psa_customer, line.contract))


def _decided(stored: StoredLine) -> Decision:
    return Decision(stored.status, stored.hold_reason)
