//! # mlops-eval
//!
//! Evaluation: metrics with scikit-learn parity, comparisons, gates, and drift detectors.
//!
//! - [`metrics`]: classification, regression, ranking and text metrics that agree with
//!   scikit-learn (golden fixtures produced by scikit-learn are checked in CI).
//! - [`drift`]: drift statistics and [`mlops_core::DriftDetector`] implementations that
//!   agree with scipy and Evidently.
//! - [`compare`]: evaluation manifests, paired bootstrap intervals, McNemar's test.
//! - [`fairness`]: per-group rates, demographic parity and equalized odds (fairlearn's
//!   semantics, checked against fairlearn).
//! - [`gates`]: the rules that decide promotion.
//! - [`evaluator`]: the default [`mlops_core::Evaluator`], a suite of metrics and gates
//!   recorded in a run.
//! - [`slices`]: any metric per segment, with counts.
//! - [`business`]: latency percentiles and cost per 1,000 predictions.
//! - [`report`]: JSON and a self-contained HTML page with ROC, PR, calibration, confusion
//!   matrix and per-slice plots.
//! - [`rng`]: the seeded generator behind every resampling, frozen so results never change
//!   across versions or machines.

#![warn(missing_docs)]

pub mod business;
pub mod compare;
pub mod drift;
pub mod evaluator;
pub mod fairness;
pub mod gates;
pub mod metrics;
pub mod report;
/// The seeded generator behind every resampling (it lives in `mlops-core`, shared with training).
pub use mlops_core::rng;
pub mod slices;
