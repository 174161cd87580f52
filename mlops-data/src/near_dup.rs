//! Near-duplicate text with MinHash and locality-sensitive hashing (Broder 1997; the banding
//! of Leskovec, Rajaraman and Ullman, ch. 3), as datasketch's `MinHashLSH`, seeded.
//!
//! - A text becomes a set of shingles: character or word n-grams of the text lowercased
//!   with runs of whitespace collapsed to one space. A text shorter than one n-gram is one
//!   shingle (itself); an empty text has none and is never a near-duplicate.
//! - Each shingle is hashed with XXH64 (the seed) and permuted `permutations` times by
//!   `h_i(x) = (a_i·x + b_i) mod (2⁶¹ − 1)`, with `a_i, b_i` drawn from the frozen
//!   [`mlops_core::rng::Rng`] of the seed; the signature keeps each permutation's minimum.
//!   Two signatures agree at a position with probability equal to the sets' Jaccard
//!   similarity.
//! - The signature is cut into `bands` bands of `rows` values; texts sharing any band's hash
//!   become candidates, which happens with probability `1 − (1 − s^rows)^bands` at Jaccard
//!   `s` (an S-curve whose steepest point is near `(1/bands)^(1/rows)`).
//!   [`MinHashOptions::for_threshold`] picks the bands and rows that minimise the weighted
//!   false positive and false negative areas under that curve, as datasketch does.
//! - A candidate is confirmed when the signatures' estimated Jaccard reaches the threshold
//!   (or, with [`MinHashOptions::exact`], when the true Jaccard of the shingle sets does).
//!
//! [`near_duplicates`] streams texts in order and keeps the first of every group: a text is
//! removed when it is a near-duplicate of an earlier kept text.

use std::collections::{HashMap, HashSet};

use mlops_core::rng::Rng;
use mlops_core::{Error, Result};
use serde::Serialize;
use xxhash_rust::xxh64::xxh64;

const MERSENNE: u64 = (1 << 61) - 1;

/// What a shingle is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shingle {
    /// Character n-grams (default 5).
    Chars(usize),
    /// Word n-grams.
    Words(usize),
}

/// The parameters of MinHash-LSH.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MinHashOptions {
    /// Shingles.
    pub shingle: Shingle,
    /// Number of bands.
    pub bands: usize,
    /// Values per band; the signature has `bands · rows` permutations.
    pub rows: usize,
    /// Jaccard similarity at and above which two texts are near-duplicates.
    pub threshold: f64,
    /// Confirm candidates on the exact Jaccard of the shingle sets instead of the estimate
    /// (keeps every kept text's shingles in memory).
    pub exact: bool,
    /// Seed of the shingle hash and the permutations.
    pub seed: u64,
}

impl Default for MinHashOptions {
    /// Character 5-grams, 128 permutations tuned for a 0.8 threshold, seed 1.
    fn default() -> Self {
        MinHashOptions::for_threshold(0.8, 128, Shingle::Chars(5), 1)
    }
}

/// Integrates `f` over `[a, b]` with the midpoint rule.
fn integrate(f: impl Fn(f64) -> f64, a: f64, b: f64) -> f64 {
    let n = 1000;
    let h = (b - a) / n as f64;
    (0..n).map(|i| f(a + (i as f64 + 0.5) * h)).sum::<f64>() * h
}

impl MinHashOptions {
    /// The bands and rows (with `bands · rows <= permutations`) that minimise the sum of the
    /// false positive area (below the threshold) and the false negative area (above it) of
    /// the candidate curve, weighted equally (datasketch's `_optimal_param`).
    pub fn for_threshold(threshold: f64, permutations: usize, shingle: Shingle, seed: u64) -> Self {
        let mut best = (f64::INFINITY, 1, permutations.max(1));
        for b in 1..=permutations.max(1) {
            for r in 1..=permutations / b {
                let p = |s: f64| 1.0 - (1.0 - s.powi(r as i32)).powi(b as i32);
                let fp = integrate(p, 0.0, threshold);
                let fnr = integrate(|s| 1.0 - p(s), threshold, 1.0);
                if fp + fnr < best.0 {
                    best = (fp + fnr, b, r);
                }
            }
        }
        MinHashOptions {
            shingle,
            bands: best.1,
            rows: best.2,
            threshold,
            exact: false,
            seed,
        }
    }

    fn check(&self) -> Result<()> {
        let n = match self.shingle {
            Shingle::Chars(n) | Shingle::Words(n) => n,
        };
        if n == 0 || self.bands == 0 || self.rows == 0 {
            return Err(Error::invalid(
                "MinHash options",
                format!(
                    "{:?}, {} bands of {} rows",
                    self.shingle, self.bands, self.rows
                ),
                "a shingle size, bands and rows of at least 1",
            ));
        }
        if !(self.threshold > 0.0 && self.threshold <= 1.0) {
            return Err(Error::invalid(
                "MinHash threshold",
                self.threshold.to_string(),
                "a Jaccard similarity in (0, 1]",
            ));
        }
        Ok(())
    }
}

/// Computes MinHash signatures.
#[derive(Clone, Debug)]
pub struct MinHasher {
    options: MinHashOptions,
    permutations: Vec<(u64, u64)>,
}

fn mulmod(a: u64, b: u64) -> u64 {
    ((a as u128 * b as u128) % MERSENNE as u128) as u64
}

impl MinHasher {
    /// A hasher with `options.bands · options.rows` seeded permutations.
    pub fn new(options: MinHashOptions) -> Result<Self> {
        options.check()?;
        let mut rng = Rng::new(options.seed);
        let permutations = (0..options.bands * options.rows)
            .map(|_| (1 + rng.below(MERSENNE - 1), rng.below(MERSENNE)))
            .collect();
        Ok(MinHasher {
            options,
            permutations,
        })
    }

    /// The shingle hashes of a text (distinct).
    pub fn shingles(&self, text: &str) -> HashSet<u64> {
        let normal: String = text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        let seed = self.options.seed;
        let mut out = HashSet::new();
        match self.options.shingle {
            Shingle::Chars(n) => {
                let chars: Vec<(usize, char)> = normal.char_indices().collect();
                if chars.is_empty() {
                    return out;
                }
                if chars.len() <= n {
                    out.insert(xxh64(normal.as_bytes(), seed));
                    return out;
                }
                for w in 0..=chars.len() - n {
                    let start = chars[w].0;
                    let end = chars.get(w + n).map_or(normal.len(), |c| c.0);
                    out.insert(xxh64(&normal.as_bytes()[start..end], seed));
                }
            }
            Shingle::Words(n) => {
                let words: Vec<&str> = normal.split(' ').filter(|w| !w.is_empty()).collect();
                if words.is_empty() {
                    return out;
                }
                if words.len() <= n {
                    out.insert(xxh64(words.join(" ").as_bytes(), seed));
                    return out;
                }
                for w in words.windows(n) {
                    out.insert(xxh64(w.join(" ").as_bytes(), seed));
                }
            }
        }
        out
    }

    /// The signature of a set of shingle hashes (all `u64::MAX` for an empty set).
    pub fn signature_of(&self, shingles: &HashSet<u64>) -> Vec<u64> {
        let mut sig = vec![u64::MAX; self.permutations.len()];
        for &h in shingles {
            let x = h % MERSENNE;
            for (s, &(a, b)) in sig.iter_mut().zip(&self.permutations) {
                let v = (mulmod(a, x) + b) % MERSENNE;
                if v < *s {
                    *s = v;
                }
            }
        }
        sig
    }

    /// The signature of a text.
    pub fn signature(&self, text: &str) -> Vec<u64> {
        self.signature_of(&self.shingles(text))
    }

    /// The share of positions where two signatures agree: the Jaccard estimate.
    pub fn estimate(a: &[u64], b: &[u64]) -> f64 {
        if a.is_empty() || a.len() != b.len() {
            return 0.0;
        }
        a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64
    }

    fn band_keys(&self, sig: &[u64]) -> Vec<u64> {
        sig.chunks(self.options.rows)
            .enumerate()
            .map(|(band, vals)| {
                let mut bytes = Vec::with_capacity(8 * (vals.len() + 1));
                bytes.extend_from_slice(&(band as u64).to_le_bytes());
                for v in vals {
                    bytes.extend_from_slice(&v.to_le_bytes());
                }
                xxh64(&bytes, 0)
            })
            .collect()
    }
}

/// Jaccard similarity of two sets (0 for two empty sets).
pub fn jaccard(a: &HashSet<u64>, b: &HashSet<u64>) -> f64 {
    let inter = a.intersection(b).count();
    let union = a.len() + b.len() - inter;
    if union == 0 {
        0.0
    } else {
        inter as f64 / union as f64
    }
}

/// One removed near-duplicate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NearDuplicate {
    /// The removed text's position in the input.
    pub index: u64,
    /// The kept text it duplicates (the earliest that matched).
    pub duplicate_of: u64,
    /// The Jaccard similarity that confirmed it (estimated, or exact with
    /// [`MinHashOptions::exact`]).
    pub similarity: f64,
}

/// What near-duplicate removal did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct NearDupReport {
    /// Texts seen.
    pub texts: u64,
    /// Texts kept.
    pub kept: u64,
    /// Candidate pairs from the bands (before confirmation).
    pub candidates: u64,
    /// The removed texts.
    pub removed: Vec<NearDuplicate>,
}

/// An index of kept texts for streaming near-duplicate removal.
pub struct NearDupIndex {
    hasher: MinHasher,
    bands: Vec<HashMap<u64, Vec<u32>>>,
    signatures: Vec<Vec<u64>>,
    shingles: Vec<HashSet<u64>>,
    ids: Vec<u64>,
    report: NearDupReport,
}

impl NearDupIndex {
    /// An empty index.
    pub fn new(options: MinHashOptions) -> Result<Self> {
        let hasher = MinHasher::new(options)?;
        Ok(NearDupIndex {
            bands: vec![HashMap::new(); options.bands],
            hasher,
            signatures: Vec::new(),
            shingles: Vec::new(),
            ids: Vec::new(),
            report: NearDupReport::default(),
        })
    }

    /// The earliest kept text that `text` near-duplicates, with the similarity that
    /// confirmed it: `(input index of the kept text, similarity)`. Does not add `text`.
    pub fn query(&self, text: &str) -> Option<(u64, f64)> {
        let shingles = self.hasher.shingles(text);
        let sig = self.hasher.signature_of(&shingles);
        self.best_match(&shingles, &sig, &self.hasher.band_keys(&sig), &mut 0)
            .map(|(k, s)| (self.ids[k as usize], s))
    }

    /// The best (earliest) confirmed candidate among kept texts.
    fn best_match(
        &self,
        shingles: &HashSet<u64>,
        sig: &[u64],
        keys: &[u64],
        candidates: &mut u64,
    ) -> Option<(u32, f64)> {
        if shingles.is_empty() {
            return None;
        }
        let mut seen = HashSet::new();
        let mut best: Option<(u32, f64)> = None;
        for (band, key) in keys.iter().enumerate() {
            for &k in self.bands[band].get(key).into_iter().flatten() {
                if !seen.insert(k) {
                    continue;
                }
                *candidates += 1;
                let s = if self.hasher.options.exact {
                    jaccard(shingles, &self.shingles[k as usize])
                } else {
                    MinHasher::estimate(sig, &self.signatures[k as usize])
                };
                if s >= self.hasher.options.threshold && best.is_none_or(|(b, _)| k < b) {
                    best = Some((k, s));
                }
            }
        }
        best
    }

    /// Offers the next text: returns `true` when it is kept (no earlier kept text is a
    /// near-duplicate), `false` when it is removed (recorded in the report).
    pub fn push(&mut self, text: &str) -> bool {
        let index = self.report.texts;
        self.report.texts += 1;
        let shingles = self.hasher.shingles(text);
        let sig = self.hasher.signature_of(&shingles);
        let keys = self.hasher.band_keys(&sig);
        let mut candidates = 0;
        let found = self.best_match(&shingles, &sig, &keys, &mut candidates);
        self.report.candidates += candidates;
        if let Some((k, s)) = found {
            self.report.removed.push(NearDuplicate {
                index,
                duplicate_of: self.ids[k as usize],
                similarity: s,
            });
            return false;
        }
        let k = self.ids.len() as u32;
        if !shingles.is_empty() {
            for (band, key) in keys.into_iter().enumerate() {
                self.bands[band].entry(key).or_default().push(k);
            }
        }
        self.ids.push(index);
        self.signatures.push(sig);
        if self.hasher.options.exact {
            self.shingles.push(shingles);
        } else {
            self.shingles.push(HashSet::new());
        }
        self.report.kept += 1;
        true
    }

    /// The report so far.
    pub fn report(&self) -> &NearDupReport {
        &self.report
    }

    /// Ends the stream.
    pub fn finish(self) -> NearDupReport {
        self.report
    }
}

/// Removes near-duplicates from `texts` in order, keeping the first of each group; returns
/// the kept flags and the report. `None` texts (nulls) are kept and never match.
pub fn near_duplicates<'a>(
    texts: impl IntoIterator<Item = Option<&'a str>>,
    options: MinHashOptions,
) -> Result<(Vec<bool>, NearDupReport)> {
    let mut index = NearDupIndex::new(options)?;
    let keep = texts
        .into_iter()
        .map(|t| index.push(t.unwrap_or("")))
        .collect();
    Ok((keep, index.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus(rng: &mut Rng, n: usize) -> Vec<String> {
        const WORDS: [&str; 24] = [
            "model", "data", "drift", "label", "serve", "train", "metric", "gate", "user", "churn",
            "plan", "price", "batch", "store", "run", "version", "alias", "feature", "split",
            "hash", "report", "table", "column", "row",
        ];
        (0..n)
            .map(|_| {
                (0..40)
                    .map(|_| WORDS[rng.below(WORDS.len() as u64) as usize])
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    /// Changes about `share` of the words of a text.
    fn perturb(rng: &mut Rng, text: &str, share: f64) -> String {
        text.split(' ')
            .map(|w| {
                if rng.next_f64() < share {
                    "XYZZY".to_owned()
                } else {
                    w.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn near_copies_are_removed_and_distinct_texts_kept() {
        let mut rng = Rng::new(5);
        let base = corpus(&mut rng, 300);
        let mut texts: Vec<String> = base.clone();
        // 100 near copies (one word of 40 changed, plus case and spacing noise: a word
        // 3-gram Jaccard of 35/41 ≈ 0.85) and 100 texts that share a third of their words
        // with an original.
        for (i, text) in base.iter().enumerate().take(100) {
            let mut words: Vec<&str> = text.split(' ').collect();
            words[i % 40] = "XYZZY";
            texts.push(words.join("  ").to_uppercase());
        }
        for text in &base[100..200] {
            texts.push(perturb(&mut rng, text, 0.66));
        }
        let opts = MinHashOptions {
            shingle: Shingle::Words(3),
            ..MinHashOptions::for_threshold(0.7, 128, Shingle::Words(3), 9)
        };
        let (keep, report) = near_duplicates(texts.iter().map(|t| Some(t.as_str())), opts).unwrap();
        let removed: HashSet<u64> = report.removed.iter().map(|r| r.index).collect();
        let near: usize = (300..400)
            .filter(|i| removed.contains(&(*i as u64)))
            .count();
        let far: usize = (400..500)
            .filter(|i| removed.contains(&(*i as u64)))
            .count();
        assert!(near >= 98, "recall: {near} of 100 near copies removed");
        assert_eq!(far, 0, "distant texts must be kept");
        assert!(
            report
                .removed
                .iter()
                .filter(|r| r.index >= 300 && r.index < 400)
                .all(|r| r.duplicate_of == r.index - 300)
        );
        assert_eq!(keep.iter().filter(|k| **k).count() as u64, report.kept);
        // Seeded: the same options give the same report.
        let (_, again) = near_duplicates(texts.iter().map(|t| Some(t.as_str())), opts).unwrap();
        assert_eq!(again, report);
    }

    #[test]
    fn estimates_track_the_exact_jaccard() {
        let h = MinHasher::new(MinHashOptions::for_threshold(
            0.5,
            256,
            Shingle::Chars(4),
            3,
        ))
        .unwrap();
        let mut rng = Rng::new(1);
        let text = corpus(&mut rng, 1).remove(0);
        for share in [0.05, 0.2, 0.5] {
            let other = perturb(&mut rng, &text, share);
            let (a, b) = (h.shingles(&text), h.shingles(&other));
            let exact = jaccard(&a, &b);
            let est = MinHasher::estimate(&h.signature_of(&a), &h.signature_of(&b));
            // Standard error sqrt(J(1-J)/256) ≤ 0.032: allow 4 of them.
            assert!(
                (est - exact).abs() < 0.13,
                "share {share}: {est} vs {exact}"
            );
        }
        assert_eq!(
            h.signature("").iter().filter(|v| **v == u64::MAX).count(),
            h.signature("a").len()
        );
    }

    #[test]
    fn parameters_follow_the_threshold_and_bad_ones_are_refused() {
        let lo = MinHashOptions::for_threshold(0.3, 128, Shingle::Chars(5), 0);
        let hi = MinHashOptions::for_threshold(0.9, 128, Shingle::Chars(5), 0);
        assert!(lo.bands * lo.rows <= 128 && hi.bands * hi.rows <= 128);
        // A higher threshold needs longer bands.
        assert!(hi.rows > lo.rows, "{lo:?} {hi:?}");
        let bad = MinHashOptions {
            threshold: 1.5,
            ..lo
        };
        assert!(MinHasher::new(bad).unwrap_err().to_string().contains("1.5"));
        let bad = MinHashOptions {
            shingle: Shingle::Chars(0),
            ..lo
        };
        assert!(MinHasher::new(bad).is_err());
        // Exact confirmation agrees on an obvious pair.
        let exact = MinHashOptions {
            exact: true,
            ..MinHashOptions::default()
        };
        let (keep, r) = near_duplicates(
            [
                Some("the quick brown fox jumps over the lazy dog"),
                Some("The quick  brown fox jumps over the lazy dog"),
                None,
            ],
            exact,
        )
        .unwrap();
        assert_eq!(keep, [true, false, true]);
        assert_eq!(r.removed[0].similarity, 1.0);
    }
}
