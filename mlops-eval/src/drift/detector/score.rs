//! Scoring one column: the method (Evidently's automatic choice or the user's), its
//! statistic and p-value, the effect size, and the data-quality counts of the same pass.
//! The verdict is left to [`super::verdict`].

use std::collections::BTreeMap;

use mlops_core::{Error, Result};

use super::options::{Compat, DetectorOptions, DriftMethod};
use super::report::{ColumnKind, ColumnQuality, ColumnReport, MissingCounts, TypeMismatch};
use crate::drift::anderson::AndersonKsampResult;
use crate::drift::binned::{
    align_counts, distinct_counts_sorted, evidently_binned, fill_zeroes_evidently, jensenshannon,
    kl_div, psi,
};
use crate::drift::categorical::{chi2_contingency, chisquare, proportions_ztest, union_counts};
use crate::drift::cvm::CvmMethod;
use crate::drift::embedding::{EmbeddingMethod, Embeddings, embedding_drift};
use crate::drift::merged::{
    EdfStatistic, anderson_ksamp_sorted, cramervonmises_2samp_sorted, edf_test_ties_sorted,
    ks_wasserstein_sorted,
};
use crate::drift::wasserstein::{
    EVIDENTLY_STD_FLOOR, energy_distance_sorted, wasserstein_distance_sorted,
};

/// A scored column before the verdict: the report (threshold and verdict unset) and the
/// method whose rule judges it (`None`: the verdict is already in the report).
pub(crate) struct Scored {
    pub(crate) report: ColumnReport,
    pub(crate) method: Option<DriftMethod>,
}

/// Evidently 0.7's automatic choice (`_get_default_stattest`), with the calibrated
/// two-sample chi-square in place of its goodness of fit unless [`Compat::Evidently`].
pub(crate) fn choose(
    method: DriftMethod,
    categorical: bool,
    ref_rows: usize,
    n_unique: usize,
    compat: Compat,
) -> DriftMethod {
    if method != DriftMethod::Auto {
        return method;
    }
    let small = ref_rows <= 1000;
    let chi = match compat {
        Compat::Evidently => DriftMethod::Chisquare,
        Compat::Calibrated => DriftMethod::Chi2Contingency,
    };
    if categorical {
        match (n_unique > 2, small) {
            (true, true) => chi,
            (false, true) => DriftMethod::Z,
            _ => DriftMethod::JensenShannon,
        }
    } else if n_unique > 5 {
        if small {
            DriftMethod::Ks
        } else {
            DriftMethod::Wasserstein
        }
    } else if n_unique >= 3 {
        if small {
            chi
        } else {
            DriftMethod::JensenShannon
        }
    } else if small {
        DriftMethod::Z
    } else {
        DriftMethod::JensenShannon
    }
}

/// Distinct values of two sorted slices together, counting no further than `cap + 1`.
fn distinct_union_upto(a: &[f64], b: &[f64], cap: usize) -> usize {
    let (mut i, mut j, mut n) = (0usize, 0usize, 0usize);
    while (i < a.len() || j < b.len()) && n <= cap {
        let v = if j >= b.len() || (i < a.len() && a[i] <= b[j]) {
            a[i]
        } else {
            b[j]
        };
        n += 1;
        i += a[i..].partition_point(|x| *x <= v);
        j += b[j..].partition_point(|x| *x <= v);
    }
    n
}

/// Statistic and p-value of a test on counts over the union of values or categories
/// (`exp`: reference counts, `obs`: current counts).
fn counts_test(m: DriftMethod, exp: &[u64], obs: &[u64]) -> Result<(f64, Option<f64>)> {
    let n_ref: u64 = exp.iter().sum();
    let n_cur: u64 = obs.iter().sum();
    Ok(match m {
        DriftMethod::Chisquare => {
            let k = n_cur as f64 / n_ref as f64;
            let e: Vec<f64> = exp.iter().map(|c| *c as f64 * k).collect();
            let o: Vec<f64> = obs.iter().map(|c| *c as f64).collect();
            let r = chisquare(&o, &e)?;
            (r.statistic, Some(r.p_value))
        }
        DriftMethod::Chi2Contingency => {
            let table: Vec<f64> = exp.iter().chain(obs).map(|c| *c as f64).collect();
            let r = chi2_contingency(&table, 2, false)?;
            (r.statistic, Some(r.p_value))
        }
        DriftMethod::Z => {
            // Evidently: the indicator "not the first value / category".
            let k1 = n_ref - exp.first().copied().unwrap_or(0);
            let k2 = n_cur - obs.first().copied().unwrap_or(0);
            let r = proportions_ztest(k1, n_ref, k2, n_cur)?;
            (r.statistic, Some(r.p_value))
        }
        _ => {
            let mut p: Vec<f64> = exp.iter().map(|c| *c as f64 / n_ref as f64).collect();
            let mut q: Vec<f64> = obs.iter().map(|c| *c as f64 / n_cur as f64).collect();
            if m != DriftMethod::JensenShannon {
                fill_zeroes_evidently(&mut p);
                fill_zeroes_evidently(&mut q);
            }
            (binned_stat(m, &p, &q), None)
        }
    })
}

fn binned_stat(m: DriftMethod, p: &[f64], q: &[f64]) -> f64 {
    match m {
        DriftMethod::Psi => psi(p, q),
        DriftMethod::KlDiv => kl_div(p, q),
        _ => jensenshannon(p, q, None),
    }
}

/// The inputs of a numeric column, both sides sorted and finite.
pub(crate) struct NumericInput<'a> {
    pub(crate) name: &'a str,
    pub(crate) kind: ColumnKind,
    pub(crate) reference: &'a [f64],
    pub(crate) std: f64,
    pub(crate) reference_missing: MissingCounts,
    pub(crate) current: &'a [f64],
    pub(crate) current_missing: MissingCounts,
}

/// Scores a numeric column from sorted finite values of both sides.
pub(crate) fn score_numeric(input: &NumericInput, opts: &DetectorOptions) -> Result<Scored> {
    let (r, c) = (input.reference, input.current);
    if r.is_empty() || c.is_empty() {
        return Err(Error::invalid(
            "numeric drift column",
            format!("{}: {} and {} finite values", input.name, r.len(), c.len()),
            "at least one finite value on each side",
        ));
    }
    let discrete = matches!(
        opts.numeric_method,
        DriftMethod::Chisquare | DriftMethod::Chi2Contingency | DriftMethod::Z
    );
    let n_unique = if opts.numeric_method == DriftMethod::Auto {
        distinct_union_upto(r, c, 5)
    } else {
        0
    };
    let m = choose(opts.numeric_method, false, r.len(), n_unique, opts.compat);
    let counts = if discrete
        || matches!(
            m,
            DriftMethod::Chisquare | DriftMethod::Chi2Contingency | DriftMethod::Z
        ) {
        let (rv, rc) = distinct_counts_sorted(r);
        let (cv, cc) = distinct_counts_sorted(c);
        Some(align_counts(&rv, &rc, &cv, &cc))
    } else {
        None
    };
    let wd = || wasserstein_distance_sorted(r, c) / input.std.max(EVIDENTLY_STD_FLOOR);
    let mut effect = None;
    let (statistic, p_value) = match m {
        DriftMethod::Ks | DriftMethod::Auto => {
            // KS and the effect size in one merge.
            let k = ks_wasserstein_sorted(r, c)?;
            effect = Some(k.wasserstein / input.std.max(EVIDENTLY_STD_FLOOR));
            (k.ks_statistic, Some(k.ks_p_value))
        }
        DriftMethod::Anderson | DriftMethod::CramerVonMises => {
            // scipy's rank formulas over-alarm with ties: then the tie-aware test.
            let which = if m == DriftMethod::Anderson {
                EdfStatistic::AndersonDarling
            } else {
                EdfStatistic::CramerVonMises
            };
            let tied = match opts.compat {
                Compat::Calibrated => Some(edf_test_ties_sorted(r, c, which)?).filter(|t| t.ties),
                Compat::Evidently => None,
            };
            match (tied, which) {
                (Some(t), _) => (t.statistic, Some(t.p_value)),
                (None, EdfStatistic::AndersonDarling) => {
                    let AndersonKsampResult {
                        statistic, p_value, ..
                    } = anderson_ksamp_sorted(r, c)?;
                    (statistic, Some(p_value))
                }
                (None, EdfStatistic::CramerVonMises) => {
                    let v = cramervonmises_2samp_sorted(r, c, CvmMethod::Auto)?;
                    (v.statistic, Some(v.p_value))
                }
            }
        }
        DriftMethod::EnergyDistance => (energy_distance_sorted(r, c), None),
        DriftMethod::Wasserstein => {
            let w = wd();
            effect = Some(w);
            (w, None)
        }
        DriftMethod::Psi | DriftMethod::KlDiv | DriftMethod::JensenShannon => {
            let (p, q) = evidently_binned(r, c, m != DriftMethod::JensenShannon);
            (binned_stat(m, &p, &q), None)
        }
        DriftMethod::Chisquare | DriftMethod::Chi2Contingency | DriftMethod::Z => {
            let (ra, ca) = counts
                .as_ref()
                .map(|(a, b)| (a.as_slice(), b.as_slice()))
                .unwrap_or_default();
            counts_test(m, ra, ca)?
        }
    };
    let effect = effect.unwrap_or_else(wd);
    let new_categories = counts.as_ref().map_or(0, |(ra, ca)| {
        ra.iter()
            .zip(ca)
            .filter(|(a, b)| **a == 0 && **b > 0)
            .count() as u64
    });
    let (lo, hi) = (r[0], r[r.len() - 1]);
    let quality = ColumnQuality {
        reference_range: Some((lo, hi)),
        below_range: c.partition_point(|x| *x < lo) as u64,
        above_range: (c.len() - c.partition_point(|x| *x <= hi)) as u64,
        ..Default::default()
    };
    Ok(Scored {
        report: ColumnReport {
            column: input.name.to_string(),
            kind: input.kind,
            method: m.name().to_string(),
            statistic,
            p_value,
            threshold: 0.0,
            drifted: false,
            effect_size: Some(effect),
            effect_floor: None,
            below_min_effect: false,
            n_reference: r.len() as u64,
            n_current: c.len() as u64,
            reference_missing: input.reference_missing,
            current_missing: input.current_missing,
            new_categories,
            quality,
        },
        method: Some(m),
    })
}

/// Scores a categorical column from category counts of both sides.
pub(crate) fn score_categorical(
    name: &str,
    reference: &BTreeMap<String, u64>,
    reference_missing: MissingCounts,
    current: &BTreeMap<String, u64>,
    current_missing: MissingCounts,
    opts: &DetectorOptions,
) -> Result<Scored> {
    let n_ref: u64 = reference.values().sum();
    let n_cur: u64 = current.values().sum();
    if n_ref == 0 || n_cur == 0 {
        return Err(Error::invalid(
            "categorical drift column",
            format!("{name}: {n_ref} and {n_cur} non-null values"),
            "at least one non-null value on each side",
        ));
    }
    let (obs, exp) = union_counts(reference, current);
    let m = choose(
        opts.categorical_method,
        true,
        n_ref as usize,
        obs.len(),
        opts.compat,
    );
    let (statistic, p_value) = match m {
        DriftMethod::Ks
        | DriftMethod::Wasserstein
        | DriftMethod::Anderson
        | DriftMethod::CramerVonMises
        | DriftMethod::EnergyDistance
        | DriftMethod::Auto => {
            return Err(Error::invalid(
                "categorical drift method",
                format!("{name}: {}", m.name()),
                "auto, chisquare, chi2_contingency, z, jensenshannon, psi or kl_div",
            ));
        }
        _ => counts_test(m, &exp, &obs)?,
    };
    let p: Vec<f64> = exp.iter().map(|c| *c as f64 / n_ref as f64).collect();
    let q: Vec<f64> = obs.iter().map(|c| *c as f64 / n_cur as f64).collect();
    let effect = jensenshannon(&p, &q, None);
    let mut unseen: Vec<(&String, u64)> = current
        .iter()
        .filter(|(k, _)| !reference.contains_key(*k))
        .map(|(k, c)| (k, *c))
        .collect();
    unseen.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let quality = ColumnQuality {
        new_category_rows: unseen.iter().map(|(_, c)| c).sum(),
        new_category_examples: unseen.iter().take(10).map(|(k, _)| (*k).clone()).collect(),
        ..Default::default()
    };
    Ok(Scored {
        report: ColumnReport {
            column: name.to_string(),
            kind: ColumnKind::Categorical,
            method: m.name().to_string(),
            statistic,
            p_value,
            threshold: 0.0,
            drifted: false,
            effect_size: Some(effect),
            effect_floor: None,
            below_min_effect: false,
            n_reference: n_ref,
            n_current: n_cur,
            reference_missing,
            current_missing,
            new_categories: unseen.len() as u64,
            quality,
        },
        method: Some(m),
    })
}

fn embedding_method_name(m: EmbeddingMethod) -> &'static str {
    match m {
        EmbeddingMethod::Model => "embedding_model",
        EmbeddingMethod::Distance { .. } => "embedding_distance",
        EmbeddingMethod::Ratio => "embedding_ratio",
        EmbeddingMethod::Mmd => "embedding_mmd",
    }
}

/// Scores an embedding column with [`embedding_drift`] (rows already sampled).
#[allow(clippy::too_many_arguments)]
pub(crate) fn score_embedding(
    name: &str,
    reference: &[f64],
    reference_missing: MissingCounts,
    current: &[f64],
    current_missing: MissingCounts,
    dim: usize,
    opts: &DetectorOptions,
) -> Result<Scored> {
    let r = Embeddings::new(reference, dim)?;
    let c = Embeddings::new(current, dim).map_err(|e| {
        Error::invalid(
            "current embedding column",
            format!("{name}: {} finite rows", current.len() / dim.max(1)),
            format!("at least one finite row ({e})"),
        )
    })?;
    let d = embedding_drift(r, c, &opts.embedding)?;
    Ok(Scored {
        report: ColumnReport {
            column: name.to_string(),
            kind: ColumnKind::Embedding,
            method: embedding_method_name(d.method).to_string(),
            statistic: d.statistic,
            p_value: None,
            threshold: d.threshold,
            drifted: d.drifted,
            effect_size: None,
            effect_floor: None,
            below_min_effect: false,
            n_reference: r.rows() as u64,
            n_current: c.rows() as u64,
            reference_missing,
            current_missing,
            new_categories: 0,
            quality: ColumnQuality::default(),
        },
        method: None,
    })
}

/// The report of a column whose current type cannot be compared with the reference's:
/// counted as drifted, with the mismatch as its finding.
pub(crate) fn type_mismatch(
    name: &str,
    kind: ColumnKind,
    reference: &str,
    current: &str,
    reference_missing: MissingCounts,
) -> Scored {
    Scored {
        report: ColumnReport {
            column: name.to_string(),
            kind,
            method: "type_mismatch".to_string(),
            statistic: 0.0,
            p_value: None,
            threshold: 0.0,
            drifted: true,
            effect_size: None,
            effect_floor: None,
            below_min_effect: false,
            n_reference: 0,
            n_current: 0,
            reference_missing,
            current_missing: MissingCounts::default(),
            new_categories: 0,
            quality: ColumnQuality {
                type_mismatch: Some(TypeMismatch {
                    reference: reference.to_string(),
                    current: current.to_string(),
                    comparable: false,
                }),
                ..Default::default()
            },
        },
        method: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_union_stops_past_the_cap() {
        let a = [1.0, 1.0, 2.0, 5.0];
        let b = [0.0, 2.0, 3.0, 3.0];
        assert_eq!(distinct_union_upto(&a, &b, 10), 5);
        assert_eq!(distinct_union_upto(&a, &b, 2), 3);
        assert_eq!(distinct_union_upto(&[], &b, 10), 3);
    }
}
