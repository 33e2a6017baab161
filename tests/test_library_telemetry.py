"""Loading Argos Translate leaves no telemetry trace: ``argostranslate.translate``
imports minisbd, which loads ONNX Runtime, and ONNX Runtime (1.29 and later) sends
usage events to Microsoft from Linux too, keeping a device id and an event queue under
``~/.cache/Microsoft`` and a session file in the temporary folder. The project sets the
documented opt-out before it imports argostranslate
(:func:`briefings.translation.argos.opt_out_of_telemetry`).

Each check runs in a fresh process whose home, cache and temporary folders are the
test's own, without the opt-out the test session itself sets (conftest.py) and without
the variables that tell ONNX Runtime it runs on a CI service, and looks for what ONNX
Runtime leaves behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# ONNX Runtime keeps quiet where one of these says a CI service runs it (the names are
# in its library): left out, so the children behave as on an officer's machine.
CI_MARKERS = frozenset({
    "CI", "APPVEYOR", "BITBUCKET_BUILD_NUMBER", "BUILDKITE", "CIRCLECI", "CODEBUILD_BUILD_ID",
    "GITHUB_ACTIONS", "GITLAB_CI", "JENKINS_URL", "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI",
    "TEAMCITY_VERSION", "TF_BUILD", "TRAVIS",
})  # fmt: skip

LOAD_THROUGH_THE_ADAPTER = """
import sys
from pathlib import Path
from briefings.translation.argos import ArgosDirs, argos_package
with argos_package(ArgosDirs(packages=Path("packages"), home=Path("argos"))):
    import argostranslate.translate  # minisbd, then ONNX Runtime
print("onnxruntime" in sys.modules)
"""


def traces(folder: Path) -> list[str]:
    """What ONNX Runtime's telemetry writes: its device id, event queue, session file."""
    names = {"deviceid", "onnxruntime.db", ".ses"}
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.name in names)


def run_python(code: str, folder: Path, **extra: str) -> str:
    env = {
        k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY" and k not in CI_MARKERS
    }
    for name in ("HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "TMPDIR"):
        env[name] = str(folder / name.lower())
        (folder / name.lower()).mkdir()
    env.update(extra, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True, text=True, cwd=folder, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


@pytest.fixture(scope="module", autouse=True)
def needs_onnxruntime() -> None:
    pytest.importorskip("minisbd", reason="argostranslate.translate loads no ONNX Runtime")


def test_the_argos_adapter_loads_onnx_runtime_without_telemetry(tmp_path: Path) -> None:
    assert run_python(LOAD_THROUGH_THE_ADAPTER, tmp_path) == "True"
    assert traces(tmp_path) == []


def test_a_telemetry_setting_the_user_chose_is_kept(tmp_path: Path) -> None:
    # Also the control: the same load with ONNX Runtime's telemetry switched on leaves
    # its traces, so finding none above means the opt-out worked.
    assert run_python(LOAD_THROUGH_THE_ADAPTER, tmp_path, ORT_DISABLE_TELEMETRY="0") == "True"
    assert "xdg_cache_home/Microsoft/DeveloperTools/.onnxruntime/deviceid" in traces(tmp_path)


def test_the_model_builders_install_check_runs_without_telemetry(tmp_path: Path) -> None:
    # tools.argos_models check_install's child imports argostranslate.translate.
    code = (
        "import os, sys\n"
        "from tools.argos_models.package import installed_translation\n"
        "try:\n"
        "    installed_translation(__import__('pathlib').Path('missing.argosmodel'), 'x')\n"
        "except Exception:\n"
        "    pass\n"
        "print('onnxruntime' in sys.modules)\n"
    )
    assert run_python(code, tmp_path) == "True"
    assert traces(tmp_path) == []
