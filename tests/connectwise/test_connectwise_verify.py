"""What ConnectWise holds for a mapped line, from lists read once: the company, agreement and addition found (or what
is missing, with a "did you mean"), and the addition as the comparison sees it, with ConnectWise's own reasons it
would bill other money than computed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from mappings.lines import Outcome
from mappings.truth import ContractRef, HeldContract, Missing, compare, psa_options
from providers.connectwise.models import Addition, Agreement, Company
from providers.connectwise.verify import Located, Target, held, locate, parse_ref, psa_ref

from .support import addition, agreement, company

NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))
TODAY = date(2026, 11, 18)


def ref(customer: str = "Contoso Ltd", contract: str = "Managed Backup", **options: Any) -> ContractRef:
    options = options or {"product": "BKP-SERVER-GB"}
    return ContractRef(customer, None, contract, None, psa_options(options))


def view(agreement_fields: dict[str, Any] | None = None, **addition_fields: Any) -> HeldContract:
    found = Agreement.model_validate(agreement(**(agreement_fields or {})))
    return held(
        Company.model_validate(company()), found, Addition.model_validate(addition(**addition_fields)), today=TODAY
    )


def finding(held_view: HeldContract, rate: str = "0.12", pushed: str | None = None) -> Any:
    return compare(
        held_view,
        psa="ConnectWise",
        period_start=NOVEMBER[0],
        period_end=NOVEMBER[1],
        rate=Decimal(rate),
        pushed=Decimal(pushed) if pushed else None,
    )


def lists(**addition_fields: Any) -> tuple[list[Company], dict[int, Agreement], dict[int, list[Addition]]]:
    companies = [Company.model_validate(company()), Company.model_validate(company(252, "Fabrikam Inc"))]
    agreements = {
        501: Agreement.model_validate(agreement()),
        502: Agreement.model_validate(agreement(502, 252, "Fabrikam Inc")),
    }
    additions = {
        501: [
            Addition.model_validate(addition(601, product={"id": 401, "identifier": "BKP-M365-USER"})),
            Addition.model_validate(addition(602, **addition_fields)),
        ]
    }
    return companies, agreements, additions


def test_an_addition_is_found_by_company_agreement_and_product_whatever_the_case() -> None:
    found = locate(ref("contoso ltd ", "MANAGED backup", product="bkp-server-gb"), *lists())
    assert isinstance(found, Located) and found.addition is not None
    assert (found.company.id, found.agreement.id, found.addition.id) == (251, 501, 602)


def test_ids_in_the_options_win_and_the_line_s_contract_names_the_agreement_otherwise() -> None:
    by_ids = locate(ref(contract="Server backup", agreement_id=501, addition_id=601), *lists())
    assert isinstance(by_ids, Located) and by_ids.addition is not None and by_ids.addition.id == 601
    by_option = locate(ref(contract="Server backup", agreement="Managed Backup", product="BKP-SERVER-GB"), *lists())
    assert isinstance(by_option, Located) and by_option.agreement.id == 501
    by_contract_id = ContractRef("Contoso Ltd", None, "x", 501, psa_options({"product": "BKP-SERVER-GB"}))
    found = locate(by_contract_id, *lists())
    assert isinstance(found, Located) and found.agreement.id == 501


def test_what_connectwise_lacks_is_missing_with_what_to_set() -> None:
    no_company = locate(ref("Contoso Limited"), *lists())
    assert isinstance(no_company, Missing) and not no_company.customer_found
    assert "no company named 'Contoso Limited' (did you mean 'Contoso Ltd' (id 251)?)" in no_company.reason
    no_agreement = locate(ref(contract="Managed Backups"), *lists())
    assert isinstance(no_agreement, Missing) and not no_agreement.customer_found
    assert "did you mean 'Managed Backup' (id 501)?" in no_agreement.reason
    no_options = locate(ContractRef("Contoso Ltd", None, "Managed Backup", None, ()), *lists())
    assert isinstance(no_options, Missing) and "set product" in no_options.reason
    wrong_id = locate(ref(agreement_id=501, addition_id=999), *lists())
    assert isinstance(wrong_id, Missing) and "has no addition 999: check addition_id" in wrong_id.reason


def test_a_product_the_agreement_lacks_may_be_added_unless_it_is_a_typo_of_one_it_has() -> None:
    absent = locate(ref(product="BKP-PC-DEVICE", create_if_missing=True), *lists())
    assert isinstance(absent, Located) and absent.addition is None and absent.target.create_if_missing
    assert absent.absent is not None and absent.absent.customer_found
    assert "no addition of product 'BKP-PC-DEVICE'" in absent.absent.reason
    typo = locate(ref(product="BKP-SERVR-GB", create_if_missing=True), *lists())
    assert isinstance(typo, Missing) and not typo.customer_found
    assert "did you mean 'BKP-SERVER-GB' (addition 602)?" in typo.reason


def test_an_agreement_of_another_company_named_by_id_is_held_as_not_matching() -> None:
    companies, agreements, additions = lists()
    additions[502] = [Addition.model_validate(addition(604, agreementId=502))]
    found = locate(ref(agreement_id=502, product="BKP-SERVER-GB"), companies, agreements, additions)
    assert isinstance(found, Located) and found.addition is not None
    seen = held(found.company, found.agreement, found.addition)
    assert not seen.customer_matches
    assert finding(seen).outcome is Outcome.CONTRACT_MISSING


def test_two_additions_of_one_product_ask_for_the_id_unless_one_is_cancelled() -> None:
    companies, agreements, additions = lists()
    additions[501].append(Addition.model_validate(addition(607)))
    found = locate(ref(), companies, agreements, additions)
    assert isinstance(found, Missing) and "(IDs 602, 607): set addition_id" in found.reason
    additions[501][-1] = Addition.model_validate(addition(607, cancelledDate="2026-01-31T00:00:00Z"))
    kept = locate(ref(), companies, agreements, additions)
    assert isinstance(kept, Located) and kept.addition is not None and kept.addition.id == 602


def test_an_active_billable_addition_is_a_flat_fee_with_its_rate_quantity_and_dates() -> None:
    seen = view(quantity=560, unitPrice=0.12, effectiveDate="2025-03-01T00:00:00Z")
    assert seen == HeldContract(
        ref="agreement 501, addition 602",
        name="Managed Backup / BKP-SERVER-GB",
        customer="Contoso Ltd",
        customer_matches=True,
        flat_fee=True,
        kind="agreement addition",
        active=True,
        start_date=date(2025, 3, 1),  # the later of the agreement's start and the addition's effective date
        end_date=None,  # no ending date
        rate=Decimal("0.12"),
        quantity=Decimal("560"),
    )
    assert finding(seen) is None
    assert finding(seen, pushed="500").outcome is Outcome.EDITED
    assert finding(seen, rate="0.15").outcome is Outcome.RATE_DIFFERS


def test_connectwise_s_reasons_not_to_bill_are_said() -> None:
    cases = [
        (view({"agreementStatus": "Expired"}), "belongs to agreement 'Managed Backup' (501), which is Expired"),
        (view({"cancelledFlag": True}), "which is Cancelled"),
        (view(cancelledDate="2026-10-31T00:00:00Z"), "was cancelled on 2026-10-31"),
        (view(billCustomer="DoNotBill"), "is set to DoNotBill (ConnectWise does not bill it)"),
        (view(billCustomer="NoCharge"), "is set to NoCharge"),
    ]
    for seen, reason in cases:
        result = finding(seen)
        assert not seen.active and result is not None and result.outcome is Outcome.CONTRACT_INACTIVE
        assert reason in result.reason


def test_a_cancellation_to_come_ends_the_addition_then() -> None:
    seen = view(cancelledDate="2026-12-31T00:00:00Z")
    assert seen.active and seen.end_date == date(2026, 12, 31)
    ended = view({"noEndingDateFlag": False, "endDate": "2026-10-31T00:00:00Z"})
    assert finding(ended).outcome is Outcome.CONTRACT_ENDED


def test_units_included_at_no_charge_are_a_rate_problem() -> None:
    seen = view(lessIncluded=5)
    result = finding(seen)
    assert result is not None and result.outcome is Outcome.RATE_DIFFERS
    assert "includes 5 units at no charge (Less Included)" in result.reason
    assert "set Less Included to 0" in result.reason


def test_dates_are_days_of_the_msp_zone_and_a_midnight_utc_date_is_the_date_typed() -> None:
    found = Agreement.model_validate(agreement(startDate="2026-12-01T00:00:00Z"))
    late = Addition.model_validate(addition(effectiveDate="2026-10-31T23:00:00Z"))
    in_new_york = held(Company.model_validate(company()), found, late, "America/New_York")
    assert in_new_york.start_date == date(2026, 12, 1)  # typed as 1 December: never 30 November in New York
    in_berlin = held(
        Company.model_validate(company()),
        Agreement.model_validate(agreement(startDate="2024-01-01T00:00:00Z")),
        late,
        "Europe/Berlin",
    )
    assert in_berlin.start_date == date(2026, 11, 1)  # an instant: 23:00 UTC is midnight in Berlin


def test_a_reference_names_its_agreement_and_addition() -> None:
    assert psa_ref(501, 602) == "agreement 501, addition 602"
    assert parse_ref(psa_ref(501, 602)) == (501, 602)
    assert parse_ref("contract/101") is None
    bad = Target.of(ContractRef("C", None, "A", None, (("addition_id", "x6"), ("product", "P"))))
    assert isinstance(bad, str) and "'x6' is not an id" in bad
