"""Customer names compared as people mean them: normalised exact matches and the closest names (rapidfuzz), no I/O."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process, utils

# Legal forms say nothing about which customer it is: "Contoso Ltd" at one vendor is "Contoso" at another.
LEGAL_SUFFIXES = frozenset(
    {
        "ltd", "limited", "inc", "incorporated", "llc", "llp", "lp", "plc", "corp", "corporation", "co", "company",
        "gmbh", "ag", "kg", "ug", "mbh", "sa", "sas", "sarl", "srl", "spa", "bv", "nv", "ab", "as", "oy", "pty",
        "pte", "kk", "sl", "sro", "oü",
    }
)  # fmt: skip
_PUNCTUATION = re.compile(r"[^\w\s]+")
# Below this score a "closest name" is noise, not a hint.
MIN_SCORE = 60.0


def normalise(name: str) -> str:
    """The form two customer names are equal in: case, accents' width forms, punctuation, legal suffixes and
    whitespace ignored ("Northwind Traders, Ltd." is "northwind traders")."""
    text = unicodedata.normalize("NFKC", name).casefold()
    words = _PUNCTUATION.sub(" ", text.replace("&", " and ")).split()
    # Only trailing legal forms go: "Co-op Bank" keeps its first word, "Smith & Co" loses "co".
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    return " ".join(words)


@dataclass(frozen=True)
class Suggestion:
    """A candidate name and how close it is (0 to 100)."""

    name: str
    score: float


def exact(name: str, candidates: Iterable[str]) -> list[str]:
    """The candidates equal to `name` once normalised (more than one means it is ambiguous)."""
    wanted = normalise(name)
    return [candidate for candidate in candidates if wanted and normalise(candidate) == wanted]


def closest(name: str, candidates: Sequence[str], *, limit: int = 3, min_score: float = MIN_SCORE) -> list[Suggestion]:
    """The candidates closest to `name`, best first, each with its score; none under `min_score`."""
    unique = list(dict.fromkeys(candidates))
    if not unique or not normalise(name):
        return []
    found = process.extract(
        normalise(name),
        [normalise(c) for c in unique],
        scorer=fuzz.WRatio,
        processor=utils.default_process,
        limit=limit,
        score_cutoff=min_score,
    )
    return [Suggestion(unique[index], round(float(score), 1)) for _, score, index in found]


def did_you_mean(name: str, candidates: Sequence[str], *, ids: dict[str, str] | None = None) -> str:
    """A hint for a message naming `name`: ` (did you mean 'X' (id 9003) or 'Y'?)`, or "" when nothing is close."""
    near = [s.name for s in closest(name, [c for c in candidates if c != name])]
    if not near:
        return ""
    named = [f"{n!r}" + (f" (id {ids[n]})" if ids and n in ids else "") for n in near]
    return f" (did you mean {' or '.join(named)}?)"
