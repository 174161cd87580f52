//! Drift statistics and detectors with scipy and Evidently parity.
//!
//! Plain functions are named after scipy where one exists ([`ks_2samp`],
//! [`wasserstein_distance`], [`chisquare`], [`chi2_contingency`], [`jensenshannon`],
//! [`entropy`]) so a user can swap an import; each has a fitted-reference form that keeps
//! what the reference contributes (sorted values, bin edges and proportions, category
//! counts) so scoring a window costs only the window. [`DefaultDriftDetector`] implements
//! [`mlops_core::DriftDetector`] over Arrow numeric, string, temporal and embedding columns
//! with Evidently's automatic method choice, an effect size per column, calibrated alarms
//! (a published false-alarm table) and the data-quality findings of the same pass.
//!
//! Methods: two-sample Kolmogorov-Smirnov with scipy's exact and asymptotic p-values
//! ([`ks_2samp`], [`kstwo_sf`], [`smirnov`]); Wasserstein raw and Evidently-normed; energy
//! distance; PSI, KL, Jensen-Shannon (base e or 2) and Hellinger on numpy / Evidently bins
//! or on reference deciles ([`BinnedReference`]); chi-square goodness of fit
//! ([`chisquare`], Evidently's variant) and contingency ([`chi2_contingency`], NannyML's);
//! the pooled two-proportion z-test; two-sample Cramér-von Mises
//! ([`cramervonmises_2samp`]); k-sample Anderson-Darling ([`anderson_ksamp`]). Every one is
//! checked against golden fixtures from scipy 1.17 / numpy 2 / Evidently 0.7.23
//! (`fixtures/drift/gen_drift.py`, `tests/drift_parity.rs`) to 1e-9.
//!
//! Speed: floats are sorted by an LSD radix sort ([`sort_f64`], [`sort_f64_with`]); the rank
//! tests of sorted samples run in one linear merge, bit for bit the ranked forms
//! ([`cramervonmises_2samp_sorted`], [`anderson_ksamp_sorted`]); KS and Wasserstein share
//! one branch-free merge ([`ks_wasserstein_sorted`]); with ties, [`edf_test_ties_sorted`] is
//! the calibrated Cramér-von Mises / Anderson-Darling test.
//!
//! Mergeable profiles: [`ColumnProfile`] keeps counts, moments, distinct values and a
//! [`KllSketch`] (numeric) or [`FrequentItems`] (string) per column in bounded memory, merges
//! in any order, and scores drift without the rows ([`ks_from_profiles`], with whylogs'
//! false alarms at large `n` corrected; [`psi_from_profiles`]; [`chi_square_from_profiles`]).
//! [`TableProfile`] profiles a whole table; [`ProfileDriftDetector`] is the detector of a
//! fleet: a reference profile, current profiles merged from many servers, the same report,
//! effect sizes and dataset rules as [`DefaultDriftDetector`].
//!
//! NannyML compatibility: [`nannyml`] reproduces NannyML 0.13's univariate methods (Doane
//! bins, base-2 Jensen-Shannon, binned KS and Wasserstein estimates above 10,000 rows,
//! `chi2`, `l_infinity`) and its thresholds from reference chunks, checked against fixtures
//! from the real package (`fixtures/drift/gen_nannyml.py`, `tests/nannyml_parity.rs`);
//! [`nannyml::NannymlDriftDetector`] is its `DriftDetector`.
//!
//! Plain functions reject NaN and infinities (an error naming the sample); the detector
//! drops them and counts them apart.

pub mod anderson;
pub mod binned;
pub mod categorical;
pub mod cvm;
pub mod detector;
pub mod domain;
pub mod embedding;
pub mod frequent;
pub mod kll;
pub mod ks;
pub mod merged;
pub mod mmd;
pub mod nannyml;
pub mod profile;
pub mod profile_drift;
pub mod sort;
pub mod special;
pub mod streaming;
pub mod table_profile;
pub mod wasserstein;

pub use anderson::{AndersonKsampResult, anderson_ksamp};
pub use binned::{
    BinnedReference, entropy, evidently_binned, fill_zeroes_evidently, hellinger,
    hellinger_evidently, hellinger_evidently_numeric, histogram, histogram_bin_edges,
    jensenshannon, kl_div, psi, quantile_edges, sturges_bin_count,
};
pub use categorical::{
    Chi2ContingencyResult, ChisquareResult, FisherResult, ZTestResult, chi2_contingency, chisquare,
    chisquare_counts, fisher_exact, proportions_ztest,
};
pub use cvm::{CvmMethod, CvmResult, cramervonmises_2samp};
pub use detector::{
    ColumnReport, DatasetRule, DefaultDriftDetector, DetectorOptions, DriftMethod, MissingCounts,
    ProfileDetectorOptions, ProfileDriftDetector,
};
pub use domain::{DomainClassifierOptions, DomainClassifierResult, domain_classifier};
pub use embedding::{
    EmbeddingDrift, EmbeddingMethod, EmbeddingOptions, Embeddings, embedding_drift,
};
pub use frequent::FrequentItems;
pub use kll::KllSketch;
pub use ks::{Alternative, KsMethod, KsOptions, KsReference, KsResult, ks_2samp, ks_2samp_sorted};
pub use merged::{
    EdfStatistic, EdfTestResult, KsWasserstein, anderson_ksamp_sorted, cramervonmises_2samp_sorted,
    edf_test_ties_sorted, ks_wasserstein_sorted,
};
pub use mmd::{MmdResult, mmd_permutation_test, mmd_rbf, mmd_sigma};
pub use profile::{ColumnProfile, PROFILE_VERSION};
pub use profile_drift::{
    ProfileDrift, chi_square_from_profiles, ks_from_profiles, psi_from_profiles,
};
pub use sort::{SortScratch, sort_f64, sort_f64_with};
pub use special::{chi2_sf, kstwo_cdf, kstwo_sf, norm_cdf, smirnov};
pub use table_profile::{ProfileOptions, TABLE_PROFILE_VERSION, TableProfile};
pub use wasserstein::{
    WassersteinReference, energy_distance, energy_distance_sorted, std_population,
    wasserstein_distance, wasserstein_distance_norm, wasserstein_distance_sorted,
};

use mlops_core::{Error, Result};

/// Sorted copy of finite values; an error for empty input or any NaN / infinity.
pub(crate) fn sorted_finite(values: &[f64], what: &'static str) -> Result<Vec<f64>> {
    if values.is_empty() {
        return Err(Error::invalid(what, "0 values", "at least one value"));
    }
    if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
        return Err(Error::invalid(
            what,
            format!("{bad}"),
            "finite values (drop NaN and infinities first; the detector counts them apart)",
        ));
    }
    let mut v = values.to_vec();
    sort_f64(&mut v);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn sort_f64_orders_like_total_cmp() {
        let mut rng = Rng::new(7);
        for n in [0usize, 1, 5, 1023, 1024, 5000] {
            let mut v: Vec<f64> = (0..n)
                .map(|i| match i % 7 {
                    0 => -0.0,
                    1 => 0.0,
                    2 => (rng.next_f64() - 0.5) * 1e-300,
                    3 => f64::INFINITY,
                    4 => -1e308 * rng.next_f64(),
                    _ => (rng.next_f64() - 0.5) * 1e6,
                })
                .collect();
            let mut w = v.clone();
            sort_f64(&mut v);
            w.sort_unstable_by(f64::total_cmp);
            assert_eq!(
                v.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                w.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
            );
        }
    }
}
