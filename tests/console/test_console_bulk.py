"""Review's complete cards (issue 23): the vendor figure, what the PSA held, what was last pushed and when, and the
amounts before and after, from the rows `connector review --format json` gives; and the bulk approve of a filtered
set, confirmed with its count and total, all or nothing, as the signed-in approver."""

from __future__ import annotations

import html
import re
from decimal import Decimal
from typing import Any

import pytest

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
    # Pushed, then someone typed 6007 in the PSA: the sync that held it recorded the PSA's figure, and the change and
    # the amount before are against it, not against the last push.
    assert contoso["psa_quantity"] == Decimal(6007) and contoso["change"] == Decimal(600 - 6007)
    assert contoso["psa_amount"] == price(Decimal(6007), contoso["rate"]) == Decimal("720.84")
    fabrikam = rows[found]
    assert (fabrikam["psa_quantity"], fabrikam["pushed_before"], fabrikam["pushed_at"]) == (Decimal(9), None, None)
    assert fabrikam["change"] == Decimal(5) and fabrikam["pushed_amount"] is None
    assert fabrikam["psa_amount"] == price(Decimal(9), Decimal("2.50")) == Decimal("22.50")
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
        # The amount before is what the PSA bills now when its figure is recorded, else what was last pushed.
        before = row["psa_amount"] if row["psa_quantity"] is not None else row["pushed_amount"]
        if before is not None:
            assert dd("amount before", format(before, "f")) in card
        if row["id"] == found:
            assert dd("PSA holds", "9") in card and dd("last pushed", "never") in card
            assert dd("change", "+5") in card and dd("amount after", "35.00") in card
            assert dd("amount before", "22.50") in card
        if row["id"] == console.held_id():  # pushed 600, then 6007 typed in the PSA, then synced
            assert dd("PSA holds", format(row["psa_quantity"], "f")) in card and "not recorded" not in card
            assert dd("last pushed", "600") in card and dd("change", "-5407") in card
            assert dd("amount before", "720.84") in card and dd("amount after", "72.00") in card
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


def _restage(console: Console, line_id: int, quantity: Decimal) -> None:
    """What a sync does to a held line whose figure moved: staged again, held, with the new quantity."""
    with Store.open(console.settings.store.path) as store:
        stored = next(x for x in store.outbox.lines() if x.id == line_id)
        line = Line(
            stored.line.psa_customer, stored.line.contract, stored.line.period_key, stored.line.metric,
            quantity=quantity, unit=stored.line.unit, rate=stored.line.rate,
            amount=price(quantity, stored.line.rate), inputs=stored.line.inputs,
        )  # fmt: skip
        store.outbox.stage(line, "rose again", recheck=True)


def test_a_sync_between_the_console_s_check_and_the_approval_is_caught_under_the_lock(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    console.signin("bob")
    _, ids, quantities = confirmation(console)
    assert len(ids) == 2
    approve_lines = operations.approve_lines

    def after_a_sync(*args: Any, **kwargs: Any) -> Any:
        # The console's own look found the set as shown; a sync changes one line before the approval runs.
        _restage(console, ids[1], Decimal(str(quantities[f"quantity-{ids[1]}"])) + 1)
        return approve_lines(*args, **kwargs)

    monkeypatch.setattr(operations, "approve_lines", after_a_sync)
    answer = post(console, ids, quantities)
    assert answer.status_code == 409, answer.text
    assert "Nothing was approved" in answer.text and f"line(s) {ids[1]} changed" in answer.text
    assert sorted(r["id"] for r in held_rows(console)) == sorted(ids) and console.audit() == []


def test_a_card_approves_only_the_quantity_it_showed(console: Console) -> None:
    console.signin("bob")
    held = console.held_id()
    shown = console.shown(held)
    page = console.client.get("/review").text
    assert f'<input type="hidden" name="quantity" value="{shown}">' in page
    _restage(console, held, Decimal(shown) + 1)  # a sync changed it after the card was shown
    answer = console.client.post(f"/review/{held}/approve", data={"csrf": console.csrf(), "quantity": shown})
    assert answer.status_code == 409 and f"line(s) {held} changed since they were shown" in answer.text
    missing = console.client.post(f"/review/{held}/approve", data={"csrf": console.csrf()})
    assert missing.status_code == 409 and "did not say which quantity" in missing.text
    assert console.held_id() == held and console.audit() == []
    now = console.shown(held)
    done = console.client.post(f"/review/{held}/approve", data={"csrf": console.csrf(), "quantity": now})
    assert done.status_code == 303 and [e["event"] for e in console.audit()] == ["approved"]


def test_review_shows_50_cards_a_page_and_the_bulk_approve_still_takes_every_held_line_the_filter_picks(
    console: Console,
) -> None:
    with Store.open(console.settings.store.path) as store:
        for number in range(70):
            quantity, rate = Decimal(number + 1), Decimal("1.25")
            line = Line(
                f"Paged Customer {number:02d}", "Paged backup", MONTH, "altaro.billed_users", quantity=quantity,
                unit="user", rate=rate, amount=price(quantity, rate), inputs={"why": "many held lines"},
            )  # fmt: skip
            store.outbox.stage(line, "rose from 0")
    console.signin("bob")
    every = console.waiting()
    held = held_rows(console)
    paged = [row for row in held if row["contract"] == "Paged backup"]
    assert len(paged) == 70 and len(every) > 70

    cards = re.compile(r'<article class="card card-[a-z]+" id="line-(\d+)">')
    first = console.client.get("/review").text
    second = console.client.get("/review", params={"page": "2"}).text
    shown = [int(i) for i in cards.findall(first)] + [int(i) for i in cards.findall(second)]
    assert len(cards.findall(first)) == 50 and "Page 1 of 2" in first and 'rel="next"' in first
    assert shown == [int(row["id"]) for row in every]  # the second page shows the rest, in Review's order
    assert "Page 2 of 2" in second and 'rel="prev"' in second and 'rel="next"' not in second
    # Every page offers the bulk approve of every held line, not the page's.
    assert f"Approve these {len(held)} lines" in first and f"Approve these {len(held)} lines" in second
    assert console.client.get("/review", params={"page": "99"}).text.count('class="card card-') == len(every) - 50

    # The filter is kept from page to page; its bulk approve counts and totals all 70, confirmed, then approved.
    picked = console.client.get("/review", params={"contract": "paged backup", "page": "2"}).text
    assert [int(i) for i in cards.findall(picked)] == [int(row["id"]) for row in paged][50:]
    assert "contract=paged+backup&amp;page=1" in picked and "Approve these 70 lines" in picked
    page, ids, quantities = confirmation(console, contract="Paged backup")
    assert ids == [int(row["id"]) for row in paged]
    assert '<strong id="bulk-count">70</strong>' in page
    total = format(sum(row["amount"] for row in paged), "f")
    assert f'<strong id="bulk-total" class="number">{total}</strong>' in page
    assert post(console, ids, quantities).status_code == 303
    assert [row for row in held_rows(console) if row["contract"] == "Paged backup"] == []
