"""What the commands do, as plain functions: they open the store, own its state transitions and their audit; no
typer, no printing. One module per group of commands; each function stays importable as `operations.X`."""

from __future__ import annotations

from connector.operations.check import check
from connector.operations.export_html import export_period
from connector.operations.mapping import (
    classify,
    ignored,
    inclusion,
    onboard_customers,
    plan_mapping_file,
    psa_customers,
    psa_lists,
    recorded_reports,
    vendor_reports,
    writable,
    write_mapping_file,
)
from connector.operations.reconcile import PeriodCheck, Reconciliation, reconcile, reconcile_period
from connector.operations.review import (
    Actor,
    ChangedSinceShown,
    approve,
    approve_lines,
    correction_rows,
    discard,
    discard_lines,
    explain,
    explain_customer,
    review,
    waiting,
)
from connector.operations.run import sync_once
from connector.operations.status import history, status
from connector.operations.usage import fetch_usage

__all__ = [
    "Actor",
    "ChangedSinceShown",
    "PeriodCheck",
    "Reconciliation",
    "approve",
    "approve_lines",
    "check",
    "classify",
    "correction_rows",
    "discard",
    "discard_lines",
    "explain",
    "explain_customer",
    "export_period",
    "fetch_usage",
    "history",
    "ignored",
    "inclusion",
    "onboard_customers",
    "plan_mapping_file",
    "psa_customers",
    "psa_lists",
    "reconcile",
    "reconcile_period",
    "recorded_reports",
    "review",
    "status",
    "sync",
    "vendor_reports",
    "waiting",
    "writable",
    "write_mapping_file",
]

sync = sync_once  # one sync under the store's sync lock: fetch, observe, compute, plan, push
