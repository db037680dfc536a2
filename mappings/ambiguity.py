"""Mappings that would bill one thing twice or under the wrong customer, each problem naming both blocks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from itertools import combinations
from typing import Protocol, TypeVar

from mappings.customer import CustomerMapping, LineMapping

T = TypeVar("T")


class Ignored(Protocol):
    """A vendor customer deliberately not billed (`[[ignored_customers]]`)."""

    @property
    def source(self) -> str: ...
    @property
    def customer(self) -> str: ...


def same(name: str) -> str:
    """The form two names are compared in: the PSA and the vendors match names ignoring case and surrounding spaces."""
    return name.strip().casefold()


def ambiguities(customers: Sequence[CustomerMapping], ignored: Sequence[Ignored]) -> list[str]:
    """Every pair of blocks that names one PSA customer, vendor customer or contract twice."""
    return [
        *_customers_twice(customers),
        *_vendor_customers_twice(customers, ignored),
        *_contract_ids_twice(customers),
        *_contracts_twice(customers),
    ]


def _twice(keyed: Iterable[tuple[Hashable, T]]) -> list[tuple[T, T]]:
    """(first, again) for every item whose key an earlier item already had."""
    seen: dict[Hashable, T] = {}
    twice = []
    for key, item in keyed:
        if key in seen:
            twice.append((seen[key], item))
        else:
            seen[key] = item
    return twice


def _customers_twice(customers: Sequence[CustomerMapping]) -> list[str]:
    # One PSA customer in two blocks splits its lines: each block plans its own contracts, and one overwrites the other.
    blocks = list(enumerate(customers))
    by_name = _twice((same(c.psa_customer), (i, c)) for i, c in blocks)
    by_id = _twice((c.psa_customer_id, (i, c)) for i, c in blocks if c.psa_customer_id is not None)
    why = "one customer's lines go in one block"
    found = [
        f"customers[{i}] and customers[{j}]: both map PSA customer {c.psa_customer!r}; {why}"
        for (i, c), (j, _) in by_name
    ]
    found += [
        f"customers[{i}] and customers[{j}]: both map psa_customer_id {c.psa_customer_id}; {why}"
        for (i, c), (j, _) in by_id
    ]
    return found


def _vendor_customers_twice(customers: Sequence[CustomerMapping], ignored: Sequence[Ignored]) -> list[str]:
    # Usage is found by vendor customer name: two blocks naming one would both bill it.
    mapped = [
        ((source, same(ref.customer)), (f"customers[{i}]", source, ref.customer))
        for i, c in enumerate(customers)
        for source, ref in c.vendors.items()
    ]
    found = [
        f"{first} and {again}: both map {source} customer {name!r}; its usage would be billed twice"
        for (first, source, name), (again, _, _) in _twice(mapped)
    ]
    billed = {key: where for key, (where, _, _) in reversed(mapped)}
    for index, skip in enumerate(ignored):
        where = billed.get((skip.source, same(skip.customer)))
        if where is not None:
            found.append(
                f"ignored_customers[{index}] and {where}: {skip.source} customer {skip.customer!r} is both ignored "
                "and billed; remove one"
            )
    return found


def _lines(customers: Sequence[CustomerMapping]) -> Iterable[tuple[str, int, LineMapping]]:
    for i, customer in enumerate(customers):
        for j, line in enumerate(customer.lines):
            yield f"customers[{i}].lines[{j}]", i, line


def _contract_ids_twice(customers: Sequence[CustomerMapping]) -> list[str]:
    # A contract belongs to one customer and its Quantity carries one line: a second mapping onto it is a mistake.
    keyed = (
        (line.contract_id, (where, line.contract_id))
        for where, _, line in _lines(customers)
        if line.contract_id is not None
    )
    return [
        f"{first} and {again}: both set contract_id {contract_id}; one contract carries one line"
        for (first, contract_id), (again, _) in _twice(keyed)
    ]


def _contracts_twice(customers: Sequence[CustomerMapping]) -> list[str]:
    named: dict[tuple[int, str], list[tuple[str, LineMapping]]] = defaultdict(list)
    for where, index, line in _lines(customers):
        named[(index, same(line.contract))].append((where, line))
    found = []
    for group in named.values():
        for (first, a), (again, b) in combinations(group, 2):
            if a.metric == b.metric:
                found.append(
                    f"{first} and {again}: both bill {a.metric} onto contract {a.contract!r}; one would overwrite "
                    "the other"
                )
            elif a.contract_id is None or b.contract_id is None:
                # Told apart by distinct contract_ids, two contracts may share a name; otherwise they are one.
                found.append(
                    f"{first} and {again}: both land on contract {a.contract!r} ({a.metric} and {b.metric}); a "
                    "contract's Quantity carries one metric: give each its own contract (or contract_id)"
                )
    return found
