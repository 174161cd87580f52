//! Mergeable column profiles: what monitoring keeps of a column so that profiles computed on
//! many servers merge into one, in any order. Counts (rows, nulls, NaN, ±infinity), moments
//! (mean and M2, merged with Chan et al.'s formula), min and max of the finite values, a
//! HyperLogLog sketch of distinct values (precision 12: 4,096 registers, about 1.6% standard
//! error), and since format version 2 a [`KllSketch`] of the finite values (numeric
//! columns) or a [`FrequentItems`] summary (string columns). Serialized with a format
//! version; version 1 profiles still read.
//!
//! Merge is exactly commutative (`a.merge(b) == b.merge(a)`, sketches included) and
//! associative exactly for counts, min, max and the HyperLogLog registers, to rounding
//! (1e-9 relative) for mean and M2, and within the documented rank error for KLL quantiles
//! and the `total / (capacity + 1)` bound for frequent items.
//!
//! A serialized profile of a numeric column is about 20 KB of JSON at any row count (8 KB of
//! HyperLogLog registers in hex, about 12 KB for a KLL sketch with `k = 200` once it
//! compacts); one of a string column is 8 KB plus its frequent items.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use xxhash_rust::xxh3::xxh3_64;

use mlops_core::{Error, Result};

use super::frequent::FrequentItems;
use super::kll::KllSketch;

/// The serialized format version of [`ColumnProfile`]: 2 added the optional `kll` and
/// `frequent` sketches. Version 1 profiles read as version 2 without sketches.
pub const PROFILE_VERSION: u32 = 2;
const P: u32 = 12;
const M: usize = 1 << P;

/// A mergeable profile of one column.
///
/// A profile fed with [`ColumnProfile::update`] is numeric (it carries a KLL sketch), one fed
/// with [`ColumnProfile::update_str`] is a string column (it carries frequent items); an
/// empty [`ColumnProfile::new`] becomes either on its first update and merges with both.
/// Merging a numeric with a string profile is an error.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ColumnProfile {
    /// Format version ([`PROFILE_VERSION`]).
    pub version: u32,
    /// Rows seen, including nulls and non-finite values.
    pub rows: u64,
    /// Nulls.
    pub nulls: u64,
    /// NaN values.
    pub nans: u64,
    /// +infinity values.
    pub pos_inf: u64,
    /// −infinity values.
    pub neg_inf: u64,
    /// Finite numbers (or non-null strings, for a string column).
    pub count: u64,
    /// Mean of the finite values.
    #[serde(serialize_with = "finite_or_null")]
    pub mean: f64,
    /// Sum of squared deviations from the mean (M2).
    #[serde(serialize_with = "finite_or_null")]
    pub m2: f64,
    /// Smallest finite value (+inf when none; serialized as null).
    #[serde(serialize_with = "finite_or_null")]
    pub min: f64,
    /// Largest finite value (−inf when none; serialized as null).
    #[serde(serialize_with = "finite_or_null")]
    pub max: f64,
    /// HyperLogLog registers, hex-encoded.
    #[serde(serialize_with = "hex_registers::serialize")]
    registers: Vec<u8>,
    /// Quantile sketch of the finite values (numeric columns, filled by
    /// [`ColumnProfile::update`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kll: Option<KllSketch>,
    /// Most frequent values (string columns, filled by [`ColumnProfile::update_str`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequent: Option<FrequentItems>,
}

impl Default for ColumnProfile {
    fn default() -> Self {
        ColumnProfile {
            version: PROFILE_VERSION,
            rows: 0,
            nulls: 0,
            nans: 0,
            pos_inf: 0,
            neg_inf: 0,
            count: 0,
            mean: 0.0,
            m2: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            registers: vec![0; M],
            kll: None,
            frequent: None,
        }
    }
}

impl ColumnProfile {
    /// An empty profile (numeric or string: decided by the first update).
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty numeric profile whose KLL sketch has parameter `k` (8 to 65535; the default
    /// is 200, whylogs uses 1024).
    pub fn numeric(k: usize) -> Result<Self> {
        Ok(ColumnProfile {
            kll: Some(KllSketch::new(k)?),
            ..Self::default()
        })
    }

    /// An empty string profile keeping `capacity` frequent-item counters (the default is
    /// 128).
    pub fn categorical(capacity: usize) -> Result<Self> {
        Ok(ColumnProfile {
            frequent: Some(FrequentItems::new(capacity)?),
            ..Self::default()
        })
    }

    /// Reads a profile from JSON: an unknown format version is an error naming it, as is
    /// anything else that does not parse.
    pub fn from_json(json: &str) -> Result<Self> {
        #[derive(Deserialize)]
        struct Probe {
            version: u32,
        }
        if let Ok(Probe { version }) = serde_json::from_str::<Probe>(json) {
            check_version(version)?;
        }
        serde_json::from_str(json).map_err(|e| {
            Error::invalid(
                "column profile JSON",
                e.to_string(),
                "a ColumnProfile serialized by mlops-eval (format version 1 or 2)",
            )
        })
    }

    /// The profile as JSON.
    pub fn to_json(&self) -> String {
        // Serializing plain numbers, strings and vectors into a String cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    fn observe_hash(&mut self, h: u64) {
        let idx = (h >> (64 - P)) as usize;
        let rank = ((h << P) | (1 << (P - 1))).leading_zeros() as u8 + 1;
        if let Some(r) = self.registers.get_mut(idx) {
            *r = (*r).max(rank);
        }
    }

    /// Adds a number (`None` for a null). Makes the profile numeric: finite values also go
    /// to its KLL sketch.
    pub fn update(&mut self, x: Option<f64>) {
        if self.kll.is_none() {
            self.kll = Some(KllSketch::default());
        }
        self.rows += 1;
        let Some(x) = x else {
            self.nulls += 1;
            return;
        };
        if x.is_nan() {
            self.nans += 1;
            return;
        }
        if x.is_infinite() {
            if x > 0.0 {
                self.pos_inf += 1
            } else {
                self.neg_inf += 1
            }
            return;
        }
        let x = x + 0.0;
        self.count += 1;
        let d = x - self.mean;
        self.mean += d / self.count as f64;
        self.m2 += d * (x - self.mean);
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        self.observe_hash(xxh3_64(&x.to_bits().to_le_bytes()));
        if let Some(k) = &mut self.kll {
            k.update(x);
        }
    }

    /// Adds a string value (`None` for a null): counted, sketched for distinct values and
    /// for frequent items. Makes the profile a string profile.
    pub fn update_str(&mut self, s: Option<&str>) {
        let f = self.frequent.get_or_insert_with(FrequentItems::default);
        self.rows += 1;
        match s {
            None => self.nulls += 1,
            Some(s) => {
                f.update(s);
                self.count += 1;
                self.observe_hash(xxh3_64(s.as_bytes()));
            }
        }
    }

    /// What the profile summarizes: `"untyped"` (no update yet), `"numeric"`, `"string"`, or
    /// `"mixed"` (both kinds of update were applied).
    fn kind(&self) -> &'static str {
        match (self.kll.is_some(), self.frequent.is_some()) {
            (false, false) => "untyped",
            (true, false) => "numeric",
            (false, true) => "string",
            (true, true) => "mixed",
        }
    }

    /// Merges another profile into this one. Counts, min, max and the HyperLogLog registers
    /// merge exactly; mean and M2 with Chan et al.'s pairwise formula in a symmetric form (the
    /// result does not depend on which side is `self`); the KLL sketches and frequent items
    /// with their own merges. Different versions, a numeric with a string profile, or
    /// sketches with different parameters are an error, and leave `self` unchanged.
    pub fn merge(&mut self, other: &ColumnProfile) -> Result<()> {
        if other.version != self.version || other.registers.len() != self.registers.len() {
            return Err(Error::invalid(
                "profile version",
                other.version.to_string(),
                format!(
                    "version {} with {} registers",
                    self.version,
                    self.registers.len()
                ),
            ));
        }
        let (ka, kb) = (self.kind(), other.kind());
        if ka != kb && ka != "untyped" && kb != "untyped" {
            return Err(Error::invalid(
                "profile column type",
                format!("{ka} and {kb}"),
                "profiles of the same column type (numeric with numeric, string with string)",
            ));
        }
        if let (Some(a), Some(b)) = (&self.kll, &other.kll) {
            a.check_mergeable(b)?;
        }
        if let (Some(a), Some(b)) = (&self.frequent, &other.frequent) {
            a.check_mergeable(b)?;
        }
        if self.count == 0 {
            self.mean = other.mean;
            self.m2 = other.m2;
        } else if other.count > 0 {
            let (n1, n2) = (self.count as f64, other.count as f64);
            let n = n1 + n2;
            let d = other.mean - self.mean;
            self.mean = self.mean * (n1 / n) + other.mean * (n2 / n);
            self.m2 = (self.m2 + other.m2) + d * d * (n1 * n2) / n;
        }
        self.rows += other.rows;
        self.nulls += other.nulls;
        self.nans += other.nans;
        self.pos_inf += other.pos_inf;
        self.neg_inf += other.neg_inf;
        self.count += other.count;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        for (a, b) in self.registers.iter_mut().zip(&other.registers) {
            *a = (*a).max(*b);
        }
        if let Some(b) = &other.kll {
            if let Some(a) = self.kll.as_mut() {
                a.merge(b)?;
            } else {
                self.kll = Some(b.clone());
            }
        }
        if let Some(b) = &other.frequent {
            if let Some(a) = self.frequent.as_mut() {
                a.merge(b)?;
            } else {
                self.frequent = Some(b.clone());
            }
        }
        Ok(())
    }

    /// Population variance of the finite values (NaN when there are none).
    pub fn variance(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.m2 / self.count as f64
        }
    }

    /// Estimated number of distinct values (HyperLogLog with linear counting for small
    /// cardinalities).
    pub fn distinct(&self) -> f64 {
        let m = M as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let sum: f64 = self.registers.iter().map(|&r| 2f64.powi(-(r as i32))).sum();
        let raw = alpha * m * m / sum;
        let zeros = self.registers.iter().filter(|&&r| r == 0).count();
        if raw <= 2.5 * m && zeros > 0 {
            m * (m / zeros as f64).ln()
        } else {
            raw
        }
    }

    /// Estimated value at normalized rank `q` in `[0, 1]` from the KLL sketch (`None` for a
    /// profile without finite numbers; an error for `q` outside `[0, 1]`).
    pub fn quantile(&self, q: f64) -> Result<Option<f64>> {
        match &self.kll {
            Some(k) => k.quantile(q),
            None => KllSketch::default().quantile(q),
        }
    }
}

fn check_version(version: u32) -> Result<()> {
    if version == 0 || version > PROFILE_VERSION {
        return Err(Error::invalid(
            "column profile format version",
            version.to_string(),
            "1 or 2 (a newer version was written by a newer mlops-eval: upgrade to read it)",
        ));
    }
    Ok(())
}

/// Non-finite floats as null (JSON has no infinity; serde_json would write null anyway).
fn finite_or_null<S: Serializer>(x: &f64, s: S) -> std::result::Result<S::Ok, S::Error> {
    if x.is_finite() {
        s.serialize_f64(*x)
    } else {
        s.serialize_none()
    }
}

/// What a profile of version 1 or 2 holds on the wire.
#[derive(Deserialize)]
struct Wire {
    version: u32,
    rows: u64,
    nulls: u64,
    nans: u64,
    pos_inf: u64,
    neg_inf: u64,
    count: u64,
    mean: Option<f64>,
    m2: Option<f64>,
    min: Option<f64>,
    max: Option<f64>,
    #[serde(deserialize_with = "hex_registers::deserialize")]
    registers: Vec<u8>,
    #[serde(default)]
    kll: Option<KllSketch>,
    #[serde(default)]
    frequent: Option<FrequentItems>,
}

impl<'de> Deserialize<'de> for ColumnProfile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let w = Wire::deserialize(d)?;
        check_version(w.version).map_err(serde::de::Error::custom)?;
        Ok(ColumnProfile {
            // Version 1 is version 2 without sketches: read as the current version.
            version: PROFILE_VERSION,
            rows: w.rows,
            nulls: w.nulls,
            nans: w.nans,
            pos_inf: w.pos_inf,
            neg_inf: w.neg_inf,
            count: w.count,
            mean: w.mean.unwrap_or(f64::NAN),
            m2: w.m2.unwrap_or(f64::NAN),
            min: w.min.unwrap_or(f64::INFINITY),
            max: w.max.unwrap_or(f64::NEG_INFINITY),
            registers: w.registers,
            kll: w.kll,
            frequent: w.frequent,
        })
    }
}

mod hex_registers {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(r: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&r.iter().map(|b| format!("{b:02x}")).collect::<String>())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        if s.len() != 2 * super::M || !s.is_ascii() {
            return Err(serde::de::Error::custom(format!(
                "expected {} hex digits of HyperLogLog registers",
                2 * super::M
            )));
        }
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(serde::de::Error::custom))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn profile(xs: &[f64]) -> ColumnProfile {
        let mut p = ColumnProfile::new();
        for &x in xs {
            p.update(Some(x));
        }
        p
    }

    fn str_profile(xs: &[u8]) -> ColumnProfile {
        let mut p = ColumnProfile::new();
        for &x in xs {
            if x == 255 {
                p.update_str(None);
            } else {
                p.update_str(Some(&format!("c{x}")));
            }
        }
        p
    }

    fn close(a: &ColumnProfile, b: &ColumnProfile) -> bool {
        let near = |x: f64, y: f64| (x - y).abs() <= 1e-9 * (1.0 + x.abs().max(y.abs()));
        (a.rows, a.nulls, a.nans, a.pos_inf, a.neg_inf, a.count)
            == (b.rows, b.nulls, b.nans, b.pos_inf, b.neg_inf, b.count)
            && a.registers == b.registers
            && a.min == b.min
            && a.max == b.max
            && near(a.mean, b.mean)
            && near(a.m2, b.m2)
    }

    /// The KLL sketch holds `all`'s finite values: n, min and max exactly, and the true rank
    /// of each returned quantile within the documented rank error of the asked rank.
    fn kll_within_bounds(p: &ColumnProfile, all: &[f64]) -> std::result::Result<(), String> {
        let mut finite: Vec<f64> = all.iter().copied().filter(|x| x.is_finite()).collect();
        super::super::sort_f64(&mut finite);
        let k = p.kll.as_ref().ok_or("no KLL sketch")?;
        if k.n() as usize != finite.len()
            || k.min() != finite.first().copied()
            || k.max() != finite.last().copied()
        {
            return Err(format!("n/min/max {:?} {:?} {:?}", k.n(), k.min(), k.max()));
        }
        let eps = KllSketch::normalized_rank_error(k.k(), false);
        let n = finite.len() as f64;
        for i in 0..=20 {
            let q = i as f64 / 20.0;
            let Some(x) = k.quantile(q).map_err(|e| e.to_string())? else {
                continue;
            };
            let lo = finite.partition_point(|v| *v < x) as f64 / n;
            let hi = finite.partition_point(|v| *v <= x) as f64 / n;
            if q < lo - eps || q > hi + eps {
                return Err(format!(
                    "q {q}: value {x} has true rank [{lo}, {hi}], eps {eps}"
                ));
            }
        }
        Ok(())
    }

    /// Frequent items hold `all`'s non-null strings: total exact, every true count within the
    /// bounds, and `max_error <= total / (capacity + 1)`.
    fn frequent_within_bounds(p: &ColumnProfile, all: &[u8]) -> bool {
        let Some(f) = &p.frequent else { return false };
        let items: Vec<u8> = all.iter().copied().filter(|&x| x != 255).collect();
        f.total() == items.len() as u64
            && f.max_error() <= f.total() / (f.capacity() as u64 + 1)
            && (0..255u8).all(|c| {
                let t = items.iter().filter(|&&x| x == c).count() as u64;
                let (lo, hi) = f.estimate(&format!("c{c}"));
                lo <= t && t <= hi
            })
    }

    fn values() -> impl Strategy<Value = Vec<f64>> {
        proptest::collection::vec(
            prop_oneof![
                8 => -1e6f64..1e6,
                2 => (-3i32..3).prop_map(f64::from),
                1 => Just(f64::NAN),
                1 => Just(f64::INFINITY)
            ],
            0..1000,
        )
    }

    /// Skewed categories (255 is a null): a few heavy ones and a tail past 128 counters.
    fn categories() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(prop_oneof![4 => 0u8..5, 2 => any::<u8>()], 0..600)
    }

    proptest! {
        #[test]
        fn merge_is_exactly_commutative(a in values(), b in values()) {
            let (pa, pb) = (profile(&a), profile(&b));
            let mut ab = pa.clone();
            ab.merge(&pb).unwrap();
            let mut ba = pb.clone();
            ba.merge(&pa).unwrap();
            prop_assert_eq!(&ab, &ba);
            prop_assert_eq!(ab.to_json(), ba.to_json());
        }

        #[test]
        fn string_merge_is_exactly_commutative(a in categories(), b in categories()) {
            let (pa, pb) = (str_profile(&a), str_profile(&b));
            let mut ab = pa.clone();
            ab.merge(&pb).unwrap();
            let mut ba = pb.clone();
            ba.merge(&pa).unwrap();
            prop_assert_eq!(&ab, &ba);
            prop_assert_eq!(ab.to_json(), ba.to_json());
        }

        #[test]
        fn merge_is_associative_and_equals_one_pass(a in values(), b in values(), c in values()) {
            let (pa, pb, pc) = (profile(&a), profile(&b), profile(&c));
            let mut left = pa.clone();
            left.merge(&pb).unwrap();
            left.merge(&pc).unwrap();
            let mut bc = pb.clone();
            bc.merge(&pc).unwrap();
            let mut right = pa.clone();
            right.merge(&bc).unwrap();
            prop_assert!(close(&left, &right));
            let all: Vec<f64> = a.iter().chain(&b).chain(&c).copied().collect();
            let whole = profile(&all);
            prop_assert!(close(&left, &whole));
            for p in [&left, &right, &whole] {
                if let Err(e) = kll_within_bounds(p, &all) {
                    prop_assert!(false, "{}", e);
                }
            }
        }

        #[test]
        fn string_merge_is_associative_within_the_bounds(
            a in categories(), b in categories(), c in categories()
        ) {
            let (pa, pb, pc) = (str_profile(&a), str_profile(&b), str_profile(&c));
            let mut left = pa.clone();
            left.merge(&pb).unwrap();
            left.merge(&pc).unwrap();
            let mut bc = pb.clone();
            bc.merge(&pc).unwrap();
            let mut right = pa.clone();
            right.merge(&bc).unwrap();
            let all: Vec<u8> = a.iter().chain(&b).chain(&c).copied().collect();
            let whole = str_profile(&all);
            prop_assert!(close(&left, &right) && close(&left, &whole));
            for p in [&left, &right, &whole] {
                prop_assert!(frequent_within_bounds(p, &all));
            }
        }

        #[test]
        fn serialization_round_trips(a in values(), s in categories()) {
            for p in [profile(&a), str_profile(&s)] {
                let json = p.to_json();
                let back = ColumnProfile::from_json(&json).unwrap();
                prop_assert_eq!(&back, &p);
                prop_assert_eq!(back.to_json(), json);
            }
        }
    }

    #[test]
    fn counts_moments_and_distinct() {
        let xs: Vec<f64> = (0..100_000).map(|i| (i % 20_000) as f64).collect();
        let mut p = profile(&xs);
        p.update(None);
        p.update(Some(f64::NAN));
        p.update(Some(f64::NEG_INFINITY));
        assert_eq!(
            (p.rows, p.nulls, p.nans, p.neg_inf, p.count),
            (100_003, 1, 1, 1, 100_000)
        );
        assert!((p.mean - 9_999.5).abs() < 1e-9);
        assert!((p.variance() - (20_000f64.powi(2) - 1.0) / 12.0).abs() / p.variance() < 1e-9);
        assert!(
            (p.distinct() - 20_000.0).abs() / 20_000.0 < 0.05,
            "{}",
            p.distinct()
        );
        let median = p.quantile(0.5).unwrap().unwrap();
        assert!((median - 10_000.0).abs() < 0.0133 * 20_000.0, "{median}");
        let json = serde_json::to_string(&p).unwrap();
        let back: ColumnProfile = serde_json::from_str(&json).unwrap();
        assert!(close(&back, &p));
        let mut other = ColumnProfile::new();
        other.version = 99;
        assert!(p.merge(&other).is_err());
        assert!(
            serde_json::from_str::<ColumnProfile>(
                &json.replace("\"registers\":\"", "\"registers\":\"zz")
            )
            .is_err()
        );
    }

    #[test]
    fn an_empty_profile_round_trips() {
        // JSON has no infinity: min and max of an empty profile are written as null.
        for p in [
            ColumnProfile::new(),
            ColumnProfile::numeric(64).unwrap(),
            ColumnProfile::categorical(16).unwrap(),
        ] {
            let json = p.to_json();
            assert!(json.contains(r#""min":null,"max":null"#), "{json}");
            assert_eq!(ColumnProfile::from_json(&json).unwrap(), p);
        }
    }

    #[test]
    fn a_version_1_profile_reads_as_version_2_without_sketches() {
        let mut p = profile(&[1.0, 2.0, 4.0]);
        p.kll = None;
        let v1 = p.to_json().replace(r#""version":2"#, r#""version":1"#);
        assert!(v1.contains(r#""version":1"#) && !v1.contains("kll"));
        let back = ColumnProfile::from_json(&v1).unwrap();
        assert_eq!(back.version, PROFILE_VERSION);
        assert_eq!(
            (back.count, back.kll.is_none(), back.frequent.is_none()),
            (3, true, true)
        );
        assert!(close(&back, &p));
        // An empty version 1 profile, as version 1 wrote it (null min and max).
        let empty_v1 = ColumnProfile::new()
            .to_json()
            .replace(r#""version":2"#, r#""version":1"#);
        assert_eq!(
            ColumnProfile::from_json(&empty_v1).unwrap(),
            ColumnProfile::new()
        );
        // A version 1 profile merges with a version 2 one.
        let mut merged = back;
        merged.merge(&profile(&[8.0])).unwrap();
        assert_eq!((merged.count, merged.kll.map(|k| k.n())), (4, Some(1)));
    }

    #[test]
    fn an_unknown_version_is_an_error_naming_it() {
        let json = profile(&[1.0])
            .to_json()
            .replace(r#""version":2"#, r#""version":3"#);
        let err = ColumnProfile::from_json(&json).unwrap_err();
        assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
        assert!(err.to_string().contains('3'), "{err}");
        let serde_err = serde_json::from_str::<ColumnProfile>(&json).unwrap_err();
        assert!(serde_err.to_string().contains("version"), "{serde_err}");
        assert!(ColumnProfile::from_json("{\"version\":2}").is_err());
    }

    #[test]
    fn merging_numeric_with_string_is_an_error_and_changes_nothing() {
        let mut num = profile(&[1.0, 2.0]);
        let before = num.clone();
        let err = num.merge(&str_profile(&[1, 2])).unwrap_err().to_string();
        assert!(err.contains("numeric") && err.contains("string"), "{err}");
        assert_eq!(num, before);
        // Different sketch parameters are an error too, before anything is merged.
        let mut small = ColumnProfile::numeric(64).unwrap();
        small.update(Some(1.0));
        assert!(num.merge(&small).is_err());
        assert_eq!(num, before);
        // An untyped profile merges with either.
        let mut untyped = ColumnProfile::new();
        untyped.merge(&num).unwrap();
        assert_eq!(untyped, num);
        let mut s = str_profile(&[3]);
        s.merge(&ColumnProfile::new()).unwrap();
        assert_eq!(s, str_profile(&[3]));
    }

    #[test]
    fn serialized_sizes_numeric_about_20_kb_string_about_9_kb() {
        // A million normal-ish numbers: 8,192 hex characters of registers plus a KLL sketch.
        let mut r = crate::rng::Rng::new(11);
        let mut num = ColumnProfile::new();
        for _ in 0..1_000_000 {
            num.update(Some(r.next_f64() + r.next_f64() + r.next_f64()));
        }
        let kll_bytes = serde_json::to_string(&num.kll).unwrap().len();
        let num_bytes = num.to_json().len();
        // 200 categories, Zipf-like, plus a long tail of ids: the frequent items stay at 128.
        let mut s = ColumnProfile::new();
        for i in 0..200_000u64 {
            let c = r.below(200).min(r.below(200));
            s.update_str(Some(&format!("category-{c}")));
            if i % 10 == 0 {
                s.update_str(Some(&format!("user-{i}")));
            }
        }
        let str_bytes = s.to_json().len();
        let freq_bytes = serde_json::to_string(&s.frequent).unwrap().len();
        println!(
            "numeric profile {num_bytes} B (KLL {kll_bytes} B, {} items), \
             string profile {str_bytes} B (frequent items {freq_bytes} B)",
            num.kll.as_ref().map_or(0, |k| k.retained())
        );
        assert!(
            num_bytes < 24_000,
            "numeric profile {num_bytes} bytes (KLL {kll_bytes})"
        );
        assert!(str_bytes < 14_000, "string profile {str_bytes} bytes");
        assert_eq!(s.frequent.as_ref().map(|f| f.len() <= 128), Some(true));
    }
}
