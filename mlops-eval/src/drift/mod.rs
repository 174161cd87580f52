//! Drift statistics and detectors with scipy and Evidently parity.
