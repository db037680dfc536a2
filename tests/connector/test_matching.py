"""Customer names as people mean them: normalised exact matches, the closest names, did-you-mean hints."""

from __future__ import annotations

import pytest

from connector.core.matching import closest, did_you_mean, exact, normalise
from mappings.customer import CustomerMapping


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Northwind Traders Ltd", "northwind traders"),
        ("Contoso, Inc.", "CONTOSO"),
        ("Fabrikam  GmbH", "fabrikam"),
        ("Smith & Co", "smith and"),
        ("  Adatum   Corp ", "Adatum"),
    ],
)
def test_normalise_ignores_case_punctuation_legal_suffixes_and_spaces(a: str, b: str) -> None:
    assert normalise(a) == normalise(b)


def test_a_legal_form_alone_is_kept() -> None:
    assert normalise("Ltd") == "ltd"


def test_exact_finds_the_normalised_equal_name_only() -> None:
    assert exact("Northwind Traders Ltd", ["Northwind Traders", "Northwind Trading", "Contoso"]) == [
        "Northwind Traders"
    ]


def test_closest_ranks_fuzzy_matches_and_drops_noise() -> None:
    found = closest("Northwnd Traders", ["Contoso", "Northwind Traders", "Tailspin Toys"])
    assert found[0].name == "Northwind Traders"
    assert found[0].score > 80
    assert all(s.name != "Tailspin Toys" for s in found)


def test_did_you_mean_names_the_closest_with_its_id() -> None:
    hint = did_you_mean(
        "Northwind Traders", ["Northwind Traders Ltd", "Contoso"], ids={"Northwind Traders Ltd": "9003"}
    )
    assert hint == " (did you mean 'Northwind Traders Ltd' (id 9003)?)"
    assert did_you_mean("Zebra", ["Northwind Traders Ltd"]) == ""


@pytest.mark.parametrize(
    ("given", "ref", "name"),
    [
        ({"axcient": {"id": 9001}}, "9001", "9001"),
        ({"axcient": {"id": "9001", "customer": "Northwind"}}, "9001", "Northwind"),
        ({"axcient_customer": "9001"}, "9001", "9001"),
        ({"axcient": {"customer": "Northwind"}}, "Northwind", "Northwind"),
    ],
)
def test_a_vendor_customer_by_id_or_by_name(given: dict[str, object], ref: str, name: str) -> None:
    mapping = CustomerMapping.model_validate({"psa_customer": "Northwind Traders", **given})
    assert mapping.vendor_ref("axcient") == ref
    assert mapping.vendor_customer("axcient") == name
