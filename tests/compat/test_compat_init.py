"""``wandb.init`` and ``wandb.Settings`` as the shim offers them."""

from __future__ import annotations

import warnings
from pathlib import Path
from types import ModuleType

import pytest

import labtrack
from labtrack.compat.init import Settings, _mode

# every argument wandb.init documents, with a value a script might pass
DOCUMENTED = dict(
    entity="team-a", project="p", dir="./wandb-files", id=None, name="n1", notes="some notes",
    tags=["a", "b"], config={"lr": 0.1, "secret": 1, "bs": 8}, config_exclude_keys=["secret"],
    config_include_keys=None, allow_val_change=True, group="g", job_type="train",
    mode="online", force=False, anonymous="allow", reinit=True, resume=None,
    resume_from=None, fork_from=None, save_code=True, tensorboard=False,
    sync_tensorboard=False, monitor_gym=False, settings=Settings(start_method="thread"),
)


def test_settings_accept_any_wandb_setting() -> None:
    s = Settings(start_method="thread", _service_wait=30, x_disable_stats=True, console="wrap",
                 init_timeout=90)
    assert s.start_method == "thread" and s["init_timeout"] == 90
    assert s.base_url is None  # unset settings read as None, as wandb's defaults would
    s.update({"mode": "offline"}, run_name="x")
    s.silent = True
    assert s.to_dict()["run_name"] == "x" and len(s) == 8
    assert s.labtrack_overrides() == {"disable_stats": True, "console": "auto",
                                      "mode": "online", "silent": True}
    assert s.init_arguments() == {"name": "x"}
    assert "start_method='thread'" in repr(s)


def test_every_documented_init_argument_is_accepted(store_dir: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    from labtrack.compat.init import init

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = init(**DOCUMENTED)
    run.log({"x": 1.0})
    run.finish()
    assert not (tmp_path / "wandb-files").exists()  # wandb's dir= is not a store
    got = labtrack.Api().run(run.id)
    assert (got.project, got.name, got.entity, got.group, got.job_type) == (
        "p", "n1", "team-a", "g", "train")
    assert got.tags == ["a", "b"] and got.notes == "some notes"
    assert got.config == {"lr": 0.1, "bs": 8}


def test_positional_arguments_follow_wandbs_order(store_dir: Path) -> None:
    from labtrack.compat.init import init

    run = init("team-b", "proj-b")
    run.finish()
    got = labtrack.Api().run(run.id)
    assert (got.entity, got.project) == ("team-b", "proj-b")
    with pytest.raises(TypeError, match="multiple values for argument 'project'"):
        init("team-b", "proj-b", project="other")


def test_settings_object_gives_run_name_id_and_stats_switch(store_dir: Path) -> None:
    from labtrack.compat.init import init

    run = init(project="s", settings=Settings(run_name="from-settings", run_id="abc123",
                                              run_tags=("t1",), x_disable_stats=True))
    assert (run.name, run.id, run.tags) == ("from-settings", "abc123", ("t1",))
    assert run.settings.disable_stats is True
    run.finish()
    run = init(project="s", settings={"run_group": "from-dict", "start_method": "fork"})
    assert run.group == "from-dict"
    run.finish()


def test_offline_mode_is_local_and_indexed_without_a_team_server(store_dir: Path) -> None:
    from labtrack.compat.init import init

    run = init(project="off", mode="offline")
    run.log({"a": 1.0})
    run.finish()
    assert labtrack.Api().run(run.id).summary == {"a": 1.0}
    assert _mode("dryrun") == "online" and _mode("disabled") == "disabled"


def test_offline_mode_stays_offline_with_a_team_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABTRACK_URL", "http://127.0.0.1:9")
    assert _mode("offline") == "offline"
    assert _mode("online") == "online"


def test_wandb_environment_variables_fill_missing_arguments(
        store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from labtrack.compat.init import init

    monkeypatch.setenv("WANDB_PROJECT", "env-proj")
    monkeypatch.setenv("WANDB_NAME", "env-name")
    monkeypatch.setenv("WANDB_TAGS", "x, y")
    monkeypatch.setenv("WANDB_RUN_GROUP", "env-group")
    monkeypatch.setenv("WANDB_ENTITY", "env-team")
    run = init(name="explicit")
    assert (run.project, run.name, run.tags, run.group, run.entity) == (
        "env-proj", "explicit", ("x", "y"), "env-group", "env-team")
    run.finish()
    monkeypatch.setenv("LABTRACK_PROJECT", "labtrack-wins")
    run = init()
    assert run.project == "labtrack-wins"
    run.finish()


def test_wandb_disabled_env_gives_a_no_op_run(store_dir: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from labtrack.compat.init import init

    monkeypatch.setenv("WANDB_DISABLED", "true")
    run = init(project="never")
    run.log({"a": 1})
    run.finish()
    assert getattr(run, "disabled", False)
    assert labtrack.Api().runs() == []


def test_module_level_calls_after_a_disabled_init_do_nothing(shim: ModuleType,
                                                              store_dir: Path) -> None:
    """``wandb.init(mode="disabled")`` then ``wandb.log`` is the usual debug switch."""
    shim.init(mode="disabled")
    shim.log({"loss": 1.0})
    shim.summary["best"] = 1.0
    shim.finish()
    assert labtrack.Api().runs() == []


def test_reinit_return_previous_and_finish_previous(store_dir: Path) -> None:
    from labtrack.compat.init import init

    first = init(project="r")
    assert init(project="r", reinit="return_previous") is first
    second = init(project="r", reinit=True)
    assert second is not first and first.finished
    second.finish()


def test_unsupported_init_flags_warn_naming_the_feature(store_dir: Path) -> None:
    from labtrack.compat.init import init

    with pytest.warns(UserWarning, match=r"sync_tensorboard=True\) is not supported"):
        run = init(project="tb", sync_tensorboard=True)
    run.finish()


def test_wandb_silent_env(store_dir: Path, monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture[str]) -> None:
    from labtrack.compat.init import init

    monkeypatch.delenv("LABTRACK_SILENT")
    monkeypatch.setenv("WANDB_SILENT", "true")
    init(project="quiet").finish()
    assert "labtrack" not in capsys.readouterr().err
