//! Metrics with scikit-learn parity (classification, regression, ranking, text).
