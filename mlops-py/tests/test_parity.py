"""Metrics and drift from Python agree with scikit-learn and scipy."""

import numpy as np
import pytest

import mlops

sklearn_metrics = pytest.importorskip("sklearn.metrics")
scipy_stats = pytest.importorskip("scipy.stats")

rng = np.random.default_rng(7)
y = rng.integers(0, 2, 500)
pred = np.where(rng.uniform(size=500) < 0.8, y, 1 - y)
score = np.clip(0.5 * y + rng.uniform(size=500) * 0.6, 0.001, 0.999)
w = rng.uniform(0.5, 2.0, 500)


@pytest.mark.parametrize("name", ["precision_score", "recall_score", "f1_score"])
@pytest.mark.parametrize("average", ["binary", "macro", "micro", "weighted"])
def test_prf_matches_sklearn(name, average):
    ours = getattr(mlops.metrics, name)(y.tolist(), pred.tolist(), average=average, sample_weight=w.tolist())
    theirs = getattr(sklearn_metrics, name)(y, pred, average=average, sample_weight=w)
    assert ours == pytest.approx(theirs, abs=1e-12)


def test_zero_division_modes_match_sklearn():
    yt, yp = [0, 0, 0, 0], [0, 0, 0, 0]
    for zd in (0, 1, "warn"):
        assert mlops.metrics.precision_score(yt, yp, zero_division=zd) == sklearn_metrics.precision_score(yt, yp, zero_division=zd)
    assert np.isnan(mlops.metrics.precision_score(yt, yp, zero_division=np.nan))


def test_scores_match_sklearn():
    assert mlops.metrics.accuracy_score(y, pred) == pytest.approx(sklearn_metrics.accuracy_score(y, pred), abs=1e-12)
    assert mlops.metrics.roc_auc_score(y, score) == pytest.approx(sklearn_metrics.roc_auc_score(y, score), abs=1e-12)
    assert mlops.metrics.log_loss(y, score) == pytest.approx(sklearn_metrics.log_loss(y, score), abs=1e-12)
    t, p = rng.normal(size=100), rng.normal(size=100)
    assert mlops.metrics.mean_absolute_error(t, p) == pytest.approx(sklearn_metrics.mean_absolute_error(t, p), abs=1e-12)
    assert mlops.metrics.r2_score(t, p) == pytest.approx(sklearn_metrics.r2_score(t, p), abs=1e-12)


def test_drift_matches_scipy():
    a, b = rng.normal(size=3000), rng.normal(0.1, 1.0, size=4000)
    for method in ("auto", "exact", "asymp"):
        ours = mlops.drift.ks_2samp(a, b, method=method)
        theirs = scipy_stats.ks_2samp(a, b, method=method)
        assert ours.statistic == pytest.approx(theirs.statistic, abs=1e-12)
        assert ours.pvalue == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-300)
    d, p = mlops.drift.ks_2samp(a[:50], b[:70])
    assert p == pytest.approx(scipy_stats.ks_2samp(a[:50], b[:70]).pvalue, rel=1e-9)
    assert mlops.drift.wasserstein_distance(a, b) == pytest.approx(scipy_stats.wasserstein_distance(a, b), rel=1e-12)


def test_bad_arguments_raise_validation_errors():
    with pytest.raises(mlops.ValidationError, match="average"):
        mlops.metrics.f1_score([0, 1], [0, 1], average="samples")
    with pytest.raises(mlops.ValidationError):
        mlops.metrics.f1_score([0, 1], [0])
    with pytest.raises(mlops.ValidationError):
        mlops.drift.ks_2samp([], [1.0])


y_reg = rng.normal(3.0, 2.0, 400)
p_reg = y_reg + rng.normal(0.0, 0.7, 400)
w_reg = rng.uniform(0.5, 2.0, 400)


@pytest.mark.parametrize("name", [
    "mean_squared_error", "root_mean_squared_error", "mean_absolute_percentage_error",
    "median_absolute_error", "explained_variance_score", "mean_absolute_error", "r2_score",
])
@pytest.mark.parametrize("weighted", [False, True])
def test_regression_metrics_match_sklearn(name, weighted):
    kw = {"sample_weight": w_reg} if weighted else {}
    ours = getattr(mlops.metrics, name)(y_reg, p_reg, **kw)
    theirs = getattr(sklearn_metrics, name)(y_reg, p_reg, **kw)
    assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_more_classification_metrics_match_sklearn(weighted):
    kw = {"sample_weight": w} if weighted else {}
    for name, args in [
        ("balanced_accuracy_score", (y, pred)),
        ("matthews_corrcoef", (y, pred)),
        ("cohen_kappa_score", (y, pred)),
        ("average_precision_score", (y, score)),
        ("brier_score_loss", (y, score)),
    ]:
        ours = getattr(mlops.metrics, name)(*args, **kw)
        theirs = getattr(sklearn_metrics, name)(*args, **kw)
        assert ours == pytest.approx(theirs, abs=1e-12), name
    ours = mlops.metrics.cohen_kappa_score(y, pred, weights="quadratic", **kw)
    assert ours == pytest.approx(sklearn_metrics.cohen_kappa_score(y, pred, weights="quadratic", **kw), abs=1e-12)
    cm = mlops.metrics.confusion_matrix(y, pred, **kw)
    assert np.array_equal(np.array(cm), sklearn_metrics.confusion_matrix(y, pred, **kw))
