"""Drift: scipy's two-sample statistics under scipy's names, and the detectors.

    from mlops.drift import ks_2samp              # was: from scipy.stats import ks_2samp
    res = ks_2samp(a, b)                          # .statistic, .pvalue; unpacks as a pair

    detector = mlops.drift.DriftDetector()        # Evidently's method choice, calibrated alarms
    reference = detector.fit(train_table)         # a dict: store it (json.dumps) anywhere
    report = detector.score(reference, window)    # per column: statistic, p-value, effect size

``DriftDetector("evidently")`` is Evidently 0.7 verbatim, ``DriftDetector("nannyml")``
NannyML 0.13's methods and thresholds, and ``DriftDetector("profile")`` works from mergeable
profiles: each server sends ``detector.profile(its_window)``, the monitor merges them with
``merge_profiles`` and scores the result with ``detector.score_profile``.
"""

import json
from collections import namedtuple

from . import _mlops

KstestResult = namedtuple("KstestResult", ["statistic", "pvalue"])
CramerVonMisesResult = namedtuple("CramerVonMisesResult", ["statistic", "pvalue"])
Anderson_ksampResult = namedtuple("Anderson_ksampResult", ["statistic", "critical_values", "pvalue"])
Power_divergenceResult = namedtuple("Power_divergenceResult", ["statistic", "pvalue"])


def ks_2samp(data1, data2, alternative="two-sided", method="auto"):
    """Two-sample Kolmogorov-Smirnov test; p-values equal scipy's exact and asymptotic modes."""
    return KstestResult(*_mlops.ks_2samp(data1, data2, alternative, method))


def wasserstein_distance(u_values, v_values):
    """The first Wasserstein distance between two samples (scipy's, unweighted)."""
    return _mlops.wasserstein_distance(u_values, v_values)


def energy_distance(u_values, v_values):
    """The energy distance between two samples (scipy's, unweighted)."""
    return _mlops.energy_distance(u_values, v_values)


def cramervonmises_2samp(x, y, method="auto"):
    """Two-sample Cramér-von Mises test (scipy's statistic and p-values)."""
    return CramerVonMisesResult(*_mlops.cramervonmises_2samp(x, y, method))


def anderson_ksamp(samples):
    """k-sample Anderson-Darling test, scipy's midrank statistic and p-value."""
    return Anderson_ksampResult(*_mlops.anderson_ksamp(list(samples)))


def chisquare(f_obs, f_exp):
    """Chi-square goodness of fit (scipy's ``chisquare``)."""
    return Power_divergenceResult(*_mlops.chisquare(f_obs, f_exp))


def jensenshannon(p, q, base=None):
    """The Jensen-Shannon distance (scipy.spatial.distance's)."""
    return _mlops.jensenshannon(p, q, base)


class DriftDetector:
    """Fits a reference once, then scores windows at their own cost. ``kind``: ``default``,
    ``evidently``, ``nannyml`` or ``profile``; ``options`` as the Rust detector names them
    (``{"rule": {"rule": "benjamini_hochberg", "alpha": 0.05}}``, ``{"min_effect": None}``,
    ``{"continuous_method": "wasserstein"}``...)."""

    def __init__(self, kind="default", options=None):
        self.kind = kind
        self._inner = _mlops.DriftDetector(kind, None if options is None else json.dumps(options))

    def fit(self, reference):
        """The fitted reference of a table (a JSON-serializable dict)."""
        return json.loads(self._inner.fit(reference))

    def score(self, reference, current):
        """The drift report of ``current`` against a fitted reference."""
        return json.loads(self._inner.score(json.dumps(reference), current))

    def profile(self, table):
        """(``profile`` kind) The mergeable profile of a table, a dict."""
        return json.loads(self._inner.profile(table))

    def score_profile(self, reference, profile):
        """(``profile`` kind) Scores a profile, merged from any number of servers."""
        return json.loads(self._inner.score_profile(json.dumps(reference), json.dumps(profile)))


def merge_profiles(profiles):
    """Merges table profiles (from ``DriftDetector("profile").profile``) in any order."""
    return json.loads(_mlops.merge_profiles([json.dumps(p) for p in profiles]))


__all__ = [
    "DriftDetector",
    "KstestResult",
    "anderson_ksamp",
    "chisquare",
    "cramervonmises_2samp",
    "energy_distance",
    "jensenshannon",
    "ks_2samp",
    "merge_profiles",
    "wasserstein_distance",
]
