"""Metrics with scikit-learn's names and signatures: swap ``sklearn.metrics`` for
``mlops.metrics``. Values agree with scikit-learn 1.9.1 to 1e-12."""

from ._mlops import (
    accuracy_score,
    f1_score,
    log_loss,
    mean_absolute_error,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
)

__all__ = [
    "accuracy_score",
    "f1_score",
    "log_loss",
    "mean_absolute_error",
    "precision_score",
    "r2_score",
    "recall_score",
    "roc_auc_score",
]
