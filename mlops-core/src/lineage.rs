//! Lineage: typed edges between datasets, runs and model versions.

use serde::{Deserialize, Serialize};

use crate::ids::{DatasetId, RunId};

/// A node of the lineage graph.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LineageNode {
    /// A dataset version.
    Dataset {
        /// Its content digest.
        id: DatasetId,
    },
    /// A run.
    Run {
        /// Its id.
        id: RunId,
    },
    /// A model version.
    ModelVersion {
        /// Registered model name.
        name: String,
        /// Version number.
        version: u64,
    },
}

impl LineageNode {
    /// The kind as stored (`dataset`, `run`, `model_version`).
    pub fn kind(&self) -> &'static str {
        match self {
            LineageNode::Dataset { .. } => "dataset",
            LineageNode::Run { .. } => "run",
            LineageNode::ModelVersion { .. } => "model_version",
        }
    }

    /// The id as stored (`<digest>`, `<run id>`, `name@version`).
    pub fn id(&self) -> String {
        match self {
            LineageNode::Dataset { id } => id.to_string(),
            LineageNode::Run { id } => id.to_string(),
            LineageNode::ModelVersion { name, version } => format!("{name}@{version}"),
        }
    }
}

/// An edge `src → dst` with a relation name (`derived_from`, `input`, `produced`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LineageEdge {
    /// Upstream node.
    pub src: LineageNode,
    /// Downstream node.
    pub dst: LineageNode,
    /// What the edge means.
    pub relation: String,
}
