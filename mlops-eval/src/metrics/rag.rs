//! Retrieval-augmented generation: id-based context precision and recall (the non-LLM
//! variants of ragas: `IDBasedContextPrecision` and `IDBasedContextRecall`).

use std::collections::HashSet;

use mlops_core::{Error, Result};

/// Share of retrieved context ids that are relevant: `|retrieved ∩ reference| / |retrieved|`
/// (duplicates in `retrieved` count once). Errors when nothing was retrieved.
pub fn context_precision(retrieved: &[&str], reference: &[&str]) -> Result<f64> {
    let r: HashSet<&str> = retrieved.iter().copied().collect();
    if r.is_empty() {
        return Err(Error::invalid(
            "retrieved context ids",
            "none",
            "at least one retrieved id",
        ));
    }
    let want: HashSet<&str> = reference.iter().copied().collect();
    Ok(r.intersection(&want).count() as f64 / r.len() as f64)
}

/// Share of the reference context ids that were retrieved: `|retrieved ∩ reference| /
/// |reference|`. Errors when the reference is empty.
pub fn context_recall(retrieved: &[&str], reference: &[&str]) -> Result<f64> {
    let want: HashSet<&str> = reference.iter().copied().collect();
    if want.is_empty() {
        return Err(Error::invalid(
            "reference context ids",
            "none",
            "at least one reference id",
        ));
    }
    let r: HashSet<&str> = retrieved.iter().copied().collect();
    Ok(r.intersection(&want).count() as f64 / want.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_and_recall_over_ids() {
        let retrieved = ["d1", "d2", "d3", "d3"];
        let reference = ["d2", "d3", "d9", "d8"];
        assert_eq!(
            context_precision(&retrieved, &reference).unwrap(),
            2.0 / 3.0
        );
        assert_eq!(context_recall(&retrieved, &reference).unwrap(), 0.5);
        assert!(context_precision(&[], &reference).is_err());
        assert!(context_recall(&retrieved, &[]).is_err());
    }
}
