"""The AI factory as an embeddable library.

    import mlops

    with mlops.start_run(experiment="churn") as run:
        run.log_params({"lr": 0.01})
        run.log_metric("loss", 0.3, step=1)

The store is one folder (``.mlops/`` by default, or ``MLOPS_STORE``): SQLite metadata and
content-addressed artifacts, no server.
"""

import os

from . import data, drift, metrics
from ._mlops import Run, Store, TrainingRun, parse_model_ref, version
from .exceptions import (
    AlreadyExistsError,
    ConflictError,
    InferenceError,
    IntegrityError,
    MlopsError,
    NotFoundError,
    NotSupportedError,
    StoreError,
    TrainingError,
    ValidationError,
)
from .evaluation import evaluate
from .serving import serve
from .training import BurnTrainer, Predictor, load_model, predictor, train

__version__ = version()

_default_store = None


def get_store(path=None):
    """The default store (opened once), or the store in ``path``."""
    global _default_store
    if path is not None:
        return Store(path)
    if _default_store is None:
        _default_store = Store(os.environ.get("MLOPS_STORE", ".mlops"))
    return _default_store


def start_run(experiment="Default", run_name=None, tags=None, parent_run_id=None, store=None):
    """Starts a run in the default store (or ``store``); use it with ``with``."""
    return (store or get_store()).start_run(
        experiment=experiment, run_name=run_name, tags=tags, parent_run_id=parent_run_id
    )


__all__ = [
    "AlreadyExistsError",
    "BurnTrainer",
    "Predictor",
    "TrainingRun",
    "evaluate",
    "load_model",
    "predictor",
    "serve",
    "train",
    "ConflictError",
    "InferenceError",
    "IntegrityError",
    "MlopsError",
    "NotFoundError",
    "NotSupportedError",
    "Run",
    "Store",
    "StoreError",
    "TrainingError",
    "ValidationError",
    "__version__",
    "data",
    "drift",
    "metrics",
    "get_store",
    "parse_model_ref",
    "start_run",
    "version",
]
