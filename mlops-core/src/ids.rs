//! Identifiers: runs, experiments, content digests, datasets and model references.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A run id: a UUID v7, so ids sort by creation time. Written as 32 lowercase hex digits,
/// the form MLflow's clients expect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RunId(uuid::Uuid);

impl RunId {
    /// A fresh, time-ordered run id.
    pub fn new() -> Self {
        RunId(uuid::Uuid::now_v7())
    }

    /// The underlying UUID.
    pub fn as_uuid(&self) -> uuid::Uuid {
        self.0
    }
}

impl Default for RunId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.simple(), f)
    }
}

impl FromStr for RunId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        uuid::Uuid::try_parse(s)
            .map(RunId)
            .map_err(|_| Error::invalid("run id", s, "a UUID, 32 hex digits"))
    }
}

impl TryFrom<String> for RunId {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<RunId> for String {
    fn from(id: RunId) -> String {
        id.to_string()
    }
}

/// An experiment id. MLflow's wire form is a decimal string; the embedded store allocates
/// them from a sequence.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExperimentId(pub String);

impl ExperimentId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for ExperimentId {
    /// The default experiment, `"0"`, as in MLflow.
    fn default() -> Self {
        ExperimentId("0".to_owned())
    }
}

impl fmt::Display for ExperimentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for ExperimentId {
    fn from(s: &str) -> Self {
        ExperimentId(s.to_owned())
    }
}

impl From<i64> for ExperimentId {
    fn from(n: i64) -> Self {
        ExperimentId(n.to_string())
    }
}

/// A BLAKE3 content digest (32 bytes), written as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest([u8; 32]);

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Digest(*blake3::hash(bytes).as_bytes())
    }

    /// Wraps raw digest bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Digest(bytes)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 64-character lowercase hex form.
    pub fn to_hex(&self) -> String {
        blake3::Hash::from_bytes(self.0).to_hex().to_string()
    }
}

impl From<blake3::Hash> for Digest {
    fn from(h: blake3::Hash) -> Self {
        Digest(*h.as_bytes())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.to_hex())
    }
}

impl FromStr for Digest {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        blake3::Hash::from_hex(s)
            .map(Digest::from)
            .map_err(|_| Error::invalid("digest", s, "64 lowercase hex digits (BLAKE3)"))
    }
}

impl TryFrom<String> for Digest {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> String {
        d.to_hex()
    }
}

/// A dataset id: the content digest of a dataset version, so the same data always has the
/// same id and any model traces back to its exact rows.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DatasetId(String);

impl DatasetId {
    /// Wraps a BLAKE3 digest.
    pub fn from_digest(d: Digest) -> Self {
        DatasetId(d.to_hex())
    }

    /// Accepts any content digest written in hex (BLAKE3 or SHA-256: 64 digits; other
    /// algorithms: 16 to 128 digits), so digests made by other tools can be recorded.
    pub fn parse(s: &str) -> Result<Self> {
        let ok = (16..=128).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if ok {
            Ok(DatasetId(s.to_owned()))
        } else {
            Err(Error::invalid(
                "dataset id",
                s,
                "a content digest of 16 to 128 lowercase hex digits",
            ))
        }
    }

    /// The digest as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DatasetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for DatasetId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        DatasetId::parse(s)
    }
}

impl TryFrom<String> for DatasetId {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        DatasetId::parse(&s)
    }
}

impl From<DatasetId> for String {
    fn from(d: DatasetId) -> String {
        d.0
    }
}

/// Which version of a registered model a [`ModelRef`] points at.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionSelector {
    /// An exact version number, 1-based.
    Version(u64),
    /// An alias such as `champion`.
    Alias(String),
    /// The highest version number.
    Latest,
}

/// A reference to a model version: `name@3`, `name@champion` or `name@latest`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ModelRef {
    /// The registered model's name.
    pub name: String,
    /// Which version.
    pub selector: VersionSelector,
}

impl ModelRef {
    /// `name@version`.
    pub fn version(name: impl Into<String>, version: u64) -> Self {
        ModelRef {
            name: name.into(),
            selector: VersionSelector::Version(version),
        }
    }

    /// `name@alias`.
    pub fn alias(name: impl Into<String>, alias: impl Into<String>) -> Self {
        ModelRef {
            name: name.into(),
            selector: VersionSelector::Alias(alias.into()),
        }
    }
}

impl fmt::Display for ModelRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.selector {
            VersionSelector::Version(v) => write!(f, "{}@{v}", self.name),
            VersionSelector::Alias(a) => write!(f, "{}@{a}", self.name),
            VersionSelector::Latest => write!(f, "{}@latest", self.name),
        }
    }
}

impl FromStr for ModelRef {
    type Err = Error;
    /// Parses `name@3`, `name@v3`, `name@champion`, `name@latest`, and MLflow's
    /// `models:/name/3` and `models:/name@alias`.
    fn from_str(s: &str) -> Result<Self> {
        let expected = "name@version, name@alias or name@latest";
        let body = s.strip_prefix("models:/").unwrap_or(s);
        let (name, sel) = match body.rsplit_once('@') {
            Some(parts) => parts,
            None if s.starts_with("models:/") => body
                .rsplit_once('/')
                .ok_or_else(|| Error::invalid("model reference", s, expected))?,
            None => return Err(Error::invalid("model reference", s, expected)),
        };
        crate::validation::check_model_name(name)?;
        if sel.is_empty() {
            return Err(Error::invalid("model reference", s, expected));
        }
        let digits = sel.strip_prefix('v').unwrap_or(sel);
        let selector = if sel.eq_ignore_ascii_case("latest") {
            VersionSelector::Latest
        } else if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            let v: u64 = digits
                .parse()
                .map_err(|_| Error::invalid("model version", sel, "a number from 1"))?;
            if v == 0 {
                return Err(Error::invalid("model version", sel, "a number from 1"));
            }
            VersionSelector::Version(v)
        } else {
            crate::validation::check_alias(sel)?;
            VersionSelector::Alias(sel.to_owned())
        };
        Ok(ModelRef {
            name: name.to_owned(),
            selector,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_round_trip_and_sort_by_time() {
        let a = RunId::new();
        let b = RunId::new();
        assert!(a < b);
        assert_eq!(a.to_string().len(), 32);
        assert_eq!(a.to_string().parse::<RunId>().unwrap(), a);
        assert_eq!(a.as_uuid().get_version_num(), 7);
    }

    #[test]
    fn model_refs_parse_versions_aliases_and_mlflow_uris() {
        assert_eq!(
            "m@3".parse::<ModelRef>().unwrap(),
            ModelRef::version("m", 3)
        );
        assert_eq!(
            "m@v3".parse::<ModelRef>().unwrap(),
            ModelRef::version("m", 3)
        );
        assert_eq!(
            "m@champion".parse::<ModelRef>().unwrap(),
            ModelRef::alias("m", "champion")
        );
        assert_eq!(
            "models:/m/7".parse::<ModelRef>().unwrap(),
            ModelRef::version("m", 7)
        );
        assert_eq!(
            "m@latest".parse::<ModelRef>().unwrap().selector,
            VersionSelector::Latest
        );
        assert!("m".parse::<ModelRef>().is_err());
        assert!("m@0".parse::<ModelRef>().is_err());
        assert!("@x".parse::<ModelRef>().is_err());
        assert!("m@bad alias!".parse::<ModelRef>().is_err());
    }

    #[test]
    fn digests_are_blake3_hex() {
        let d = Digest::of(b"abc");
        assert_eq!(
            d.to_hex(),
            "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
        );
        assert_eq!(d.to_hex().parse::<Digest>().unwrap(), d);
        assert!("xyz".parse::<Digest>().is_err());
        assert!(DatasetId::parse(&d.to_hex()).is_ok());
        assert!(DatasetId::parse("NOT-HEX").is_err());
    }
}
