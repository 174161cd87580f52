//! Limits and checks on user-supplied names and values, MLflow-compatible.
//!
//! Each check returns an [`Error::InvalidInput`] that names the value and the limit.

use crate::error::{Error, Result};

/// Maximum length of a metric, param or tag key (MLflow: 250).
pub const MAX_KEY_LEN: usize = 250;
/// Maximum length of a param value (MLflow: 6000).
pub const MAX_PARAM_VALUE_LEN: usize = 6000;
/// Maximum length of a run tag value (MLflow: 8000).
pub const MAX_TAG_VALUE_LEN: usize = 8000;
/// Maximum length of an experiment or registered model name (MLflow: 500 / 256).
pub const MAX_NAME_LEN: usize = 500;
/// Maximum length of a registry tag or description (MLflow: 100,000).
pub const MAX_REGISTRY_VALUE_LEN: usize = 100_000;
/// Maximum length of an alias (MLflow: 255).
pub const MAX_ALIAS_LEN: usize = 255;

fn check_len(what: &'static str, value: &str, max: usize) -> Result<()> {
    let n = value.chars().count();
    if n > max {
        return Err(Error::invalid(
            what,
            value,
            format!("at most {max} characters, got {n}"),
        ));
    }
    Ok(())
}

/// A metric, param or tag key: 1 to 250 characters of `[A-Za-z0-9_\-. /:]`, with no
/// `..` path segment and no leading `/` (MLflow's rule, so keys are safe as file names).
pub fn check_key(what: &'static str, key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::invalid(
            what,
            key,
            "1 to 250 characters, got an empty key",
        ));
    }
    check_len(what, key, MAX_KEY_LEN)?;
    let charset_ok = key
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ' | '/' | ':'));
    if !charset_ok {
        return Err(Error::invalid(
            what,
            key,
            "only letters, digits, '_', '-', '.', ' ', '/' and ':'",
        ));
    }
    if key.starts_with('/') || key.split('/').any(|seg| seg == "..") {
        return Err(Error::invalid(
            what,
            key,
            "a relative name without '..' segments or a leading '/'",
        ));
    }
    Ok(())
}

/// A param value: at most 6000 characters.
pub fn check_param_value(key: &str, value: &str) -> Result<()> {
    check_len_named("param value", key, value, MAX_PARAM_VALUE_LEN)
}

/// A run tag value: at most 8000 characters.
pub fn check_tag_value(key: &str, value: &str) -> Result<()> {
    check_len_named("tag value", key, value, MAX_TAG_VALUE_LEN)
}

fn check_len_named(what: &'static str, key: &str, value: &str, max: usize) -> Result<()> {
    let n = value.chars().count();
    if n > max {
        return Err(Error::invalid(
            format!("{what} for key {key:?}"),
            value,
            format!("at most {max} characters, got {n}"),
        ));
    }
    Ok(())
}

/// A metric timestamp in milliseconds since the epoch: not negative.
pub fn check_timestamp(key: &str, timestamp: i64) -> Result<()> {
    if timestamp < 0 {
        return Err(Error::invalid(
            format!("timestamp of metric {key:?}"),
            timestamp.to_string(),
            "milliseconds since the Unix epoch, 0 or more",
        ));
    }
    Ok(())
}

/// An experiment name: 1 to 500 characters.
pub fn check_experiment_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::invalid(
            "experiment name",
            name,
            "a non-empty name of at most 500 characters",
        ));
    }
    check_len("experiment name", name, MAX_NAME_LEN)
}

/// A registered model name: 1 to 500 characters, no `@` or `/` (they separate references).
pub fn check_model_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::invalid(
            "model name",
            name,
            "a non-empty name of at most 500 characters",
        ));
    }
    if name.contains(['@', '/']) || name.chars().any(char::is_control) {
        return Err(Error::invalid(
            "model name",
            name,
            "a name without '@', '/' or control characters",
        ));
    }
    check_len("model name", name, MAX_NAME_LEN)
}

/// An alias: 1 to 255 characters of `[A-Za-z0-9_-]`, not `latest` and not `v<digits>`
/// (reserved, as in MLflow), and not all digits (that reads as a version).
pub fn check_alias(alias: &str) -> Result<()> {
    if alias.is_empty() {
        return Err(Error::invalid("alias", alias, "1 to 255 characters"));
    }
    check_len("alias", alias, MAX_ALIAS_LEN)?;
    if !alias
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(Error::invalid(
            "alias",
            alias,
            "only ASCII letters, digits, '_' and '-'",
        ));
    }
    let digits = alias
        .strip_prefix('v')
        .or_else(|| alias.strip_prefix('V'))
        .unwrap_or(alias);
    if alias.eq_ignore_ascii_case("latest") || digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid(
            "alias",
            alias,
            "not 'latest', a number or 'v<number>' (reserved for versions)",
        ));
    }
    Ok(())
}

/// A registry text value (description, tag value): at most 100,000 characters.
pub fn check_registry_value(what: &'static str, value: &str) -> Result<()> {
    check_len(what, value, MAX_REGISTRY_VALUE_LEN)
}

/// An artifact path inside a run: relative, `/`-separated, no empty, `.` or `..` segments.
pub fn check_artifact_path(path: &str) -> Result<()> {
    let ok = !path.is_empty()
        && !path.starts_with('/')
        && path.len() <= 1024
        && path
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != ".." && !s.contains('\\'))
        && !path.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "artifact path",
            path,
            "a relative path of at most 1024 bytes without empty, '.' or '..' segments",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_mlflow_rules() {
        assert!(check_key("metric key", "val/loss:top-1 x.y").is_ok());
        assert!(check_key("metric key", "").is_err());
        assert!(check_key("metric key", "a/../b").is_err());
        assert!(check_key("metric key", "/abs").is_err());
        assert!(check_key("metric key", "semi;colon").is_err());
        let long = "k".repeat(251);
        let err = check_key("metric key", &long).unwrap_err().to_string();
        assert!(err.contains("at most 250 characters, got 251"), "{err}");
    }

    #[test]
    fn aliases_reserve_version_like_names() {
        assert!(check_alias("champion").is_ok());
        for bad in ["latest", "LATEST", "v3", "12", "", "a b"] {
            assert!(check_alias(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn oversized_param_values_name_the_key_and_limit() {
        let v = "x".repeat(6001);
        let err = check_param_value("lr", &v).unwrap_err().to_string();
        assert!(err.contains("\"lr\""), "{err}");
        assert!(err.contains("at most 6000 characters, got 6001"), "{err}");
    }
}
