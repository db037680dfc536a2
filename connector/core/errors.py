"""The project's exception types, how a command ends without one (Status), and the one table from both to exit codes."""

from __future__ import annotations

from enum import StrEnum


class ConnectorError(Exception):
    """Base of every error the connector reports to the operator; the message says what to fix."""

    @property
    def exit_code(self) -> int:
        return exit_code_for(self)


class ConfigError(ConnectorError):
    """Configuration or mapping is invalid: the message names the file, the key and what is expected."""


class ParameterError(ConnectorError):
    """A command-line value is wrong (a range that ends before it starts); `param` names the option."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class StoreBusyError(ConnectorError):
    """Another process holds the state store for a sync."""


class StoreError(ConnectorError):
    """The state store cannot be opened, migrated or written."""


class VendorError(ConnectorError):
    """A vendor API answered with an error or could not be reached after retries."""

    def __init__(self, vendor: str, message: str, *, status_code: int | None = None) -> None:
        super().__init__(f"{vendor}: {message}")
        self.vendor = vendor
        self.status_code = status_code


class VendorAuthError(VendorError):
    """The vendor refused our credentials (or our address): a configuration problem on our side."""


class VendorRefused(VendorError):
    """The vendor answered and refused this one request, with its reasons: it is up, and other requests may pass."""


class RateLimitedError(VendorError):
    """The vendor's call budget is spent; the message says when the next call is allowed."""


class DataError(ConnectorError):
    """Vendor data is malformed, truncated or incomplete: nothing from it may be billed."""


class ClockError(ConnectorError):
    """The machine's clock reads earlier than a run the store already recorded: nothing may be dated by it."""


class ReviewRequiredError(ConnectorError):
    """Lines are held for an operator's review before they can be pushed."""


class Status(StrEnum):
    """How a run or a command ended when it ended without an exception."""

    OK = "ok"
    HELD = "held"  # lines wait for a person's review
    INCOMPLETE = "incomplete"  # something was not billed, or a fetch was not complete
    DIFFERS = "differs"  # the PSA invoiced something other than what was pushed
    INVALID = "invalid"  # the configuration has problems (`check --strict`, a push the PSA refused on the mapping)
    FAILED = "failed"  # something failed that none of the above says
    ABORTED = "aborted"  # the operator interrupted the command


# The one table from how a command ended to its exit code. An exception's code is that of the nearest type in its
# MRO listed here, so a subclass (RateLimitedError) needs a row only when its code differs from its parent's.
EXIT_CODES: dict[type[BaseException] | Status, int] = {
    Status.OK: 0,
    Status.FAILED: 1,
    ConnectorError: 1,
    Status.INVALID: 2,
    ConfigError: 2,
    ParameterError: 2,
    VendorAuthError: 2,
    Status.INCOMPLETE: 3,
    Status.DIFFERS: 3,
    VendorError: 3,
    DataError: 3,
    StoreBusyError: 4,
    StoreError: 4,
    MemoryError: 1,  # a limit to raise, not a bug: the message says which
    Status.HELD: 5,
    ReviewRequiredError: 5,
    BaseException: 70,  # unexpected: a bug (EX_SOFTWARE)
    Status.ABORTED: 130,
    KeyboardInterrupt: 130,
}


def exit_code_for(outcome: BaseException | type[BaseException] | Status) -> int:
    """The exit code of a status, an exception or an exception type, from EXIT_CODES."""
    if isinstance(outcome, Status):
        return EXIT_CODES[outcome]
    kind = outcome if isinstance(outcome, type) else type(outcome)
    return next(EXIT_CODES[base] for base in kind.__mro__ if base in EXIT_CODES)
