#!/usr/bin/env python3
"""The project's two commands, for a fresh machine with only Python 3.11+.

    python3 tools/dev.py demo    set up .venv if needed, run the main job on the example
    python3 tools/dev.py test    set up .venv if needed, lint, run the whole test suite

The virtual environment ``.venv`` in the repository root is (re)built when it
is missing or when pyproject.toml changed since it was built. Only the standard
library is used here, since nothing else exists yet on a fresh machine.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import venv
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
STAMP = VENV / ".briefings-install-stamp"
INSTALL_LOG = VENV / "install.log"
DEMO_DIR = ROOT / "build" / "demo"
MIN_PYTHON = (3, 11)
SYSTEM_PACKAGES = {"chromium": "chromium", "minisign": "minisign"}  # package: binary
POSTGRES_URL_VAR = "BRIEFINGS_TEST_POSTGRES_URL"  # read by tests/conftest.py


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


def postgres_bindir() -> Path | None:
    """The newest Debian PostgreSQL's binaries (initdb, pg_ctl), installed if missing and root."""

    def newest() -> Path | None:
        found = sorted(
            glob.glob("/usr/lib/postgresql/*/bin/initdb"),
            key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
        )
        return Path(found[-1]).parent if found else None

    if newest() is None and shutil.which("apt-get") and os.geteuid() == 0:
        say("Installing Debian package: postgresql")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.STDOUT, "env": env}
        subprocess.run(["apt-get", "update", "-qq"], check=False, **quiet)
        subprocess.run(["apt-get", "install", "-y", "-qq", "postgresql"], check=False, **quiet)
    return newest()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def postgres_server() -> Iterator[str | None]:
    """A throwaway PostgreSQL server on 127.0.0.1 for the tests; yields its URL, or None.

    initdb into a temporary folder, start on a free port, create a database, and stop
    and remove it all afterwards. PostgreSQL refuses to run as root, so as root (CI)
    the server runs as the ``postgres`` user the Debian package creates.
    """
    bindir = postgres_bindir()
    if bindir is None:
        say("No PostgreSQL server (needs apt-get as root); its tests will report it")
        yield None
        return
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
    base = Path(tempfile.mkdtemp(prefix="briefings-postgres-"))
    data, log = base / "data", base / "server.log"
    port = free_port()
    url = f"postgresql://briefings@127.0.0.1:{port}/briefings_test"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.STDOUT}

    def pg(binary: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*as_user, str(bindir / binary), *args], check=False, cwd=base, **quiet
        )

    started = False
    try:
        if as_user:
            shutil.chown(base, "postgres", "postgres")
        # Throwaway data: no fsync, so the suite's many small transactions stay fast.
        options = (
            f"-h 127.0.0.1 -p {port} -k {base} -c fsync=off -c synchronous_commit=off"
            " -c full_page_writes=off -c max_connections=300"
        )
        steps = [
            ("initdb", "-D", str(data), "-U", "briefings", "--auth=trust", "-E", "UTF8",
             "--locale=C"),
            ("pg_ctl", "-D", str(data), "-l", str(log), "-o", options, "-w", "start"),
            ("createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "briefings", "briefings_test"),
        ]  # fmt: skip
        for binary, *args in steps:
            if pg(binary, *args).returncode != 0:
                tail = log.read_text()[-2000:] if log.exists() else ""
                say(f"PostgreSQL did not start ({binary} failed){': ' + tail if tail else ''}")
                yield None
                return
            started = started or binary == "pg_ctl"
        say(f"PostgreSQL {bindir.parent.name} on 127.0.0.1:{port} for the store tests")
        yield url
    finally:
        if started:
            pg("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


def test(pytest_args: list[str]) -> int:
    """Lint, then the whole test suite (the store's tests on SQLite and on PostgreSQL)."""
    python = ensure_venv()
    ensure_system_packages()
    say("ruff check")
    if run(python, "-m", "ruff", "check", ".") != 0:
        return 1
    say("ruff format --check")
    if run(python, "-m", "ruff", "format", "--check", ".") != 0:
        return 1
    with postgres_server() as url:
        env = dict(os.environ)
        if url:
            env[POSTGRES_URL_VAR] = url
        say("pytest")
        # Two workers: CI machines have two cores; files stay whole per worker (flow tests
        # share one Prefect harness per file).
        return run(python, "-m", "pytest", "-n", "2", "--dist", "loadfile", *pytest_args, env=env)


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
