"""What a report's raw cells mean, worked out once per distinct cell: a million rows repeat a few thousand values.

The tally's loop (`providers.altaro.rules.ReportTally._count`) subscripts these caches instead of stripping,
casefolding or parsing a cell on every row.

Sizes are summed as integer hundredths of a GB while every size cell of the report has exactly two decimals (as
exports write them: `12.40`), which gives exactly the `Decimal` sum (same value, same exponent) at a fraction of the
cost of a `Decimal` add per row. On the first cell written otherwise (`5`, `4.5`, `1.234`), the report's sums so far
become the `Decimal` values they stand for and every later size is added as a `Decimal`, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from providers.altaro.counts import MAX_OBJECT_GB, Group
from providers.altaro.parser import ReportRows

SIZES_REMEMBERED = 1 << 16  # size cells: a report repeats a few thousand values (12.40); memory stays bounded
KEYS_REMEMBERED = 1 << 16  # object names: real reports have one per user, so this is a bound, not a target

K = TypeVar("K")
V = TypeVar("V")
Size = int | Decimal  # integer hundredths of a GB, or the Decimal GB once a report writes sizes otherwise
# What a size cell adds, with its product: one shared tuple per distinct cell and product, which the tally also keeps
# with the row's fingerprint (`ReportTally.fingerprints`). A bad size adds nothing.
Added = tuple[Size, str]


class Remembered(dict[K, V]):
    """A dict that works a missing key's value out once (`learn`): the loop subscripts it, no `.get` call per row.
    Past `bound` keys, a missing one is worked out each time it is asked for and not kept."""

    def __init__(self, learn: Callable[[K], V], bound: int | None = None) -> None:
        super().__init__()
        self._learn = learn
        self._bound = bound

    def __missing__(self, key: K) -> V:
        value = self._learn(key)
        if self._bound is None or len(self) < self._bound:
            self[key] = value
        return value


def user_key(raw: str) -> str:
    """An object name (or key cell) as counted: case and surrounding spaces do not count."""
    return raw.strip().casefold()


class Cells:
    """What raw Object Type, Product, object name and size cells mean, remembered.

    The tally's loop subscripts `types`, `products` and `keys` (a new spelling is worked out on its first row; past
    KEYS_REMEMBERED object names, a new one is worked out on each of its rows) and looks a size up in its product's
    sizes (the third item of `products`), calling `size_of` on a miss (a bad size is noted on every row that has it).
    """

    def __init__(
        self,
        billable: frozenset[str],
        product_bits: dict[str, int],
        groups: Iterable[Group],
        spellings: dict[str, str] | None = None,
    ) -> None:
        self.types = Remembered(self.type_of)  # raw type -> (billable, the spelling shown for it)
        # raw product -> (product, its bit in the users' masks, its sizes: raw size -> (GB, product))
        self.products = Remembered(self.product_of)
        self.keys = Remembered(user_key, KEYS_REMEMBERED)  # raw object name (or key cell) -> the key counted
        self.sizes: list[dict[str, Added]] = []  # each product's remembered sizes (plausible ones only)
        self.hundredths = True  # every size so far had two decimals: the sums are integer hundredths
        self._spellings = {} if spellings is None else spellings  # casefolded type -> its first spelling
        self._billable = billable
        self._product_bits = product_bits
        self._groups = groups  # the report's groups, whose sums change kind with the sizes

    def type_of(self, raw: str) -> tuple[bool, str]:
        folded = raw.strip().casefold()
        # One spelling per type in the explanation (MAILBOX and Mailbox are one type).
        return folded in self._billable, self._spellings.setdefault(folded, raw.strip())

    def product_of(self, raw: str) -> tuple[str, int, dict[str, Added]]:
        product = raw.strip()
        if product not in self._product_bits:
            self._product_bits[product] = len(self._product_bits)
        self.sizes.append({})
        return product, 1 << self._product_bits[product], self.sizes[-1]

    def size_of(self, raw: str, product: str, sizes: dict[str, Added], group: Group, report: ReportRows) -> Added:
        """What a size cell adds to its group's sum of `product` (remembered in `sizes`, the product's); a cell that
        is not a finite size from 0 to MAX_OBJECT_GB is noted on the group as bad vendor data and adds nothing (the
        group then bills no size at all)."""
        try:
            value = Decimal(raw)
            plausible = Decimal(0) <= value <= MAX_OBJECT_GB
        except InvalidOperation:  # not a number; or NaN, which no comparison accepts
            plausible = False
        if not plausible:
            group.bad_size(report.position, raw)
            return (0, product)
        if self.hundredths and value.as_tuple().exponent != -2:
            self._to_decimal()
        known: Added = (int(value.scaleb(2)) if self.hundredths else _addend(value), product)
        if len(sizes) < SIZES_REMEMBERED:
            sizes[raw] = known
        return known

    def _to_decimal(self) -> None:
        """From integer hundredths to Decimal sums, for the report's groups so far and the sizes remembered."""
        self.hundredths = False
        for group in self._groups:
            to_decimal(group.size_by_product)
        for sizes in self.sizes:
            for raw, (_, product) in sizes.items():
                sizes[raw] = (_addend(Decimal(raw)), product)

    def finish(self) -> None:
        """The report's sums as Decimal GB, as the rest of the rules expect them."""
        for group in self._groups:
            to_decimal(group.size_by_product)


def _addend(value: Decimal) -> Decimal:
    # Sums start from the integer 0, which leaves a size such as 1E+2 as written; the Decimal sum the rule
    # defines starts from Decimal(0) and writes it 100. Adding 0 here does that once per distinct cell.
    exponent = value.as_tuple().exponent
    return value + 0 if isinstance(exponent, int) and exponent > 0 else value


def to_decimal(sums: dict[str, Any]) -> None:
    """Sums by product turned, in place (the tally's loop holds the dict), into Decimal GB: an integer is hundredths
    (each size it holds had two decimals, or was bad and added 0)."""
    for product, total in sums.items():
        if isinstance(total, int):
            sums[product] = Decimal(total).scaleb(-2)
