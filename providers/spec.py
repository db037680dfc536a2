"""What a provider declares once: a manifest (name, role, settings, metrics, secrets, line options, read-only views)
naming the one module of factories that builds its parts (source or sink, checks, demo part)."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from pydantic import BaseModel

from connector.core.errors import ConfigError, ConnectorError, ParameterError, Status, VendorAuthError
from connector.core.secrets import SecretRef
from mappings.calendar import Mode

if TYPE_CHECKING:
    from types import ModuleType

    from connector.core.config import Settings
    from connector.core.http import HttpSettings  # httpx and tenacity: loaded by what builds a source, not the registry
    from connector.interfaces.ledger import FetchLedger
    from connector.interfaces.psa import Sink
    from connector.interfaces.usage import UsageReport, UsageSource
    from mappings.customer import CustomerMapping
    from mappings.lines import Line, StoredLine
    from providers.onboarding import Onboarder, VendorContact

Clock = Callable[[], datetime]


S = TypeVar("S", bound=BaseModel)
SandboxT = TypeVar("SandboxT")


@dataclass(frozen=True)
class MetricSpec:
    """A quantity a source measures per vendor customer, named `<provider>.<metric>` in mappings."""

    name: str
    unit: str
    description: str


@dataclass(frozen=True)
class BuildContext:
    """What every source and sink is built with: the HTTP settings, the fetch ledger (the store's, seen through the
    narrow interface a call-rate rule needs), the one clock, the MSP's billing zone (`[billing] timezone`), in
    which a vendor that keys nothing itself (a portal snapshot) keys months, and `[billing] mode`, by which a PSA whose
    invoices name only a date tells which period one bills."""

    http: HttpSettings
    ledger: FetchLedger
    now: Clock = field(default=lambda: datetime.now(UTC))
    timezone: str = "UTC"
    billing_mode: Mode = Mode.ARREARS


@dataclass(frozen=True)
class Param:
    """One argument or option of a view, as plain data; the CLI makes it a command-line parameter.

    `type` is str, int, Path, bool (a flag) or date (given as yyyy-mm-dd); without a `flag` it is a positional
    argument. `CONFIG` and `FORMAT` place the shared --config and --format options among a view's own.
    """

    name: str
    help: str = ""
    type: type[Any] = str
    flag: str | None = None
    required: bool = False


CONFIG = Param("config", flag="--config")
FORMAT = Param("output", flag="--format")


@dataclass(frozen=True)
class Table:
    """Rows for people; `numeric` columns are right-aligned."""

    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    numeric: Sequence[str] = ()


@dataclass(frozen=True)
class ViewInput:
    """What a view runs with: its arguments by name, the configuration (loaded when first asked for), and for a
    usage view what the fetch collected (the usage report, or what the view's `collect` returned).

    `defaults` says no configuration file applies (none named, the default one absent): an offline view may then
    take its provider's section as built from its defaults (`Provider.view_section`) without loading the
    configuration machinery (pydantic-settings, every section, the HTTP stack).
    """

    args: Mapping[str, Any]
    settings: Callable[[], Settings]
    fetched: Any = None
    defaults: bool = False


@dataclass(frozen=True)
class ViewResult:
    """What a view shows: `data` as JSON, or `tables` then `notes` for people; `problems` go to stderr either way.

    The command then ends with `error` raised when there is one, else with `status`.
    """

    data: Any
    tables: Sequence[Table] = ()
    notes: Sequence[str] = ()
    problems: Sequence[str] = ()
    status: Status = Status.OK
    error: ConnectorError | None = None


ViewRun = Callable[[ViewInput], ViewResult]
Collect = Callable[["UsageSource"], "tuple[UsageReport, Any]"]


@dataclass(frozen=True)
class View:
    """A read-only command a provider offers; the CLI builds it from this declaration.

    `group` places it: "usage" is `connector usage <name>` (the CLI fetches the provider's usage through the
    operations first: the report, or what `collect` returns from the built source, while `progress` is shown);
    "provider" is `connector <provider> <name>`; "top" is `connector <name>`. Without `needs_config`, a missing
    default configuration file means the defaults (offline use).

    `run` and `collect` name functions as `module:function` (imported when the command runs, so declaring a view
    loads nothing of what it needs), or are the functions themselves (a vendor declared in one file, a test).
    """

    name: str
    help: str
    run: str | ViewRun
    params: tuple[Param, ...] = (CONFIG, FORMAT)
    group: Literal["usage", "provider", "top"] = "provider"
    progress: str | None = None
    collect: str | Collect | None = None
    needs_config: bool = True

    def runner(self) -> ViewRun:
        """The function that runs this view."""
        run: ViewRun = _function(self.run) if isinstance(self.run, str) else self.run
        return run

    def collector(self) -> Collect | None:
        """What a usage view collects from the built source, when not just the report."""
        collect: Collect | None = _function(self.collect) if isinstance(self.collect, str) else self.collect
        return collect


# What a PSA's invoices say of a pushed line (`Reconciled.status`).
MATCHED = "invoiced as pushed"
DIFFERS = "invoiced differently"
NOT_INVOICED = "not invoiced yet"
RATE_DIFFERS = "invoiced at another rate"


@dataclass(frozen=True)
class Reconciled:
    """One pushed line and what the PSA's invoices say about it.

    `invoice_numbers` are the invoices that bill it; `invoiced_quantity` and `invoiced_amount` what they bill for it
    (or, where a PSA's invoices carry no figure per line, what the PSA holds now); `reason` what the contract says
    now, by the comparison every sync makes (inactive, ended, another rate, edited), or why the invoice differs.
    """

    stored: StoredLine
    status: str
    invoiced_quantity: Decimal | None = None
    invoiced_amount: Decimal | None = None
    invoice_numbers: tuple[int, ...] = ()
    reason: str = ""

    @property
    def line(self) -> Line:
        return self.stored.line

    @property
    def mismatch(self) -> bool:
        return self.status in (DIFFERS, RATE_DIFFERS) or (self.status == NOT_INVOICED and bool(self.reason))


@dataclass(frozen=True)
class Finding:
    """One online check (`connector check --online`): what was checked, and what is wrong with it, if anything.

    `status` is OK, INVALID (configuration to fix: a wrong key, a name the PSA does not know) or INCOMPLETE (the
    vendor could not be asked, so nothing was verified); `suggestion` is the nearest name the vendor knows.
    """

    check: str
    problem: str | None = None
    status: Status = Status.OK
    suggestion: str | None = None
    note: str | None = None  # said beside an ok: what the check did, or what will happen

    @classmethod
    def failed(cls, check: str, error: ConnectorError) -> Finding:
        """An error met while checking: configuration to fix (a wrong setting or key, as the exit table classes them),
        else not verified."""
        status = (
            Status.INVALID if isinstance(error, ConfigError | ParameterError | VendorAuthError) else Status.INCOMPLETE
        )
        return cls(check, str(error), status)


@dataclass(frozen=True)
class DemoKit:
    """What a provider's demo part starts with: the month its sample data is for, and where its secrets go.

    `secret_file(name, value)` writes the value to a 0600 file under the demo directory and returns its path: the
    section points at it with `{ file = "..." }`, so the demo keeps secrets out of the TOML as production does.
    """

    month: str
    secret_file: Callable[[str, str], Path]


@dataclass(frozen=True)
class DemoPart(Generic[SandboxT]):
    """A provider's sandbox, started for `connector demo`, and the configuration section that points at it.

    `config` is the TOML text of the provider's section; `sandbox` is the running server (tests inject faults through
    it) and `stop` stops it. The PSA's part also counts the `writes` it has taken so far and lists the `contracts` it
    now holds (rows with customer, contract, quantity and rate, headed `contracts_title`), read through the
    connector's own client with the demo's settings. `hand_edit` types a quantity into the PSA by hand, as a person
    would, and says what it did: with `--keep-running` the demo syncs once more, so a line waits in review.
    """

    config: str
    url: str
    stop: Callable[[], None]
    sandbox: SandboxT
    writes: Callable[[], int] | None = None
    contracts: Callable[[Settings], list[dict[str, Any]]] | None = None
    contracts_title: str = "Contracts"
    hand_edit: Callable[[], str] | None = None


@dataclass(frozen=True)
class Factories:
    """What builds a provider's parts: the functions of its factories module, each optional.

    A source builds its `build_source`, a PSA its `build_sink`; a PSA reconciles pushed lines against its invoices
    (`reconcile`: section, context, lines, first and last invoice date). `probe` and `resolve` are `check
    --online`'s (see Finding): the credentials tested with the least the vendor allows, and every mapped customer and
    contract found in the PSA. For `connector map`, `customers` lists the PSA's customers as (id, name) and
    `contracts` its active contracts as (customer id, customer name, contract name); for `--create-customers`
    `contacts` gives a source's customer contacts and `onboarder` the PSA's side. `demo` starts its sandbox for
    `connector demo` (see DemoPart).
    """

    build_source: Callable[[Any, BuildContext], UsageSource] | None = None
    build_sink: Callable[[Any, BuildContext], Sink] | None = None
    reconcile: Callable[[Any, BuildContext, list[StoredLine], date, date], Sequence[Reconciled]] | None = None
    probe: Callable[[Any, BuildContext], list[Finding]] | None = None
    resolve: Callable[[Any, BuildContext, Sequence[CustomerMapping]], list[Finding]] | None = None
    customers: Callable[[Any, BuildContext], list[tuple[int, str]]] | None = None
    contracts: Callable[[Any, BuildContext], list[tuple[int, str, str]]] | None = None
    contacts: Callable[[Any, BuildContext], list[VendorContact]] | None = None
    onboarder: Callable[[Any, BuildContext], Onboarder] | None = None
    demo: Callable[[DemoKit], DemoPart[Any]] | None = None

    @classmethod
    def of(cls, module: ModuleType) -> Factories:
        """The factories a module defines, by their names."""
        return cls(**{f.name: getattr(module, f.name) for f in fields(cls) if hasattr(module, f.name)})


@dataclass(frozen=True)
class Provider(Generic[S]):
    """One vendor or PSA, declared once in its own folder and listed in `providers.REGISTRY`.

    The manifest is plain data: a source measures `metrics`; a PSA may declare per-line options (`line_options`)
    that mappings give under its own key. `describe` says what a section is set to, `secrets` names its secrets.
    `views` are its read-only commands (`views_help` heads its own command group); `enable_hint` completes the error
    "[name] enabled = false: …". `factories` names the module whose functions build its parts (see Factories), or
    is the Factories themselves; `load()` imports it, so the registry alone loads no HTTP stack.
    """

    name: str
    role: Literal["source", "psa"]
    settings: type[S]
    summary: str
    describe: Callable[[S], str]
    secrets: Callable[[S], dict[str, SecretRef]]
    metrics: tuple[MetricSpec, ...] = ()
    line_options: type[BaseModel] | None = None
    # Keys of `line_options` that older configurations wrote on the line itself; read from there still.
    legacy_line_keys: tuple[str, ...] = ()
    views: tuple[View, ...] = ()
    views_help: str = ""
    enable_hint: str = "enable it"
    factories: str | Factories = field(default_factory=Factories)
    # How texts name it when its name, capitalised, is not how its maker writes it.
    display_name: str = ""
    # A PSA that bills whole units only: how a line's measured quantity becomes them, from the line's options (the
    # quantity billed, and the words `explain` shows for it). None: the PSA takes the quantity as measured.
    billed_quantity: Callable[[Mapping[str, Any], Decimal], tuple[Decimal, str]] | None = None

    @property
    def title(self) -> str:
        """The provider's name as texts write it."""
        return self.display_name or self.name.capitalize()

    def load(self) -> Factories:
        """What builds this provider's parts, its factories module imported on first use."""
        if isinstance(self.factories, Factories):
            return self.factories
        return Factories.of(importlib.import_module(self.factories))

    def metric(self, name: str) -> MetricSpec | None:
        return next((m for m in self.metrics if m.name == name), None)

    def section(self, settings: Settings) -> S:
        """This provider's section of a whole configuration."""
        value = settings.section(self.name)
        if not isinstance(value, self.settings):
            raise TypeError(f"[{self.name}] is a {type(value).__name__}, not {self.settings.__name__}")
        return value

    def view_section(self, view: ViewInput) -> S:
        """This provider's section for a view: its defaults when no file applies and no environment variable could
        override them (nothing else to read, so nothing of the configuration loads), else from the configuration."""
        # A `CONNECTOR_` variable other than the file's path may override any section's key (matched ignoring case,
        # as the configuration reads the environment).
        overrides = any(k.upper().startswith("CONNECTOR_") and k.upper() != "CONNECTOR_CONFIG" for k in os.environ)
        if view.defaults and not overrides:
            return self.settings()
        return self.section(view.settings())

    def enabled_section(self, settings: Settings) -> S:
        """This provider's section, for a command that talks to it: a disabled one is a configuration error."""
        if not settings.enabled(self.name):
            raise ConfigError(f"[{self.name}] enabled = false: {self.enable_hint}")
        return self.section(settings)


def _function(reference: str) -> Any:
    """A function named `module:function`, its module imported when a command first needs it (each vendor's HTTP
    client, sandbox, parsers), never when the registry is read."""
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)
