"""Drift from Python: scipy parity of the two-sample statistics, and the detectors."""

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats
from scipy.spatial import distance

import mlops
from mlops import drift


def samples(seed=0, n=300, shift=0.3):
    rng = np.random.default_rng(seed)
    return rng.normal(0, 1, n), rng.normal(shift, 1.2, n + 17)


def close(a, b, tol=1e-9):
    return abs(a - b) <= tol * max(1.0, abs(b))


def test_two_sample_statistics_match_scipy():
    a, b = samples()
    assert close(drift.energy_distance(a, b), stats.energy_distance(a, b))
    got, want = drift.cramervonmises_2samp(a, b), stats.cramervonmises_2samp(a, b)
    assert close(got.statistic, want.statistic) and close(got.pvalue, want.pvalue)
    small_a, small_b = a[:12], b[:9]
    got = drift.cramervonmises_2samp(small_a, small_b, method="exact")
    want = stats.cramervonmises_2samp(small_a, small_b, method="exact")
    assert close(got.pvalue, want.pvalue)
    got = drift.anderson_ksamp([a, b])
    want = stats.anderson_ksamp([a, b], variant="midrank")
    assert close(got.statistic, want.statistic)
    obs, exp = [18.0, 22.0, 30.0, 30.0], [25.0, 25.0, 25.0, 25.0]
    got, want = drift.chisquare(obs, exp), stats.chisquare(obs, exp)
    assert close(got.statistic, want.statistic) and close(got.pvalue, want.pvalue)
    p, q = [0.1, 0.4, 0.5], [0.3, 0.3, 0.4]
    assert close(drift.jensenshannon(p, q), distance.jensenshannon(p, q))
    assert close(drift.jensenshannon(p, q, base=2), distance.jensenshannon(p, q, base=2))
    with pytest.raises(mlops.ValidationError):
        drift.jensenshannon([0.5, 0.5], [1.0])


def table(seed, shift=0.0, n=2000):
    rng = np.random.default_rng(seed)
    plans = np.array(["basic", "premium", "team"])
    probs = [0.5 - shift / 4, 0.3, 0.2 + shift / 4]
    return pa.table({
        "x": rng.normal(shift, 1, n),
        "plan": plans[rng.choice(3, size=n, p=probs)],
    })


@pytest.mark.parametrize("kind", ["default", "evidently", "nannyml", "profile"])
def test_every_detector_finds_a_shift_and_keeps_quiet_without_one(kind):
    d = drift.DriftDetector(kind)
    reference = d.fit(table(1))
    quiet = d.score(reference, table(2))
    loud = d.score(reference, table(3, shift=1.0))
    report = lambda r: r.get("report", r)  # the default detector adds per-column detail
    assert not report(quiet)["drifted"], quiet
    assert report(loud)["drifted"]
    assert {c["column"] for c in report(loud)["columns"]} == {"x", "plan"}


def test_the_default_detector_reports_effect_sizes_and_reads_its_options():
    d = drift.DriftDetector(options={"rule": {"rule": "bonferroni", "alpha": 0.05}})
    r = d.score(d.fit(table(1)), table(3, shift=0.5))
    x = next(c for c in r["columns"] if c["column"] == "x")
    assert 0.3 < x["effect_size"] < 0.7
    with pytest.raises(mlops.ValidationError, match="options"):
        drift.DriftDetector(options={"rule": "sideways"})
    with pytest.raises(mlops.ValidationError, match="kind"):
        drift.DriftDetector("psychic")


def test_profiles_from_many_servers_merge_into_one_monitor():
    d = drift.DriftDetector("profile")
    reference = d.fit(table(1, n=20_000))
    servers = [d.profile(table(10 + i, shift=0.8)) for i in range(3)]
    merged = drift.merge_profiles(servers)
    assert merged["rows"] == 6000
    r = d.score_profile(reference, merged)
    assert r["report"]["drifted"]
    with pytest.raises(mlops.ValidationError):
        drift.DriftDetector("default").profile(table(1))
