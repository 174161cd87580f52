//! Fairness metrics agree with fairlearn 0.15.0 (`fixtures/fairness/gen_fairness.py`).

use mlops_eval::fairness::*;

#[test]
fn fairness_metrics_match_fairlearn() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/fairness/fairlearn_golden.json"
    );
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut checked = 0;
    for (i, case) in golden["cases"].as_array().unwrap().iter().enumerate() {
        let ints = |k: &str| {
            case[k]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap())
                .collect::<Vec<_>>()
        };
        let (y_true, y_pred) = (ints("y_true"), ints("y_pred"));
        let groups: Vec<&str> = case["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let report = group_rates(&y_true, &y_pred, &groups, 1, 0).unwrap();
        for (key, want) in case["expected"].as_object().unwrap() {
            let parts: Vec<&str> = key.split('/').collect();
            let method = if parts[1] == "between_groups" {
                Method::BetweenGroups
            } else {
                Method::ToOverall
            };
            let agg = if parts.get(2) == Some(&"mean") {
                Aggregate::Mean
            } else {
                Aggregate::WorstCase
            };
            let got = match parts[0] {
                "dp_difference" => demographic_parity_difference(&report, method),
                "dp_ratio" => demographic_parity_ratio(&report, method),
                "eo_difference" => equalized_odds_difference(&report, method, agg),
                "eo_ratio" => equalized_odds_ratio(&report, method, agg),
                other => panic!("unknown metric {other}"),
            };
            match want.as_f64() {
                None => assert!(got.is_nan(), "case {i} {key}: fairlearn NaN, got {got}"),
                Some(w) => assert!(
                    (got - w).abs() <= 1e-12,
                    "case {i} {key}: fairlearn {w}, got {got}"
                ),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 60 * 12);
}

#[test]
fn small_groups_are_reported_not_judged() {
    let y_true = [1, 0, 1, 0, 1, 1];
    let y_pred = [1, 0, 0, 0, 1, 0];
    let groups = ["a", "a", "a", "a", "b", "b"];
    let r = group_rates(&y_true, &y_pred, &groups, 1, 3).unwrap();
    assert_eq!(r.by_group.keys().collect::<Vec<_>>(), ["a"]);
    assert_eq!(r.too_small["b"], 2);
    assert!(group_rates(&y_true, &y_pred, &groups[..5], 1, 0).is_err());
}
