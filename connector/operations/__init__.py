"""What the commands do, as plain functions: they open the store, own its state transitions and their audit; no
typer, no printing. One module per group of commands; each function stays importable as `operations.X`."""

from __future__ import annotations

from connector.operations.check import CheckSummary, check, check_online, online_status
from connector.operations.export_file import export_period
from connector.operations.mapping import (
    MappingFile,
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
    known_customer,
    review,
    waiting,
)
from connector.operations.run import sync_once
from connector.operations.status import StatusSummary, history, status, summarise
from connector.operations.usage import fetch_usage

__all__ = [
    "Actor",
    "ChangedSinceShown",
    "CheckSummary",
    "MappingFile",
    "PeriodCheck",
    "Reconciliation",
    "StatusSummary",
    "approve",
    "approve_lines",
    "check",
    "check_online",
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
    "known_customer",
    "onboard_customers",
    "online_status",
    "plan_mapping_file",
    "psa_customers",
    "psa_lists",
    "reconcile",
    "reconcile_period",
    "recorded_reports",
    "review",
    "status",
    "summarise",
    "sync",
    "vendor_reports",
    "waiting",
    "writable",
    "write_mapping_file",
]

sync = sync_once  # one sync under the store's sync lock: fetch, observe, compute, plan, push
