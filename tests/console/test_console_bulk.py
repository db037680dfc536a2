"""Review's complete cards (issue 23): the vendor figure, what the PSA held, what was last pushed and when, and the
amounts before and after, from the rows `connector review --format json` gives; and the bulk approve of a filtered
set, confirmed with its count and total, all or nothing, as the signed-in approver."""

from __future__ import annotations

import html
import re
from decimal import Decimal
from typing import Any

from connector import operations
from connector.store import Store
from mappings.billing import price
from mappings.lines import Line, LineStatus
from tests.clock import MONTH

from .conftest import HELD, INJECTED, Console

HIDDEN = re.compile(r'<input type="hidden" name="(id|quantity-\d+)" value="([^"]*)">')


def dd(label: str, value: str) -> str:
    return f'<dt>{label}</dt><dd class="number">{value}'


def held_rows(console: Console) -> list[dict[str, Any]]:
    return [row for row in console.waiting() if row["status"] == LineStatus.HELD]


def stage_found_in_psa(console: Console) -> int:
    """A held line never pushed, staged with what the PSA held then (the engine's `found_in_psa`)."""
    quantity, rate = Decimal("14"), Decimal("2.50")
    line = Line(
        "Fabrikam Inc", "Workstation backup", MONTH, "altaro.billed_users", quantity=quantity, unit="user",
        rate=rate, amount=price(quantity, rate), inputs={"why": "first push of a contract typed by hand"},
    )  # fmt: skip
    with Store.open(console.settings.store.path) as store:
        staged = store.outbox.stage(line, "rose from 9 to 14", found_in_psa=("the PSA", Decimal("9")))
    return staged.id


def confirmation(console: Console, **query: str) -> tuple[str, list[int], dict[str, str]]:
    page = console.client.get("/review/bulk", params=query)
    assert page.status_code == 200, page.text
    found = HIDDEN.findall(page.text)
    ids = [int(value) for name, value in found if name == "id"]
    quantities = {name: value for name, value in found if name != "id"}
    return page.text, ids, quantities


def post(console: Console, ids: list[int], quantities: dict[str, str]) -> Any:
    form: dict[str, Any] = {"csrf": console.csrf(), "id": [str(i) for i in ids], **quantities}
    return console.client.post("/review/bulk", data=form)


def test_the_rows_carry_the_psa_figure_the_last_push_and_both_amounts(console: Console) -> None:
    found = stage_found_in_psa(console)
    rows = {row["id"]: row for row in console.waiting()}
    contoso = rows[console.held_id()]
    assert contoso["pushed_before"] == Decimal(600) and contoso["pushed_at"]
    assert contoso["pushed_amount"] == price(contoso["pushed_before"], contoso["rate"]) == Decimal("72.00")
    assert contoso["psa_quantity"] is None  # pushed before: the PSA's edit is named in the reason only
    fabrikam = rows[found]
    assert (fabrikam["psa_quantity"], fabrikam["pushed_before"], fabrikam["pushed_at"]) == (Decimal(9), None, None)
    assert fabrikam["change"] == Decimal(5) and fabrikam["pushed_amount"] is None
    assert fabrikam["amount"] == price(Decimal(14), Decimal("2.50"))


def test_cards_show_the_psa_figure_the_last_push_and_both_amounts(console: Console) -> None:
    found = stage_found_in_psa(console)
    console.signin("bob")
    page = console.client.get("/review").text
    for row in console.waiting():
        card = page[page.index(f'id="line-{row["id"]}"') :]
        card = card[: card.index("</article>")]
        assert dd("vendor figure", format(row["quantity"], "f")) in card
        assert dd("amount after", format(row["amount"], "f")) in card
        if row["pushed_before"] is not None:
            assert dd("last pushed", format(row["pushed_before"], "f")) in card
            assert f"on {html.escape(row['pushed_at'])}" in card
            assert dd("amount before", format(row["pushed_amount"], "f")) in card
        if row["id"] == found:
            assert dd("PSA holds", "9") in card and dd("last pushed", "never") in card
            assert dd("change", "+5") in card and dd("amount after", "35.00") in card
    assert "edited in PSA" in page and "6007.0" in page  # the held Contoso line: why, with the PSA's figure


def test_the_filter_picks_cards_by_customer_text_and_contract(console: Console) -> None:
    console.signin("ada")
    only = console.client.get("/review", params={"customer": "CONTOSO"}).text
    assert 'id="line-' in only and HELD[0] in only and "&lt;script&gt;" not in only
    contract = next(r["contract"] for r in held_rows(console) if r["psa_customer"] == INJECTED)
    by_contract = console.client.get("/review", params={"contract": contract}).text
    assert "&lt;script&gt;" in by_contract and f'id="line-{console.held_id()}"' not in by_contract
    assert "Approve these" not in only  # a viewer is offered no bulk approve


def test_the_confirmation_shows_the_count_and_total_of_exactly_the_filtered_lines(console: Console) -> None:
    console.signin("bob")
    every = held_rows(console)
    review = console.client.get("/review").text
    assert f"Approve these {len(every)} lines" in review
    text, ids, quantities = confirmation(console)
    assert ids == [r["id"] for r in every]
    assert f'<strong id="bulk-count">{len(every)}</strong>' in text
    assert f'id="bulk-total" class="number">{format(sum(r["amount"] for r in every), "f")}</strong>' in text
    text, ids, quantities = confirmation(console, customer="contoso")
    contoso = [r for r in every if "contoso" in r["psa_customer"].casefold()]
    assert ids == [r["id"] for r in contoso] and len(ids) == 1
    assert f'id="bulk-total" class="number">{format(sum(r["amount"] for r in contoso), "f")}</strong>' in text
    assert quantities == {f"quantity-{r['id']}": format(r["quantity"], "f") for r in contoso}


def test_confirming_approves_exactly_those_lines_in_the_approvers_name(console: Console) -> None:
    console.signin("bob")
    _, ids, quantities = confirmation(console, customer="contoso")
    answer = post(console, ids, quantities)
    assert answer.status_code == 303 and answer.headers["location"] == "/review"
    assert "approved 1 line(s)" in console.client.get("/review").text
    still = [r["id"] for r in held_rows(console)]
    assert ids[0] not in still and len(still) == 1  # the other held line stays held
    (event,) = console.audit()
    assert event["event"] == "approved" and event["details"]["by"] == "Bob" and event["details"]["via"] == "console"
    assert event["details"]["note"] == "approved in the console (bulk: 1 line(s), total 72.00)"
    with Store.open(console.settings.store.path) as store:
        assert next(x for x in store.outbox.lines() if x.id == ids[0]).status is LineStatus.PENDING


def test_a_viewer_may_not_bulk_approve(console: Console) -> None:
    console.signin("ada")
    assert console.client.get("/review/bulk").status_code == 403
    every = held_rows(console)
    answer = post(console, [r["id"] for r in every], {f"quantity-{r['id']}": format(r["quantity"], "f") for r in every})
    assert answer.status_code == 403 and "viewer" in answer.text
    assert len(held_rows(console)) == len(every) and console.audit() == []


def test_a_set_that_changed_meanwhile_is_refused_whole(console: Console) -> None:
    console.signin("bob")
    _, ids, quantities = confirmation(console)
    assert len(ids) == 2
    operations.discard_lines(console.settings, [ids[1]], "billed elsewhere")  # someone else decided meanwhile
    answer = post(console, ids, quantities)
    assert answer.status_code == 409
    assert "Nothing was approved" in answer.text and f"line(s) {ids[1]} changed" in answer.text
    assert ids[0] in [r["id"] for r in held_rows(console)]
    assert [e["event"] for e in console.audit()] == ["discarded"]


def test_a_line_held_again_with_another_quantity_is_refused(console: Console) -> None:
    console.signin("bob")
    _, ids, quantities = confirmation(console, customer="contoso")
    with Store.open(console.settings.store.path) as store:
        stored = next(x for x in store.outbox.lines() if x.id == ids[0])
        quantity = stored.line.quantity + 1
        line = Line(
            stored.line.psa_customer, stored.line.contract, stored.line.period_key, stored.line.metric,
            quantity=quantity, unit=stored.line.unit, rate=stored.line.rate,
            amount=price(quantity, stored.line.rate), inputs=stored.line.inputs,
        )  # fmt: skip
        store.outbox.stage(line, "rose again", recheck=True)
    answer = post(console, ids, quantities)
    assert answer.status_code == 409 and "Nothing was approved" in answer.text
    assert ids[0] in [r["id"] for r in held_rows(console)] and console.audit() == []
