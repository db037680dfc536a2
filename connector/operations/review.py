"""`connector review`, `approve`, `discard`, `explain`: the lines that need a person, the decisions on them (each with
its audit row, under the sync lock), and what explains a line's number.

The functions taking a store are the transitions themselves; those taking the settings open the store for a command.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from connector.core.config import Settings
from connector.core.errors import ConnectorError, ParameterError
from connector.core.matching import did_you_mean
from connector.store import Store
from connector.store.outbox import IN_PSA
from connector.sync import corrections
from mappings.billing import price
from mappings.lines import LineStatus, StoredLine


@dataclass(frozen=True)
class Actor:
    """Who made a decision and through what (`console`): both go into the decision's audit row."""

    name: str
    via: str

    def details(self) -> dict[str, str]:
        return {"by": self.name, "via": self.via}


def review(store: Store) -> list[dict[str, Any]]:
    """The lines that need a person: held for review, and failed pushes.

    Besides the computed figure (`quantity`, `amount` = quantity x rate): what was last pushed (`pushed_before`,
    `pushed_at`, `pushed_amount` = that quantity x the line's rate, priced by `mappings.billing.price`), what the PSA
    holds, when the store recorded it (`psa_quantity`: the PSA's figure before the connector's first push, or the
    one a sync found there after the last push, typed by someone in the PSA; None when not recorded, the reason then
    names it; `psa_amount` = that figure x the rate, priced the same way), and the `change` against that PSA figure
    (else against the last push).
    """
    # Only the waiting lines are read, and their histories in a few queries: a large MSP holds thousands of lines.
    waiting = sorted([*store.outbox.lines(LineStatus.HELD), *store.outbox.lines(LineStatus.FAILED)], key=lambda x: x.id)
    histories = store.outbox.histories([line.id for line in waiting])
    return [_row(line, histories[line.id]) for line in waiting]


def _row(line: StoredLine, history: list[dict[str, Any]]) -> dict[str, Any]:
    pushed_at = next((row["at"] for row in reversed(history) if row["status"] == LineStatus.PUSHED.value), None)
    in_psa = _in_psa(history)
    baseline = in_psa if in_psa is not None else line.pushed_quantity
    return {
        "id": line.id,
        "status": line.status,
        "psa_customer": line.line.psa_customer,
        "contract": line.line.contract,
        "period": line.line.period_key,
        "metric": line.line.metric,
        "quantity": line.line.quantity,
        "pushed_before": line.pushed_quantity,
        "amount": line.line.amount,
        "reason": line.hold_reason if line.status is LineStatus.HELD else line.last_error,
        "unit": line.line.unit,
        "rate": line.line.rate,
        "psa_quantity": in_psa,
        "psa_amount": _priced(in_psa, line.line.rate),
        "pushed_at": pushed_at,
        "pushed_amount": _priced(line.pushed_quantity, line.line.rate),
        "change": line.line.quantity - baseline if baseline is not None else None,
    }


def _in_psa(history: list[dict[str, Any]]) -> Decimal | None:
    """The latest figure the history records the PSA holding since the line's last push (the outbox's IN_PSA rows:
    before the first push, or found edited there after one), as `Outbox.psa_figure` reads it."""
    for row in reversed(history):
        if row["status"] == LineStatus.PUSHED.value:
            return None
        if row["status"] == IN_PSA:
            return Decimal(row["quantity"])
    return None


def _priced(quantity: Decimal | None, rate: Decimal) -> Decimal | None:
    return price(quantity, rate) if quantity is not None else None


class ChangedSinceShown(ConnectorError):
    """An approval named the quantities a person saw, and a line no longer holds its (not held any more, or held with
    another quantity): nothing of the set was approved."""

    def __init__(self, ids: Sequence[int]) -> None:
        self.ids = list(ids)
        super().__init__(
            f"line(s) {', '.join(map(str, self.ids))} changed since they were shown (no longer held, or held with "
            "another quantity): nothing was approved; look at them again"
        )


def approve(
    store: Store,
    ids: Sequence[int] | Literal["all"],
    note: str,
    *,
    actor: Actor | None = None,
    expected: Mapping[int, Decimal] | None = None,
) -> list[StoredLine]:
    """Accept held lines' quantities (the next sync pushes them), each with its audit row, all or none.

    `expected` (line id -> the quantity the person saw, the console's confirmation or card): checked under the same
    lock and in the same transaction as the approvals, so a sync cannot change a line in between; a line that is no
    longer held with that quantity refuses the whole set (ChangedSinceShown)."""
    # Under the sync lock: a sync running now could re-stage the line with a quantity the operator never saw.
    # One transaction: the check and every approval, or nothing at all.
    with store.sync_lock(), store.transaction():
        held = {line.id: line for line in store.outbox.lines(LineStatus.HELD)}
        chosen = list(held) if ids == "all" else list(ids)
        if not chosen:
            raise ConnectorError("name the line ids to approve (see `connector review`) or pass --all")
        _refuse_unknown_ids(chosen, held, "held")
        if expected is not None:
            changed = [i for i in chosen if i not in expected or held[i].line.quantity != expected[i]]
            if changed:
                raise ChangedSinceShown(changed)
        return [_decide(store, "approved", held[line_id], note, actor) for line_id in chosen]


def discard(store: Store, ids: Sequence[int], note: str, *, actor: Actor | None = None) -> list[StoredLine]:
    """Never push these pending, held or failed lines, or close these corrections (billed by hand); they stay in the
    outbox with why, and the audit says who."""
    with store.sync_lock():
        open_statuses = (LineStatus.PENDING, LineStatus.HELD, LineStatus.FAILED, LineStatus.CORRECTION)
        waiting = {line.id: line for line in store.outbox.lines() if line.status in open_statuses}
        _refuse_unknown_ids(ids, waiting, "pending, held, failed or a correction")
        return [_decide(store, "discarded", waiting[line_id], note, actor) for line_id in ids]


def _refuse_unknown_ids(ids: Sequence[int], waiting: dict[int, StoredLine], what: str) -> None:
    unknown = [i for i in ids if i not in waiting]
    if unknown:
        there = ", ".join(map(str, sorted(waiting))) or "none"
        raise ParameterError(
            f"no line {', '.join(map(str, unknown))} is {what} (those that are: {there}); "
            "`connector review` lists them with their ids",
            param="line_ids",
        )


def known_customer(store: Store, customer: str, mapped: Iterable[str]) -> None:
    """Refuse a customer name neither the mapping nor the store knows (any case), with the closest names."""
    names = sorted({*mapped, *store.outbox.customers()})
    if customer.casefold() not in {name.casefold() for name in names}:
        raise ParameterError(
            f"no customer {customer!r} in the mapping or the store{did_you_mean(customer, names)}",
            param="customer",
        )


def _decide(
    store: Store, event: Literal["approved", "discarded"], stored: StoredLine, note: str, actor: Actor | None
) -> StoredLine:
    # The transition and its audit row commit together: the history never shows a decision nobody made.
    with store.transaction():
        change = store.outbox.approve if event == "approved" else store.outbox.discard
        line = change(stored.identity, note)
        who = actor.details() if actor is not None else {}
        store.runs.audit(event, line.line.psa_customer, {"identity": list(line.identity), "note": note, **who})
    return line


def explain(
    store: Store, customer: str, period: str | None = None, *, mapped: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """Every line of a customer (any case), with the inputs behind its number and its history."""
    mapped = list(mapped)  # read twice: a generator would be spent by the first
    known_customer(store, customer, mapped)
    lines = store.outbox.of_customer(customer, period)  # only theirs: a large MSP holds thousands of lines
    if not lines:
        known = sorted(set(mapped))
        raise ConnectorError(
            f"no line items for {customer!r}"
            + (f" in {period}" if period else "")
            + f"; mapped customers: {', '.join(known) or 'none'}"
        )
    histories = store.outbox.histories([stored.id for stored in lines])
    return [
        {
            "id": stored.id,
            "contract": stored.line.contract,
            "period": stored.line.period_key,
            "metric": stored.line.metric,
            "quantity": stored.line.quantity,
            "unit": stored.line.unit,
            "rate": stored.line.rate,
            "amount": stored.line.amount,
            "status": stored.status,
            "psa_ref": stored.psa_ref,
            "inputs": stored.line.inputs,
            "history": histories[stored.id],
        }
        for stored in lines
    ]


def correction_rows(store: Store) -> list[dict[str, Any]]:
    """The recorded corrections, in the shape of `review`'s rows (the reason says what to bill by hand)."""
    return [
        {
            "id": row["id"],
            "status": "correction",
            "psa_customer": row["psa_customer"],
            "contract": row["contract"],
            "period": row["period"],
            "metric": row["metric"],
            "quantity": row["quantity"],
            "pushed_before": row["invoiced_quantity"],
            "amount": row["amount"],
            "reason": row["reason"],
            "unit": row["unit"],
            "rate": row["rate"],
            "psa_quantity": None,
            "psa_amount": None,
            "pushed_at": None,
            "pushed_amount": _priced(row["invoiced_quantity"], row["rate"]),
            "change": row["quantity"] - row["invoiced_quantity"],
        }
        for row in corrections.rows(corrections.recorded(store))
    ]


# -- for the commands: each opens the store ---------------------------------------------------------------------


def waiting(settings: Settings) -> list[dict[str, Any]]:
    """`connector review`: the held and failed lines, then the corrections to bill by hand."""
    with Store.open(settings.store.path) as store:
        return review(store) + correction_rows(store)


def approve_lines(
    settings: Settings,
    ids: Sequence[int] | Literal["all"],
    note: str,
    *,
    actor: Actor | None = None,
    expected: Mapping[int, Decimal] | None = None,
) -> list[StoredLine]:
    """`connector approve` and the console's approve (with the quantities the person saw): see `approve`."""
    with Store.open(settings.store.path) as store:
        return approve(store, ids, note, actor=actor, expected=expected)


def discard_lines(settings: Settings, ids: Sequence[int], note: str, *, actor: Actor | None = None) -> list[StoredLine]:
    """`connector discard` and the console's discard: see `discard`."""
    with Store.open(settings.store.path) as store:
        return discard(store, ids, note, actor=actor)


def explain_customer(settings: Settings, customer: str, period: str | None = None) -> list[dict[str, Any]]:
    """`connector explain`: see `explain`; the mapping's customers are the names a typo is matched against."""
    with Store.open(settings.store.path) as store:
        return explain(store, customer, period, mapped=(c.psa_customer for c in settings.customers))
