"""`[console]` and `connector console`: loopback unless allowed, people with a role and a password from a secret
(kept hashed), and the command that serves it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from connector.cli import main
from connector.console import address, create_app
from connector.console import mapping as console_mapping
from connector.console.auth import People, Person
from connector.core.errors import ConfigError, ParameterError, exit_code_for
from connector.wiring import settings_from_data

ADA = {"name": "Ada", "role": "viewer", "password": {"env": "CONSOLE_ADA_PASSWORD"}}


def test_a_person_is_read_from_the_configuration_with_a_password_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONSOLE_ADA_PASSWORD", "correct horse")
    settings = settings_from_data({"console": {"users": [ADA]}})
    assert settings.console.listen is None and settings.console.session_minutes == 480
    people = People(settings.console.users)
    person = people.check("ada", "correct horse")  # a name in any case
    assert person is not None and (person.name, person.role) == ("Ada", "viewer")
    assert not person.may("approve") and people.check("Ada", "wrong") is None
    assert "correct horse" not in repr(person) and "correct horse" not in repr(vars(people))
    assert settings.console.users[0].password._last is None  # the configured reference kept no copy of it


@pytest.mark.parametrize("listen", ["0.0.0.0:8765", "192.168.1.5:8765", "console.example:80"])
def test_an_address_other_machines_reach_needs_the_explicit_opt_in(listen: str) -> None:
    with pytest.raises(ConfigError, match="not a loopback address; set allow_non_loopback = true"):
        settings_from_data({"console": {"listen": listen}})
    allowed = settings_from_data({"console": {"listen": listen, "allow_non_loopback": True}})
    assert address(allowed)[1] == int(listen.rsplit(":", 1)[1])


def test_the_command_s_listen_needs_the_same_opt_in() -> None:
    settings = settings_from_data({})
    assert address(settings) == ("127.0.0.1", 8765)
    assert address(settings, "[::1]:9000") == ("::1", 9000)
    with pytest.raises(ParameterError, match="not a loopback address"):
        address(settings, "0.0.0.0:8765")
    with pytest.raises(ParameterError, match="expected host:port"):
        address(settings, "127.0.0.1:http")


@pytest.mark.parametrize(
    ("console", "message"),
    [
        ({"users": [ADA, {**ADA, "name": "ADA"}]}, "'ada' is given twice"),
        ({"users": [{**ADA, "role": "admin"}]}, "console.users[0].role: Input should be 'viewer' or 'approver'"),
        ({"users": [{"name": "Ada", "role": "viewer"}]}, "console.users[0].password: Field required"),
        ({"session_minutes": 0}, "console.session_minutes: Input should be greater than or equal to 1"),
    ],
)
def test_a_wrong_console_section_is_named(console: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        settings_from_data({"console": console})


def test_no_console_starts_without_a_person_or_without_their_password(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"no one may sign in: add a \[\[console.users\]\]"):
        create_app(settings_from_data({}))
    monkeypatch.delenv("CONSOLE_ADA_PASSWORD", raising=False)
    unset = "console.users[0].password: environment variable CONSOLE_ADA_PASSWORD is not set"
    with pytest.raises(ConfigError, match=re.escape(unset)):
        create_app(settings_from_data({"console": {"users": [ADA]}}))


def test_connector_console_serves_the_configured_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONSOLE_ADA_PASSWORD", "correct horse")
    config = tmp_path / "connector.toml"
    config.write_text(
        '[store]\npath = "state.db"\n\n[console]\nlisten = "127.0.0.1:18765"\n\n[[console.users]]\nname = "Ada"\n'
        'role = "viewer"\npassword = { env = "CONSOLE_ADA_PASSWORD" }\n'
    )
    served: list[tuple[str, int]] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self: served.append((self.config.host, self.config.port)))
    assert main(["console", "--config", str(config)]) == 0
    assert main(["console", "--config", str(config), "--listen", "localhost:18766"]) == 0
    assert served == [("127.0.0.1", 18765), ("localhost", 18766)]
    assert main(["console", "--config", str(config), "--listen", "0.0.0.0:80"]) == exit_code_for(ParameterError)
    assert "allow_non_loopback" in capsys.readouterr().err and len(served) == 2


def test_roles_name_what_they_may_do_and_mapping_checks_map() -> None:
    viewer, approver = (Person(name, role, b"", b"") for name, role in (("Ada", "viewer"), ("Bob", "approver")))
    assert [approver.may(action) for action in ("approve", "discard", "map")] == [True, True, True]
    assert [viewer.may(action) for action in ("approve", "discard", "map")] == [False, False, False]
    assert console_mapping.PERMISSION == "map"
