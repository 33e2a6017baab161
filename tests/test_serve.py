"""``briefings serve``: deployments built from ``[schedules]``, and ``prefect.yaml``.

Deployments are built, never served: building one needs no Prefect server.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import flows  # noqa: F401  (quiet Prefect defaults before prefect is imported)
from briefings.config import ScheduleSettings
from briefings.errors import ConfigError
from flows.serve import WAIT, build_deployments, plan_schedules

ROOT = Path(__file__).resolve().parent.parent


def by_name(deployments) -> dict:
    return {d.name: d for d in deployments}


def test_default_schedules_ingest_and_tag_together_then_draft_translate_publish(make_workspace):
    workspace = make_workspace()
    deployments = by_name(build_deployments(workspace))

    assert list(deployments) == ["ingest", "draft", "translate", "publish"]
    crons = {name: d.schedules[0].schedule.cron for name, d in deployments.items()}
    assert crons == {
        "ingest": "*/30 * * * *",
        "draft": "0 * * * *",
        "translate": "15 * * * *",
        "publish": "30 * * * *",
    }
    root = str(workspace.root)
    assert deployments["ingest"].parameters == {
        "workspace_root": root,
        "stages": ["ingest", "tag"],
        "wait": 0.0,
    }
    assert deployments["publish"].parameters == {
        "workspace_root": root,
        "stages": ["publish"],
        "wait": WAIT,
    }
    for deployment in deployments.values():
        assert deployment.entrypoint == "flows.pipeline.pipeline_flow"
        assert deployment.schedules[0].schedule.timezone == "UTC"
        assert deployment.flow_name == "run-pipeline"


def test_schedules_from_briefings_toml_with_a_timezone_and_one_turned_off(make_workspace):
    workspace = make_workspace(
        """
[schedules]
timezone = "Europe/Brussels"
ingest = "*/10 * * * *"
tag = "5 * * * *"
translate = ""
publish = "0  6-18 * * 1-5"
"""
    )
    deployments = by_name(build_deployments(workspace))

    assert list(deployments) == ["ingest", "tag", "draft", "publish"]
    assert deployments["ingest"].parameters["stages"] == ["ingest"]  # tag has its own schedule
    assert deployments["tag"].parameters["stages"] == ["tag"]
    assert deployments["publish"].schedules[0].schedule.cron == "0 6-18 * * 1-5"
    assert {d.schedules[0].schedule.timezone for d in deployments.values()} == {"Europe/Brussels"}


def test_bad_cron_and_timezone_are_named_by_their_keys(make_workspace):
    with pytest.raises(ConfigError) as caught:
        make_workspace('[schedules]\ntimezone = "Mars/Olympus"\ndraft = "every hour"\n')
    keys = sorted(key for key, _ in caught.value.problems)
    assert keys == ["schedules.draft", "schedules.timezone"]


def test_prefect_yaml_declares_the_default_schedules():
    """prefect.yaml (for work pools) and ``[schedules]``' defaults say the same thing."""
    document = yaml.safe_load((ROOT / "prefect.yaml").read_text("utf-8"))
    declared = {
        d["name"]: (
            d["schedules"][0]["cron"],
            tuple(d["parameters"]["stages"]),
            float(d["parameters"]["wait"]),
            d["entrypoint"],
        )
        for d in document["deployments"]
    }
    planned = {
        run.name: (run.cron, run.stages, run.wait, "flows/pipeline.py:pipeline_flow")
        for run in plan_schedules(ScheduleSettings())
    }
    assert declared == planned
    entry_file, _, function = next(iter(declared.values()))[3].partition(":")
    assert f"def {function}(" in (ROOT / entry_file).read_text("utf-8")
