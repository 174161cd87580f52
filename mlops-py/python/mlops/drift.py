"""Drift statistics with scipy's names: ``mlops.drift.ks_2samp(a, b)`` returns a result
with ``statistic`` and ``pvalue`` (and unpacks as a pair), like scipy's."""

from collections import namedtuple

from . import _mlops

KstestResult = namedtuple("KstestResult", ["statistic", "pvalue"])


def ks_2samp(data1, data2, alternative="two-sided", method="auto"):
    """Two-sample Kolmogorov-Smirnov test; p-values equal scipy's exact and asymptotic modes."""
    return KstestResult(*_mlops.ks_2samp(data1, data2, alternative, method))


def wasserstein_distance(u_values, v_values):
    """The first Wasserstein distance between two samples (scipy's, unweighted)."""
    return _mlops.wasserstein_distance(u_values, v_values)


__all__ = ["KstestResult", "ks_2samp", "wasserstein_distance"]
