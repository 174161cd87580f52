//! Ranking and retrieval metrics.
//!
//! Two families, kept apart because they rank ties differently:
//! - trec_eval-style per-query metrics over a [`RankedQuery`]: documents are ranked by
//!   score, descending, and **tied scores are ordered by document id in descending byte
//!   order** (trec_eval's `comp_sim_docno`); a document is relevant when its judgement is
//!   at least 1 (trec_eval's default `relevance_level`); nDCG uses linear gain and the
//!   discount `1 / log2(rank + 1)`.
//! - [`ndcg_score`] and [`dcg_score`]: scikit-learn's functions, which **average the gain
//!   over tied scores** unless `ignore_ties`.

use mlops_core::{Error, Result};

use super::util::{average, check_finite, check_len, check_weights};

/// One query's ranked candidates (parallel slices) and its judgements.
#[derive(Clone, Copy, Debug)]
pub struct RankedQuery<'a> {
    /// Document ids (trec_eval's docno), used to order tied scores.
    pub doc_ids: &'a [&'a str],
    /// Retrieval scores; higher ranks first.
    pub scores: &'a [f64],
    /// Graded relevance of each retrieved document (0 = not relevant).
    pub relevance: &'a [f64],
    /// Judged relevance of every document of the query, retrieved or not (the qrels),
    /// used for recall, AP's denominator and nDCG's ideal ranking; default: `relevance`.
    pub judged: Option<&'a [f64]>,
}

const REL_LEVEL: f64 = 1.0;

impl RankedQuery<'_> {
    fn check(&self) -> Result<()> {
        check_len("scores", self.doc_ids.len(), self.scores.len())?;
        check_len("relevance", self.doc_ids.len(), self.relevance.len())?;
        check_finite("scores", self.scores)?;
        check_finite("relevance", self.relevance)?;
        if let Some(j) = self.judged {
            check_finite("judged", j)?;
        }
        Ok(())
    }

    /// Relevance in trec_eval rank order.
    fn ranked(&self) -> Result<Vec<f64>> {
        self.check()?;
        let mut idx: Vec<usize> = (0..self.scores.len()).collect();
        // -0.0 and 0.0 are one score
        idx.sort_by(|&a, &b| {
            let (sa, sb) = (self.scores[a] + 0.0, self.scores[b] + 0.0);
            sb.total_cmp(&sa)
                .then_with(|| self.doc_ids[b].as_bytes().cmp(self.doc_ids[a].as_bytes()))
        });
        Ok(idx.iter().map(|&i| self.relevance[i]).collect())
    }

    fn n_relevant(&self) -> usize {
        self.judged
            .unwrap_or(self.relevance)
            .iter()
            .filter(|r| **r >= REL_LEVEL)
            .count()
    }
}

fn cutoff(k: Option<usize>, n: usize) -> usize {
    k.map_or(n, |k| k.min(n))
}

fn check_k(k: usize) -> Result<()> {
    if k == 0 {
        return Err(Error::invalid("k", "0", "a positive cutoff"));
    }
    Ok(())
}

/// Relevant documents among the first `k`, divided by `k` (even when fewer than `k` were
/// retrieved), like trec_eval's `P_k`.
pub fn precision_at_k(q: &RankedQuery, k: usize) -> Result<f64> {
    check_k(k)?;
    let r = q.ranked()?;
    let hits = r.iter().take(k).filter(|v| **v >= REL_LEVEL).count();
    Ok(hits as f64 / k as f64)
}

/// Relevant documents among the first `k`, divided by all relevant documents of the query
/// (0 when the query has none), like trec_eval's `recall_k`.
pub fn recall_at_k(q: &RankedQuery, k: usize) -> Result<f64> {
    check_k(k)?;
    let r = q.ranked()?;
    let total = q.n_relevant();
    if total == 0 {
        return Ok(0.0);
    }
    let hits = r.iter().take(k).filter(|v| **v >= REL_LEVEL).count();
    Ok(hits as f64 / total as f64)
}

/// `1 / rank` of the first relevant document within the first `k` (all when `None`),
/// else 0.
pub fn reciprocal_rank(q: &RankedQuery, k: Option<usize>) -> Result<f64> {
    let r = q.ranked()?;
    let n = cutoff(k, r.len());
    Ok(r[..n]
        .iter()
        .position(|v| *v >= REL_LEVEL)
        .map_or(0.0, |p| 1.0 / (p + 1) as f64))
}

/// Sum of the precision at each relevant rank within the first `k`, divided by the number
/// of relevant documents of the query (0 when none), like trec_eval's `map`.
pub fn average_precision_at_k(q: &RankedQuery, k: Option<usize>) -> Result<f64> {
    let r = q.ranked()?;
    let total = q.n_relevant();
    if total == 0 {
        return Ok(0.0);
    }
    let n = cutoff(k, r.len());
    let mut hits = 0usize;
    let mut sum = 0.0;
    for (i, v) in r[..n].iter().enumerate() {
        if *v >= REL_LEVEL {
            hits += 1;
            sum += hits as f64 / (i + 1) as f64;
        }
    }
    Ok(sum / total as f64)
}

fn dcg(gains: &[f64]) -> f64 {
    gains
        .iter()
        .enumerate()
        .map(|(i, g)| g / ((i + 2) as f64).log2())
        .sum()
}

/// nDCG with linear gain and discount `1/log2(rank+1)` over the first `k` (all when
/// `None`); the ideal ranking sorts the judged relevance; 0 when the ideal DCG is 0.
pub fn ndcg_at_k(q: &RankedQuery, k: Option<usize>) -> Result<f64> {
    let r = q.ranked()?;
    let n = cutoff(k, r.len());
    let mut ideal: Vec<f64> = q.judged.unwrap_or(q.relevance).to_vec();
    ideal.sort_by(|a, b| b.total_cmp(a));
    let ni = k.map_or(ideal.len(), |k| k.min(ideal.len()));
    let idcg = dcg(&ideal[..ni]);
    if idcg == 0.0 {
        return Ok(0.0);
    }
    Ok(dcg(&r[..n]) / idcg)
}

/// Mean of [`reciprocal_rank`] over queries (0 for no query).
pub fn mean_reciprocal_rank(queries: &[RankedQuery], k: Option<usize>) -> Result<f64> {
    mean_over(queries, |q| reciprocal_rank(q, k))
}

/// Mean of [`average_precision_at_k`] over queries (MAP; 0 for no query).
pub fn mean_average_precision(queries: &[RankedQuery], k: Option<usize>) -> Result<f64> {
    mean_over(queries, |q| average_precision_at_k(q, k))
}

fn mean_over(queries: &[RankedQuery], f: impl Fn(&RankedQuery) -> Result<f64>) -> Result<f64> {
    if queries.is_empty() {
        return Ok(0.0);
    }
    let mut v = Vec::with_capacity(queries.len());
    for q in queries {
        v.push(f(q)?);
    }
    Ok(average(&v, None))
}

// ------------------------------------------------------------- scikit-learn's (n)DCG

/// Options of [`ndcg_score`] and [`dcg_score`].
#[derive(Clone, Copy, Debug, Default)]
pub struct DcgOptions<'a> {
    /// Only the first `k` ranks count (default all).
    pub k: Option<usize>,
    /// One weight per query (row).
    pub sample_weight: Option<&'a [f64]>,
    /// Rank tied scores in an arbitrary order instead of averaging their gains.
    pub ignore_ties: bool,
}

fn rows(v: &[f64], n_cols: usize) -> impl Iterator<Item = &[f64]> {
    v.chunks_exact(n_cols)
}

fn check_matrix(
    y_true: &[f64],
    y_score: &[f64],
    n_docs: usize,
    opts: &DcgOptions,
) -> Result<usize> {
    check_len("y_score", y_true.len(), y_score.len())?;
    check_finite("y_true", y_true)?;
    check_finite("y_score", y_score)?;
    if n_docs == 0 || y_true.len() / n_docs * n_docs != y_true.len() || y_true.is_empty() {
        return Err(Error::invalid(
            "n_docs",
            format!("{n_docs} for {} values", y_true.len()),
            "a positive number of documents per query dividing the number of values",
        ));
    }
    if n_docs < 2 {
        return Err(Error::invalid(
            "n_docs",
            "1",
            "more than one document per query",
        ));
    }
    let n_rows = y_true.len() / n_docs;
    check_weights(n_rows, opts.sample_weight)?;
    Ok(n_rows)
}

fn discounts(n: usize, k: Option<usize>) -> Vec<f64> {
    (0..n)
        .map(|i| {
            if k.is_some_and(|k| i >= k) {
                0.0
            } else {
                1.0 / ((i + 2) as f64).log2()
            }
        })
        .collect()
}

fn dcg_row(t: &[f64], s: &[f64], disc: &[f64], ignore_ties: bool) -> f64 {
    let n = t.len();
    if ignore_ties {
        // reversed stable argsort: among ties the later index ranks first
        let mut idx: Vec<usize> = (0..n).collect();
        idx.sort_by(|&a, &b| s[a].total_cmp(&s[b]).then(a.cmp(&b)));
        idx.reverse();
        return idx.iter().zip(disc).map(|(&i, d)| d * t[i]).sum();
    }
    let mut cum = Vec::with_capacity(n);
    let mut acc = 0.0;
    for d in disc {
        acc += d;
        cum.push(acc);
    }
    // groups of equal scores in decreasing order
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| (s[b] + 0.0).total_cmp(&(s[a] + 0.0)));
    let mut total = 0.0;
    let mut start = 0;
    let mut prev_end_cum = 0.0;
    while start < n {
        let mut end = start + 1;
        while end < n && s[idx[end]] == s[idx[start]] {
            end += 1;
        }
        let count = (end - start) as f64;
        let gain: f64 = idx[start..end].iter().map(|&i| t[i]).sum::<f64>() / count;
        let c = cum[end - 1];
        let dsum = if start == 0 { c } else { c - prev_end_cum };
        total += gain * dsum;
        prev_end_cum = c;
        start = end;
    }
    total
}

/// Discounted cumulative gain of each query, averaged (`dcg_score`). `y_true` and
/// `y_score` are row-major, one row of `n_docs` values per query; gains are `y_true`
/// as given (linear).
pub fn dcg_score(y_true: &[f64], y_score: &[f64], n_docs: usize, opts: &DcgOptions) -> Result<f64> {
    check_matrix(y_true, y_score, n_docs, opts)?;
    let disc = discounts(n_docs, opts.k);
    let g: Vec<f64> = rows(y_true, n_docs)
        .zip(rows(y_score, n_docs))
        .map(|(t, s)| dcg_row(t, s, &disc, opts.ignore_ties))
        .collect();
    Ok(average(&g, opts.sample_weight))
}

/// Normalised DCG of each query, averaged (`ndcg_score`): ties in `y_score` share their
/// gain unless `ignore_ties`; a query whose ideal DCG is 0 scores 0. `y_true` must be
/// non-negative.
pub fn ndcg_score(
    y_true: &[f64],
    y_score: &[f64],
    n_docs: usize,
    opts: &DcgOptions,
) -> Result<f64> {
    check_matrix(y_true, y_score, n_docs, opts)?;
    if let Some(v) = y_true.iter().find(|v| **v < 0.0) {
        return Err(Error::invalid(
            "y_true",
            v.to_string(),
            "non-negative relevance",
        ));
    }
    let disc = discounts(n_docs, opts.k);
    let g: Vec<f64> = rows(y_true, n_docs)
        .zip(rows(y_score, n_docs))
        .map(|(t, s)| {
            let gain = dcg_row(t, s, &disc, opts.ignore_ties);
            let mut ideal = t.to_vec();
            ideal.sort_by(|a, b| b.total_cmp(a));
            let norm: f64 = ideal.iter().zip(&disc).map(|(g, d)| g * d).sum();
            if norm == 0.0 { 0.0 } else { gain / norm }
        })
        .collect();
    Ok(average(&g, opts.sample_weight))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q<'a>(ids: &'a [&'a str], s: &'a [f64], r: &'a [f64]) -> RankedQuery<'a> {
        RankedQuery {
            doc_ids: ids,
            scores: s,
            relevance: r,
            judged: None,
        }
    }

    #[test]
    fn trec_tie_rule_orders_by_docno_descending() {
        // all tied: order is d3, d2, d1 -> relevant d1 lands at rank 3
        let ids = ["d1", "d2", "d3"];
        let s = [0.5, 0.5, 0.5];
        let r = [1.0, 0.0, 0.0];
        let query = q(&ids, &s, &r);
        assert_eq!(reciprocal_rank(&query, None).unwrap(), 1.0 / 3.0);
        assert_eq!(precision_at_k(&query, 2).unwrap(), 0.0);
        assert_eq!(precision_at_k(&query, 3).unwrap(), 1.0 / 3.0);
        assert_eq!(recall_at_k(&query, 3).unwrap(), 1.0);
        let ndcg = ndcg_at_k(&query, None).unwrap();
        assert!((ndcg - 0.5).abs() < 1e-15, "{ndcg}");
    }

    #[test]
    fn ap_divides_by_all_relevant() {
        let ids = ["a", "b", "c", "d"];
        let s = [4.0, 3.0, 2.0, 1.0];
        let r = [1.0, 0.0, 1.0, 0.0];
        let judged = [1.0, 0.0, 1.0, 0.0, 1.0];
        let query = RankedQuery {
            doc_ids: &ids,
            scores: &s,
            relevance: &r,
            judged: Some(&judged),
        };
        let ap = average_precision_at_k(&query, None).unwrap();
        assert!((ap - (1.0 + 2.0 / 3.0) / 3.0).abs() < 1e-15);
        assert_eq!(recall_at_k(&query, 4).unwrap(), 2.0 / 3.0);
        assert_eq!(mean_average_precision(&[query, query], None).unwrap(), ap);
        let none = q(&ids, &s, &[0.0; 4]);
        assert_eq!(average_precision_at_k(&none, None).unwrap(), 0.0);
        assert_eq!(ndcg_at_k(&none, Some(2)).unwrap(), 0.0);
        assert!(precision_at_k(&none, 0).is_err());
    }
}
