import math

import pytest

import mlops


@pytest.fixture
def store(tmp_path):
    return mlops.Store(tmp_path / "store")


def test_a_run_logs_and_reads_back(store):
    with store.start_run(experiment="churn", run_name="baseline") as run:
        run.log_params({"lr": 0.01, "layers": 3})
        for step in range(100):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
        run.log_metrics({"acc": 0.91, "odd": float("nan")}, step=100)
        run.set_tag("team", "growth")
    got = store.get_run(run.run_id)
    assert got["info"]["status"] == "FINISHED"
    assert got["info"]["run_name"] == "baseline"
    assert got["params"] == {"lr": "0.01", "layers": "3"}
    assert got["metrics"]["acc"] == 0.91
    assert math.isnan(got["metrics"]["odd"])
    assert got["tags"]["team"] == "growth"
    history = store.get_metric_history(run.run_id, "loss")
    assert [s for s, _, _ in history] == list(range(100))
    assert history[9][2] == 0.1
    assert len(store.get_metric_history(run.run_id, "loss", max_points=20)) <= 20


def test_a_failing_block_marks_the_run_failed(store):
    with pytest.raises(RuntimeError):
        with store.start_run(experiment="e") as run:
            raise RuntimeError("boom")
    assert store.get_run(run.run_id)["info"]["status"] == "FAILED"


def test_search_uses_the_filter_language(store):
    for i in range(6):
        with store.start_run(experiment="s", run_name=f"r{i}") as run:
            run.log_param("lr", ["0.1", "0.01"][i % 2])
            run.log_metric("acc", 0.8 + i / 100)
    found = store.search_runs("params.lr = '0.01' AND metrics.acc > 0.81", order_by=["metrics.acc DESC"])
    assert [r["info"]["run_name"] for r in found] == ["r5", "r3"]
    either = store.search_runs("params.lr = '0.1' OR metrics.acc >= 0.85", experiment_names=["s"])
    assert sorted(r["info"]["run_name"] for r in either) == ["r0", "r2", "r4", "r5"]


def test_registry_aliases_and_audit(store):
    with store.start_run(experiment="m") as run:
        pass
    v1 = store.register_model("churn", "runs:/x/model", run_id=run.run_id)
    v2 = store.register_model("churn", "runs:/y/model")
    assert (v1["version"], v2["version"]) == (1, 2)
    store.set_alias("churn", "champion", 2, actor="alice", reason="better AUC")
    assert store.get_model_version("churn@champion")["version"] == 2
    assert store.get_model_version("churn@latest")["version"] == 2
    events = store.audit_log("model:churn")
    assert events[-1]["actor"] == "alice" and events[-1]["reason"] == "better AUC"


def test_errors_map_to_exception_classes(store):
    with store.start_run(experiment="x") as run:
        run.log_param("lr", "0.1")
        with pytest.raises(mlops.ConflictError, match="0.2"):
            run.log_param("lr", "0.2")
        with pytest.raises(mlops.ValidationError, match="250"):
            run.log_metric("k" * 251, 1.0)
        with pytest.raises(ValueError):
            run.log_metric("", 1.0)
    with pytest.raises(mlops.NotFoundError):
        store.get_model_version("nope@1")
    with pytest.raises(KeyError):
        store.get_run("0" * 32)
    with pytest.raises(mlops.AlreadyExistsError):
        store.create_experiment("x")
    assert issubclass(mlops.NotFoundError, mlops.MlopsError)


def test_module_level_start_run_uses_the_default_store(tmp_path, monkeypatch):
    monkeypatch.setattr(mlops, "_default_store", None)
    monkeypatch.setenv("MLOPS_STORE", str(tmp_path / "default"))
    with mlops.start_run(experiment="quick") as run:
        run.log_metric("x", 1.0)
    assert mlops.get_store().get_run(run.run_id)["metrics"]["x"] == 1.0
