//! The fitted reference: per column what scoring a window needs (sorted finite values and
//! their std, category counts, a sample of embedding rows), serialisable into a
//! [`FittedReference`] with float vectors stored compactly.

use std::collections::BTreeMap;

use mlops_core::{Error, FittedReference, Result};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::DETECTOR_NAME;
use super::options::DetectorOptions;
use super::report::{ColumnKind, MissingCounts, SkippedColumn};

/// Version of the fitted state: 1 stored floats as JSON numbers; 2 stores them as base64
/// little-endian bytes and adds types, data quality and embeddings. Both are read.
pub(crate) const STATE_VERSION: u32 = 2;

/// One fitted column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum ColumnState {
    Numeric {
        name: String,
        #[serde(default)]
        data_type: String,
        #[serde(default)]
        temporal: bool,
        #[serde(with = "f64s")]
        sorted: Vec<f64>,
        std: f64,
        missing: MissingCounts,
        /// Confidence histogram counts and the count outside [0, 1].
        #[serde(default)]
        confidence: Option<(Vec<u64>, u64)>,
    },
    Categorical {
        name: String,
        #[serde(default)]
        data_type: String,
        counts: BTreeMap<String, u64>,
        missing: MissingCounts,
    },
    Embedding {
        name: String,
        data_type: String,
        dim: usize,
        #[serde(with = "f64s")]
        rows: Vec<f64>,
        missing: MissingCounts,
    },
}

impl ColumnState {
    pub(crate) fn name(&self) -> &str {
        match self {
            ColumnState::Numeric { name, .. }
            | ColumnState::Categorical { name, .. }
            | ColumnState::Embedding { name, .. } => name,
        }
    }

    pub(crate) fn data_type(&self) -> &str {
        match self {
            ColumnState::Numeric { data_type, .. }
            | ColumnState::Categorical { data_type, .. }
            | ColumnState::Embedding { data_type, .. } => data_type,
        }
    }

    pub(crate) fn kind(&self) -> ColumnKind {
        match self {
            ColumnState::Numeric { temporal: true, .. } => ColumnKind::Temporal,
            ColumnState::Numeric { .. } => ColumnKind::Numeric,
            ColumnState::Categorical { .. } => ColumnKind::Categorical,
            ColumnState::Embedding { .. } => ColumnKind::Embedding,
        }
    }
}

/// A reference fitted by [`DefaultDriftDetector::fit_reference`](super::DefaultDriftDetector::fit_reference):
/// the options it was fitted with and, per tested column, what scoring needs. Scoring
/// with it directly skips the JSON of a [`FittedReference`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReferenceState {
    pub(crate) options: DetectorOptions,
    pub(crate) columns: Vec<ColumnState>,
    #[serde(default)]
    pub(crate) skipped: Vec<SkippedColumn>,
}

impl ReferenceState {
    /// The options the reference was fitted with (they also govern scoring).
    pub fn options(&self) -> &DetectorOptions {
        &self.options
    }

    /// The tested columns, in order.
    pub fn column_names(&self) -> Vec<&str> {
        self.columns.iter().map(ColumnState::name).collect()
    }

    /// Columns of the reference that are not tested, and why.
    pub fn skipped(&self) -> &[SkippedColumn] {
        &self.skipped
    }

    /// The state as the [`mlops_core::DriftDetector`] trait carries it (floats as base64).
    pub fn to_fitted(&self) -> Result<FittedReference> {
        let state = serde_json::to_value(self).map_err(|e| {
            Error::invalid(
                "fitted reference state",
                e.to_string(),
                "serializable values",
            )
        })?;
        Ok(FittedReference {
            detector: DETECTOR_NAME.to_string(),
            version: STATE_VERSION,
            state,
        })
    }

    /// Reads a state made by [`ReferenceState::to_fitted`] (version 2) or by the version-1
    /// detector.
    pub fn from_fitted(fitted: &FittedReference) -> Result<Self> {
        if fitted.detector != DETECTOR_NAME || !(1..=STATE_VERSION).contains(&fitted.version) {
            return Err(Error::invalid(
                "fitted reference",
                format!("{} v{}", fitted.detector, fitted.version),
                format!("a reference fitted by {DETECTOR_NAME} v1 or v{STATE_VERSION}"),
            ));
        }
        ReferenceState::deserialize(&fitted.state).map_err(|e| {
            Error::invalid(
                "fitted reference state",
                e.to_string(),
                "a state written by this detector",
            )
        })
    }
}

/// Float vectors as one base64 string of little-endian IEEE bytes (exact, about 11 bytes
/// per value instead of ~20 as JSON numbers, and parsed at memory speed); a JSON array of
/// numbers (version 1) is read too.
mod f64s {
    use super::*;

    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    pub(crate) fn encode(values: &[f64]) -> String {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                chunk.get(1).copied().unwrap_or(0),
                chunk.get(2).copied().unwrap_or(0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
                if i <= chunk.len() {
                    out.push(ALPHABET[((n >> shift) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    pub(crate) fn decode(text: &str) -> std::result::Result<Vec<f64>, String> {
        let mut lut = [255u8; 256];
        for (i, c) in ALPHABET.iter().enumerate() {
            lut[*c as usize] = i as u8;
        }
        let text = text.trim_end_matches('=').as_bytes();
        let mut bytes = Vec::with_capacity(text.len() * 3 / 4);
        for chunk in text.chunks(4) {
            let mut n = 0u32;
            for (i, c) in chunk.iter().enumerate() {
                let v = lut[*c as usize];
                if v == 255 {
                    return Err(format!("invalid base64 character {:?}", *c as char));
                }
                n |= u32::from(v) << (18 - 6 * i as u32);
            }
            let full = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            match chunk.len() {
                4 => bytes.extend_from_slice(&full),
                3 => bytes.extend_from_slice(&full[..2]),
                2 => bytes.push(full[0]),
                _ => return Err("truncated base64".to_string()),
            }
        }
        if bytes.len() % 8 != 0 {
            return Err(format!("{} bytes, not a multiple of 8", bytes.len()));
        }
        Ok(bytes
            .chunks_exact(8)
            .map(|c| {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                f64::from_le_bytes(b)
            })
            .collect())
    }

    pub(crate) fn serialize<S: Serializer>(values: &[f64], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&encode(values))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Vec<f64>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("base64 little-endian floats or an array of numbers")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Vec<f64>, E> {
                decode(v).map_err(E::custom)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Vec<f64>, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(x) = seq.next_element::<f64>()? {
                    out.push(x);
                }
                Ok(out)
            }
        }
        d.deserialize_any(V)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn base64_floats_round_trip_exactly() {
            for n in 0..6 {
                let v: Vec<f64> = (0..n)
                    .map(|i| [-0.0, 1.5, f64::MIN_POSITIVE, -1e308, 0.1, 7.0][i])
                    .collect();
                let text = encode(&v);
                let back = decode(&text).unwrap();
                assert_eq!(
                    back.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                    v.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
                );
            }
            assert!(decode("AAAA!").is_err());
            assert!(decode("AAAA").is_err(), "3 bytes are not a float");
        }
    }
}
