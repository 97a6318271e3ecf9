"""Project hygiene that CI must hold: lint-clean code, and documentation that covers every setting."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import REPO_ROOT

from svd.cli.main import main
from svd.settings import ENVIRONMENT


def test_ruff_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "."], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_readme_documents_every_environment_variable():
    readme = (REPO_ROOT / "README.md").read_text()
    missing = [name for name in ENVIRONMENT if f"`{name}`" not in readme]
    assert missing == []


def test_readme_documents_every_generate_flag(capsys):
    with pytest.raises(SystemExit):
        main(["generate", "--help"])
    flags = set(re.findall(r"(--[a-z][a-z-]+)", capsys.readouterr().out)) - {"--help"}
    readme = (REPO_ROOT / "README.md").read_text()
    assert len(flags) > 10
    assert sorted(flag for flag in flags if f"`{flag}`" not in readme) == []


def test_requirements_are_pinned_to_a_range():
    for file in ("requirements.txt", "requirements-test.txt", "requirements-ray.txt"):
        for line in (REPO_ROOT / file).read_text().splitlines():
            requirement = line.split("#")[0].strip()
            if requirement:
                assert re.search(r">=[\d.]+,<[\d.]+", requirement), f"{file}: {requirement} has no tested range"
