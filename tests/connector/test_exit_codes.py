"""The one table from how a command ended (an error, or a status) to its exit code: every row, and how it is read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connector.core.errors import (
    EXIT_CODES,
    ConfigError,
    ConnectorError,
    DataError,
    ParameterError,
    RateLimitedError,
    ReviewRequiredError,
    Status,
    StoreBusyError,
    StoreError,
    VendorAuthError,
    VendorError,
    exit_code_for,
)
from connector.sync.report import RunReport, SourceOutcome
from mappings.lines import LineIdentity, LineResult, Outcome

# The codes operators and their scripts rely on; a change here is a change of the command line's contract.
ROWS: list[tuple[type[BaseException] | Status, int]] = [
    (Status.OK, 0),
    (Status.FAILED, 1),
    (ConnectorError, 1),
    (Status.INVALID, 2),
    (ConfigError, 2),
    (ParameterError, 2),
    (VendorAuthError, 2),
    (Status.INCOMPLETE, 3),
    (Status.DIFFERS, 3),
    (VendorError, 3),
    (DataError, 3),
    (StoreBusyError, 4),
    (StoreError, 4),
    (Status.HELD, 5),
    (MemoryError, 1),  # a limit to raise, not a bug
    (ReviewRequiredError, 5),
    (BaseException, 70),
    (Status.ABORTED, 130),
    (KeyboardInterrupt, 130),
]


def test_the_table_holds_exactly_these_rows() -> None:
    assert dict(ROWS) == EXIT_CODES


def test_every_status_has_a_row() -> None:
    assert {status for status in Status} <= set(EXIT_CODES)


@pytest.mark.parametrize(("outcome", "code"), ROWS, ids=lambda value: getattr(value, "__name__", str(value)))
def test_each_row(outcome: type[BaseException] | Status, code: int) -> None:
    assert exit_code_for(outcome) == code


def _instance(kind: type[BaseException]) -> BaseException:
    return kind("vendor", "message") if issubclass(kind, VendorError) else kind("message")


@pytest.mark.parametrize(
    ("kind", "code"),
    [(kind, code) for kind, code in ROWS if isinstance(kind, type)] + [(RateLimitedError, 3), (ValueError, 70)],
    ids=lambda value: getattr(value, "__name__", str(value)),
)
def test_an_error_s_code_is_its_nearest_listed_type_s(kind: type[BaseException], code: int) -> None:
    error = _instance(kind)
    assert exit_code_for(error) == exit_code_for(kind) == code
    if isinstance(error, ConnectorError):
        assert error.exit_code == code


def test_a_run_report_s_code_comes_from_its_status() -> None:
    started = datetime(2026, 11, 30, tzinfo=UTC)
    identity = LineIdentity("Contoso Ltd", "Backup users", "2026-11", "altaro.billed_users")
    ok = RunReport(None, started, dry_run=False)
    held = RunReport(None, started, dry_run=False, lines=[LineResult(identity, Outcome.HELD)])
    failed = RunReport(None, started, dry_run=False, sources=[SourceOutcome("altaro", "failed")])
    to_fix = RunReport(None, started, dry_run=False, lines=[LineResult(identity, Outcome.FAILED)])
    to_fix.misconfigured.add(identity)
    assert [(r.status, r.exit_code) for r in (ok, held, failed, to_fix)] == [
        (Status.OK, 0),
        (Status.HELD, 5),
        (Status.INCOMPLETE, 3),
        (Status.INVALID, 2),
    ]


@pytest.mark.parametrize(
    ("error", "others", "status"),
    [
        (VendorAuthError("atera", "access denied (401)", status_code=401), [], Status.INVALID),
        (VendorAuthError("atera", "access denied (401)", status_code=401), ["altaro: link expired"], Status.INCOMPLETE),
        (VendorError("atera", "HTTP 503", status_code=503), [], Status.INCOMPLETE),
    ],
)
def test_a_psa_that_refused_the_key_is_configuration_to_fix_unless_something_else_went_wrong(
    error: VendorError, others: list[str], status: Status
) -> None:
    run = RunReport(None, datetime(2026, 11, 30, tzinfo=UTC), dry_run=False)
    run.problems += ["could not read Atera to verify the mapped contracts", *others]
    run.psa_error = error
    assert run.status is status
