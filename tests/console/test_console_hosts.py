"""The console answers only under the names it is served as (issue 23): the listen address, this machine's own names
and `[console] hosts`; any other Host header (a DNS rebinding: another site's name made to resolve here) gets 400,
before any page, with the security headers, from `create_app`, `connector console`'s server and the daemon's."""

from __future__ import annotations

import logging
import warnings
from typing import Any

import pytest

from connector.console import create_app
from connector.console.server import server
from connector.console.web import CONTENT_SECURITY_POLICY, host_name
from connector.core.errors import ConfigError
from connector.wiring import settings_from_data

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

ADA = {"name": "Ada", "role": "viewer", "password": {"env": "CONSOLE_HOSTS_ADA_PASSWORD"}}


@pytest.fixture(autouse=True)
def password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSOLE_HOSTS_ADA_PASSWORD", "correct horse")


def answers(app: Any, host: str) -> Any:
    with TestClient(app, base_url="http://127.0.0.1:8765", follow_redirects=False) as client:
        return client.get("/signin", headers={"host": host})


def console(**section: Any) -> Any:
    return create_app(settings_from_data({"console": {"users": [ADA], **section}}))


@pytest.mark.parametrize(
    "host", ["127.0.0.1:8765", "localhost:8765", "LOCALHOST", "127.0.0.1:9999", "[::1]:8765", "billing.example.net",
             "Billing.Example.NET:443"],
)  # fmt: skip
def test_the_listen_address_this_machine_s_names_and_the_configured_ones_are_served(host: str) -> None:
    answer = answers(console(hosts=["billing.example.net"]), host)
    assert answer.status_code == 200 and 'name="password"' in answer.text


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8765", "127.0.0.1.evil.example", "localhost.evil.example", "testserver",
             "billing.example.net.evil.example", "", "[::1", "10.0.0.5:8765"],
)  # fmt: skip
def test_any_other_host_is_refused_before_any_page(host: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        answer = answers(console(hosts=["billing.example.net"]), host)
    assert answer.status_code == 400 and "not served under the name" in answer.text
    assert "password" not in answer.text and "console_signin" not in answer.headers.get("set-cookie", "")
    assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "refused a request for host" in caplog.text


def test_served_on_every_address_an_ip_is_accepted_but_no_other_name() -> None:
    app = console(listen="0.0.0.0:8765", allow_non_loopback=True)
    assert answers(app, "10.0.0.5:8765").status_code == 200
    assert answers(app, "[fd00::5]:8765").status_code == 200
    assert answers(app, "console.evil.example:8765").status_code == 400


def test_connector_console_s_server_serves_under_its_listen_address() -> None:
    settings = settings_from_data({"console": {"users": [ADA], "allow_non_loopback": True}})
    app = server(settings, "192.168.1.5:8765").config.app
    assert answers(app, "192.168.1.5:8765").status_code == 200
    assert answers(app, "localhost:8765").status_code == 200
    assert answers(app, "rebound.evil.example:8765").status_code == 400
    assert answers(server(settings).config.app, "192.168.1.5:8765").status_code == 400  # served on 127.0.0.1


@pytest.mark.parametrize("host", ["https://billing.example.net", "billing.example.net:443", "billing/x", "*", ""])
def test_a_configured_host_is_a_name_alone(host: str) -> None:
    with pytest.raises(ConfigError, match=r"console\.hosts: .* is not a host name"):
        settings_from_data({"console": {"hosts": [host]}})


def test_a_host_header_s_name() -> None:
    assert [host_name(h) for h in ("Example.NET:8765", "example.net", "[::1]:80", "[::1]", "a:b", "")] == [
        "example.net",
        "example.net",
        "::1",
        "::1",
        "a:b",
        "",
    ]
