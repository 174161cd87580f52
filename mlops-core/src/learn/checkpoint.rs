//! Checkpoints of model, optimiser and scheduler state: files written atomically in a folder
//! (so a training killed at any moment resumes from the last complete epoch), or memory when
//! only the best epoch's weights must be kept for early stopping.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use burn::tensor::Bytes;
use burn::train::checkpoint::{
    Checkpoint, Checkpointer, CheckpointerError, CheckpointingAction, CheckpointingStrategy,
};
use burn::train::metric::store::EventStoreClient;
use serde::{Deserialize, Serialize};

use super::monitor::SharedLog;
use crate::error::{Error, Result};

/// The three kinds of state burn checkpoints each epoch.
pub(crate) const KINDS: [&str; 3] = ["model", "optim", "scheduler"];

/// One kind of state, stored in a folder or in memory.
#[derive(Clone)]
pub(crate) struct Checkpoints {
    dir: Option<PathBuf>,
    kind: &'static str,
    memory: Arc<Mutex<HashMap<usize, Vec<u8>>>>,
}

impl Checkpoints {
    pub(crate) fn new(dir: Option<&Path>, kind: &'static str) -> Self {
        Checkpoints {
            dir: dir.map(Path::to_path_buf),
            kind,
            memory: Arc::default(),
        }
    }

    fn path(dir: &Path, kind: &str, epoch: usize) -> PathBuf {
        dir.join(format!("{kind}-{epoch}.bpk"))
    }

    fn read(&self, epoch: usize) -> std::io::Result<Vec<u8>> {
        match &self.dir {
            Some(dir) => std::fs::read(Self::path(dir, self.kind, epoch)),
            None => self
                .memory
                .lock()
                .ok()
                .and_then(|m| m.get(&epoch).cloned())
                .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no checkpoint")),
        }
    }

    /// Reads a stored record back (the model of the best epoch, say).
    pub(crate) fn load<R: Checkpoint>(&self, epoch: usize) -> Result<R> {
        let bytes = self
            .read(epoch)
            .map_err(|e| Error::io(format!("{} checkpoint of epoch {epoch}", self.kind), e))?;
        R::checkpoint_from_bytes(Bytes::from_bytes_vec(bytes)).map_err(|e| Error::Integrity {
            what: format!("{} checkpoint of epoch {epoch}", self.kind),
            expected: "a readable burnpack record".into(),
            actual: e.to_string(),
        })
    }
}

/// Writes `bytes` to `path` through a temporary file, fsync and rename: a reader sees the
/// old file or the whole new one, never a part.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(parent) = path.parent()
        && let Ok(dir) = std::fs::File::open(parent)
    {
        let _ = dir.sync_all();
    }
    Ok(())
}

impl<R: Checkpoint> Checkpointer<R> for Checkpoints {
    fn save(&self, epoch: usize, record: R) -> Result<(), CheckpointerError> {
        let bytes = record
            .checkpoint_into_bytes()
            .map_err(CheckpointerError::Record)?;
        match &self.dir {
            Some(dir) => write_atomic(&Self::path(dir, self.kind, epoch), &bytes)
                .map_err(CheckpointerError::IOError),
            None => {
                self.memory
                    .lock()
                    .map_err(|_| CheckpointerError::Unknown("checkpoint memory poisoned".into()))?
                    .insert(epoch, bytes.to_vec());
                Ok(())
            }
        }
    }

    fn delete(&self, epoch: usize) -> Result<(), CheckpointerError> {
        match &self.dir {
            Some(dir) => match std::fs::remove_file(Self::path(dir, self.kind, epoch)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(CheckpointerError::IOError(e))
                }
                _ => Ok(()),
            },
            None => {
                if let Ok(mut m) = self.memory.lock() {
                    m.remove(&epoch);
                }
                Ok(())
            }
        }
    }

    fn restore(&self, epoch: usize) -> Result<R, CheckpointerError> {
        let bytes = self.read(epoch).map_err(CheckpointerError::IOError)?;
        R::checkpoint_from_bytes(Bytes::from_bytes_vec(bytes)).map_err(CheckpointerError::Record)
    }
}

/// Keeps the last two epochs and the best one (lowest validation loss); saves the epoch log
/// beside the checkpoints so a resumed run knows its history.
pub(crate) struct KeepRecentAndBest {
    pub(crate) log: SharedLog,
    pub(crate) dir: Option<PathBuf>,
    /// Epochs with checkpoints on disk or in memory.
    pub(crate) saved: BTreeSet<usize>,
}

const RECENT: usize = 2;

impl CheckpointingStrategy for KeepRecentAndBest {
    fn checkpointing(
        &mut self,
        epoch: usize,
        _store: &EventStoreClient,
    ) -> Vec<CheckpointingAction> {
        let best = self.log.lock().ok().and_then(|l| l.best_epoch());
        let keep = |e: usize| e + RECENT > epoch || Some(e) == best;
        let mut actions = vec![CheckpointingAction::Save];
        self.saved.insert(epoch);
        let stale: Vec<usize> = self.saved.iter().copied().filter(|e| !keep(*e)).collect();
        for e in stale {
            self.saved.remove(&e);
            actions.push(CheckpointingAction::Delete(e));
        }
        if let (Some(dir), Ok(log)) = (&self.dir, self.log.lock()) {
            let history = History {
                epochs: log.epochs.clone(),
            };
            if let Ok(text) = serde_json::to_vec(&history) {
                let _ = write_atomic(&dir.join(HISTORY), &text);
            }
        }
        actions
    }
}

/// The file holding the epoch metrics next to the checkpoints.
pub(crate) const HISTORY: &str = "history.json";
/// The file naming what the checkpoints belong to.
pub(crate) const IDENTITY: &str = "identity.json";

/// Per-epoch metrics as saved beside the checkpoints.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct History {
    pub(crate) epochs: std::collections::BTreeMap<usize, std::collections::BTreeMap<String, f64>>,
}

/// Prepares a checkpoint folder for a run identified by `identity` (its config without the
/// epoch count, its data ids and seed). Returns the last epoch whose three records are all
/// present (0 when starting fresh), every epoch with checkpoint files, and the saved history. A folder holding another run's
/// checkpoints is refused rather than mixed.
pub(crate) fn prepare(
    dir: &Path,
    identity: &serde_json::Value,
) -> Result<(usize, BTreeSet<usize>, History)> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display().to_string(), e))?;
    let id_path = dir.join(IDENTITY);
    match std::fs::read(&id_path) {
        Ok(bytes) => {
            let stored: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
                Error::invalid(
                    "checkpoint identity file",
                    id_path.display().to_string(),
                    format!("readable JSON ({e})"),
                )
            })?;
            if &stored != identity {
                return Err(Error::Conflict(format!(
                    "checkpoint folder {} holds another training (its config, data or seed \
                     differ); use a fresh folder",
                    dir.display()
                )));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let text = serde_json::to_vec_pretty(identity).map_err(|e| {
                Error::invalid("checkpoint identity", e.to_string(), "serializable JSON")
            })?;
            write_atomic(&id_path, &text)
                .map_err(|e| Error::io(id_path.display().to_string(), e))?;
            return Ok((0, BTreeSet::new(), History::default()));
        }
        Err(e) => return Err(Error::io(id_path.display().to_string(), e)),
    }
    let mut saved = BTreeSet::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(epoch) = name
                .strip_prefix("model-")
                .and_then(|r| r.strip_suffix(".bpk"))
                .and_then(|e| e.parse::<usize>().ok())
                && KINDS
                    .iter()
                    .all(|k| Checkpoints::path(dir, k, epoch).is_file())
            {
                saved.insert(epoch);
            }
        }
    }
    let last = saved.last().copied().unwrap_or(0);
    let history = std::fs::read(dir.join(HISTORY))
        .ok()
        .and_then(|b| serde_json::from_slice::<History>(&b).ok())
        .map(|mut h| {
            h.epochs.retain(|e, _| *e <= last);
            h
        })
        .unwrap_or_default();
    Ok((last, saved, history))
}
