"""Configuration that would bill one thing twice or under the wrong customer is refused, naming both blocks."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.cli import main
from connector.core.errors import ConfigError
from connector.wiring import settings_from_data


def block(psa: str, vendor: str, *lines: str, extra: str = "") -> str:
    text = f'[[customers]]\npsa_customer = "{psa}"\n{extra}altaro = "{vendor}"\n'
    return text + "".join(f"[[customers.lines]]\n{line}\n" for line in lines)


def line(contract: str = "M365", metric: str = "altaro.billed_users", extra: str = "") -> str:
    return f'metric = "{metric}"\ncontract = "{contract}"\nrate = "1"\n{extra}'


def check(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> tuple[int, str]:
    config = tmp_path / "connector.toml"
    config.write_text(text, encoding="utf-8")
    code = main(["check", "--config", str(config)])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            block("Contoso", "Contoso", line(), extra="psa_customer_id = 42\n")
            + block("Fabrikam", "Fabrikam", line("Server"))
            + block("Contoso Ltd", "Contoso Ltd", line(), extra="psa_customer_id = 42\n"),
            "customers[0] and customers[2]: both map psa_customer_id 42",
            id="same psa_customer_id",
        ),
        pytest.param(
            block("Contoso", "Contoso", line(extra="contract_id = 1001\n"))
            + block("Fabrikam", "Fabrikam", line("Other", extra="contract_id = 1001\n")),
            "customers[0].lines[0] and customers[1].lines[0]: both set contract_id 1001",
            id="same contract_id under two customers",
        ),
        pytest.param(
            block("Contoso", "Contoso", line()) + block("Fabrikam", "Fabrikam") + block(" contoso ", "C2", line()),
            "customers[0] and customers[2]: both map PSA customer 'Contoso'",
            id="same customer in other case and spaces",
        ),
        pytest.param(
            block("Contoso", "Contoso", line()) + block("Fabrikam", "CONTOSO", line()),
            "customers[0] and customers[1]: both map altaro customer 'Contoso'",
            id="same vendor customer",
        ),
        pytest.param(
            block("Contoso", "Contoso", line(), line("m365 ")),
            "customers[0].lines[0] and customers[0].lines[1]: both bill altaro.billed_users onto contract 'M365'",
            id="same contract and metric",
        ),
        pytest.param(
            block("Contoso", "Contoso", line(), line(metric="altaro.backup_gb")),
            "customers[0].lines[0] and customers[0].lines[1]: both land on contract 'M365'",
            id="two metrics on one contract",
        ),
        pytest.param(
            block(
                "Contoso",
                "Contoso",
                line(extra="contract_id = 7\n"),
                line("Other", "altaro.backup_gb", "contract_id = 7\n"),
            ),
            "customers[0].lines[0] and customers[0].lines[1]: both set contract_id 7",
            id="one contract_id for two metrics",
        ),
        pytest.param(
            block("Contoso", "Contoso", line())
            + '[[ignored_customers]]\nsource = "altaro"\ncustomer = "contoso"\nreason = "pilot"\n',
            "ignored_customers[0] and customers[0]: altaro customer 'contoso' is both ignored and billed",
            id="ignored and mapped",
        ),
    ],
)
def test_ambiguous_mappings_exit_2_naming_both_blocks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    code, err = check(tmp_path, capsys, text)
    assert code == 2, err
    assert expected in err
    assert "Traceback" not in err


def test_every_ambiguity_is_reported_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = block("Contoso", "Contoso", line(extra="contract_id = 5\n"), extra="psa_customer_id = 1\n") + block(
        "Fabrikam", "Contoso", line(extra="contract_id = 5\n"), extra="psa_customer_id = 1\n"
    )
    code, err = check(tmp_path, capsys, text)
    assert code == 2
    assert "customers[0] and customers[1]: both map psa_customer_id 1" in err
    assert "customers[0] and customers[1]: both map altaro customer 'Contoso'" in err
    assert "customers[0].lines[0] and customers[1].lines[0]: both set contract_id 5" in err


@pytest.mark.parametrize(
    "customers",
    [
        # One contract name under two customers is two contracts.
        [
            {
                "psa_customer": "A",
                "altaro": "A",
                "lines": [{"metric": "altaro.billed_users", "contract": "C", "rate": 1}],
            },
            {
                "psa_customer": "B",
                "altaro": "B",
                "lines": [{"metric": "altaro.billed_users", "contract": "C", "rate": 1}],
            },
        ],
        # Two Atera contracts of one name, told apart by their ids, each carrying its own metric.
        [
            {
                "psa_customer": "A",
                "altaro": "A",
                "lines": [
                    {"metric": "altaro.billed_users", "contract": "C", "contract_id": 1, "rate": 1},
                    {"metric": "altaro.backup_gb", "contract": "C", "contract_id": 2, "rate": 1},
                ],
            }
        ],
    ],
)
def test_what_is_not_ambiguous_still_loads(customers: list[dict[str, object]]) -> None:
    assert len(settings_from_data({"customers": customers}).customers) == len(customers)


@pytest.mark.parametrize(
    ("customer", "expected"),
    [
        (
            {"psa_customer": "A", "altaro_customer": "A", "altaro": {"customer": "B"}},
            "customers[0]: altaro customer given twice (as altaro_customer and as [customers.altaro]): keep one",
        ),
        (
            {
                "psa_customer": "A",
                "altaro": "A",
                "lines": [
                    {
                        "metric": "altaro.billed_users",
                        "contract": "C",
                        "rate": 1,
                        "rate_sku": "X",
                        "atera": {"rate_sku": "Y"},
                    }
                ],
            },
            "customers[0].lines[0]: rate_sku given twice (on the line and under [customers.lines.atera]): keep one",
        ),
    ],
)
def test_a_key_given_in_both_layouts_is_refused(customer: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_data({"customers": [customer]})
    assert expected in str(caught.value)
