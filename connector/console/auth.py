"""Who may use the console: the configured people with their passwords kept as salted scrypt hashes, the sessions
they sign in to (server-side, expiring, each with its CSRF token), the roles' permissions, and the lockout that
stops guessing (failed sign-ins counted per name and per client address)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from connector.core.errors import ConfigError
from connector.core.secrets import SecretRef
from connector.core.sections import ConsoleUser

# scrypt's cost: about 16 MiB and a few tens of milliseconds a hash, once per person at start and once per sign-in.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "maxmem": 64 * 1024 * 1024, "dklen": 32}
# Failed sign-ins a name (or a client address) may have within the window; then its sign-ins are refused unchecked.
LOCKOUT_FAILURES = 5
LOCKOUT_SECONDS = 15 * 60
# What a role may do besides reading: approve and discard lines, map customers (write the mapping file, onboard).
_PERMISSIONS = {"viewer": frozenset[str](), "approver": frozenset({"approve", "discard", "map"})}


def password_hash(password: str, salt: bytes) -> bytes:
    """The salted scrypt hash of a password (standard library only)."""
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, **_SCRYPT)


@dataclass(frozen=True)
class Person:
    """A configured person: the name the audit records, the role, and the password's hash (never the password)."""

    name: str
    role: str
    salt: bytes = field(repr=False)
    digest: bytes = field(repr=False)

    def may(self, action: str) -> bool:
        return action in _PERMISSIONS.get(self.role, frozenset())


def _read_once(ref: SecretRef, key: str) -> str:
    # A fresh reference: the configured one would remember the value it read last, and only the hash is kept.
    fresh = SecretRef.model_validate(ref.model_dump(exclude_none=True))
    return fresh.secret(key).get_secret_value()


class People:
    """The configured people; a sign-in is checked against the hash in constant time, whoever is named."""

    def __init__(self, users: Iterable[ConsoleUser]) -> None:
        self._by_name: dict[str, Person] = {}
        for index, user in enumerate(users):
            salt = secrets.token_bytes(16)
            password = _read_once(user.password, f"console.users[{index}].password")
            self._by_name[user.name.casefold()] = Person(user.name, user.role, salt, password_hash(password, salt))
        if not self._by_name:
            raise ConfigError(
                "console: no one may sign in: add a [[console.users]] table with name, role (viewer or approver) "
                'and password = { env = "VARIABLE" } or { file = "/path" }'
            )
        # Checked when the name is unknown, so a wrong name takes as long as a wrong password.
        self._nobody = Person("", "viewer", secrets.token_bytes(16), secrets.token_bytes(32))

    def check(self, name: str, password: str) -> Person | None:
        """The person when the password is theirs, else None."""
        person = self._by_name.get(name.strip().casefold())
        candidate = person or self._nobody
        matches = hmac.compare_digest(password_hash(password, candidate.salt), candidate.digest)
        return person if matches else None


@dataclass
class Session:
    """A signed-in person until `expires_at`; its CSRF token goes into every form the person is shown."""

    person: Person
    expires_at: float
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    notices: list[str] = field(default_factory=list)  # told once, on the next page shown (post, redirect, get)

    def csrf_matches(self, given: str) -> bool:
        return hmac.compare_digest(given.encode("utf-8"), self.csrf.encode("utf-8"))


class Sessions:
    """Sessions kept in this process, by a random token the cookie carries; a restart signs everyone out."""

    def __init__(self, minutes: int, now: Callable[[], float]) -> None:
        self.seconds = minutes * 60
        self._now = now
        self._by_token: dict[str, Session] = {}
        self._lock = threading.Lock()

    def start(self, person: Person) -> tuple[str, Session]:
        """A new session (a new token at every sign-in) and its token."""
        token = secrets.token_urlsafe(32)
        session = Session(person, self._now() + self.seconds)
        with self._lock:
            self._drop_expired()
            self._by_token[token] = session
        return token, session

    def get(self, token: str | None) -> Session | None:
        """The session the token names, if it has not expired."""
        if not token:
            return None
        with self._lock:
            self._drop_expired()
            return self._by_token.get(token)

    def end(self, token: str | None) -> None:
        with self._lock:
            self._by_token.pop(token or "", None)

    def _drop_expired(self) -> None:
        now = self._now()
        for token in [t for t, s in self._by_token.items() if s.expires_at <= now]:
            del self._by_token[token]


@dataclass(frozen=True)
class Locked:
    """Sign-ins refused without a password checked: `what` ("name" or "address") had too many failures; until when."""

    what: str
    until: float


@dataclass(frozen=True)
class Attempt:
    """A sign-in let through to the password check, counted as a failure until `Lockout.succeeded` says otherwise."""

    keys: tuple[tuple[str, str], ...]
    at: float


class Lockout:
    """Failed sign-ins per name (any case) and per client address, in this process (as the sessions are): once one of
    them has `failures` within `seconds`, its sign-ins are refused without checking the password until the oldest of
    those failures is `seconds` old.

    An attempt counts as a failure from the moment it is let through to the password check, so guesses sent in
    parallel are counted before any of them is answered: no more than `failures` passwords are ever checked per
    window. A successful sign-in takes its own attempt back and clears the name's failures. What is kept is bounded
    by the passwords checked (scrypt's cost), and dropped once out of the window."""

    def __init__(
        self, now: Callable[[], float], failures: int = LOCKOUT_FAILURES, seconds: float = LOCKOUT_SECONDS
    ) -> None:
        self.failures = failures
        self.seconds = seconds
        self.now = now
        self._times: dict[tuple[str, str], list[float]] = {}
        self._lock = threading.Lock()
        self._swept = now()

    def attempt(self, name: str, address: str) -> Attempt | Locked:
        """Before a password is checked: Locked when the name or the address has had too many failures, else the
        attempt, counted as a failure already."""
        keys = (("name", name.strip().casefold()), ("address", address))
        with self._lock:
            now = self.now()
            self._sweep(now)
            for key in keys:
                times = self._recent(key, now)
                if len(times) >= self.failures:
                    return Locked(key[0], times[0] + self.seconds)
            for key in keys:
                self._times.setdefault(key, []).append(now)
        return Attempt(keys, now)

    def succeeded(self, attempt: Attempt) -> None:
        """The password was right: this attempt is no failure, and the name's earlier failures are forgotten."""
        with self._lock:
            for key in attempt.keys:
                times = self._times.get(key, [])
                if key[0] == "name":
                    times.clear()
                elif attempt.at in times:
                    times.remove(attempt.at)
                if not times:
                    self._times.pop(key, None)

    def _recent(self, key: tuple[str, str], now: float) -> list[float]:
        times = [at for at in self._times.get(key, []) if at > now - self.seconds]
        if times:
            self._times[key] = times
        else:
            self._times.pop(key, None)
        return times

    def _sweep(self, now: float) -> None:
        # Names and addresses nobody tried again are dropped once a minute, so an idle entry is not kept forever.
        if now - self._swept < 60:
            return
        self._swept = now
        for key in list(self._times):
            self._recent(key, now)
