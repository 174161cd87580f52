//! The model registry: registered models, numbered versions, aliases, tags, lineage and an
//! audit log of every alias move and deletion.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::ids::{DatasetId, Digest, ModelRef, RunId};
use crate::lineage::LineageEdge;

/// A named model with numbered versions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegisteredModel {
    /// Unique name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Creation time (ms).
    pub creation_time: i64,
    /// Last update time (ms).
    pub last_update_time: i64,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Aliases and the versions they point to.
    pub aliases: BTreeMap<String, u64>,
    /// The highest version number, if any version exists.
    pub latest_version: Option<u64>,
}

/// The registration state of a version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ModelVersionStatus {
    /// Registered and usable.
    #[serde(rename = "READY")]
    Ready,
    /// Registration in progress.
    #[serde(rename = "PENDING_REGISTRATION")]
    Pending,
    /// Registration failed.
    #[serde(rename = "FAILED_REGISTRATION")]
    Failed,
}

impl ModelVersionStatus {
    /// The wire form.
    pub fn as_str(&self) -> &'static str {
        match self {
            ModelVersionStatus::Ready => "READY",
            ModelVersionStatus::Pending => "PENDING_REGISTRATION",
            ModelVersionStatus::Failed => "FAILED_REGISTRATION",
        }
    }
}

/// One version of a registered model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelVersion {
    /// The registered model.
    pub name: String,
    /// 1-based, gap-free per model.
    pub version: u64,
    /// Where the model lives (a URI, e.g. `runs:/<run>/model` or `artifact:<digest>`).
    pub source: String,
    /// The run that produced it.
    pub run_id: Option<RunId>,
    /// The digest of the model artifact, checked when it is loaded.
    pub artifact_digest: Option<Digest>,
    /// Free text.
    pub description: String,
    /// Registration state.
    pub status: ModelVersionStatus,
    /// Who registered it.
    pub user_id: String,
    /// Creation time (ms).
    pub creation_time: i64,
    /// Last update time (ms).
    pub last_update_time: i64,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Aliases pointing at this version.
    pub aliases: Vec<String>,
}

impl ModelVersion {
    /// `name@version`.
    pub fn model_ref(&self) -> ModelRef {
        ModelRef::version(self.name.clone(), self.version)
    }
}

/// Arguments of [`Registry::create_model_version`].
#[derive(Clone, Debug, Default)]
pub struct NewModelVersion {
    /// The registered model; created if it does not exist.
    pub name: String,
    /// Where the model lives.
    pub source: String,
    /// The run that produced it (adds a lineage edge run → version).
    pub run_id: Option<RunId>,
    /// The digest of the model artifact.
    pub artifact_digest: Option<Digest>,
    /// Free text.
    pub description: String,
    /// Tags.
    pub tags: Vec<(String, String)>,
}

/// Who made a change and why: recorded in the audit log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Who (a user or a service).
    pub actor: String,
    /// Why.
    pub reason: String,
}

impl Change {
    /// A change by `actor` for `reason`.
    pub fn new(actor: impl Into<String>, reason: impl Into<String>) -> Self {
        Change {
            actor: actor.into(),
            reason: reason.into(),
        }
    }
}

/// One audit log entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Monotonic sequence number.
    pub seq: i64,
    /// When (ms).
    pub time: i64,
    /// Who.
    pub actor: String,
    /// What (`set_alias`, `delete_alias`, `delete_model_version`, ...).
    pub action: String,
    /// On what (`model:name`, `model:name@3`).
    pub entity: String,
    /// Details as JSON (e.g. the alias's previous and new version).
    pub detail: serde_json::Value,
    /// Why.
    pub reason: String,
}

/// The registry. Object-safe: hold it as `Arc<dyn Registry>`.
#[async_trait]
pub trait Registry: Send + Sync {
    /// Creates a registered model.
    async fn create_registered_model(
        &self,
        name: &str,
        description: &str,
    ) -> Result<RegisteredModel>;
    /// Reads a registered model.
    async fn get_registered_model(&self, name: &str) -> Result<RegisteredModel>;
    /// Lists registered models by name.
    async fn list_registered_models(&self) -> Result<Vec<RegisteredModel>>;
    /// Sets a registered model's description.
    async fn update_registered_model(&self, name: &str, description: &str) -> Result<()>;
    /// Sets a tag on a registered model.
    async fn set_registered_model_tag(&self, name: &str, key: &str, value: &str) -> Result<()>;
    /// Deletes a registered model, its versions and aliases (audited).
    async fn delete_registered_model(&self, name: &str, change: &Change) -> Result<()>;

    /// Registers a new version, numbered max + 1 atomically (no gap, no duplicate under
    /// concurrent registration).
    async fn create_model_version(&self, new: NewModelVersion) -> Result<ModelVersion>;
    /// Reads a version.
    async fn get_model_version(&self, name: &str, version: u64) -> Result<ModelVersion>;
    /// Resolves `name@3`, `name@alias` or `name@latest`.
    async fn resolve(&self, model: &ModelRef) -> Result<ModelVersion>;
    /// Lists the versions of a model, ascending.
    async fn list_model_versions(&self, name: &str) -> Result<Vec<ModelVersion>>;
    /// Sets a version's description.
    async fn update_model_version(&self, name: &str, version: u64, description: &str)
    -> Result<()>;
    /// Sets a tag on a version.
    async fn set_model_version_tag(
        &self,
        name: &str,
        version: u64,
        key: &str,
        value: &str,
    ) -> Result<()>;
    /// Deletes a version and the aliases pointing at it (audited).
    async fn delete_model_version(&self, name: &str, version: u64, change: &Change) -> Result<()>;

    /// Points an alias at a version, moving it if it exists (audited with the old version).
    async fn set_alias(&self, name: &str, alias: &str, version: u64, change: &Change)
    -> Result<()>;
    /// Removes an alias (audited).
    async fn delete_alias(&self, name: &str, alias: &str, change: &Change) -> Result<()>;

    /// Audit log entries, oldest first; `entity_prefix` filters (`model:churn`).
    async fn audit_log(&self, entity_prefix: Option<&str>) -> Result<Vec<AuditEvent>>;

    /// Records a lineage edge (e.g. dataset → derived dataset).
    async fn add_lineage_edge(&self, edge: &LineageEdge) -> Result<()>;
    /// Every model version that descends from a dataset, through derived datasets and runs.
    async fn versions_from_dataset(&self, dataset: &DatasetId) -> Result<Vec<ModelVersion>>;
    /// Every dataset a version descends from: the run's inputs and their ancestors.
    async fn datasets_of_version(&self, name: &str, version: u64) -> Result<Vec<DatasetId>>;
}
