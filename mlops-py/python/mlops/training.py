"""Training and prediction: the built-in burn trainer, your own Python trainer, and
registered models loaded back with every file's digest verified.

A trainer is any object with two methods (and optionally ``name`` and ``config()``)::

    class MeanModel:
        name = "mean"

        def config(self):                       # logged as the run's params
            return {"shrink": 0.0}

        def fit(self, train, label, validation, run):
            # train / validation: pyarrow.Table; run: mlops.TrainingRun
            self.mean = pyarrow.compute.mean(train[label]).as_py()
            run.log_metric("train_mean", self.mean)
            return {"train_rows": float(train.num_rows)}   # final metrics (optional)

        def save(self):                          # the model's files: no pickle, your format
            return {"model.json": json.dumps({"mean": self.mean}).encode()}

    result = mlops.train(MeanModel(), table, label="y", experiment="demo", register_as="mean")
    files = mlops.load_model("mean@latest")["files"]     # digests verified

The factory runs it exactly like the built-in trainer: a tracked run with the config as
params, the dataset's content id as input, the metrics, the files as artifacts, and the
model registered with lineage (dataset -> run -> version).
"""

import json

from . import _mlops


def BurnTrainer(config=None, **fields):
    """The built-in trainer (burn, CPU): ``BurnTrainer({"model": {"kind": "logistic_regression"},
    "epochs": 30, "batch_size": 32, "optimizer": {"kind": "adam", "lr": 0.05}})``. A bad
    config raises ``mlops.ValidationError`` naming what is wrong."""
    merged = dict(config or {})
    merged.update(fields)
    return _mlops.BurnTrainer(json.dumps(merged))


class Predictor:
    """A registered burn model ready to predict; the batch and single-row paths give the
    same values."""

    def __init__(self, inner):
        self._inner = inner

    @property
    def model(self):
        """``name@version`` of the loaded model."""
        return self._inner.model

    @property
    def signature(self):
        """Inputs and outputs (MLflow's signature form)."""
        return json.loads(self._inner.signature_json())

    def predict(self, table):
        """Predictions for every row of a table (pyarrow, pandas, polars), as a
        ``pyarrow.Table``."""
        import pyarrow as pa

        return pa.table(self._inner.predict(table))

    def predict_row(self, row):
        """One row given as a dict: ``{"value": ..., "probabilities": [...]}``."""
        return json.loads(self._inner.predict_row_json(json.dumps(row)))

    def __repr__(self):
        return f"Predictor({self.model!r})"


def _store(store):
    if store is not None:
        return store
    from . import get_store

    return get_store()


def train(trainer, train, label, *, validation=None, experiment="Default", run_name=None,
          seed=0, register_as=None, params=None, store=None):
    """Trains ``trainer`` (``BurnTrainer(...)`` or an object with ``fit``/``save``) on
    ``train`` (a table or a callable data source) in a tracked run. Returns
    ``{"run_id", "package", "metrics", "model"}`` (``model`` is ``name@version`` when
    registered). An exception raised by ``fit`` becomes ``mlops.TrainingError`` and the run
    is marked FAILED."""
    return _store(store).train(
        trainer, train, label, validation=validation, experiment=experiment,
        run_name=run_name, seed=seed, register_as=register_as, params=params,
    )


def load_model(model, cls=None, *, store=None):
    """A registered model (``name@3``, ``name@champion``, ``name@latest``). Without ``cls``:
    ``{"model", "trainer", "run_id", "files"}`` with every file's digest verified; with
    ``cls``: ``cls.load(files)``, your trainer's own loader."""
    loaded = _store(store).load_model(model)
    return cls.load(loaded["files"]) if cls is not None else loaded


def predictor(model, *, store=None):
    """A registered burn model as a :class:`Predictor`."""
    return Predictor(_store(store).predictor(model))
