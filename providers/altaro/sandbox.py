"""Sandbox Altaro/Hornetsecurity report link: serves a billing report like the CMC does, plus a report generator.

The server answers `GET <link_path>` with the report when `X-API-KEY` matches, refuses addresses off its allow
list, and answers a second call within `window_seconds` with 403 (or 400), as the vendor documents. Tests shorten
the window and inject faults (5xx, dropped connections, cut bodies) through `SandboxServer.inject` and `serve_cut`.

`generate_report` / `write_report` make realistic reports: several customers with commas and quotes in their
names, users on one or two products, user and non-user object types (with spelling and case variations when
`messy`), names repeated within and across customers, duplicate rows, and sizes; they return the billed users the
vendor's rule gives, computed independently of the connector's parser.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import math
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from providers.sandbox import SandboxRequest, SandboxResponse, SandboxServer

DEFAULT_API_KEY = "sandbox-altaro-key-0001"
DEFAULT_LINK_PATH = "/api/billing-report/3f6c2a9e"
HEADER = (
    "Customer Name",
    "Customer ID",
    "Product",
    "Month",
    "Object Type Backed Up",
    "Object Name",
    "Backed Up Size (GB)",
)
PRODUCTS = ("365 Total Backup", "365 Total Protection Enterprise Backup")
USER_TYPES = ("Mailbox", "OneDrive", "User Teams Chats", "N/A")
OTHER_TYPES = ("SharePoint", "Teams", "Group Mailbox", "Public Folder")
_USER_KEYS = frozenset(t.casefold() for t in USER_TYPES)
_COMPANIES = (
    "Contoso Ltd",
    "Fabrikam",
    "Northwind Traders",
    "Smith, Jones & Partners",
    'The "Corner" Bakery',
    "Tailspin Toys",
    "Woodgrove Bank",
    "Adventure Works",
    "Litware Inc",
    "Proseware, Inc.",
)
_FIRST = (  # noqa: SIM905 - a word list reads better than one name per line
    "Jane Ann Ben Carla David Emma Frank Grace Henry Isla Jack Karen Liam Maria Noah "
    "Olivia Paul Quinn Rosa Sam Tara Umar Vera Will Xena Yusuf Zoe Adam Bella Chris"
).split()
_LAST = (  # noqa: SIM905 - a word list reads better than one name per line
    "Doe Smith Jones Brown Taylor Wilson Davies Evans Thomas Johnson Roberts Walker Wright Robinson Thompson "
    "White Hughes Edwards Green Hall Wood Harris Lewis Martin Jackson Clarke Clark Turner Hill Scott"
).split()


@dataclass
class GeneratedReport:
    """What a generated report holds: rows written and, per customer, the billed users by the vendor's rule."""

    rows: int = 0
    billed_users: dict[str, int] = field(default_factory=dict)
    user_names: dict[str, set[str]] = field(default_factory=dict)  # casefolded names, when keep_names


def _messy(kind: str, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.05:
        return kind.upper()
    if roll < 0.10:
        return f" {kind.lower()} "
    return kind


def _user_rows(rng: random.Random, customer: list[str], products: Sequence[str], messy: bool) -> list[list[str]]:
    """One person's rows (`customer` = name, ID, month): one or two products, user object types under each, and
    now and then a duplicate row."""
    name, customer_id, month = customer
    person = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"  # repeats within a customer happen, as in life
    owned = [products[0]] if len(products) == 1 or rng.random() < 0.7 else list(products)
    rows: list[list[str]] = []
    for product in owned:
        kinds = [k for k, p in zip(USER_TYPES[:3], (0.9, 0.7, 0.4), strict=True) if rng.random() < p]
        if not kinds or rng.random() < 0.03:
            kinds.append("N/A")
        for kind in kinds:
            shown = _messy(kind, rng) if messy else kind
            size = f"{rng.uniform(0.01, 50):.2f}"
            rows.append([name, customer_id, product, month, shown, person, size])
            if rng.random() < 0.02:
                rows.append(list(rows[-1]))  # a duplicate row, as exports sometimes carry
    return rows


def _other_rows(rng: random.Random, customer: list[str], product: str, count: int, messy: bool) -> list[list[str]]:
    """`count` rows of non-user object types (`customer` = name, ID, month)."""
    name, customer_id, month = customer
    rows: list[list[str]] = []
    for k in range(count):
        kind = OTHER_TYPES[k % len(OTHER_TYPES)]
        # Non-user objects named like a person must not count as that person.
        label = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}" if k % 3 == 0 else f"{kind} {k + 1}"
        rows.append([name, customer_id, product, month, _messy(kind, rng) if messy else kind, label, "1.00"])
    return rows


def _customer_rows(
    rng: random.Random, name: str, users: int, *, vary: bool, month: str, products: Sequence[str], messy: bool
) -> list[list[str]]:
    """All rows of one customer: about `users` people (exactly, unless `vary`), then non-user objects."""
    customer = [name, f"{rng.getrandbits(128):032x}", month]
    spread = max(1, users // 4)
    count = max(1, users + rng.randint(-spread, spread)) if vary else users
    rows = [row for _ in range(count) for row in _user_rows(rng, customer, products, messy)]
    return rows + _other_rows(rng, customer, products[0], max(1, count // 8), messy)


def generate_rows(
    *,
    customers: int = 5,
    users_per_customer: int = 20,
    seed: int = 0,
    month: str = "2026-11",
    products: Sequence[str] = PRODUCTS,
    messy: bool = True,
    total_rows: int | None = None,
    result: GeneratedReport | None = None,
    keep_names: bool = False,
) -> Iterator[list[str]]:
    """Rows in HEADER order; `result` (if given) is filled with the expected billed users as rows are produced.

    With `total_rows`, customers are generated until exactly that many rows are produced (the last customer may be
    cut short; the expected counts cover the rows actually produced).
    """
    rng = random.Random(seed)
    report = result if result is not None else GeneratedReport()
    limit: float = total_rows if total_rows is not None else math.inf
    vary = total_rows is None  # people per customer vary around users_per_customer, unless rows are counted
    produced = 0
    number = 0
    while total_rows is not None or number < customers:
        name = f"{_COMPANIES[number % len(_COMPANIES)]} {number + 1:04d}"
        users: set[str] = set()
        report.billed_users[name] = 0
        if keep_names:
            report.user_names[name] = users
        for row in _customer_rows(
            rng, name, users_per_customer, vary=vary, month=month, products=products, messy=messy
        ):
            if produced >= limit:
                return
            if row[4].strip().casefold() in _USER_KEYS:
                users.add(row[5].strip().casefold())
                report.billed_users[name] = len(users)
            produced += 1
            report.rows = produced
            yield row
        number += 1
        if produced >= limit:
            return


def write_report(
    target: Path | TextIO,
    *,
    fmt: str = "csv",
    header: Sequence[str] = HEADER,
    line_end: str = "\r\n",
    bom: bool = False,
    **spec: Any,
) -> GeneratedReport:
    """Write a generated report (CSV streamed, or JSON) to a path or text stream; returns what it holds.

    `header` renames the columns (same order); `spec` goes to `generate_rows` (customers, users_per_customer, seed,
    month, products, messy, total_rows, keep_names).
    """
    result = GeneratedReport()
    rows = generate_rows(result=result, **spec)
    with contextlib.ExitStack() as stack:
        if isinstance(target, Path):
            target.parent.mkdir(parents=True, exist_ok=True)
            stream: TextIO = stack.enter_context(target.open("w", encoding="utf-8", newline=""))
        else:
            stream = target
        if bom:
            stream.write("\ufeff")
        if fmt == "json":
            json.dump({"items": [dict(zip(header, row, strict=True)) for row in rows]}, stream, ensure_ascii=False)
        else:
            writer = csv.writer(stream, lineterminator=line_end)
            writer.writerow(header)
            writer.writerows(rows)
    return result


def generate_report_with_counts(**spec: Any) -> tuple[str, GeneratedReport]:
    """A generated report as text (CSV unless fmt="json"; see `write_report` for the options), and what it holds."""
    buffer = io.StringIO(newline="")
    result = write_report(buffer, **spec)
    return buffer.getvalue(), result


def generate_report(**spec: Any) -> str:
    return generate_report_with_counts(**spec)[0]


class AltaroSandbox(SandboxServer):
    """Serves one report at one link path with the vendor's key check, IP allow list and 5-minute rule."""

    def __init__(
        self,
        report: bytes | str | Path | None = None,
        *,
        api_key: str = DEFAULT_API_KEY,
        link_path: str = DEFAULT_LINK_PATH,
        window_seconds: float = 300.0,
        too_soon_status: int = 403,
        allowed_ips: Iterable[str] | None = None,
        content_type: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_ms: float = 0,
    ) -> None:
        super().__init__(host, port, latency_ms=latency_ms)
        self.api_key = api_key
        self.link_path = link_path
        self.window_seconds = window_seconds
        self.too_soon_status = too_soon_status
        self.allowed_ips = set(allowed_ips) if allowed_ips is not None else None
        self.clock = clock
        self._content_type = content_type
        self._report: bytes | Path = b""
        self._cuts: list[int] = []
        self._state = threading.Lock()
        self.last_call: float | None = None
        self.served = 0  # full reports served
        self.refused: list[tuple[int, str]] = []  # (status, why) of every refusal
        self.set_report(report if report is not None else generate_report())

    @property
    def link_url(self) -> str:
        """The whole link, as an MSP pastes it into the configuration."""
        return self.url + self.link_path

    def set_report(self, report: bytes | str | Path, content_type: str | None = None) -> None:
        """Serve another report from the next call on (a Path is read at every call, like a live report)."""
        with self._state:
            self._report = report.encode("utf-8") if isinstance(report, str) else report
            if content_type is not None:
                self._content_type = content_type

    def serve_cut(self, length: int, times: int = 1) -> None:
        """Serve only the first `length` bytes of the report, with a matching Content-Length (a report cut short)."""
        with self._state:
            self._cuts.extend([length] * times)

    def reset_window(self) -> None:
        """Forget the last call, as if five minutes had passed."""
        with self._state:
            self.last_call = None

    def _refuse(self, status: int, why: str) -> SandboxResponse:
        self.refused.append((status, why))
        title = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}.get(status, "Error")
        return SandboxResponse(status, f"{title}: {why}".encode(), {"Content-Type": "text/plain; charset=utf-8"})

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        if request.method != "GET" or request.path != self.link_path:
            return self._refuse(404, "no such report link")
        with self._state:
            if self.allowed_ips is not None and request.client_ip not in self.allowed_ips:
                return self._refuse(403, "requests from this IP address are not allowed for this link")
            if request.header("x-api-key") != self.api_key:
                return self._refuse(401, "missing or invalid API key")
            now = self.clock()
            if self.last_call is not None and now - self.last_call < self.window_seconds:
                return self._refuse(self.too_soon_status, "the API link can be accessed at most once every 5 minutes")
            self.last_call = now
            report = self._report
            cut = self._cuts.pop(0) if self._cuts else None
            declared = self._content_type
        body = report.read_bytes() if isinstance(report, Path) else report
        if cut is not None:
            body = body[:cut]
        self.served += 1
        if not declared:
            json_body = body.lstrip(b"\xef\xbb\xbf").lstrip()[:1] in (b"[", b"{")
            declared = "application/json" if json_body else "text/csv; charset=utf-8"
        return SandboxResponse(200, body, {"Content-Type": declared})


def main(argv: list[str] | None = None) -> None:
    """`python -m providers.altaro.sandbox --port 8094`: serve a report link in the foreground for a demo."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=8094)
    parser.add_argument("--report", type=Path, help="CSV or JSON report to serve (default: a generated one)")
    parser.add_argument("--customers", type=int, default=5, help="customers in the generated report")
    parser.add_argument("--users", type=int, default=20, help="users per customer in the generated report")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--month", default=time.strftime("%Y-%m"))
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--window", type=float, default=300.0, help="seconds a link refuses a second call")
    parser.add_argument("--too-soon-status", type=int, choices=(400, 403), default=403)
    parser.add_argument("--allow-ip", action="append", help="only these client addresses (repeatable)")
    parser.add_argument("--latency-ms", type=float, default=0, help="delay every answer by this many milliseconds")
    args = parser.parse_args(argv)
    report: bytes | str | Path = args.report or generate_report(
        customers=args.customers, users_per_customer=args.users, seed=args.seed, month=args.month
    )
    sandbox = AltaroSandbox(
        report,
        api_key=args.api_key,
        window_seconds=args.window,
        too_soon_status=args.too_soon_status,
        allowed_ips=args.allow_ip,
        port=args.port,
        latency_ms=args.latency_ms,
    )
    print(f"Sandbox Altaro report link on {sandbox.link_url} (X-API-KEY {args.api_key})", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        sandbox.serve_forever()


if __name__ == "__main__":
    main()
