//! Drift from Python: the detectors (`default` with calibrated alarms, `evidently`
//! verbatim, `nannyml`, and `profile` for merged fleet profiles) over Arrow tables, and the
//! rest of scipy's two-sample statistics under scipy's names.

use arrow_array::RecordBatch;
use mlops_core::{DriftDetector, Error, FittedReference};
use mlops_eval::drift::nannyml::{NannymlDriftDetector, NannymlOptions};
use mlops_eval::drift::{
    CvmMethod, DefaultDriftDetector, DetectorOptions, ProfileDetectorOptions, ProfileDriftDetector,
    TableProfile,
};
use pyo3::prelude::*;

use crate::arrow::{Floats, import};
use crate::errors::to_py;

fn invalid(what: &str, got: impl Into<String>, expected: &str) -> PyErr {
    let (what, expected) = (what.to_owned(), expected.to_owned());
    to_py(Error::invalid(what, got.into(), expected))
}

fn one_batch(table: &Bound<'_, PyAny>) -> PyResult<RecordBatch> {
    import(table)?.concat().map_err(to_py)
}

fn parse<T: serde::de::DeserializeOwned + Default>(json: Option<&str>, what: &str) -> PyResult<T> {
    match json {
        None => Ok(T::default()),
        Some(text) => serde_json::from_str(text).map_err(|e| {
            invalid(
                what,
                e.to_string(),
                "options as the Rust detector names them",
            )
        }),
    }
}

enum Kind {
    Default(DefaultDriftDetector),
    Nannyml(NannymlDriftDetector),
    Profile(ProfileDriftDetector),
}

/// A drift detector: `fit` a reference once (its state is JSON, store it anywhere), then
/// `score` each window of current data at the window's own cost.
#[pyclass(module = "mlops._mlops", name = "DriftDetector", frozen)]
pub struct PyDriftDetector {
    kind: Kind,
}

impl PyDriftDetector {
    fn detector(&self) -> &dyn DriftDetector {
        match &self.kind {
            Kind::Default(d) => d,
            Kind::Nannyml(d) => d,
            Kind::Profile(d) => d,
        }
    }
}

fn fitted(json: &str) -> PyResult<FittedReference> {
    serde_json::from_str(json).map_err(|e| {
        invalid(
            "fitted reference",
            e.to_string(),
            "the JSON that fit returned",
        )
    })
}

#[pymethods]
impl PyDriftDetector {
    /// `kind`: `default` (Evidently's method choice with calibrated alarms), `evidently`
    /// (Evidently 0.7 verbatim), `nannyml` (NannyML 0.13's methods and thresholds) or
    /// `profile` (from mergeable sketches). `options_json` overrides the options.
    #[new]
    #[pyo3(signature = (kind = "default", options_json = None))]
    fn new(kind: &str, options_json: Option<&str>) -> PyResult<Self> {
        let kind = match kind {
            "default" => Kind::Default(DefaultDriftDetector::new(parse::<DetectorOptions>(
                options_json,
                "drift detector options",
            )?)),
            "evidently" => {
                let mut o = DetectorOptions::evidently();
                if let Some(text) = options_json {
                    o = serde_json::from_str(text).map_err(|e| {
                        invalid("drift detector options", e.to_string(), "DetectorOptions")
                    })?;
                    o.compat = mlops_eval::drift::detector::Compat::Evidently;
                }
                Kind::Default(DefaultDriftDetector::new(o))
            }
            "nannyml" => Kind::Nannyml(NannymlDriftDetector::new(parse::<NannymlOptions>(
                options_json,
                "NannyML options",
            )?)),
            "profile" => Kind::Profile(ProfileDriftDetector::new(parse::<ProfileDetectorOptions>(
                options_json,
                "profile detector options",
            )?)),
            other => {
                return Err(invalid(
                    "drift detector kind",
                    other,
                    "default, evidently, nannyml or profile",
                ));
            }
        };
        Ok(PyDriftDetector { kind })
    }

    /// Fits the reference table; returns the fitted reference as JSON.
    fn fit(&self, py: Python<'_>, reference: &Bound<'_, PyAny>) -> PyResult<String> {
        let batch = one_batch(reference)?;
        let f = py.detach(|| self.detector().fit(&batch)).map_err(to_py)?;
        serde_json::to_string(&f).map_err(|e| invalid("fitted reference", e.to_string(), "JSON"))
    }

    /// Scores a current table against a fitted reference; returns the report as JSON (the
    /// default detector's carries per-column effect sizes and data-quality findings).
    fn score(
        &self,
        py: Python<'_>,
        reference_json: &str,
        current: &Bound<'_, PyAny>,
    ) -> PyResult<String> {
        let reference = fitted(reference_json)?;
        let batch = one_batch(current)?;
        let json = py
            .detach(|| -> mlops_core::Result<String> {
                Ok(match &self.kind {
                    Kind::Default(d) => {
                        serde_json::to_string(&d.analyze_fitted(&reference, &batch)?)
                    }
                    _ => serde_json::to_string(&self.detector().score(&reference, &batch)?),
                }
                .unwrap_or_default())
            })
            .map_err(to_py)?;
        Ok(json)
    }

    /// Profile detector: the mergeable profile of a table, as JSON (what each server sends).
    fn profile(&self, py: Python<'_>, table: &Bound<'_, PyAny>) -> PyResult<String> {
        let Kind::Profile(d) = &self.kind else {
            return Err(invalid(
                "drift detector kind",
                "not profile",
                "the profile detector",
            ));
        };
        let batch = one_batch(table)?;
        let p = py.detach(|| d.profile(&batch)).map_err(to_py)?;
        Ok(p.to_json())
    }

    /// Profile detector: scores a current profile (merged from any number of servers) against
    /// the fitted reference; returns the report as JSON.
    fn score_profile(
        &self,
        py: Python<'_>,
        reference_json: &str,
        profile_json: &str,
    ) -> PyResult<String> {
        let Kind::Profile(d) = &self.kind else {
            return Err(invalid(
                "drift detector kind",
                "not profile",
                "the profile detector",
            ));
        };
        let reference = fitted(reference_json)?;
        let current = TableProfile::from_json(profile_json).map_err(to_py)?;
        let a = py
            .detach(|| {
                let r = d.reference_profile(&reference)?;
                d.analyze_profiles(&r, &current)
            })
            .map_err(to_py)?;
        serde_json::to_string(&a).map_err(|e| invalid("report", e.to_string(), "JSON"))
    }
}

/// Merges table profiles (JSON) into one, in any order.
#[pyfunction]
fn merge_profiles(py: Python<'_>, profiles: Vec<String>) -> PyResult<String> {
    py.detach(|| {
        let mut it = profiles.iter();
        let first = it
            .next()
            .ok_or_else(|| Error::invalid("profiles", "none", "at least one profile"))?;
        let mut merged = TableProfile::from_json(first)?;
        for p in it {
            merged.merge(&TableProfile::from_json(p)?)?;
        }
        Ok(merged.to_json())
    })
    .map_err(to_py)
}

/// scipy's `energy_distance` (unweighted).
#[pyfunction]
fn energy_distance(py: Python<'_>, u_values: Floats, v_values: Floats) -> PyResult<f64> {
    py.detach(|| mlops_eval::drift::energy_distance(u_values.as_slice(), v_values.as_slice()))
        .map_err(to_py)
}

/// scipy's `cramervonmises_2samp`: `(statistic, pvalue)`.
#[pyfunction]
#[pyo3(signature = (x, y, method = "auto"))]
fn cramervonmises_2samp(
    py: Python<'_>,
    x: Floats,
    y: Floats,
    method: &str,
) -> PyResult<(f64, f64)> {
    let method = match method {
        "auto" => CvmMethod::Auto,
        "exact" => CvmMethod::Exact,
        "asymptotic" => CvmMethod::Asymptotic,
        other => return Err(invalid("method", other, "auto, exact or asymptotic")),
    };
    let r = py
        .detach(|| mlops_eval::drift::cramervonmises_2samp(x.as_slice(), y.as_slice(), method))
        .map_err(to_py)?;
    Ok((r.statistic, r.p_value))
}

/// scipy's `anderson_ksamp` (midrank): `(statistic, critical_values, pvalue)`.
#[pyfunction]
fn anderson_ksamp(py: Python<'_>, samples: Vec<Floats>) -> PyResult<(f64, Vec<f64>, f64)> {
    let r = py
        .detach(|| {
            let s: Vec<&[f64]> = samples.iter().map(Floats::as_slice).collect();
            mlops_eval::drift::anderson_ksamp(&s)
        })
        .map_err(to_py)?;
    Ok((r.statistic, r.critical_values, r.p_value))
}

/// scipy's `chisquare` (goodness of fit): `(statistic, pvalue)`.
#[pyfunction]
fn chisquare(py: Python<'_>, f_obs: Floats, f_exp: Floats) -> PyResult<(f64, f64)> {
    let r = py
        .detach(|| mlops_eval::drift::chisquare(f_obs.as_slice(), f_exp.as_slice()))
        .map_err(to_py)?;
    Ok((r.statistic, r.p_value))
}

/// scipy's `jensenshannon` distance (`base` None: natural log).
#[pyfunction]
#[pyo3(signature = (p, q, base = None))]
fn jensenshannon(p: Floats, q: Floats, base: Option<f64>) -> PyResult<f64> {
    if p.as_slice().len() != q.as_slice().len() {
        return Err(invalid(
            "jensenshannon lengths",
            format!("{} and {}", p.as_slice().len(), q.as_slice().len()),
            "two distributions of the same length",
        ));
    }
    Ok(mlops_eval::drift::jensenshannon(
        p.as_slice(),
        q.as_slice(),
        base,
    ))
}

/// Registers the classes and functions of this module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyDriftDetector>()?;
    m.add_function(wrap_pyfunction!(merge_profiles, m)?)?;
    m.add_function(wrap_pyfunction!(energy_distance, m)?)?;
    m.add_function(wrap_pyfunction!(cramervonmises_2samp, m)?)?;
    m.add_function(wrap_pyfunction!(anderson_ksamp, m)?)?;
    m.add_function(wrap_pyfunction!(chisquare, m)?)?;
    m.add_function(wrap_pyfunction!(jensenshannon, m)?)?;
    Ok(())
}
