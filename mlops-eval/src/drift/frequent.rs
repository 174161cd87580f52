//! [`FrequentItems`]: a Misra-Gries summary of string items, with the mergeable-summaries
//! merge of Agarwal, Cormode, Huang, Phillips, Wei and Yi ("Mergeable Summaries", PODS 2012).
//!
//! At most `capacity` counters. An item seen again increments its counter; a new item takes
//! a free counter, or, when all are taken, every counter is decremented by one (the new item
//! with them) and counters at zero are dropped. A merge adds the counters, then subtracts
//! the `(capacity + 1)`-th largest count from all of them and drops those not positive.
//! Every decrement is recorded in [`FrequentItems::max_error`], so for every item
//!
//! `lower <= true count <= lower + max_error`, with
//! `max_error <= (total - sum of counters) / (capacity + 1) <= total / (capacity + 1)`.
//!
//! With at most `capacity` distinct items nothing is ever decremented and every count is
//! exact. The default capacity is 128: the bound is then 0.78% of the total, and 128 ASCII
//! items of at most [`MAX_ITEM_CHARS`] characters take under 20 KB of JSON (up to four times
//! that for non-ASCII text), so a whole profile stays near the 64 KB per column target;
//! whylogs keeps a 1,024-slot map.
//!
//! Items are strings. Longer items are cut to their first [`MAX_ITEM_CHARS`] characters (as
//! whylogs does). Numbers of a categorical column should be passed as the string of their
//! canonical value (Rust's `Display` of the `f64` or integer), so `1` and `1.0` meet.
//! The state is order-independent where it matters: merge is exactly commutative, and
//! serialization lists the items by count descending then item ascending, so equal
//! summaries give equal bytes.

use std::collections::HashMap;

use mlops_core::{Error, Result};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The default number of counters.
pub const DEFAULT_CAPACITY: usize = 128;
/// Largest accepted capacity.
pub const MAX_CAPACITY: usize = 1 << 20;
/// Items are cut to this many characters.
pub const MAX_ITEM_CHARS: usize = 128;

/// A mergeable Misra-Gries summary of string items.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrequentItems {
    capacity: usize,
    total: u64,
    offset: u64,
    counts: HashMap<String, u64>,
}

impl Default for FrequentItems {
    fn default() -> Self {
        FrequentItems {
            capacity: DEFAULT_CAPACITY,
            total: 0,
            offset: 0,
            counts: HashMap::new(),
        }
    }
}

fn truncate(item: &str) -> &str {
    match item.char_indices().nth(MAX_ITEM_CHARS) {
        Some((i, _)) => &item[..i],
        None => item,
    }
}

impl FrequentItems {
    /// An empty summary with `capacity` counters (1 to 2^20); an error otherwise.
    pub fn new(capacity: usize) -> Result<Self> {
        check_capacity(capacity)?;
        Ok(FrequentItems {
            capacity,
            ..FrequentItems::default()
        })
    }

    /// Number of counters.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Items counted (including those whose counters were dropped).
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The largest possible undercount of any item: `estimate(x).1 - estimate(x).0`. At most
    /// `total / (capacity + 1)`; 0 while every count is exact.
    pub fn max_error(&self) -> u64 {
        self.offset
    }

    /// Items currently tracked.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// Whether no item is tracked.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Counts one occurrence of `item` (cut to [`MAX_ITEM_CHARS`] characters).
    pub fn update(&mut self, item: &str) {
        let item = truncate(item);
        self.total += 1;
        if let Some(c) = self.counts.get_mut(item) {
            *c += 1;
        } else if self.counts.len() < self.capacity {
            self.counts.insert(item.to_string(), 1);
        } else {
            // Decrement every counter and the new item: capacity + 1 units removed.
            self.counts.retain(|_, c| {
                *c -= 1;
                *c > 0
            });
            self.offset += 1;
        }
    }

    /// Bounds `(lower, upper)` on the true count of `item`: `lower` is its counter (0 when
    /// not tracked) and `upper = lower + max_error()`.
    pub fn estimate(&self, item: &str) -> (u64, u64) {
        let lower = self.counts.get(truncate(item)).copied().unwrap_or(0);
        (lower, lower + self.offset)
    }

    /// The `n` items with the largest counters, as `(item, lower bound)`, by count descending
    /// then item ascending.
    pub fn top(&self, n: usize) -> Vec<(&str, u64)> {
        let mut v: Vec<(&str, u64)> = self.counts.iter().map(|(k, c)| (k.as_str(), *c)).collect();
        v.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        v.truncate(n);
        v
    }

    /// Merges another summary (same capacity; an error naming both otherwise). Exactly
    /// commutative; associative within the error bound.
    pub fn merge(&mut self, other: &FrequentItems) -> Result<()> {
        self.check_mergeable(other)?;
        self.total += other.total;
        self.offset += other.offset;
        for (item, c) in &other.counts {
            *self.counts.entry(item.clone()).or_insert(0) += c;
        }
        if self.counts.len() > self.capacity {
            let mut cs: Vec<u64> = self.counts.values().copied().collect();
            let (_, kth, _) = cs.select_nth_unstable_by(self.capacity, |a, b| b.cmp(a));
            let kth = *kth;
            self.counts.retain(|_, c| {
                *c = c.saturating_sub(kth);
                *c > 0
            });
            self.offset += kth;
        }
        Ok(())
    }

    /// Checks that `other` merges into this summary (same capacity).
    pub(crate) fn check_mergeable(&self, other: &FrequentItems) -> Result<()> {
        if self.capacity != other.capacity {
            return Err(Error::invalid(
                "frequent items capacity",
                format!("{} and {}", self.capacity, other.capacity),
                "summaries built with the same capacity",
            ));
        }
        Ok(())
    }
}

fn check_capacity(capacity: usize) -> Result<()> {
    if capacity == 0 || capacity > MAX_CAPACITY {
        return Err(Error::invalid(
            "frequent items capacity",
            capacity.to_string(),
            "1 to 1048576 counters",
        ));
    }
    Ok(())
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    capacity: usize,
    total: u64,
    max_error: u64,
    items: Vec<(String, u64)>,
}

impl Serialize for FrequentItems {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct WireRef<'a> {
            capacity: usize,
            total: u64,
            max_error: u64,
            items: Vec<(&'a str, u64)>,
        }
        WireRef {
            capacity: self.capacity,
            total: self.total,
            max_error: self.offset,
            items: self.top(usize::MAX),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for FrequentItems {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let w = Wire::deserialize(d)?;
        FrequentItems::from_wire(w).map_err(serde::de::Error::custom)
    }
}

impl FrequentItems {
    fn from_wire(w: Wire) -> Result<Self> {
        check_capacity(w.capacity)?;
        if w.items.len() > w.capacity {
            return Err(Error::invalid(
                "frequent items",
                format!("{} items", w.items.len()),
                "at most `capacity` items",
            ));
        }
        let mut counts = HashMap::with_capacity(w.items.len());
        let mut sum = 0u64;
        for (item, c) in w.items {
            if c == 0 || item.chars().count() > MAX_ITEM_CHARS {
                return Err(Error::invalid(
                    "frequent item",
                    format!("{item:?} with count {c}"),
                    "a positive count and at most 128 characters",
                ));
            }
            sum = sum.saturating_add(c);
            if counts.insert(item.clone(), c).is_some() {
                return Err(Error::invalid(
                    "frequent item",
                    item,
                    "each item listed once",
                ));
            }
        }
        let bound = (w.total - sum.min(w.total)) / (w.capacity as u64 + 1);
        if sum > w.total || w.max_error > bound {
            return Err(Error::invalid(
                "frequent items totals",
                format!(
                    "total {}, counted {sum}, max_error {}",
                    w.total, w.max_error
                ),
                "counters summing to at most the total, max_error <= (total - counted) / (capacity + 1)",
            ));
        }
        Ok(FrequentItems {
            capacity: w.capacity,
            total: w.total,
            offset: w.max_error,
            counts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn summary(capacity: usize, items: &[u8]) -> FrequentItems {
        let mut f = FrequentItems::new(capacity).unwrap();
        for i in items {
            f.update(&format!("c{i}"));
        }
        f
    }

    fn true_counts(items: &[u8]) -> HashMap<String, u64> {
        let mut m = HashMap::new();
        for i in items {
            *m.entry(format!("c{i}")).or_insert(0) += 1;
        }
        m
    }

    /// Every item's true count lies within its bounds, and the bound obeys
    /// `max_error <= total / (capacity + 1)`.
    fn bounds_hold(f: &FrequentItems, items: &[u8]) -> bool {
        let truth = true_counts(items);
        f.total() == items.len() as u64
            && f.max_error() <= f.total() / (f.capacity() as u64 + 1)
            && f.len() <= f.capacity()
            && (0..=255u8).all(|i| {
                let t = truth.get(&format!("c{i}")).copied().unwrap_or(0);
                let (lo, hi) = f.estimate(&format!("c{i}"));
                lo <= t && t <= hi
            })
    }

    fn items() -> impl Strategy<Value = Vec<u8>> {
        // Skewed: a few heavy items and a long tail.
        proptest::collection::vec(prop_oneof![3 => 0u8..4, 1 => any::<u8>()], 0..400)
    }

    #[test]
    fn few_distinct_items_are_counted_exactly() {
        let f = summary(128, &[1, 2, 2, 3, 3, 3]);
        assert_eq!(f.max_error(), 0);
        assert_eq!(f.estimate("c3"), (3, 3));
        assert_eq!(f.estimate("c9"), (0, 0));
        assert_eq!(f.top(2), vec![("c3", 3), ("c2", 2)]);
        assert_eq!(f.total(), 6);
    }

    #[test]
    fn a_full_summary_decrements_and_records_the_error() {
        let mut f = FrequentItems::new(2).unwrap();
        for s in ["a", "a", "a", "b", "c", "d"] {
            f.update(s);
        }
        // "c" decrements a and b (b drops); "d" takes the free counter.
        assert_eq!(f.max_error(), 1);
        assert_eq!(f.estimate("a"), (2, 3));
        assert_eq!(f.estimate("b"), (0, 1));
        assert_eq!(f.top(5), vec![("a", 2), ("d", 1)]);
    }

    #[test]
    fn long_items_are_cut_to_128_characters() {
        let mut f = FrequentItems::default();
        let long = "é".repeat(300);
        f.update(&long);
        assert_eq!(f.estimate(&long), (1, 1));
        assert_eq!(f.top(1)[0].0.chars().count(), MAX_ITEM_CHARS);
    }

    #[test]
    fn bad_capacity_and_mismatched_merge_are_errors() {
        assert!(FrequentItems::new(0).is_err());
        let mut a = FrequentItems::new(8).unwrap();
        let msg = a
            .merge(&FrequentItems::new(16).unwrap())
            .unwrap_err()
            .to_string();
        assert!(msg.contains('8') && msg.contains("16"), "{msg}");
    }

    #[test]
    fn serde_lists_items_sorted_and_rejects_inconsistent_state() {
        let f = summary(4, &[5, 1, 1, 2, 2, 9, 9, 9]);
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(
            json,
            r#"{"capacity":4,"total":8,"max_error":0,"items":[["c9",3],["c1",2],["c2",2],["c5",1]]}"#
        );
        assert_eq!(serde_json::from_str::<FrequentItems>(&json).unwrap(), f);
        for bad in [
            json.replace(r#""total":8"#, r#""total":2"#),
            json.replace(r#""max_error":0"#, r#""max_error":5"#),
            json.replace(r#"["c5",1]"#, r#"["c9",1]"#),
            json.replace(r#"["c5",1]"#, r#"["c5",0]"#),
            json.replace(r#""capacity":4"#, r#""capacity":2"#),
        ] {
            assert!(
                serde_json::from_str::<FrequentItems>(&bad).is_err(),
                "{bad}"
            );
        }
    }

    proptest! {
        #[test]
        fn updates_keep_the_error_bound(xs in items(), cap in 1usize..20) {
            prop_assert!(bounds_hold(&summary(cap, &xs), &xs));
        }

        #[test]
        fn merge_is_commutative_and_keeps_the_bound(
            a in items(), b in items(), c in items(), cap in 1usize..20
        ) {
            let (fa, fb, fc) = (summary(cap, &a), summary(cap, &b), summary(cap, &c));
            let mut ab = fa.clone();
            ab.merge(&fb).unwrap();
            let mut ba = fb.clone();
            ba.merge(&fa).unwrap();
            prop_assert_eq!(&ab, &ba);
            prop_assert_eq!(serde_json::to_string(&ab).unwrap(), serde_json::to_string(&ba).unwrap());
            // Associativity holds for the totals exactly and for counts within the bound.
            let mut left = ab.clone();
            left.merge(&fc).unwrap();
            let mut bc = fb.clone();
            bc.merge(&fc).unwrap();
            let mut right = fa.clone();
            right.merge(&bc).unwrap();
            let all: Vec<u8> = a.iter().chain(&b).chain(&c).copied().collect();
            prop_assert_eq!(left.total(), right.total());
            prop_assert!(bounds_hold(&left, &all));
            prop_assert!(bounds_hold(&right, &all));
        }

        #[test]
        fn serde_round_trips(xs in items(), cap in 1usize..20) {
            let f = summary(cap, &xs);
            let back: FrequentItems = serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
            prop_assert_eq!(back, f);
        }
    }
}
