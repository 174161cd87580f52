//! The typed error of the core crate.
//!
//! Every variant says what was wrong, with which value, and what was expected, so that a
//! message like `invalid metric key "": must be 1 to 250 characters` reaches the user
//! instead of a backend's internals.

use std::borrow::Cow;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors returned by the traits and the embedded store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A named entity does not exist.
    #[error("{kind} not found: {name}")]
    NotFound {
        /// What kind of entity was looked up ("run", "experiment", "model version", ...).
        kind: &'static str,
        /// The identifier that was looked up.
        name: String,
    },

    /// An entity with this identity already exists.
    #[error("{kind} already exists: {name}")]
    AlreadyExists {
        /// What kind of entity.
        kind: &'static str,
        /// The identifier that collided.
        name: String,
    },

    /// A value given by the caller breaks a rule.
    #[error("invalid {what} {value:?}: {expected}")]
    InvalidInput {
        /// Which input ("metric key", "param value", "filter", ...).
        what: Cow<'static, str>,
        /// The offending value (possibly shortened for display).
        value: String,
        /// What was expected instead.
        expected: Cow<'static, str>,
    },

    /// The operation conflicts with what is stored (a param logged twice with different values,
    /// a write to a finished run, ...).
    #[error("conflict: {0}")]
    Conflict(String),

    /// Stored bytes do not match their recorded digest.
    #[error("integrity check failed for {what}: expected digest {expected}, found {actual}")]
    Integrity {
        /// What was being verified.
        what: String,
        /// The recorded digest.
        expected: String,
        /// The digest of the bytes actually read.
        actual: String,
    },

    /// The operation is not supported by this implementation.
    #[error("not supported: {0}")]
    NotSupported(String),

    /// The metadata database failed.
    #[error("metadata store error: {0}")]
    Database(String),

    /// The object store holding artifacts failed.
    #[error("artifact store error: {0}")]
    ObjectStore(String),

    /// A filesystem operation failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The path involved.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The store was closed or its background writer stopped.
    #[error("store closed: {0}")]
    Closed(String),

    /// Training failed inside the compute backend (or a trainer).
    #[error("training failed: {0}")]
    Training(String),

    /// A model failed while predicting (the model, not the request, was at fault).
    #[error("inference failed: {0}")]
    Inference(String),
}

impl Error {
    /// Builds an [`Error::InvalidInput`], shortening very long values for display.
    pub fn invalid(
        what: impl Into<Cow<'static, str>>,
        value: impl AsRef<str>,
        expected: impl Into<Cow<'static, str>>,
    ) -> Self {
        Error::InvalidInput {
            what: what.into(),
            value: shorten(value.as_ref()),
            expected: expected.into(),
        }
    }

    /// Builds an [`Error::NotFound`].
    pub fn not_found(kind: &'static str, name: impl Into<String>) -> Self {
        Error::NotFound {
            kind,
            name: name.into(),
        }
    }

    /// Builds an [`Error::AlreadyExists`].
    pub fn already_exists(kind: &'static str, name: impl Into<String>) -> Self {
        Error::AlreadyExists {
            kind,
            name: name.into(),
        }
    }

    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// True for [`Error::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }
}

/// Shortens a value to at most 200 characters (plus a note of the full length) for messages.
pub(crate) fn shorten(value: &str) -> String {
    const SHOW: usize = 200;
    if value.chars().count() <= SHOW {
        value.to_owned()
    } else {
        let head: String = value.chars().take(SHOW).collect();
        format!("{head}... ({} characters)", value.chars().count())
    }
}
