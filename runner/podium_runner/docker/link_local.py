"""Space containers never reach link-local addresses (169.254.0.0/16), where clouds serve instance
metadata: the host's credentials, to whoever asks from the host's network.

A container's packets to another host pass the host's FORWARD chain, which Docker first sends through
DOCKER-USER, its documented place for an operator's own rules (Docker leaves them as they are, across
restarts of the engine). Podium puts one rule there per spaces network, for its bridge only, marked by
a comment that names the network: `-i <bridge> -d 169.254.0.0/16 -j DROP`. It is checked at every
start, so a rebooted host gets it again, and a rule left for an older bridge of the same network
(removed and made again) is replaced. Where the bridge is not on this host (a remote engine, or Podium
in a container of its own) no rule can be set from here: the caller says so, and the operator blocks
it on the engine's host.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import threading
from pathlib import Path

LINK_LOCAL = "169.254.0.0/16"
CHAIN = "DOCKER-USER"
BRIDGE_NAME_OPTION = "com.docker.network.bridge.name"
MANAGED_LABEL = "org.podium.managed"  # on the networks Podium makes (network.py)

# iptables is found here and runs with nothing else in its environment.
_SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
_changing = threading.Lock()  # two spaces starting at once check and insert one rule


def bridge_of(attrs: dict) -> str:
    """The host interface of a bridge network (inspect data): its chosen name, else Docker's br-<id>."""
    return (attrs.get("Options") or {}).get(BRIDGE_NAME_OPTION) or f"br-{attrs['Id'][:12]}"


def comment_for(network_name: str) -> str:
    """What marks Podium's rule for a network."""
    return f"podium: no link-local from {network_name}"


def block(attrs: dict) -> str | None:
    """Make sure the rule for a network (inspect data) is in place, if Podium made that network: the
    engine's own bridges are the operator's. None when it is, or not Podium's; else why it cannot be."""
    if not (attrs.get("Labels") or {}).get(MANAGED_LABEL):
        return None
    network_name, bridge = attrs["Name"], bridge_of(attrs)
    iptables = shutil.which("iptables", path=_SYSTEM_PATH)
    if iptables is None:
        return "iptables is not installed (Debian: apt-get install iptables)"
    if not Path("/sys/class/net", bridge).exists():
        return f"its bridge {bridge} is not on this host (a remote Docker engine, or Podium in a container)"
    comment = comment_for(network_name)
    rule = ["-i", bridge, "-d", LINK_LOCAL, "-m", "comment", "--comment", comment, "-j", "DROP"]
    with _changing:
        if _iptables(iptables, "-C", CHAIN, *rule).returncode == 0:
            return None
        for line in _iptables(iptables, "-S", CHAIN).stdout.splitlines():
            listed = shlex.split(line)  # -A DOCKER-USER <the rule>
            if rule_comment(listed) == comment:  # this network's rule for a bridge that is gone
                _iptables(iptables, "-D", *listed[1:])
        inserted = _iptables(iptables, "-I", CHAIN, *rule)
    if inserted.returncode != 0:
        return f"iptables -I {CHAIN} failed: {inserted.stderr.strip()}"
    return None


def rule_comment(rule: list[str]) -> str | None:
    """The comment of a rule as `iptables -S` lists it (split), if it has one."""
    return rule[rule.index("--comment") + 1] if "--comment" in rule[:-1] else None


def _iptables(iptables: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([iptables, "-w", *args], capture_output=True, text=True, env={"PATH": _SYSTEM_PATH})
