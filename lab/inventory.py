"""What the lab holds after a reset: the design's names (prod-web-01 and friends).

Each object is a plain dict keyed by its *target name*, the string the catalogue's target
parameter carries: a VM name, ``namespace/pod``, ``namespace/deployment``, a device name,
a volume name, an instance name. Interfaces live inside their device.

``condition`` is the symptom a target currently has (``None``: healthy). Faults staged for
a demo or an incident replay set it; ``engine.CLEARED_BY`` says which operation clears it.
"""

from __future__ import annotations

import copy
from typing import Any

HOSTS: dict[str, dict[str, Any]] = {
    # The ESXi hosts behind the VMs: capacity for hot-adding memory and vCPUs.
    "esx-01": {"free_memory_gb": 256, "free_cpus": 48, "reachable": True},
    "esx-02": {"free_memory_gb": 64, "free_cpus": 8, "reachable": True},
}

FLAVORS: dict[str, dict[str, int]] = {
    "m1.small": {"vcpus": 1, "ram_gb": 2},
    "m1.medium": {"vcpus": 2, "ram_gb": 4},
    "m1.large": {"vcpus": 4, "ram_gb": 8},
    "m1.xlarge": {"vcpus": 8, "ram_gb": 16},
}


def _vm(host: str, memory_gb: int = 8, cpus: int = 4) -> dict[str, Any]:
    return {
        "kind": "vm",
        "platform": "vmware",
        "host": host,
        "power": "on",
        "tools": "running",
        "memory_gb": memory_gb,
        "cpus": cpus,
        "snapshots": [],
        "restarts": 0,
        "maintenance": False,
        "condition": None,
    }


def _deployment(replicas: int, revision: int, image: str) -> dict[str, Any]:
    return {
        "kind": "deployment",
        "platform": "kubernetes",
        "replicas": replicas,
        "ready_replicas": replicas,
        "revision": revision,
        # revision -> image: what `rollout undo --to-revision` can return to
        "history": {str(r): f"{image}:1.{r}" for r in range(1, revision + 1)},
        "max_replicas": 20,  # the namespace quota
        "maintenance": False,
        "condition": None,
    }


def _pod(deployment: str) -> dict[str, Any]:
    return {
        "kind": "pod",
        "platform": "kubernetes",
        "deployment": deployment,
        "phase": "Running",
        "restarts": 0,
        "generation": 1,
        "maintenance": False,
        "condition": None,
    }


def _device(interfaces: list[str]) -> dict[str, Any]:
    return {
        "kind": "device",
        "platform": "network",
        "reachable": True,
        "maintenance": False,
        "interfaces": {
            name: {
                "admin": "up",
                "oper": "up",
                "errors": 0,
                "bounces": 0,
                "condition": None,
            }
            for name in interfaces
        },
        "condition": None,
    }


def _volume(
    size_gb: int, used_gb: int, snapshot_ages: list[int], attached_to: str | None = None
) -> dict[str, Any]:
    return {
        "kind": "volume",
        "platform": "storage",
        # The VM the volume is attached to: the platform's own word on what belongs to what.
        "attached_to": attached_to,
        "size_gb": size_gb,
        "used_gb": used_gb,
        "online": True,
        "array_free_gb": 8192,
        "snapshots": [
            {"name": f"snap-{age}d", "age_days": age, "size_gb": 20} for age in snapshot_ages
        ],
        "backup_available": True,
        "maintenance": False,
        "condition": None,
    }


def _instance(flavor: str) -> dict[str, Any]:
    return {
        "kind": "instance",
        "platform": "openstack",
        "status": "ACTIVE",
        "flavor": flavor,
        "reboots": 0,
        "quota_vcpus_free": 32,
        "maintenance": False,
        "condition": None,
    }


def default_inventory() -> dict[str, dict[str, Any]]:
    """A fresh copy of the lab's objects, keyed by target name."""
    objects: dict[str, dict[str, Any]] = {}
    for n in range(1, 9):
        objects[f"prod-web-{n:02d}"] = _vm("esx-01")
    objects["prod-db-01"] = _vm("esx-02", memory_gb=32, cpus=8)
    objects["prod-app-01"] = _vm("esx-02")
    objects["default/web"] = _deployment(replicas=3, revision=4, image="registry.lab/web")
    objects["default/api"] = _deployment(replicas=2, revision=7, image="registry.lab/api")
    for pod in ("default/web-7d9f", "default/web-5c4b", "default/web-9a1e"):
        objects[pod] = _pod("default/web")
    for pod in ("default/api-3f2a", "default/api-8b7c"):
        objects[pod] = _pod("default/api")
    for n in range(1, 7):
        objects[f"core-sw-{n:02d}"] = _device(["Gi0/1", "Gi0/2", "Gi0/3", "Gi0/4"])
    objects["vol-data-01"] = _volume(1024, 700, [3, 10, 40, 95, 200], attached_to="prod-db-01")
    objects["vol-data-02"] = _volume(2048, 900, [5, 35, 65])
    objects["vol-logs-01"] = _volume(512, 300, [1, 2, 45], attached_to="prod-app-01")
    for n in range(1, 4):
        objects[f"app-instance-{n:02d}"] = _instance("m1.medium")
    return copy.deepcopy(objects)


def default_hosts() -> dict[str, dict[str, Any]]:
    return copy.deepcopy(HOSTS)
