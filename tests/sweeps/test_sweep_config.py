"""Loading and validating W&B sweep configs."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from labtrack.errors import ConfigError
from labtrack.sweeps import check_program, load_sweep_config

YAML = """
name: my-sweep
description: tune the model
project: demo
entity: me
program: train.py
method: bayes
run_cap: 20
metric:
  name: val_loss
  goal: minimize
  target: 0.05
early_terminate:
  type: hyperband
  min_iter: 3
parameters:
  lr:
    distribution: log_uniform_values
    min: 1e-5
    max: 1e-1
  batch_size:
    values: [16, 32, 64]
  epochs:
    value: 10
  optimizer:
    parameters:
      name:
        values: [adam, sgd]
      momentum:
        min: 0.5
        max: 0.99
"""


def base(**extra: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "method": "random",
        "metric": {"name": "loss"},
        "parameters": {"lr": {"min": 0.001, "max": 0.1}},
    }
    cfg.update(extra)
    return cfg


def by_name(config: Any) -> dict[str, Any]:
    return {p.name: p for p in config.params}


def test_yaml_text_file_and_dict_give_the_same_config(tmp_path: Path) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text(YAML)
    from_text = load_sweep_config(YAML)
    assert load_sweep_config(path) == from_text
    assert load_sweep_config(str(path)) == from_text
    assert load_sweep_config(from_text.raw) == from_text  # what the store keeps reloads
    assert json.loads(json.dumps(from_text.raw)) == from_text.raw


def test_top_level_fields() -> None:
    c = load_sweep_config(YAML)
    assert (c.method, c.name, c.description, c.project, c.entity) == (
        "bayes", "my-sweep", "tune the model", "demo", "me")
    assert c.program == "train.py" and c.run_cap == 20 and c.command is None
    assert c.effective_command == ("${env}", "${interpreter}", "${program}", "${args}")
    assert (c.metric.name, c.metric.goal, c.metric.target) == ("val_loss", "minimize", 0.05)
    assert c.early_terminate.min_iter == 3 and c.early_terminate.eta == 3


def test_yaml_exponent_numbers_are_floats() -> None:
    # PyYAML alone would read 1e-5 as the string "1e-5".
    lr = by_name(load_sweep_config(YAML))["lr"]
    assert lr.min == pytest.approx(1e-5) and isinstance(lr.min, float)


def test_nested_parameters_become_paths() -> None:
    params = by_name(load_sweep_config(YAML))
    assert sorted(params) == [
        "batch_size", "epochs", "lr", "optimizer.momentum", "optimizer.name"]
    assert params["optimizer.momentum"].path == ("optimizer", "momentum")
    assert params["optimizer.momentum"].distribution == "uniform"
    assert params["optimizer.name"].values == ("adam", "sgd")


@pytest.mark.parametrize(
    ("spec", "distribution"),
    [
        ({"value": 3}, "constant"),
        ({"value": None}, "constant"),
        ({"values": [1, 2]}, "categorical"),
        ({"values": [1, 2], "probabilities": [0.5, 0.5]}, "categorical"),
        ({"values": [1, 2], "distribution": "categorical_w_probabilities",
          "probabilities": [0.3, 0.7]}, "categorical"),
        ({"min": 1, "max": 5}, "int_uniform"),
        ({"min": 1, "max": 5.0}, "uniform"),
        ({"min": 0.1, "max": 0.5}, "uniform"),
        ({"distribution": "int_uniform", "min": 1.0, "max": 4.0}, "int_uniform"),
        ({"distribution": "q_uniform", "min": 0, "max": 10, "q": 2}, "q_uniform"),
        ({"distribution": "log_uniform", "min": -5, "max": 0}, "log_uniform"),
        ({"distribution": "log_uniform_values", "min": 1e-4, "max": 1}, "log_uniform_values"),
        ({"distribution": "q_log_uniform_values", "min": 1, "max": 1024},
         "q_log_uniform_values"),
        ({"distribution": "q_log_uniform", "min": 0, "max": 5}, "q_log_uniform"),
        ({"distribution": "inv_log_uniform_values", "min": 1, "max": 10},
         "inv_log_uniform_values"),
        ({"distribution": "normal", "mu": 1, "sigma": 2}, "normal"),
        ({"distribution": "q_normal"}, "q_normal"),
        ({"distribution": "log_normal"}, "log_normal"),
        ({"distribution": "q_log_normal", "q": 0.5}, "q_log_normal"),
        ({"distribution": "beta", "a": 2, "b": 5}, "beta"),
    ],
)
def test_every_distribution_is_accepted(spec: dict[str, Any], distribution: str) -> None:
    p = by_name(load_sweep_config(base(parameters={"x": spec})))["x"]
    assert p.distribution == distribution


def test_defaults_are_filled_in() -> None:
    c = load_sweep_config(base(parameters={
        "n": {"distribution": "normal"},
        "q": {"distribution": "q_uniform", "min": 0, "max": 1},
        "i": {"distribution": "int_uniform", "min": 1.0, "max": 4.0},
    }))
    p = by_name(c)
    assert (p["n"].mu, p["n"].sigma) == (0.0, 1.0)
    assert p["q"].q == 1.0
    assert (p["i"].min, p["i"].max) == (1, 4) and isinstance(p["i"].min, int)


def test_wandb_only_keys_are_accepted() -> None:
    c = load_sweep_config(base(controller={"type": "local"}, apiVersion="1", kind="sweep",
                               command=["${env}", "python", "${program}", "${args_json_file}"],
                               program="t.py"))
    assert c.command[-1] == "${args_json_file}"


def test_hyperband_max_iter_form() -> None:
    c = load_sweep_config(base(early_terminate={"type": "hyperband", "max_iter": 27, "s": 2,
                                                "eta": 3}))
    assert (c.early_terminate.max_iter, c.early_terminate.s) == (27, 2)


BAD: list[tuple[dict[str, Any], str]] = [
    (base(method="sgd"), "method: unknown method 'sgd'"),
    (base(parameters={"lr": {"min": 1, "max": 0.1}}),
     "parameters.lr.min must be < max (got min=1, max=0.1)"),
    (base(parameters={"lr": {"min": 3, "max": 3}}), "parameters.lr.min must be < max"),
    (base(parameters={"lr": {"distribution": "log_uniform_values", "min": 0, "max": 1}}),
     "parameters.lr.min must be > 0 for log_uniform_values (got min=0)"),
    (base(parameters={"lr": {"distribution": "q_log_uniform_values", "min": -1, "max": 8}}),
     "parameters.lr.min must be > 0 for q_log_uniform_values"),
    (base(method="grid", parameters={"lr": {"min": 0.1, "max": 0.5}}),
     "parameters.lr: grid search cannot enumerate the continuous distribution uniform"),
    (base(method="grid", parameters={"opt": {"parameters": {
        "lr": {"distribution": "normal"}}}}),
     "parameters.opt.parameters.lr: grid search cannot enumerate"),
    (base(method="grid", parameters={"a": {"values": [1, 2], "probabilities": [0.5, 0.5]}}),
     "parameters.a.probabilities is not allowed with method grid"),
    ({"method": "bayes", "parameters": {"lr": {"min": 0.1, "max": 0.5}}},
     "metric: method bayes needs a metric"),
    ({"method": "random", "early_terminate": {"type": "hyperband", "min_iter": 3},
      "parameters": {"lr": {"min": 0.1, "max": 0.5}}},
     "metric: early_terminate (hyperband) needs a metric"),
    (base(parameters={"lr": {"distribution": "gaussian", "mu": 0}}),
     "parameters.lr.distribution: unknown distribution 'gaussian'"),
    (base(parameters={"lr": {"min": 0.1, "max": 0.5, "mean": 1, "std": 2}}),
     "parameters.lr has unknown key(s) for distribution uniform: mean, std"),
    (base(parameters={"opt": {"parameters": {"lr": {"value": 1, "values": [1]}}}}),
     "parameters.opt.parameters.lr has unknown key(s) for distribution constant: values"),
    (base(parameters={"opt": {"parameters": {"lr": {"value": 1}}, "value": 3}}),
     "parameters.opt has unknown key(s) next to 'parameters': value"),
    (base(parameters={"a": {"values": [1, 2], "probabilities": [0.5, 0.6]}}),
     "parameters.a.probabilities must sum to 1 (got 1.1)"),
    (base(parameters={"a": {"values": [1, 2], "probabilities": [1.0]}}),
     "parameters.a.probabilities must be a list with one number per value"),
    (base(parameters={"a": {"values": []}}), "parameters.a.values must be a non-empty list"),
    (base(parameters={"n": {"distribution": "int_uniform", "min": 1.5, "max": 4}}),
     "parameters.n.min must be an integer for int_uniform (got 1.5)"),
    (base(parameters={"n": {"distribution": "uniform", "min": "low", "max": 4}}),
     "parameters.n.min must be a finite number (got 'low')"),
    (base(parameters={"n": {"distribution": "uniform", "max": 4}}),
     "parameters.n: distribution uniform requires min"),
    (base(parameters={"n": {"distribution": "normal", "sigma": 0}}),
     "parameters.n.sigma must be > 0"),
    (base(parameters={"n": {"distribution": "q_uniform", "min": 0, "max": 1, "q": -1}}),
     "parameters.n.q must be > 0"),
    (base(parameters={"lr": 0.1}), "parameters.lr must be a mapping"),
    (base(parameters={"lr": {}}), "parameters.lr: cannot tell the distribution"),
    (base(parameters={}), "parameters must be a non-empty mapping"),
    ({"method": "grid"}, "parameters: a sweep needs a 'parameters' section"),
    (base(paramters={}), "unknown top-level key(s): paramters"),
    (base(metric={"name": "loss", "goal": "maximise"}),
     "metric.goal must be minimize or maximize (got 'maximise')"),
    (base(metric={"goal": "minimize"}), "metric.name must be a non-empty string"),
    (base(metric={"name": "loss", "goal": "minimize", "tgt": 1}),
     "metric has unknown key(s): tgt"),
    (base(early_terminate={"type": "hyperband"}), "early_terminate needs min_iter, or max_iter"),
    (base(early_terminate={"type": "median"}), "early_terminate.type must be hyperband"),
    (base(early_terminate={"type": "hyperband", "max_iter": 27}),
     "early_terminate.s is required with max_iter"),
    (base(early_terminate={"type": "hyperband", "min_iter": 3, "eta": 1}),
     "early_terminate.eta must be > 1"),
    (base(early_terminate={"type": "hyperband", "min_iter": 0}),
     "early_terminate.min_iter must be a positive integer"),
    (base(early_terminate={"type": "hyperband", "max_iter": 2, "s": 1}),
     "early_terminate: max_iter=2 with eta=3 gives no band"),
    (base(run_cap=0), "run_cap must be a positive integer (got 0)"),
    (base(command=["${env}", "python", "${program}", "${argz}"]),
     "command[3]: unknown macro ${argz}"),
    (base(command="python train.py"), "command must be a non-empty list"),
]


@pytest.mark.parametrize(("raw", "message"), BAD, ids=[m[:40] for _, m in BAD])
def test_bad_configs_name_the_key(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_sweep_config(copy.deepcopy(raw))
    assert message in str(info.value)


def test_bad_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_sweep_config("method: grid\nparameters: {a: [1,\n")
    with pytest.raises(ConfigError, match="cannot read sweep config"):
        load_sweep_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_sweep_config("just some text")


def test_check_program(tmp_path: Path) -> None:
    c = load_sweep_config(base(program="train.py"))
    with pytest.raises(ConfigError, match="program: 'train.py' not found in"):
        check_program(c, tmp_path)
    (tmp_path / "train.py").write_text("print('hi')\n")
    check_program(c, tmp_path)  # found: no error

    with pytest.raises(ConfigError, match=r"the command uses \$\{program\} but no program"):
        check_program(load_sweep_config(base()), tmp_path)
    # A module run with -m is not a file; a command without ${program} needs none.
    check_program(load_sweep_config(base(program="pkg.train", command=[
        "${interpreter}", "-m", "${program}", "${args}"])), tmp_path)
    check_program(load_sweep_config(base(command=["bash", "run.sh", "${args}"])), tmp_path)


def test_import_stays_light() -> None:
    import subprocess
    import sys

    code = ("import sys, labtrack.sweeps; "
            "print(sorted(m for m in ('yaml', 'optuna', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
