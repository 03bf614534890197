"""Installs are reproducible: every dependency of pyproject.toml has a pin in the
constraints file that `make setup` and CI install from, and the pin is inside its range."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def pins() -> dict[str, str]:
    text = (ROOT / "requirements" / "constraints.txt").read_text()
    found = re.findall(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", text, flags=re.MULTILINE)
    return {canonicalize_name(name): version for name, version in found}


def test_every_direct_dependency_is_pinned_inside_its_range():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["dev"]
    locked = pins()
    for line in wanted:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not pinned; run `make lock`"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"{name}=={locked[name]} is outside {requirement.specifier}; run `make lock`"
        )
