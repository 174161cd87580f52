//! [`TableProfile`]: the mergeable profile of a whole table, one [`ColumnProfile`] per
//! column. Each server profiles its own traffic; the profiles merge (in any order) into one
//! that [`ProfileDriftDetector`](super::ProfileDriftDetector) scores against a reference
//! profile, so no rows ever leave the servers.

use std::collections::BTreeMap;

use arrow_array::RecordBatch;
use mlops_core::{Error, Result};
use serde::{Deserialize, Serialize};

use super::detector::extract::{categorical, classify, numeric};
use super::detector::{ColumnKind, MissingCounts};
use super::profile::ColumnProfile;

/// The serialized format version of [`TableProfile`].
pub const TABLE_PROFILE_VERSION: u32 = 1;

/// Which columns a [`TableProfile`] summarizes, and how big its sketches are.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProfileOptions {
    /// Columns to profile. `None`: every numeric, string and boolean column (timestamps and
    /// dates move with time, so they are profiled only when named here, as epoch numbers).
    pub columns: Option<Vec<String>>,
    /// KLL parameter of numeric columns (default 200: 1.33% rank error; whylogs uses 1024).
    pub kll_k: usize,
    /// Frequent-item counters of string columns (default 128).
    pub frequent_capacity: usize,
}

impl Default for ProfileOptions {
    fn default() -> Self {
        ProfileOptions {
            columns: None,
            kll_k: 200,
            frequent_capacity: 128,
        }
    }
}

/// Mergeable profiles of a table's columns, with the rows they summarize.
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{Float64Array, RecordBatch, StringArray};
/// use mlops_eval::drift::{ProfileOptions, TableProfile};
///
/// let batch = |xs: Vec<f64>, plans: Vec<&str>| {
///     RecordBatch::try_from_iter([
///         ("x", Arc::new(Float64Array::from(xs)) as _),
///         ("plan", Arc::new(StringArray::from(plans)) as _),
///     ])
///     .unwrap()
/// };
/// let opts = ProfileOptions::default();
/// let mut a = TableProfile::from_batch(&batch(vec![1.0, 2.0], vec!["a", "b"]), &opts)?;
/// let b = TableProfile::from_batch(&batch(vec![3.0, f64::NAN], vec!["a", "c"]), &opts)?;
/// a.merge(&b)?;
/// assert_eq!(a.rows, 4);
/// assert_eq!(a.columns["x"].count, 3);
/// assert_eq!(a.columns["x"].nans, 1);
/// let back = TableProfile::from_json(&a.to_json())?;
/// assert_eq!(back, a);
/// # Ok::<(), mlops_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableProfile {
    /// Format version ([`TABLE_PROFILE_VERSION`]).
    pub version: u32,
    /// Rows profiled.
    pub rows: u64,
    /// Profiles by column name.
    pub columns: BTreeMap<String, ColumnProfile>,
    /// Columns left out, with why (type and reason).
    #[serde(default)]
    pub skipped: BTreeMap<String, String>,
    /// The options it was built with (profiles merge only with the same ones).
    pub options: ProfileOptions,
}

impl TableProfile {
    /// An empty profile; the first batch decides its columns.
    pub fn new(options: &ProfileOptions) -> Result<Self> {
        // Validate the sketch sizes once, here, rather than on the first batch.
        ColumnProfile::numeric(options.kll_k)?;
        ColumnProfile::categorical(options.frequent_capacity)?;
        Ok(TableProfile {
            version: TABLE_PROFILE_VERSION,
            rows: 0,
            columns: BTreeMap::new(),
            skipped: BTreeMap::new(),
            options: options.clone(),
        })
    }

    /// Profiles one batch.
    pub fn from_batch(batch: &RecordBatch, options: &ProfileOptions) -> Result<Self> {
        let mut p = Self::new(options)?;
        p.update(batch)?;
        Ok(p)
    }

    /// Adds a batch. A named column missing from the batch, a column whose type changed
    /// from numeric to string (or back), or a type that cannot be profiled is an error naming
    /// the column, and leaves the profile unchanged.
    pub fn update(&mut self, batch: &RecordBatch) -> Result<()> {
        let schema = batch.schema();
        let mut plan: Vec<(String, usize, ColumnKind)> = Vec::new();
        let mut skipped = BTreeMap::new();
        match &self.options.columns {
            Some(names) => {
                for name in names {
                    let idx = schema.index_of(name).map_err(|_| {
                        Error::invalid("profiled column", name, "a column present in the batch")
                    })?;
                    let dt = schema.field(idx).data_type();
                    match classify(dt) {
                        Some(ColumnKind::Embedding) | None => {
                            return Err(Error::invalid(
                                "profiled column type",
                                format!("{name}: {dt}"),
                                "a numeric, temporal, string or boolean column",
                            ));
                        }
                        Some(kind) => plan.push((name.clone(), idx, kind)),
                    }
                }
            }
            None => {
                for (idx, field) in schema.fields().iter().enumerate() {
                    let why = match classify(field.data_type()) {
                        Some(ColumnKind::Numeric) => {
                            plan.push((field.name().clone(), idx, ColumnKind::Numeric));
                            continue;
                        }
                        Some(ColumnKind::Categorical) => {
                            plan.push((field.name().clone(), idx, ColumnKind::Categorical));
                            continue;
                        }
                        Some(ColumnKind::Temporal) => {
                            "a timestamp or date moves with time (name it to profile it)"
                        }
                        Some(ColumnKind::Embedding) => "embeddings are not profiled",
                        None => "a type that cannot be profiled",
                    };
                    skipped.insert(
                        field.name().clone(),
                        format!("{}: {why}", field.data_type()),
                    );
                }
            }
        }
        // Build every column's profile of this batch first, then merge: an error leaves
        // `self` unchanged.
        let mut fresh = BTreeMap::new();
        for (name, idx, kind) in plan {
            let array = batch.column(idx);
            let mut p = match kind {
                ColumnKind::Categorical => {
                    ColumnProfile::categorical(self.options.frequent_capacity)?
                }
                _ => ColumnProfile::numeric(self.options.kll_k)?,
            };
            let missing = match kind {
                ColumnKind::Categorical => {
                    let (counts, m) = categorical(array.as_ref(), &name)?;
                    for (value, c) in &counts {
                        for _ in 0..*c {
                            p.update_str(Some(value));
                        }
                    }
                    m
                }
                _ => {
                    let (values, m) = numeric(array.as_ref(), &name)?;
                    for x in values {
                        p.update(Some(x));
                    }
                    m
                }
            };
            add_missing(&mut p, &missing);
            fresh.insert(name, p);
        }
        let mut merged = self.columns.clone();
        for (name, p) in fresh {
            match merged.get_mut(&name) {
                Some(existing) => existing.merge(&p).map_err(|e| in_column(&name, e))?,
                None => {
                    merged.insert(name, p);
                }
            }
        }
        self.columns = merged;
        self.skipped.extend(skipped);
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Merges another table profile into this one (columns are united; a column in both
    /// merges its profiles). Different versions or options, or a column numeric in one and
    /// string in the other, is an error, and leaves `self` unchanged.
    pub fn merge(&mut self, other: &TableProfile) -> Result<()> {
        if other.version != self.version {
            return Err(Error::invalid(
                "table profile version",
                other.version.to_string(),
                format!("version {}", self.version),
            ));
        }
        if other.options.kll_k != self.options.kll_k
            || other.options.frequent_capacity != self.options.frequent_capacity
        {
            return Err(Error::invalid(
                "table profile sketch sizes",
                format!(
                    "kll_k {} / frequent_capacity {}",
                    other.options.kll_k, other.options.frequent_capacity
                ),
                format!(
                    "the same as this profile's: kll_k {} / frequent_capacity {}",
                    self.options.kll_k, self.options.frequent_capacity
                ),
            ));
        }
        let mut merged = self.columns.clone();
        for (name, p) in &other.columns {
            match merged.get_mut(name) {
                Some(existing) => existing.merge(p).map_err(|e| in_column(name, e))?,
                None => {
                    merged.insert(name.clone(), p.clone());
                }
            }
        }
        self.columns = merged;
        for (k, v) in &other.skipped {
            self.skipped.entry(k.clone()).or_insert_with(|| v.clone());
        }
        self.rows += other.rows;
        Ok(())
    }

    /// The profile as JSON (about 20 KB per numeric column at any row count).
    pub fn to_json(&self) -> String {
        // Plain numbers, strings, maps and vectors: serializing cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a profile from JSON; an unknown version is an error naming it.
    pub fn from_json(json: &str) -> Result<Self> {
        #[derive(Deserialize)]
        struct Probe {
            version: u32,
        }
        if let Ok(Probe { version }) = serde_json::from_str::<Probe>(json)
            && version != TABLE_PROFILE_VERSION
        {
            return Err(Error::invalid(
                "table profile version",
                version.to_string(),
                format!("version {TABLE_PROFILE_VERSION}"),
            ));
        }
        serde_json::from_str(json).map_err(|e| {
            Error::invalid(
                "table profile JSON",
                e.to_string(),
                "a TableProfile serialized by mlops-eval",
            )
        })
    }
}

fn add_missing(p: &mut ColumnProfile, m: &MissingCounts) {
    p.nulls += m.null;
    p.nans += m.nan;
    p.pos_inf += m.pos_inf;
    p.neg_inf += m.neg_inf;
    p.rows += m.null + m.nan + m.pos_inf + m.neg_inf;
}

fn in_column(name: &str, e: Error) -> Error {
    Error::invalid(
        "profile column",
        format!("{name}: {e}"),
        "profiles of the same column type that merge",
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Float64Array, Int64Array, StringArray};
    use proptest::prelude::*;

    use super::*;

    fn batch(xs: &[Option<f64>], plans: &[Option<&str>]) -> RecordBatch {
        RecordBatch::try_from_iter([
            ("x", Arc::new(Float64Array::from(xs.to_vec())) as _),
            ("plan", Arc::new(StringArray::from(plans.to_vec())) as _),
        ])
        .unwrap()
    }

    #[test]
    fn counts_and_missing_values_match_the_rows() {
        let b = batch(
            &[
                Some(1.0),
                None,
                Some(f64::NAN),
                Some(f64::INFINITY),
                Some(3.0),
            ],
            &[Some("a"), Some("a"), None, Some("b"), Some("a")],
        );
        let p = TableProfile::from_batch(&b, &ProfileOptions::default()).unwrap();
        let x = &p.columns["x"];
        assert_eq!(
            (x.rows, x.count, x.nulls, x.nans, x.pos_inf),
            (5, 2, 1, 1, 1)
        );
        assert_eq!(x.mean, 2.0);
        let plan = &p.columns["plan"];
        assert_eq!((plan.rows, plan.count, plan.nulls), (5, 4, 1));
        assert_eq!(plan.frequent.as_ref().unwrap().estimate("a").0, 3);
    }

    #[test]
    fn a_type_change_is_an_error_naming_the_column_and_changes_nothing() {
        let opts = ProfileOptions::default();
        let mut p = TableProfile::from_batch(&batch(&[Some(1.0)], &[Some("a")]), &opts).unwrap();
        let before = p.clone();
        let swapped = RecordBatch::try_from_iter([
            ("x", Arc::new(StringArray::from(vec!["oops"])) as _),
            ("plan", Arc::new(StringArray::from(vec!["a"])) as _),
        ])
        .unwrap();
        let err = p.update(&swapped).unwrap_err().to_string();
        assert!(err.contains("x"), "{err}");
        assert_eq!(p, before);
        let other = TableProfile::from_batch(
            &batch(&[Some(1.0)], &[Some("a")]),
            &ProfileOptions {
                kll_k: 400,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(p.merge(&other).unwrap_err().to_string().contains("kll_k"));
        assert_eq!(p, before);
        assert!(TableProfile::from_json(r#"{"version": 9}"#).is_err());
    }

    #[test]
    fn named_columns_and_skipped_types() {
        let b = RecordBatch::try_from_iter([
            ("n", Arc::new(Int64Array::from(vec![1, 2])) as _),
            (
                "t",
                Arc::new(arrow_array::TimestampSecondArray::from(vec![1, 2])) as _,
            ),
        ])
        .unwrap();
        let p = TableProfile::from_batch(&b, &ProfileOptions::default()).unwrap();
        assert!(p.columns.contains_key("n") && !p.columns.contains_key("t"));
        assert!(p.skipped["t"].contains("timestamp"));
        let named = ProfileOptions {
            columns: Some(vec!["t".into()]),
            ..Default::default()
        };
        let p = TableProfile::from_batch(&b, &named).unwrap();
        assert_eq!(p.columns["t"].max, 2.0);
        let missing = ProfileOptions {
            columns: Some(vec!["nope".into()]),
            ..Default::default()
        };
        assert!(
            TableProfile::from_batch(&b, &missing)
                .unwrap_err()
                .to_string()
                .contains("nope")
        );
    }

    fn profile_of(rows: &[(f64, u8)]) -> TableProfile {
        let xs: Vec<Option<f64>> = rows.iter().map(|r| Some(r.0)).collect();
        let names = ["a", "b", "c"];
        let plans: Vec<Option<&str>> = rows.iter().map(|r| Some(names[r.1 as usize % 3])).collect();
        TableProfile::from_batch(&batch(&xs, &plans), &ProfileOptions::default()).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        /// Merge is commutative (bit for bit) and associative in the exact parts (counts,
        /// min, max, category counts), with means within rounding.
        #[test]
        fn merge_is_commutative_and_associative(
            a in prop::collection::vec((-1e3f64..1e3, 0u8..3), 1..60),
            b in prop::collection::vec((-1e3f64..1e3, 0u8..3), 1..60),
            c in prop::collection::vec((-1e3f64..1e3, 0u8..3), 1..60),
        ) {
            let (pa, pb, pc) = (profile_of(&a), profile_of(&b), profile_of(&c));
            let mut ab = pa.clone();
            ab.merge(&pb).unwrap();
            let mut ba = pb.clone();
            ba.merge(&pa).unwrap();
            prop_assert_eq!(&ab, &ba);
            let mut ab_c = ab.clone();
            ab_c.merge(&pc).unwrap();
            let mut bc = pb.clone();
            bc.merge(&pc).unwrap();
            let mut a_bc = pa.clone();
            a_bc.merge(&bc).unwrap();
            prop_assert_eq!(ab_c.rows, a_bc.rows);
            for name in ["x", "plan"] {
                let (l, r) = (&ab_c.columns[name], &a_bc.columns[name]);
                prop_assert_eq!((l.rows, l.count, l.nulls), (r.rows, r.count, r.nulls));
                prop_assert_eq!((l.min, l.max), (r.min, r.max));
                prop_assert!((l.mean - r.mean).abs() <= 1e-9 * (1.0 + l.mean.abs()));
            }
            for item in ["a", "b", "c"] {
                let f = |p: &TableProfile| p.columns["plan"].frequent.as_ref().unwrap().estimate(item).0;
                prop_assert_eq!(f(&ab_c), f(&a_bc));
            }
        }
    }
}
