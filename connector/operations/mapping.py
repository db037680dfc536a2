"""`connector map`: every vendor customer against the PSA's customers, the unmatched ones onboarded in the PSA
(`--create-customers`), and the accepted matches written to a mapping file (`--write`).

The command asks and prints; what is read, created and written happens here. Onboarding asks the command once, with
the plan (`decide`), before it creates anything.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import providers
from connector.core.config import Settings
from connector.core.errors import ConfigError, StoreBusyError
from connector.interfaces.usage import CustomerUsage, UsageReport
from connector.mapping import mapfile, mapper, onboard
from connector.mapping.mapper import MapItem, MapResult, PsaRef
from connector.operations.review import Actor
from connector.operations.usage import fetch_usage
from connector.store import Store
from mappings.templates import MappingSettings

CONFIRMED = "onboard_confirmed"  # audited when a person (the console's) confirms an onboarding plan
WRITTEN = "mapping_file_written"  # audited when a person (the console's) writes the mapping file


def vendor_reports(settings: Settings) -> tuple[dict[str, UsageReport], list[str]]:
    """Each enabled source's usage, fetched through the ledger (a report link called too soon answers from the last
    stored report), and why a source gave none."""
    reports: dict[str, UsageReport] = {}
    problems: list[str] = []
    for provider in providers.sources():
        if not settings.enabled(provider.name):
            continue
        try:
            reports[provider.name] = fetch_usage(settings, provider.name)
        except ConfigError:
            raise
        except Exception as error:  # one vendor down must not hide the other vendors' customers
            problems.append(f"{provider.name}: {error}")
    return reports, problems


def recorded_reports(settings: Settings) -> tuple[dict[str, UsageReport], list[str]]:
    """Each enabled source's customers as the store last recorded them (`Observations.customers_seen`: the last sync,
    or the last read of `vendor_reports`), no vendor called; each report's `observed_at` is when. What `classify`
    reads of a report (the names, and the vendor's id where a mapping names a customer by id: the name its latest line
    was measured from, else the mapping's name) is there, not the usage. A source never recorded is a problem."""
    reports: dict[str, UsageReport] = {}
    problems: list[str] = []
    with Store.open(settings.store.path) as store:
        by_id = [
            (customer, source, ref)
            for customer in settings.customers
            for source, ref in customer.vendors.items()
            if ref.id is not None
        ]
        measured = store.outbox.measured_from([customer.psa_customer for customer, _, _ in by_id]) if by_id else {}
        for provider in providers.sources():
            if not settings.enabled(provider.name):
                continue
            at, names = store.observations.customers_seen(provider.name)
            if at is None:
                problems.append(f"{provider.name}: no customer list recorded yet: refresh from the vendors")
                continue
            ids: dict[str, str] = {}
            for customer, source, ref in by_id:
                if source == provider.name and ref.id is not None:
                    name = measured.get((customer.psa_customer, source)) or ref.customer
                    ids.setdefault(name.casefold(), ref.id)
            customers = [CustomerUsage(provider.name, name, "", vendor_id=ids.get(name.casefold())) for name in names]
            reports[provider.name] = UsageReport(provider.name, at, customers)
    return reports, problems


def psa_lists(settings: Settings) -> tuple[list[PsaRef], list[tuple[int, str, str]]]:
    """The PSA's customers and its active contracts (customer id, customer name, contract), read through its
    provider: what `classify` compares the vendor customers with."""
    with Store.open(settings.store.path) as store:
        return mapper.psa_customers(settings, store), mapper.psa_contracts(settings, store)


def psa_customers(settings: Settings) -> list[PsaRef]:
    """The PSA's customers, read through its provider."""
    with Store.open(settings.store.path) as store:
        return mapper.psa_customers(settings, store)


def classify(
    settings: Settings,
    reports: dict[str, UsageReport],
    problems: list[str],
    psa: tuple[list[PsaRef], list[tuple[int, str, str]]] | None = None,
) -> MapResult:
    """Every vendor customer by kind, the PSA customers with backup contracts no vendor customer maps to, and the
    sources that could not be read (`problems`). `psa`: the PSA's customers and contracts as `psa_lists` read them
    (read now when not given)."""
    customers, contracts = psa if psa is not None else psa_lists(settings)
    result = mapper.map_customers(settings, reports, customers)
    result.psa_only = mapper.psa_only(settings, result, contracts)
    result.problems += problems
    return result


def onboard_customers(
    settings: Settings,
    result: MapResult,
    chosen: Sequence[str],
    *,
    decide: Callable[[onboard.Onboarding], bool],
    stopped: Callable[[], None] = lambda: None,
    actor: Actor | None = None,
) -> onboard.Onboarding:
    """Plan the onboarding of the chosen vendor customers (every unmatched one when none is named), then create it
    when `decide(plan)` says so. `stopped` is told when creating stopped part-way (before the error is raised). An
    `actor` (the console's person) is recorded in the audit as the one who confirmed each plan, before it is made."""
    with Store.open(settings.store.path) as store:
        onboarding = onboard.plan(settings, result, chosen, store)
        try:
            if decide(onboarding):
                if actor is not None:
                    for ready in onboarding.ready:
                        confirmed = {"vendors": [list(v) for v in ready.customer.vendors], **actor.details()}
                        store.runs.audit(CONFIRMED, ready.customer.name, confirmed)
                _execute(onboarding, store, stopped)
        finally:
            onboarding.onboarder.close()
    return onboarding


def _execute(onboarding: onboard.Onboarding, store: Store, stopped: Callable[[], None]) -> None:
    try:
        onboard.execute(onboarding, store)
    except StoreBusyError as error:
        raise StoreBusyError(f"--create-customers: nothing was created: {error}") from None
    except Exception:
        # Nothing made is lost: each create is in the audit, and a rerun finds it before creating anything.
        stopped()
        raise


def ignored(result: MapResult, names: Sequence[str], unmatched: bool) -> list[MapItem]:
    """The vendor customers `--ignore` names (by name or id) and, with `--ignore-unmatched`, every unmatched one."""
    wanted = {name.casefold() for name in names}
    chosen = [
        item
        for item in result.items
        if item.kind != "mapped"
        and ((unmatched and item.kind == "unmatched") or {item.vendor.name.casefold(), item.vendor.id} & wanted)
    ]
    if missing := wanted - {n for item in chosen for n in (item.vendor.name.casefold(), item.vendor.id)}:
        raise ConfigError(f"--ignore {sorted(missing)[0]}: no such vendor customer left to map")
    return chosen


def writable(path: Path, config_path: Path, *, force: bool) -> mapfile.Held:
    """What the mapping file holds; refused when it is the main configuration, or (without `force`) a file new
    blocks cannot be added to."""
    if path.resolve() == config_path.resolve():
        # The user's own file keeps its comments and order: never rewritten.
        raise ConfigError(f"--write {path}: that is the main configuration; name a separate mapping file")
    return mapfile.read(path, force=force)


@dataclass(frozen=True)
class MappingFile:
    """What `--write` would write: the rendered file, and the matches left out (a block in `where` maps their PSA
    customer already)."""

    path: Path
    rendered: mapfile.Rendered
    skipped: list[tuple[MapItem, Path]]
    unchanged: bool  # the file holds every mapping already: nothing is written


def plan_mapping_file(
    path: Path,
    chosen: list[MapItem],
    taken: list[str],
    ignored: list[MapItem],
    templates: MappingSettings,
    config_path: Path,
    *,
    created: frozenset[int] = frozenset(),
    force: bool = False,
    reason: str = mapfile.IGNORE_REASON,
) -> MappingFile:
    """The mapping file with the blocks and ignores it lacks added, from what it holds now; `reason` is why the
    `ignored` are (the console's person's words; `connector map --ignore` writes the fixed one)."""
    held = writable(path, config_path, force=force)  # read again: what the file holds now is what is kept
    rendered = mapfile.render(chosen, taken, templates, ignored, created, held, reason)
    skipped = []
    for item in rendered.skipped:
        assert item.psa is not None
        skipped.append((item, path if held.names_psa(item.psa) else config_path))
    unchanged = path.exists() and not rendered.blocks and not rendered.ignores and bool(held.text)
    return MappingFile(path, rendered, skipped, unchanged)


def write_mapping_file(
    planned: MappingFile, settings: Settings | None = None, *, actor: Actor | None = None, note: str = ""
) -> Path | None:
    """Write the planned file whole; the copy of what it held before, if it held anything. With an `actor` (the
    console's person) the write is recorded in the audit of `settings`' store: who, through what, and `note` (what
    was chosen, and why)."""
    if actor is not None and settings is None:
        raise ValueError("an actor's write is audited: pass the settings whose store records it")
    backup = mapfile.write(planned.path, planned.rendered.text)
    if actor is not None and settings is not None:
        rendered = planned.rendered
        details = {"blocks": rendered.blocks, "ignores": rendered.ignores, "note": note, **actor.details()}
        with Store.open(settings.store.path) as store:
            store.runs.audit(WRITTEN, str(planned.path), details)
    return backup


def inclusion(path: Path, config_path: Path) -> str:
    """Whether the main configuration includes the file already, and how to include it if not."""
    included = mapfile.included(config_path)
    if path.resolve() in included:
        return f"{config_path} already includes it: the next sync bills them"
    relative = path.name if path.parent.resolve() == config_path.parent.resolve() else str(path)
    if included:
        # A second [mappings] table would not load: the file joins the list the existing one names.
        names = [p.name if p.parent == config_path.parent.resolve() else str(p) for p in included]
        listed = ", ".join(json.dumps(n) for n in [*names, relative])
        return f"include it from {config_path} by changing its [mappings] table to\n  [mappings]\n  files = [{listed}]"
    return f'include it from {config_path} with\n  [mappings]\n  file = "{relative}"'
