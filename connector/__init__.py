"""Backup-billing connector: polls backup vendors, maps usage onto PSA contracts, pushes line items exactly once."""

__version__ = "0.3.0"
