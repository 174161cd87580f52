//! # mlops-serve
//!
//! Serving: the Open Inference Protocol over HTTP, dynamic batching, hot model swap, canary
//! and rollback, live monitoring. It resolves models through [`mlops_core::Registry`];
//! the server itself arrives with its own issue.

#![warn(missing_docs)]

use mlops_core::{ModelRef, Result};

/// Parses the model a deployment serves (`name@champion`, `name@3`), with the typed error
/// of [`ModelRef`]'s parser on bad input.
pub fn parse_deployment_target(spec: &str) -> Result<ModelRef> {
    spec.parse()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_targets_are_model_refs() {
        assert_eq!(
            parse_deployment_target("churn@champion").unwrap(),
            ModelRef::alias("churn", "champion")
        );
        assert!(parse_deployment_target("churn").is_err());
    }
}
