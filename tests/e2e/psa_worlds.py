"""One driver per registered PSA for the end-to-end suite that runs against every PSA (`test_every_psa.py`): what a
person does in that PSA's sandbox by hand (type a quantity on a line, run the invoicing for a period), how a line's
quantity is read back, and the PSA's options for an onboarding template. Everything else the tests do goes through
the connector's own command line, the same for every PSA."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from providers.atera.sandbox import AteraSandbox
from providers.autotask.sandbox import AutotaskSandbox
from providers.autotask.verify import parse_ref as autotask_ref
from providers.connectwise.sandbox import API_PREFIX, ConnectWiseSandbox
from providers.connectwise.verify import parse_ref
from providers.sandbox import Fault, SandboxRequest, SandboxResponse

# Why the PSA refuses a write, in each PSA's own error body (Atera: ProblemDetails; ConnectWise: code and message).
REFUSED = "refused by the test"
JSON = {"Content-Type": "application/json"}

Line = Mapping[str, Any]  # a line of `connector sync --format json`'s report


def period_days(period: str) -> tuple[date, date]:
    """The first and the last day of a month key (`2026-11`)."""
    first = date.fromisoformat(f"{period}-01")
    return first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def next_month(period: str) -> str:
    return (period_days(period)[1] + timedelta(days=1)).strftime("%Y-%m")


class PsaDriver(Protocol):
    """What differs between PSAs in the end-to-end suite, and only that."""

    @property
    def template_options(self) -> str:
        """The PSA's options of an `[[mapping.templates.axcient]]` line billing `axcient.total_gb` ("Online backup
        (per GB)"): the TOML inline table under the PSA's name."""

    def type_quantity(self, sandbox: Any, line: Line, quantity: Decimal) -> None:
        """Someone types `quantity` into the PSA, by hand, on what `line` was pushed to."""

    def quantity(self, sandbox: Any, line: Line) -> Decimal:
        """What the PSA holds now on what `line` was pushed to."""

    def invoice(self, sandbox: Any, period: str) -> None:
        """The PSA's own invoicing run for the month `period`, in arrears: dated the day after it ends."""

    def refuse_next_update(self, sandbox: Any) -> None:
        """The PSA answers the next write of a quantity onto an existing line with a 400 (a refused write)."""

    @property
    def next_period_outcome(self) -> str:
        """What a sync says of a line whose quantity is the same in the next period: "pushed" where the PSA keeps
        one figure with the connector's record of its period (rewritten for each period), "unchanged" where the
        PSA carries the period's units forward itself."""


@dataclass(frozen=True)
class AteraDriver:
    """Atera: a line is a Retainer contract (`contract/<id>`) whose `Quantity` the invoicing run bills."""

    template_options: str = 'atera = { rate_sku = "BFF-GB" }'
    next_period_outcome: str = "pushed"

    @staticmethod
    def _retainer(sandbox: AteraSandbox, line: Line) -> dict[str, Any]:
        ref = str(line["psa_ref"])
        assert ref.startswith("contract/"), ref
        retainer: dict[str, Any] = sandbox.contracts[int(ref.removeprefix("contract/"))]["RetainerFlatFeeContract"]
        return retainer

    def type_quantity(self, sandbox: AteraSandbox, line: Line, quantity: Decimal) -> None:
        self._retainer(sandbox, line)["Quantity"] = float(quantity)

    def quantity(self, sandbox: AteraSandbox, line: Line) -> Decimal:
        return Decimal(str(self._retainer(sandbox, line)["Quantity"]))

    def invoice(self, sandbox: AteraSandbox, period: str) -> None:
        first, last = period_days(period)
        assert sandbox.invoice_retainers(first, last, last + timedelta(days=1))

    def refuse_next_update(self, sandbox: AteraSandbox) -> None:
        body = json.dumps({"title": "Bad Request", "status": 400, "detail": REFUSED}).encode()
        sandbox.inject(Fault(status=400, method="PUT", path_prefix="/api/v3/contracts/", body=body, headers=JSON))


@dataclass(frozen=True)
class ConnectWiseDriver:
    """ConnectWise: a line is an agreement addition (`agreement <id>, addition <id>`); the invoicing run bills the
    agreement, at what its additions hold."""

    template_options: str = 'connectwise = { agreement = "Managed Backup", product = "BKP-ONLINE-GB" }'
    next_period_outcome: str = "pushed"

    @staticmethod
    def _addition(sandbox: ConnectWiseSandbox, line: Line) -> dict[str, Any]:
        ids = parse_ref(str(line["psa_ref"]))
        assert ids is not None, line["psa_ref"]
        agreement, addition = ids
        return sandbox.additions[agreement][addition]

    def type_quantity(self, sandbox: ConnectWiseSandbox, line: Line, quantity: Decimal) -> None:
        self._addition(sandbox, line)["quantity"] = float(quantity)

    def quantity(self, sandbox: ConnectWiseSandbox, line: Line) -> Decimal:
        return Decimal(str(self._addition(sandbox, line)["quantity"]))

    def invoice(self, sandbox: ConnectWiseSandbox, period: str) -> None:
        assert sandbox.invoice_agreements(period_days(period)[1] + timedelta(days=1))

    def refuse_next_update(self, sandbox: ConnectWiseSandbox) -> None:
        body = json.dumps({"code": "InvalidObject", "message": REFUSED}).encode()
        where = f"{API_PREFIX}/finance/agreements/"
        sandbox.inject(Fault(status=400, method="PATCH", path_prefix=where, body=body, headers=JSON))


@dataclass(frozen=True)
class AutotaskDriver:
    """Autotask: a line is the units of a contract service (`contract <id>, service <id>`) in the line's period;
    units change only by adjustments, and the invoicing run posts each period's units as billing items."""

    template_options: str = 'autotask = { contract = "Managed Backup", service = "BKP-ONLINE-GB" }'
    # An adjustment holds from its date on: the next period already bills the same units, so nothing is sent.
    next_period_outcome: str = "unchanged"

    @staticmethod
    def _where(line: Line) -> tuple[int, date]:
        ids = autotask_ref(str(line["psa_ref"]))
        assert ids is not None, line["psa_ref"]
        return ids[1], period_days(str(line["period_key"]))[0]

    def type_quantity(self, sandbox: AutotaskSandbox, line: Line, quantity: Decimal) -> None:
        service, first = self._where(line)
        sandbox.adjust(service, int(quantity) - sandbox.units_on(service, first), first)

    def quantity(self, sandbox: AutotaskSandbox, line: Line) -> Decimal:
        service, first = self._where(line)
        return Decimal(sandbox.units_on(service, first))

    def invoice(self, sandbox: AutotaskSandbox, period: str) -> None:
        first, last = period_days(period)
        assert sandbox.invoice(first, on=last + timedelta(days=1))

    def refuse_next_update(self, sandbox: AutotaskSandbox) -> None:
        # The next adjustment, not the next POST: Autotask's queries are POSTs too.
        refused = [False]

        def refuse(request: SandboxRequest) -> SandboxResponse | None:
            if refused[0] or not request.path.endswith("/ServiceAdjustments"):
                return None
            refused[0] = True
            return SandboxResponse.of_json({"errors": [REFUSED]}, status=500)

        sandbox.before_write = refuse


# By registry name: a PSA registered in providers/__init__.py without a driver here fails the suite by name.
DRIVERS: dict[str, PsaDriver] = {
    "atera": AteraDriver(),
    "connectwise": ConnectWiseDriver(),
    "autotask": AutotaskDriver(),
}


class Webhook:
    """An alert receiver on 127.0.0.1 (apprise's `json://`): keeps every message posted to it."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        received = self.messages

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}/hook"


@contextmanager
def webhook() -> Iterator[Webhook]:
    found = Webhook()
    thread = threading.Thread(target=found.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        found.server.shutdown()
        found.server.server_close()
        thread.join(timeout=5)


def closed_url() -> str:
    """A 127.0.0.1 address nothing listens on (a port just released): a PSA that does not answer."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
