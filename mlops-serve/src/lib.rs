//! # mlops-serve
//!
//! Serving: the Open Inference Protocol over HTTP, dynamic batching, hot model swap, canary
//! and rollback, live monitoring. Today: the [`ModelRepository`], which loads registered
//! models through [`mlops_core::Factory`] (digests verified), describes them in the OIP
//! metadata form and swaps versions atomically, and the OIP REST server over it
//! ([`server::spawn`]: health, metadata, inference in JSON or Triton's binary extension).
//! Batching, caching, canaries, auth and telemetry arrive with the serving issue.

#![warn(missing_docs)]

pub mod oip;
pub mod repository;
pub mod server;

pub use repository::{InferenceModel, MetadataTensor, ModelMetadata, ModelRepository, ServedModel};
pub use server::{ServerHandle, router, spawn};

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
