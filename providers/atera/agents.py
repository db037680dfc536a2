"""Classifying Atera agents as PCs, servers or other devices, the way Remote monitoring contracts count them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from providers.atera.models import AgentDto

# Atera's OSType values; a "Domain Controller" runs a server OS, so it is billed as a server.
SERVER_OS_TYPES = frozenset({"server", "domain controller"})
PC_OS_TYPES = frozenset({"work station", "workstation", "desktop", "laptop"})


class DeviceClass(StrEnum):
    PC = "pc"
    SERVER = "server"
    OTHER = "other"


def classify(agent: AgentDto) -> DeviceClass:
    """Server when its OS type (or OS name) says so, PC for workstations and desktop OSes, otherwise other."""
    os_type = (agent.OSType or agent.DeviceType or "").strip().casefold()
    os_name = (agent.OS or "").casefold()
    if os_type in SERVER_OS_TYPES or "server" in os_name:
        return DeviceClass.SERVER
    if os_type in PC_OS_TYPES or os_name.startswith(("windows", "macos", "mac os")):
        return DeviceClass.PC
    return DeviceClass.OTHER


@dataclass(frozen=True)
class DeviceCounts:
    """Agents of one customer by class; `agents` keeps which ones, so a count can be explained."""

    pc: int
    server: int
    other: int
    agents: dict[str, list[str]]

    @property
    def total(self) -> int:
        return self.pc + self.server + self.other


def count_devices(agents: Iterable[AgentDto], *, monitored_only: bool = True) -> DeviceCounts:
    """Count agents by class; unmonitored agents are left out by default (nothing is managed on them)."""
    named: dict[str, list[str]] = {c.value: [] for c in DeviceClass}
    for agent in agents:
        if monitored_only and not agent.Monitored:
            continue
        named[classify(agent).value].append(agent.MachineName or agent.AgentName or str(agent.AgentID))
    return DeviceCounts(
        pc=len(named[DeviceClass.PC]),
        server=len(named[DeviceClass.SERVER]),
        other=len(named[DeviceClass.OTHER]),
        agents={k: sorted(v) for k, v in named.items()},
    )
