"""Project hygiene that CI must hold: lint-clean code, and documentation that covers every setting."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import pytest
from conftest import REPO_ROOT

from svd.cli.main import build_parser, main
from svd.settings import ENVIRONMENT


def test_ruff_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "."], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_environment_page_documents_every_variable():
    page = (REPO_ROOT / "docs" / "environment.md").read_text()
    missing = [name for name in ENVIRONMENT if f"| `{name}` |" not in page]
    assert missing == []


def test_the_cli_page_documents_every_generate_flag(capsys):
    with pytest.raises(SystemExit):
        main(["generate", "--help"])
    flags = set(re.findall(r"(--[a-z][a-z-]+)", capsys.readouterr().out)) - {"--help"}
    page = (REPO_ROOT / "docs" / "cli.md").read_text()
    assert len(flags) > 10
    assert sorted(flag for flag in flags if f"`{flag}`" not in page) == []


PAGES = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
"""The README and the pages it links to."""


def documented_commands() -> list[tuple[str, list[str]]]:
    """Each `python -m svd ...` line of the README's and docs/'s bash blocks (continued lines joined), as the page it
    is on and its arguments after `svd`."""
    commands = []
    for page in PAGES:
        for block in re.findall(r"```bash\n(.*?)```", page.read_text(), re.DOTALL):
            for line in block.replace("\\\n", " ").splitlines():
                words = shlex.split(line, comments=True)
                at = next(
                    (index for index in range(1, len(words)) if words[index - 1 : index + 1] == ["-m", "svd"]), None
                )
                if at is not None:
                    commands.append((page.name, words[at + 1 :]))
    return commands


def test_every_documented_command_parses(capsys):
    """The examples of `python -m svd` in the README and docs/ name commands and flags that exist, with values of
    the right kind (argparse's own checks; nothing runs)."""
    commands = documented_commands()
    refused = []
    for page, arguments in commands:
        try:
            build_parser().parse_args(arguments)
        except SystemExit:
            refused.append(f"{page}: python -m svd {shlex.join(arguments)}: {capsys.readouterr().err.strip()}")
    assert len(commands) > 20
    assert refused == []


def heading_anchors(text: str) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces made hyphens."""
    headings = re.findall(r"^#+ (.+)$", re.sub(r"```.*?```", "", text, flags=re.DOTALL), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


def test_every_relative_link_of_the_readme_and_docs_resolves():
    """Each link to a file of this repository (a page, a picture, a source file) names one that exists, and a link
    to a heading (`page.md#heading`) names a heading of that page."""
    links, broken = 0, []
    for page in PAGES:
        text = re.sub(r"```.*?```", "", page.read_text(), flags=re.DOTALL)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue  # https:, mailto:
            links += 1
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            if not file.exists():
                broken.append(f"{page.name}: {target} (no such file)")
            elif anchor and file.suffix == ".md" and anchor not in heading_anchors(file.read_text()):
                broken.append(f"{page.name}: {target} (no such heading)")
    assert links > 40
    assert broken == []


def test_requirements_are_pinned_to_a_range():
    for file in ("requirements.txt", "requirements-test.txt", "requirements-ray.txt"):
        for line in (REPO_ROOT / file).read_text().splitlines():
            requirement = line.split("#")[0].strip()
            if requirement:
                assert re.search(r">=[\d.]+,<[\d.]+", requirement), f"{file}: {requirement} has no tested range"
