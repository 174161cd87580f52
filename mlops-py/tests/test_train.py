"""Python objects as the factory's traits: a trainer, a data source; the built-in burn trainer
and its predictor; models loaded back with their digests verified."""

import json

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import mlops
import mlops.data as md


@pytest.fixture
def store(tmp_path):
    return mlops.Store(tmp_path / "store")


def toy(n=200):
    x = [(i - n / 2) / (n / 4) for i in range(n)]
    return pa.table({
        "x": pa.array(x, pa.float32()),
        "colour": pa.array([["red", "blue"][i % 2] for i in range(n)]),
        "y": pa.array([int(v > 0) for v in x], pa.int64()),
    })


class MeanModel:
    """Predicts the training mean of the label; saves it as JSON (no pickle)."""

    name = "mean_model"

    def __init__(self, shrink=0.0):
        self.shrink = shrink
        self.mean = None

    def config(self):
        return {"shrink": self.shrink, "nested": {"depth": 2}}

    def fit(self, train, label, validation, run):
        assert isinstance(train, pa.Table)
        self.mean = pc.mean(train[label]).as_py() * (1 - self.shrink)
        for step in range(3):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
        out = {"train_rows": float(train.num_rows)}
        if validation is not None:
            out["val_rows"] = float(validation.num_rows)
        return out

    def save(self):
        return {"model.json": json.dumps({"mean": self.mean}).encode()}

    @classmethod
    def load(cls, files):
        m = cls()
        m.mean = json.loads(files["model.json"])["mean"]
        return m

    def predict(self, table):
        return [self.mean] * table.num_rows


def test_a_python_trainer_runs_tracked_registered_and_loads_back(store):
    table = toy()
    valid = toy(50)
    out = store.train(MeanModel(0.5), table, "y", validation=valid, experiment="py",
                      register_as="mean", seed=7)
    assert out["model"] == "mean@1"
    assert out["metrics"] == {"train_rows": 200.0, "val_rows": 50.0}
    run = store.get_run(out["run_id"])
    assert run["info"]["status"] == "FINISHED"
    # The config as MLflow-style params, the seed and the trainer's name.
    assert run["params"]["shrink"] == "0.5"
    assert run["params"]["nested.depth"] == "2"
    assert run["params"]["seed"] == "7"
    assert run["params"]["trainer"] == "mean_model"
    # Metrics logged during fit and the final ones.
    assert [s for s, _, _ in store.get_metric_history(out["run_id"], "loss")] == [0, 1, 2]
    assert run["metrics"]["train_rows"] == 200.0
    # The training data's content id is the run's input: lineage dataset -> run -> model.
    digests = {i["context"]: i["digest"] for i in run["inputs"]}
    assert digests["training"] == md.fingerprint(table)
    loaded = mlops.load_model("mean@latest", store=store)
    assert loaded["trainer"] == "mean_model"
    assert loaded["run_id"] == out["run_id"]
    assert json.loads(loaded["files"]["model.json"]) == {"mean": 0.2475}
    model = mlops.load_model("mean@1", MeanModel, store=store)
    assert model.predict(table)[:2] == [0.2475, 0.2475]


def test_a_raising_trainer_is_a_training_error_and_the_run_failed(store):
    class Broken(MeanModel):
        def fit(self, train, label, validation, run):
            raise ZeroDivisionError("no rows to divide")

    with pytest.raises(mlops.TrainingError, match="no rows to divide"):
        store.train(Broken(), toy(), "y", experiment="broken")
    runs = store.search_runs(experiment_names=["broken"])
    assert [r["info"]["status"] for r in runs] == ["FAILED"]


def test_objects_that_are_not_trainers_are_refused_by_name(store):
    class NoSave:
        def fit(self, *args):
            return None

    with pytest.raises(TypeError, match="NoSave has no save"):
        store.train(NoSave(), toy(), "y")

    class BadFiles(MeanModel):
        def save(self):
            return {"model.json": 3}

    with pytest.raises(mlops.TrainingError, match=r"dict\[str, bytes\]"):
        store.train(BadFiles(), toy(), "y")


def test_the_burn_trainer_from_python_and_its_predictor(store):
    trainer = mlops.BurnTrainer({
        "model": {"kind": "logistic_regression"},
        "epochs": 30,
        "batch_size": 20,
        "optimizer": {"kind": "adam", "lr": 0.05},
    })
    out = store.train(trainer, toy(), "y", experiment="burn", register_as="toy", seed=1)
    assert out["model"] == "toy@1"
    assert out["metrics"]["train_accuracy"] > 0.95
    p = mlops.predictor("toy@latest", store=store)
    assert p.model == "toy@1"
    assert [c["name"] for c in p.signature["inputs"]] == ["x", "colour"]
    # pandas in, pyarrow out; the batch path and the single-row path agree.
    frame = pd.DataFrame({"x": [-1.5, 1.5], "colour": ["red", "green"]})
    preds = p.predict(frame)
    assert isinstance(preds, pa.Table) and preds.num_rows == 2
    values = preds.column(0).to_pylist()
    assert values == [0, 1]
    row = p.predict_row({"x": 1.5, "colour": "green"})
    assert row["value"] == 1
    assert len(row["probabilities"]) == 2


def test_a_bad_burn_config_is_a_validation_error_naming_the_field():
    with pytest.raises(mlops.ValidationError, match="epochs"):
        mlops.BurnTrainer({"model": {"kind": "logistic_regression"}, "batch_size": 4,
                           "optimizer": {"kind": "adam", "lr": 0.1}})


def test_a_callable_is_a_data_source(store):
    calls = []

    def events():
        calls.append(1)
        # pandas frames (pandas 3 strings arrive as large_utf8, in every frame alike).
        return [toy(30).to_pandas(), pd.DataFrame({"x": pa.array([9.0] * 5, pa.float32()).to_pandas(),
                                                   "colour": ["red"] * 5, "y": [1] * 5})]

    table = md.read(events, columns=["x", "y"], limit=32)
    assert table.column_names == ["x", "y"]
    assert table.num_rows == 32
    assert table["x"].to_pylist()[-1] == 9.0
    # A data source trains like a table.
    out = store.train(MeanModel(), events, "y", experiment="source")
    assert out["metrics"]["train_rows"] == 35.0
    assert len(calls) == 2  # one call per read: the schema probe serves the scan

    def drifting():
        return [toy(4), pa.table({"other": [1]})]

    with pytest.raises(mlops.ValidationError, match="schema"):
        md.read(drifting)
