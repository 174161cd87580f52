//! Metrics of generated text and of language models.
//!
//! Normalisation for [`exact_match`] and [`token_f1`] follows the SQuAD v1.1 evaluation
//! script: lower-case, remove ASCII punctuation, remove the articles "a", "an", "the",
//! and collapse whitespace; tokens are whitespace-separated.

use mlops_core::{Error, Result};

use super::util::{average, check_finite, check_len};

/// SQuAD normalisation of an answer.
pub fn normalize_answer(s: &str) -> String {
    let lower = s.to_lowercase();
    let no_punct: String = lower
        .chars()
        .filter(|c| !c.is_ascii_punctuation())
        .collect();
    no_punct
        .split_whitespace()
        .filter(|w| !matches!(*w, "a" | "an" | "the"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// 1.0 when the normalised prediction equals the normalised reference, else 0.0.
pub fn exact_match(prediction: &str, reference: &str) -> f64 {
    if normalize_answer(prediction) == normalize_answer(reference) {
        1.0
    } else {
        0.0
    }
}

/// Token-overlap F1 between normalised prediction and reference (bag of tokens with
/// multiplicity). Both empty: 1.0; one empty: 0.0.
pub fn token_f1(prediction: &str, reference: &str) -> f64 {
    let p = normalize_answer(prediction);
    let r = normalize_answer(reference);
    let pt: Vec<&str> = p.split_whitespace().collect();
    let rt: Vec<&str> = r.split_whitespace().collect();
    if pt.is_empty() || rt.is_empty() {
        return if pt.is_empty() && rt.is_empty() {
            1.0
        } else {
            0.0
        };
    }
    let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for t in &rt {
        *counts.entry(t).or_default() += 1;
    }
    let mut common = 0usize;
    for t in &pt {
        match counts.get_mut(t) {
            Some(c) if *c > 0 => {
                *c -= 1;
                common += 1;
            }
            _ => {}
        }
    }
    if common == 0 {
        return 0.0;
    }
    let precision = common as f64 / pt.len() as f64;
    let recall = common as f64 / rt.len() as f64;
    2.0 * precision * recall / (precision + recall)
}

/// Mean of [`exact_match`] over pairs.
pub fn mean_exact_match(predictions: &[&str], references: &[&str]) -> Result<f64> {
    check_len("references", predictions.len(), references.len())?;
    let v: Vec<f64> = predictions
        .iter()
        .zip(references)
        .map(|(p, r)| exact_match(p, r))
        .collect();
    if v.is_empty() {
        return Err(Error::invalid(
            "predictions",
            "an empty list",
            "at least one pair",
        ));
    }
    Ok(average(&v, None))
}

/// Mean of [`token_f1`] over pairs.
pub fn mean_token_f1(predictions: &[&str], references: &[&str]) -> Result<f64> {
    check_len("references", predictions.len(), references.len())?;
    let v: Vec<f64> = predictions
        .iter()
        .zip(references)
        .map(|(p, r)| token_f1(p, r))
        .collect();
    if v.is_empty() {
        return Err(Error::invalid(
            "predictions",
            "an empty list",
            "at least one pair",
        ));
    }
    Ok(average(&v, None))
}

/// Corpus perplexity: `exp` of the mean negative log-likelihood (natural log) over all
/// tokens of the corpus, i.e. every token weighs the same whatever its document.
/// `token_nll` holds `-ln p(token)` for each token; each must be finite and `>= 0`.
pub fn perplexity(token_nll: &[f64]) -> Result<f64> {
    if token_nll.is_empty() {
        return Err(Error::invalid(
            "token_nll",
            "an empty array",
            "at least one token",
        ));
    }
    check_finite("token_nll", token_nll)?;
    if let Some(v) = token_nll.iter().find(|v| **v < 0.0) {
        return Err(Error::invalid(
            "token_nll",
            v.to_string(),
            "non-negative negative log-likelihoods",
        ));
    }
    Ok(average(token_nll, None).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squad_style() {
        assert_eq!(exact_match("The Cat!", "cat"), 1.0);
        assert_eq!(exact_match("a dog", "cat"), 0.0);
        let f = token_f1("the big red dog", "a red dog barked");
        // tokens: [big, red, dog] vs [red, dog, barked]: common 2, P = R = 2/3
        assert!((f - 2.0 / 3.0).abs() < 1e-15);
        assert_eq!(token_f1("", "the"), 1.0);
        assert_eq!(token_f1("x", ""), 0.0);
        assert_eq!(mean_token_f1(&["a b", "c"], &["b a", "d"]).unwrap(), 0.5);
        assert!(mean_exact_match(&["a"], &[]).is_err());
    }

    #[test]
    fn perplexity_is_exp_mean_nll() {
        let p = perplexity(&[2f64.ln(), 2f64.ln()]).unwrap();
        assert!((p - 2.0).abs() < 1e-15);
        assert!(perplexity(&[]).is_err());
        assert!(perplexity(&[f64::NAN]).is_err());
        assert!(perplexity(&[-1.0]).is_err());
    }
}
