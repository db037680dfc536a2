"""Counting a large CSV report file in parts, one process per CPU, with the answer one process would give.

The file is cut after line breaks into shares of its bytes, near equal but for a smaller first one. This process
reads the header and counts the first part; a forked worker counts each other part with the same columns and rules.
Merged in the file's order, the tallies give the one-pass count, because what a part cannot know alone is settled
when it is merged:

- a row identical to one in an earlier part (exports repeat rows): this process sends the fingerprints of the rows
  counted before, and the worker takes back what its copies added (a size, a blank), since each fingerprint keeps
  that (`ReportTally.fingerprints`); they then count as duplicates, as in one pass.
- anything else a part cannot settle: a malformed row, a bad size (reported with its line in the report, which a
  worker does not know), a cut that fell inside a quoted field running over a line break (the part before it ends
  in an unterminated quote). The whole file is then counted again in one pass, which gives the count, or the error
  with its line, exactly as it would have without parts.

Only files of at least `MIN_PART_BYTES` per part are cut, where processes can be forked; anything else (JSON, a
small file, Windows) is counted in one pass.
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import io
import math
import multiprocessing
import os
import pickle
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TextIO

from connector.errors import DataError
from connector.heap import fewer_collections
from providers.altaro.counts import SAMPLE_SIZE, Group
from providers.altaro.parser import ColumnIndex, read_csv, read_csv_part
from providers.altaro.rules import BillingRules, ReportTally
from providers.altaro.settings import AltaroSettings

MIN_PART_BYTES = 16 * 1024 * 1024  # below this a worker costs more than it saves
MAX_PARTS = 8
DEFAULT_JOBS = 4  # each worker holds its part's counts: more CPUs than this add memory more than speed
BLOCK = 1024 * 1024
# The first part, counted by this process, against each other one: this process lists its rows' fingerprints for the
# worker once it has counted (a tenth of its count), so it gets a tenth less to count and the two finish together.
FIRST_SHARE = 0.9
CGROUP = Path("/sys/fs/cgroup")

NewTally = Callable[[], ReportTally]  # an empty tally with the count's rules and sample size
Identity = tuple[str, str, str]  # customer key, Month and Customer ID, as the tally's fingerprints are kept


@dataclass(frozen=True)
class Part:
    """Bytes `start` to `end` of the file."""

    start: int
    end: int


def available_cpus(cgroup: Path = CGROUP) -> int:
    """The CPUs this process may use: those it may run on (a taskset), or fewer when its container's CPU quota
    allows fewer (Docker's `--cpus`), not the machine's count."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    quota = _cpu_quota(cgroup)
    return max(1, min(cpus, math.ceil(quota))) if quota else cpus


def _cpu_quota(cgroup: Path) -> float | None:
    """The CPUs a cgroup's quota allows (v2 `cpu.max`, v1 `cpu.cfs_quota_us` over `cpu.cfs_period_us`); None when
    unlimited or not readable."""
    try:
        quota, period = (cgroup / "cpu.max").read_text().split()[:2]  # "max 100000" or "150000 100000"
    except (OSError, ValueError):
        try:
            quota = (cgroup / "cpu" / "cpu.cfs_quota_us").read_text().strip()  # -1: unlimited
            period = (cgroup / "cpu" / "cpu.cfs_period_us").read_text().strip()
        except OSError:
            return None
    try:
        allowed, per = int(quota), int(period)
    except ValueError:  # "max"
        return None
    return allowed / per if allowed > 0 and per > 0 else None


def cut(path: Path, parts: int, min_part_bytes: int = MIN_PART_BYTES) -> list[Part]:
    """The file in up to `parts` shares, each cut just after a line break (the whole file as one part when it is too
    small for two): the first a little smaller (`FIRST_SHARE`), the others near-equal."""
    size = path.stat().st_size
    parts = min(parts, MAX_PARTS, size // max(min_part_bytes, 1))
    shares = FIRST_SHARE + parts - 1
    starts = [0]
    with path.open("rb") as file:
        for share in range(1, parts):
            file.seek(max(int(size * (FIRST_SHARE + share - 1) / shares), starts[-1]))
            file.readline()  # to the end of the line the share ends in
            if (at := file.tell()) < size:
                starts.append(at)
    return [Part(start, end) for start, end in zip(starts, [*starts[1:], size], strict=True)]


class _Bytes(io.RawIOBase):
    """Bytes `start` to `end` of a file, as a stream."""

    def __init__(self, path: Path, part: Part) -> None:
        super().__init__()
        self._file = path.open("rb")
        self._file.seek(part.start)
        self._left = part.end - part.start

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        read = self._file.readinto(memoryview(buffer)[: self._left])
        self._left -= read
        return read

    def close(self) -> None:
        self._file.close()
        super().close()


def open_part(path: Path, part: Part) -> TextIO:
    """A part of the file as text (UTF-8; the file's byte-order mark is skipped)."""
    if part.start == 0:  # skipped here: "utf-8-sig" would, but decodes in Python, more slowly
        with path.open("rb") as head:
            part = Part(len(codecs.BOM_UTF8) if head.read(3) == codecs.BOM_UTF8 else 0, part.end)
    raw: io.RawIOBase
    if part.end >= path.stat().st_size:
        # To the end of the file: a plain file, which the text layer reads faster (it checks a file's `closed` flag
        # in C, a Python stream's by a call, on every line).
        raw = io.FileIO(path)
        raw.seek(part.start)
    else:
        raw = _Bytes(path, part)
    return io.TextIOWrapper(io.BufferedReader(raw, BLOCK), "utf-8", newline="")


def count_csv_file(
    path: Path,
    settings: AltaroSettings,
    processes: int,
    min_part_bytes: int = MIN_PART_BYTES,
    *,
    sample_size: int = SAMPLE_SIZE,
) -> ReportTally:
    """The tally of a CSV report file, counted in up to `processes` parts of at least `min_part_bytes` at once;
    the same as one pass gives. `sample_size` names of billed objects are kept per customer (0 when nothing shows
    them).

    The tally is for reading counts from (`ReportTally.customers`), not for merging into another: it does not keep
    every row's fingerprint.
    """
    tally = functools.partial(ReportTally, BillingRules.from_settings(settings), sample_size=sample_size)
    # Nearly every object the count makes lives until the end: a full collection (the exchange's unpickling sets off
    # one) would walk them all for nothing, a tenth of the count in the worker.
    with fewer_collections():
        return _count_csv_file(path, settings, processes, min_part_bytes, tally)


def _count_csv_file(
    path: Path, settings: AltaroSettings, processes: int, min_part_bytes: int, new_tally: NewTally
) -> ReportTally:
    parts = cut(path, processes, min_part_bytes) if "fork" in multiprocessing.get_all_start_methods() else []
    tally = _in_parts(path, settings, parts, new_tally) if len(parts) > 1 else None
    # Counted again in one pass, which says what is wrong and where, as it would without parts. Only here, once every
    # worker has ended and the partial count is gone: after a worker ran out of memory, the one pass needs it all.
    return _one_pass(path, settings, new_tally) if tally is None else tally


def _in_parts(path: Path, settings: AltaroSettings, parts: list[Part], new_tally: NewTally) -> ReportTally | None:
    """The tally of the parts merged, or None when a part cannot be settled alone (see the module's docstring)."""
    with open_part(path, parts[0]) as stream:
        rows = read_csv(stream, settings.columns, settings.distinct_key_column, where=str(path))
        workers = [_Worker(path, part, rows.columns, new_tally) for part in parts[1:]]
        try:
            tally = new_tally().add(rows)
            for worker in workers:
                worker.merge_into(tally, more_to_come=worker is not workers[-1])
        except (DataError, _PartFailed):
            return None
        finally:
            for worker in workers:
                worker.stop()
    return tally


def _one_pass(path: Path, settings: AltaroSettings, new_tally: NewTally) -> ReportTally:
    with open_part(path, Part(0, path.stat().st_size)) as stream:
        rows = read_csv(stream, settings.columns, settings.distinct_key_column, where=str(path))
        return new_tally().add(rows)


class _PartFailed(Exception):
    """A worker ended without a tally (an error in its part, or it died)."""


@dataclass
class _Repeats:
    """What the rows of a part that repeat rows of earlier parts added to their customer's counts, to take back."""

    rows: int = 0
    blanks: int = 0
    sizes: dict[str, Decimal] = field(default_factory=dict)  # product -> GB


class _Worker:
    """A forked process counting one part of the file; `merge_into` takes its count, `stop` ends it either way.

    The exchange, once both have counted: the worker pickles its tally without fingerprints and without samples of
    names, while this process lists the fingerprints of the rows of the parts before and sends them, with which of
    its groups already hold a full sample; the worker sends its pickled tally and the samples of the other groups (a
    merged group shows the first names, so a later part's would never be shown: leaving them out makes the tally a
    third of the size to pickle and read), then finds its repeated rows while this process merges the tally, and
    sends what those rows added and, when more parts follow, its own fingerprints.
    """

    def __init__(self, path: Path, part: Part, columns: ColumnIndex, new_tally: NewTally) -> None:
        context = multiprocessing.get_context("fork")
        self.part = part
        self._up, up = context.Pipe(duplex=False)  # worker -> here
        down, self._down = context.Pipe(duplex=False)  # here -> worker
        self._process = context.Process(target=_work, args=(up, down, path, part, columns, new_tally), daemon=True)
        self._process.start()
        up.close()  # the worker holds its ends: its exit ends the pipe
        down.close()

    def merge_into(self, tally: ReportTally, *, more_to_come: bool) -> None:
        """Add the part's count to `tally`, which holds every part before it."""
        earlier = {identity: array("q", rows).tobytes() for identity, rows in tally.fingerprints.items()}
        if not more_to_come:
            tally.fingerprints = {}  # the worker finds the last part's repeats: memory back before its tally comes
        full = [key for key, group in tally.groups.items() if group.sample_full]
        with contextlib.suppress(OSError):  # the worker has ended: `_receive` says why
            self._down.send((earlier, full, more_to_come))
        del earlier
        pickled, samples = self._receive()
        counted: ReportTally = pickle.loads(pickled)
        for key, sample in samples.items():
            counted.groups[key].sample = sample
        if any(group.bad_size_count for group in counted.groups.values()):
            # A bad size is reported with its line in the report, which a worker does not know.
            raise _PartFailed("a bad size: counted in one pass")
        tally.merge(counted)  # while the worker finds its repeated rows
        _take_back(tally, self._receive())
        if more_to_come:  # the next part's repeats are found among this one's rows too
            for identity, rows in self._receive().items():
                tally.fingerprints.setdefault(identity, {}).update(dict.fromkeys(array("q", rows)))

    def _receive(self) -> Any:
        try:
            message = self._up.recv()
        except EOFError as error:
            raise _PartFailed(f"the worker counting bytes {self.part.start}-{self.part.end} ended") from error
        if isinstance(message, str):
            raise _PartFailed(message)
        return message

    def stop(self) -> None:
        self._up.close()
        self._down.close()
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()


def _take_back(tally: ReportTally, repeats: dict[Identity, _Repeats]) -> None:
    """Take repeated rows' additions back from their customer and month: from the first of its groups (its
    spellings are added together when counts are read, so which one does not matter)."""
    groups: dict[Identity, Group] = {}
    for group in tally.groups.values():
        groups.setdefault((group.key, group.month, group.customer_id), group)
    for identity, taken in repeats.items():
        group = groups[identity]
        group.duplicates += taken.rows
        group.blank -= taken.blanks
        for product, size in taken.sizes.items():
            group.size_by_product[product] = group.size_by_product.get(product, Decimal(0)) - size


def _work(up: Connection, down: Connection, path: Path, part: Part, columns: ColumnIndex, new_tally: NewTally) -> None:
    """In the worker: count the part and take part in the exchange `_Worker` describes. A failure at any point (a
    malformed row, memory running out) is sent as its message, never printed: the parent then counts in one pass,
    which reports it properly, and its message is the only one the operator reads."""
    try:
        _count_part(up, down, path, part, columns, new_tally)
    except Exception as error:
        # The parent may have stopped listening, or memory is too short to send: the pipe's end then says it.
        with contextlib.suppress(Exception):
            up.send(f"{type(error).__name__}: {error}")


def _count_part(
    up: Connection, down: Connection, path: Path, part: Part, columns: ColumnIndex, new_tally: NewTally
) -> None:
    with open_part(path, part) as stream:
        tally = new_tally().add(read_csv_part(stream, columns, where=str(path)), whole=False)
    counted, tally.fingerprints = tally.fingerprints, {}
    samples = {key: group.sample for key, group in tally.groups.items()}
    for group in tally.groups.values():
        group.sample = {}
    pickled = pickle.dumps(tally, pickle.HIGHEST_PROTOCOL)  # while the parent lists its fingerprints
    earlier, full, more_to_come = down.recv()
    for key in full:
        samples.pop(key, None)
    up.send((pickled, samples))
    del pickled, samples  # sent: the memory is the repeats' to use
    up.send(_repeats(tally, counted, earlier))
    if more_to_come:
        up.send({identity: array("q", rows).tobytes() for identity, rows in counted.items()})


def _repeats(
    tally: ReportTally, counted: dict[Identity, dict[int, Any]], earlier: dict[Identity, bytes]
) -> dict[Identity, _Repeats]:
    """What this part's rows that earlier parts counted added, by customer."""
    found: dict[Identity, _Repeats] = {}
    for identity, fingerprints in earlier.items():
        mine = counted.get(identity)
        if not mine:
            continue
        repeated = list(filter(mine.__contains__, array("q", fingerprints)))  # each once: they are dict keys there
        if not repeated:
            continue
        taken = found[identity] = _Repeats(rows=len(repeated))
        for row in repeated:
            added = mine[row]
            taken.blanks += row in tally.blank_rows
            if added is not None:
                size, product = added
                gb = Decimal(size).scaleb(-2) if isinstance(size, int) else size
                taken.sizes[product] = taken.sizes.get(product, Decimal(0)) + gb
    return found
