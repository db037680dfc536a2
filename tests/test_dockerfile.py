"""The Dockerfile's promises, checked without a Docker engine: a non-root user, the state on a volume, a health check
that really asks /healthz (run here against the daemon's endpoints), the daemon command the CLI has."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from typer.core import TyperGroup

from connector.cli import app, main
from connector.sync.report import RunReport
from connector.unattended.health import Health, serve
from connector.unattended.metrics import Metrics

REPO = Path(__file__).resolve().parents[1]
STATE = "/var/lib/backup-billing-connector"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined and comments dropped."""
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    found = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(index for index, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


def one(keyword: str) -> str:
    found = [rest for kind, rest in final_stage() if kind == keyword]
    assert len(found) == 1, f"the final stage should have one {keyword}, has {len(found)}"
    return found[0]


def healthcheck_command() -> list[str]:
    rest = one("HEALTHCHECK")
    command = json.loads(rest[rest.index("CMD") + 3 :].strip())
    assert isinstance(command, list)
    return [str(part) for part in command]


def test_the_daemon_runs_as_a_numeric_non_root_user() -> None:
    user = one("USER")
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0 and not user.endswith(":0")
    # The user exists in the image (created before it is used) and owns the state directory.
    stage = final_stage()
    created = next(rest for kind, rest in stage if kind == "RUN" and "useradd" in rest)
    assert f"--uid {uid}" in created and f"install -d -o billing -g billing -m 0700 {STATE}" in created
    assert stage.index(("USER", user)) > stage.index(("RUN", created))


def test_the_state_is_on_a_volume_and_the_configuration_is_mounted() -> None:
    assert json.loads(one("VOLUME")) == [STATE]
    assert one("WORKDIR") == STATE
    env = one("ENV")
    assert "CONNECTOR_CONFIG=/etc/backup-billing-connector/connector.toml" in env
    # Nothing of a store, a configuration or a secret goes into the build context.
    ignored = (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
    rules = [line for line in ignored if line and not line.startswith("#")]
    assert rules[0] == "*" and "**/*.db" in ignored and "**/secrets/" in ignored
    assert "**/connector.toml" in ignored and "**/*.key" in ignored
    for kind, rest in instructions():
        if kind == "COPY" and "--from" not in rest:
            for source in rest.split()[:-1]:
                assert (REPO / source).exists(), f"COPY {source}: no such file in the repository"
                assert f"!{source.rstrip('/')}/" in ignored or f"!{source}" in ignored, f"{source} is ignored"


def test_the_entrypoint_is_the_daemon_command_of_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    entrypoint, cmd = json.loads(one("ENTRYPOINT")), json.loads(one("CMD"))
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert entrypoint[0] in scripts and scripts[entrypoint[0]] == "connector.cli:main"
    group = typer.main.get_command(app)
    assert isinstance(group, TyperGroup)
    assert entrypoint[1:] == ["daemon"] and "daemon" in group.commands
    assert main(["daemon", "--help"]) == 0
    help_text = capsys.readouterr().out
    for option in (part for part in cmd if part.startswith("--")):
        assert option in help_text, f"CMD passes {option}, which `connector daemon` does not take"
    assert one("STOPSIGNAL") == "SIGTERM"  # the daemon finishes its cycle on SIGTERM


def test_the_health_check_needs_no_curl_and_asks_healthz_on_the_exposed_port() -> None:
    command = healthcheck_command()
    assert command[:2] == ["python", "-c"] and "urllib.request" in command[2]
    assert not {"curl", "wget"} & set(shlex.split(" ".join(command)))
    url = re.search(r"http://127\.0\.0\.1:(\d+)/healthz", command[2])
    assert url is not None and one("EXPOSE") == url.group(1)
    options = one("HEALTHCHECK").split("CMD")[0]
    assert "--timeout=" in options and "--start-period=" in options


def _run_check(port: int) -> int:
    code = healthcheck_command()[2].replace("127.0.0.1:9464", f"127.0.0.1:{port}")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30, check=False).returncode


def test_the_health_check_passes_on_200_and_fails_on_503_or_no_answer(tmp_path: Path) -> None:
    health, metrics = Health(tmp_path / "state.db", interval=60), Metrics()
    server = serve("127.0.0.1:0", health, metrics)
    port = int(server.server_address[1])
    try:
        assert _run_check(port) == 0
        health.record(None, RuntimeError("the store is locked"))
        assert _run_check(port) != 0
        health.record(RunReport(run_id=1, started_at=datetime.now(UTC), dry_run=False), None)
        assert _run_check(port) == 0
    finally:
        server.shutdown()
        server.server_close()
        metrics.close()
    assert _run_check(port) != 0  # the daemon gone: nothing answers
