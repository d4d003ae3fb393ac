"""``./dev`` checks the system prerequisites before anything fails, and CI walks the README's path."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _fake_tools(folder: Path, *, root_apt: bool) -> dict[str, str]:
    """A PATH where the dynamic linker knows no library and apt-get only writes down what it was asked."""
    folder.mkdir()
    (folder / "ldconfig").write_text("#!/bin/sh\nexit 0\n")
    (folder / "apt-get").write_text(f'#!/bin/sh\necho "$@" >> "{folder}/apt.log"\nexit 0\n')
    for tool in folder.iterdir():
        tool.chmod(0o755)
    if not root_apt:
        (folder / "apt-get").unlink()
    return {**os.environ, "PATH": f"{folder}:{os.environ['PATH']}"}


def test_check_installs_missing_packages_with_apt_then_names_what_is_still_missing(tmp_path):
    env = _fake_tools(tmp_path / "bin", root_apt=os.geteuid() == 0)
    done = subprocess.run(
        ["bash", str(ROOT / "dev"), "check", "test"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    # It says exactly which Debian packages to install, and why, before anything else runs.
    assert "libpango-1.0-0: WeasyPrint" in done.stderr
    assert "sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0" in done.stderr
    if os.geteuid() == 0:  # as root it tried to install them first
        log = (tmp_path / "bin" / "apt.log").read_text()
        assert "install -y -qq --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0" in log


def test_check_passes_when_everything_is_there():
    done = subprocess.run(
        ["bash", str(ROOT / "dev"), "check", "test"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "in place" in done.stdout


def test_ci_runs_the_readme_test_command_first_and_installs_no_fonts_or_pdf_tools():
    script = (ROOT / ".ci" / "run").read_text()
    steps = re.search(r"^STEPS=\((.*)\)$", script, re.M)
    assert steps is not None
    assert steps.group(1).split()[0] == "step_sqlite"
    first = re.search(r"^step_sqlite\(\) \{\n(.*?)^\}", script, re.M | re.S).group(1)
    assert "./dev test\n" in first and "apt-get" not in first
    for package in ("fonts-noto-cjk", "poppler-utils"):
        assert package not in script
