"""No library the project runs phones home.

- ``argostranslate.translate`` imports minisbd, which loads ONNX Runtime, and ONNX
  Runtime (1.29 and later) sends usage events to Microsoft from Linux too, keeping a
  device id and an event queue under ``~/.cache/Microsoft`` and a session file in the
  temporary folder. The project sets its documented opt-out before it imports
  argostranslate (:func:`briefings.translation.argos.opt_out_of_telemetry`).
- Prefect's SDK sends usage events (Amplitude) unless ``DO_NOT_TRACK`` is set or the
  server it talks to has analytics off; the flows set ``DO_NOT_TRACK``.

Each check runs in a fresh process whose home, cache and temporary folders are the
test's own, without the opt-outs (the test session sets them itself, conftest.py) and
without the variables that tell these libraries they run on a CI service (they keep
quiet there by themselves), and looks for what the library does or leaves behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# ONNX Runtime and Prefect keep quiet where one of these says a CI service runs them
# (the names are in their code): left out, so the children behave as on an officer's
# machine. With the opt-outs themselves.
LEFT_OUT = frozenset({
    "CI", "APPVEYOR", "BITBUCKET_BUILD_NUMBER", "BITBUCKET_COMMIT", "BUDDY", "BUILDKITE",
    "CI_NAME", "CIRCLECI", "CODEBUILD_BUILD_ID", "DRONE", "GITHUB_ACTIONS", "GITLAB_CI",
    "JENKINS_URL", "SEMAPHORE", "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI", "TEAMCITY_VERSION",
    "TF_BUILD", "TRAVIS",
    "ORT_DISABLE_TELEMETRY", "DO_NOT_TRACK",
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
    env = {k: v for k, v in os.environ.items() if k not in LEFT_OUT}
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


def test_the_argos_adapter_loads_onnx_runtime_without_telemetry(tmp_path: Path) -> None:
    # "True": ONNX Runtime was loaded (were it no longer, this test would need rethinking).
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
        "import sys\n"
        "from tools.argos_models.package import installed_translation\n"
        "try:\n"
        "    installed_translation(__import__('pathlib').Path('missing.argosmodel'), 'x')\n"
        "except Exception:\n"
        "    pass\n"
        "print('onnxruntime' in sys.modules)\n"
    )
    assert run_python(code, tmp_path) == "True"
    assert traces(tmp_path) == []


def test_prefect_flows_run_with_prefects_analytics_off(tmp_path: Path) -> None:
    # Importing the flows applies the project's Prefect defaults (flows/settings.py);
    # Prefect's SDK then neither queues events nor writes its device id, whether or not
    # a Prefect server of the user's (PREFECT_API_URL) has analytics on.
    code = (
        "import flows\n"
        "from prefect._internal.analytics import is_telemetry_enabled\n"
        "print(is_telemetry_enabled())\n"
    )
    assert run_python(code, tmp_path, PREFECT_API_URL="http://127.0.0.1:9/api") == "False"
