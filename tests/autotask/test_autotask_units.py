"""How a measured quantity becomes the whole units Autotask bills: rounded up by default, or to the nearest (half a
unit up), a whole quantity as measured, and the words `explain` shows for it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from providers.autotask.provider import PROVIDER, AutotaskLineOptions, billed_units


@pytest.mark.parametrize(
    ("round_", "quantity", "units"),
    [
        ("up", "612.01", 613),
        ("up", "612.5", 613),
        ("up", "612.99", 613),
        ("up", "0.2", 1),
        ("nearest", "612.49", 612),
        ("nearest", "612.5", 613),
        ("nearest", "612.51", 613),
        ("nearest", "0.4", 0),
        ("nearest", "0.5", 1),
    ],
)
def test_a_fraction_is_rounded_as_the_line_says(round_: str, quantity: str, units: int) -> None:
    billed, _ = billed_units({"round": round_}, Decimal(quantity))
    assert billed == Decimal(units)
    assert billed == billed.to_integral_value()


def test_up_is_the_default() -> None:
    assert billed_units({}, Decimal("612.1"))[0] == Decimal(613)
    assert billed_units({"round": None}, Decimal("612.1"))[0] == Decimal(613)
    assert billed_units({"service": "BKP-SERVER-GB"}, Decimal("612.1"))[0] == Decimal(613)


@pytest.mark.parametrize("round_", ["up", "nearest"])
@pytest.mark.parametrize("quantity", ["0", "612", "612.000", "1000000"])
def test_a_whole_quantity_is_billed_as_measured(round_: str, quantity: str) -> None:
    billed, words = billed_units({"round": round_}, Decimal(quantity))
    assert billed == Decimal(quantity)
    assert words == f"{billed} whole units, as measured"


def test_the_explanation_says_what_was_measured_and_how_it_was_rounded() -> None:
    assert billed_units({"round": "up"}, Decimal("612.25")) == (
        Decimal(613),
        "612.25 measured, rounded up to 613 whole units (Autotask bills whole units)",
    )
    assert billed_units({"round": "nearest"}, Decimal("612.25")) == (
        Decimal(612),
        "612.25 measured, rounded nearest to 612 whole units (Autotask bills whole units)",
    )
    assert (
        billed_units({}, Decimal("0.5"))[1] == "0.5 measured, rounded up to 1 whole units (Autotask bills whole units)"
    )


def test_the_registry_rounds_with_billed_units_and_the_option_takes_only_up_or_nearest() -> None:
    assert PROVIDER.billed_quantity is billed_units
    assert AutotaskLineOptions(service="BKP-SERVER-GB").round == "up"
    assert AutotaskLineOptions(service="BKP-SERVER-GB", round="nearest").round == "nearest"
    with pytest.raises(ValueError, match="round"):
        AutotaskLineOptions.model_validate({"service": "BKP-SERVER-GB", "round": "down"})
