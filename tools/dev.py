#!/usr/bin/env python3
"""The project's two commands, for a fresh machine with only Python 3.11+.

    python3 tools/dev.py demo    set up .venv if needed, run the main job on the example
    python3 tools/dev.py test    set up .venv if needed, lint, run the whole test suite

The virtual environment ``.venv`` in the repository root is (re)built when it
is missing or when pyproject.toml changed since it was built. Only the standard
library is used here, since nothing else exists yet on a fresh machine.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
STAMP = VENV / ".briefings-install-stamp"
INSTALL_LOG = VENV / "install.log"
DEMO_DIR = ROOT / "build" / "demo"
MIN_PYTHON = (3, 11)
SYSTEM_PACKAGES = {"chromium": "chromium", "minisign": "minisign"}  # package: binary


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def wanted_stamp() -> str:
    digest = hashlib.sha256()
    digest.update((ROOT / "pyproject.toml").read_bytes())
    digest.update(Path(__file__).read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def ensure_venv() -> Path:
    """A .venv with the project installed (editable, with dev extras), current with pyproject."""
    if sys.version_info < MIN_PYTHON:
        sys.exit(
            f"Python {'.'.join(map(str, MIN_PYTHON))}+ is needed; this is {sys.version.split()[0]}."
        )
    stamp = wanted_stamp()
    python = venv_python()
    if python.exists() and STAMP.exists() and STAMP.read_text().strip() == stamp:
        return python
    if not python.exists():
        say(f"Creating virtual environment {VENV.relative_to(ROOT)}")
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    say("Installing the project and its dependencies (log: .venv/install.log)")
    with INSTALL_LOG.open("w") as log:
        for args in (
            ["-m", "pip", "install", "--upgrade", "pip"],
            ["-m", "pip", "install", "-e", f"{ROOT}[dev]"],
        ):
            result = subprocess.run(
                [str(python), *args, "--disable-pip-version-check"],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
            if result.returncode != 0:
                sys.stderr.write(INSTALL_LOG.read_text()[-4000:])
                sys.exit(f"Installing failed (see {INSTALL_LOG}).")
    STAMP.write_text(stamp)
    return python


def run(*args: str | Path, env: dict[str, str] | None = None) -> int:
    return subprocess.run([str(a) for a in args], cwd=ROOT, env=env).returncode


def demo() -> int:
    """The whole job on the bundled example, in build/demo (replaced each time)."""
    python = ensure_venv()
    say(f"Running the pipeline on the example workspace in {DEMO_DIR.relative_to(ROOT)}")
    return run(python, "-m", "briefings", "demo", DEMO_DIR)


def ensure_system_packages() -> None:
    """Debian packages the tests use: Chromium (browser tests), minisign (signature check).

    Installed with apt-get when missing and when this is a Debian-like machine run
    by root (as CI is); elsewhere the tests that need them say so.
    """
    missing = [pkg for pkg, binary in SYSTEM_PACKAGES.items() if shutil.which(binary) is None]
    if not missing:
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        say(
            f"Not installing {', '.join(missing)} (needs apt-get as root); their tests will report it"
        )
        return
    say(f"Installing Debian packages: {', '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.STDOUT, "env": env}
    subprocess.run(["apt-get", "update", "-qq"], check=False, **quiet)
    result = subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=False, **quiet)
    if result.returncode != 0:
        say(f"apt-get could not install {', '.join(missing)}")


def test(pytest_args: list[str]) -> int:
    """Lint, then the whole test suite."""
    python = ensure_venv()
    ensure_system_packages()
    say("ruff check")
    if run(python, "-m", "ruff", "check", ".") != 0:
        return 1
    say("ruff format --check")
    if run(python, "-m", "ruff", "format", "--check", ".") != 0:
        return 1
    say("pytest")
    # Two workers: CI machines have two cores; files stay whole per worker (flow tests
    # share one Prefect harness per file).
    return run(python, "-m", "pytest", "-n", "2", "--dist", "loadfile", *pytest_args)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "setup"}:
        print(__doc__)
        return 2
    if argv[0] == "setup":
        ensure_venv()
        return 0
    if argv[0] == "demo":
        return demo()
    return test(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
