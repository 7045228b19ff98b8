"""The deployment files: deploy/compose.yaml and deploy/systemd/*.service run commands the CLI
has, with options those commands take; the units pass `systemd-analyze verify` when it is
installed, and parse as unit files in any case."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
from pathlib import Path

import click
import pytest
import yaml

from crawler.cli import COMMANDS, cli, load_command

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
GLOBAL_OPTIONS = {opt for param in cli.params for opt in param.opts}


def _check_marsad_argv(argv: list[str], where: str) -> str:
    """*argv* (``marsad [global options] COMMAND [options]``) names a real command and only
    options it (or the group) takes; returns the command."""
    assert argv[0].endswith("marsad"), f"{where}: {argv}"
    args = [a for a in argv[1:] if not a.startswith("$")]  # $VAR: options from the environment
    i = 0
    while args[i].startswith("-"):
        assert args[i] in GLOBAL_OPTIONS, f"{where}: {args[i]} is not a global option"
        i += 2 if args[i] in ("--log-format", "--log-file", "--config", "--db") else 1
    name = args[i]
    assert name in COMMANDS, f"{where}: `marsad {name}` is not a command"
    command = load_command(COMMANDS[name].target)
    rest = args[i + 1 :]
    if isinstance(command, click.Group):
        assert rest and rest[0] in command.commands, f"{where}: {name} {rest}"
        command = command.commands[rest[0]]
        rest = rest[1:]
    known = {opt for param in command.params for opt in param.opts}
    for arg in rest:
        if arg.startswith("-"):
            assert arg.split("=")[0] in known, f"{where}: `marsad {name}` has no option {arg}"
    return name


def test_compose_services_run_commands_the_cli_has() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert {"postgres", "rabbitmq", "migrate", "scheduler", "worker", "web"} <= set(services)
    commands = {
        name: _check_marsad_argv(service["command"], f"compose {name}")
        for name, service in services.items()
        if "command" in service
    }
    assert commands == {
        "migrate": "db", "scheduler": "schedule", "worker": "worker", "web": "web",
    }  # fmt: skip
    assert services["worker"]["deploy"]["replicas"] >= 2
    assert services["scheduler"]["deploy"]["replicas"] == 2  # a leader and a standby
    env = services["worker"]["environment"]
    assert (
        env["MARSAD_BROKER_URL"].startswith("amqp://")
        and "${RABBITMQ_PASSWORD" in env["MARSAD_BROKER_URL"]
    ), "passwords come from the environment, never the file"
    assert "${POSTGRES_PASSWORD" in env["MARSAD_DB_URL"]
    worker = services["worker"]["command"]
    limit = worker[worker.index("--crawl-timeout") + 1]
    assert worker[worker.index("--broker-consumer-timeout") + 1] == "30m" and limit == "25m"
    conf = (DEPLOY / "rabbitmq.conf").read_text(encoding="utf-8")
    assert "consumer_timeout = 1800000" in conf  # 30 min, as the workers are told


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return parser


def test_units_parse_and_run_marsad_commands() -> None:
    names = {path.name for path in UNITS}
    assert names == {"marsad-schedule.service", "marsad-worker@.service", "marsad-web.service"}
    commands = {}
    for path in UNITS:
        unit = _unit(path)
        assert {"Unit", "Service", "Install"} <= set(unit.sections()), path.name
        service = unit["Service"]
        assert service["User"] == "marsad" and service["Restart"] == "on-failure"
        assert "EnvironmentFile" in service  # the URLs (with passwords) come from a root-only file
        argv = shlex.split(service["ExecStart"].replace("%i", "marsad.crawl"))
        commands[path.name] = _check_marsad_argv(argv, path.name)
    assert commands == {
        "marsad-schedule.service": "schedule",
        "marsad-worker@.service": "worker",
        "marsad-web.service": "web",
    }


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    """Verified as installed here: this venv's marsad, no marsad user, the example env file."""
    marsad = shutil.which("marsad") or str(Path(__file__).resolve().parents[1] / ".venv/bin/marsad")
    to_verify = []
    for path in UNITS:
        text = path.read_text(encoding="utf-8")
        text = text.replace("/opt/marsad/.venv/bin/marsad", marsad)
        text = text.replace("/etc/marsad/marsad.env", str(DEPLOY / "marsad.env.example"))
        lines = [ln for ln in text.splitlines() if not ln.startswith(("User=", "Group="))]
        name = path.name.replace("@.service", "@marsad.crawl.service")
        (tmp_path / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
        if "@." in path.name:
            (tmp_path / path.name).write_text("\n".join(lines) + "\n", encoding="utf-8")
        to_verify.append(str(tmp_path / name))
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *to_verify],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert not any(word in report for word in ("Unknown", "Invalid", "Failed", "bad-setting")), (
        report
    )
