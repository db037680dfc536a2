"""The project's exception types and the one table that maps them to exit codes."""

from __future__ import annotations


class ConnectorError(Exception):
    """Base of every error the connector reports to the operator; the message says what to fix."""

    exit_code = 1


class ConfigError(ConnectorError):
    """Configuration or mapping is invalid: the message names the file, the key and what is expected."""

    exit_code = 2


class StoreBusyError(ConnectorError):
    """Another process holds the state store for a sync."""

    exit_code = 4


class StoreError(ConnectorError):
    """The state store cannot be opened, migrated or written."""

    exit_code = 4


class VendorError(ConnectorError):
    """A vendor API answered with an error or could not be reached after retries."""

    exit_code = 3

    def __init__(self, vendor: str, message: str, *, status_code: int | None = None) -> None:
        super().__init__(f"{vendor}: {message}")
        self.vendor = vendor
        self.status_code = status_code


class VendorAuthError(VendorError):
    """The vendor refused our credentials (or our address): a configuration problem on our side."""

    exit_code = 2


class RateLimitedError(VendorError):
    """The vendor's call budget is spent; the message says when the next call is allowed."""


class DataError(ConnectorError):
    """Vendor data is malformed, truncated or incomplete: nothing from it may be billed."""

    exit_code = 3


class ReviewRequiredError(ConnectorError):
    """Lines are held for an operator's review before they can be pushed."""

    exit_code = 5


def exit_code_for(error: BaseException) -> int:
    """Exit code for any exception: the project's own say theirs, anything unexpected is 70 (EX_SOFTWARE)."""
    if isinstance(error, ConnectorError):
        return error.exit_code
    return 70
