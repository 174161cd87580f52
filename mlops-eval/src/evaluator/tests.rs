use std::sync::Arc;

use arrow_array::builder::{FixedSizeListBuilder, Float64Builder};
use arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray};

use super::*;
use crate::compare::{METRICS_VERSION, paired_bootstrap};
use crate::gates::Direction;
use crate::metrics::{MultiClass, RocAucOptions, ScoreMatrix};

fn batch(cols: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(cols).unwrap()
}

fn ints(v: &[i64]) -> ArrayRef {
    Arc::new(Int64Array::from(v.to_vec()))
}

fn floats(v: &[f64]) -> ArrayRef {
    Arc::new(Float64Array::from(v.to_vec()))
}

fn table() -> RecordBatch {
    batch(vec![
        ("y", ints(&[0, 0, 1, 1, 1, 0])),
        ("pred", ints(&[0, 1, 1, 1, 0, 0])),
        ("p1", floats(&[0.1, 0.6, 0.8, 0.9, 0.4, 0.2])),
        ("age", ints(&[70, 30, 80, 25, 40, 66])),
        (
            "plan",
            Arc::new(StringArray::from(vec!["a", "a", "b", "b", "b", "a"])),
        ),
    ])
}

fn cols() -> EvalColumns {
    EvalColumns {
        label: "y".into(),
        prediction: "pred".into(),
        score: Some("p1".into()),
    }
}

fn manifest(model: &str) -> EvalManifest {
    EvalManifest {
        dataset_id: "ab".repeat(32),
        split: "test".into(),
        seed: 7,
        metrics_version: METRICS_VERSION.into(),
        model_digest: model.into(),
    }
}

#[test]
fn the_suite_computes_its_catalogue_and_judges_gates() {
    let suite = EvaluationSuite {
        name: "offline".into(),
        gates: vec![
            GateRule::threshold("accuracy", Direction::GreaterIsBetter, 0.6),
            GateRule::threshold("roc_auc", Direction::GreaterIsBetter, 0.95),
        ],
        bootstrap: None,
        ..Default::default()
    };
    let r = suite.run(&table(), &cols()).unwrap();
    assert!((r.metrics["accuracy"] - 4.0 / 6.0).abs() < 1e-15);
    // 8 of 9 positive/negative pairs ordered correctly.
    assert!((r.metrics["roc_auc"] - 8.0 / 9.0).abs() < 1e-15);
    for m in catalogue(Task::Binary) {
        assert!(
            r.metrics.contains_key(m),
            "{m} missing from {:?}",
            r.metrics
        );
    }
    assert_eq!(
        r.gates
            .outcomes
            .iter()
            .map(|o| o.passed)
            .collect::<Vec<_>>(),
        [true, false]
    );
    assert_eq!(
        suite.evaluate(&table(), &cols()).unwrap().passed,
        Some(false)
    );

    // Without a score, the scored metrics are left out rather than failing.
    let unscored = EvalColumns {
        score: None,
        ..cols()
    };
    let m = suite.metrics(&table(), &unscored).unwrap();
    assert!(m.contains_key("f1") && !m.contains_key("roc_auc"));

    // A chosen subset, and a name outside the catalogue is refused with the list.
    let subset = EvaluationSuite {
        metrics: vec!["f1".into()],
        bootstrap: None,
        ..Default::default()
    };
    assert_eq!(subset.metrics(&table(), &cols()).unwrap().len(), 1);
    let bad = EvaluationSuite {
        metrics: vec!["auc".into()],
        ..Default::default()
    };
    let e = bad.run(&table(), &cols()).unwrap_err().to_string();
    assert!(e.contains("\"auc\"") && e.contains("roc_auc"), "{e}");
    let missing = EvalColumns {
        label: "nope".into(),
        ..cols()
    };
    assert!(
        suite
            .run(&table(), &missing)
            .unwrap_err()
            .to_string()
            .contains("nope")
    );
}

#[test]
fn every_metric_is_computed_per_column_and_predicate_slice() {
    let suite = EvaluationSuite {
        slices: vec![
            Slice::column("plan"),
            Slice::numeric("senior", "age", |a| a >= 65.0),
        ],
        min_slice_size: 3,
        bootstrap: None,
        ..Default::default()
    };
    let r = suite.run(&table(), &cols()).unwrap();
    // plan=a: rows 0, 1, 5 (y 0 0 0; pred 0 1 0).
    assert_eq!(r.metrics["slice/plan/a/count"], 3.0);
    assert!((r.metrics["slice/plan/a/accuracy"] - 2.0 / 3.0).abs() < 1e-15);
    assert!((r.metrics["slice/plan/b/recall"] - 2.0 / 3.0).abs() < 1e-15);
    // ROC AUC is undefined on a one-class slice: recorded as an error, not a failure.
    let a = r.slices.iter().find(|s| s.segment == "a").unwrap();
    assert!(a.errors.contains_key("roc_auc") && !a.metrics.contains_key("roc_auc"));
    // senior = rows 0, 2, 5.
    assert_eq!(r.metrics["slice/senior/true/count"], 3.0);
    assert_eq!(r.metrics["slice/senior/true/accuracy"], 1.0);
    assert_eq!(r.metrics["slice/senior/false/accuracy"], 1.0 / 3.0);

    // Below the minimum size a segment keeps its count only.
    let small = EvaluationSuite {
        min_slice_size: 4,
        ..suite.clone()
    };
    let m = small.metrics(&table(), &cols()).unwrap();
    assert_eq!(m["slice/plan/a/count"], 3.0);
    assert!(!m.contains_key("slice/plan/a/accuracy"));

    // A predicate that does not give one flag per row is an error naming the slice.
    let wrong = EvaluationSuite {
        slices: vec![Slice::predicate("broken", |_| Ok(vec![true]))],
        ..suite
    };
    let e = wrong.run(&table(), &cols()).unwrap_err().to_string();
    assert!(e.contains("broken") && e.contains("one per row"), "{e}");
}

#[test]
fn multiclass_suites_read_list_or_wide_probabilities() {
    let y = [0i64, 1, 2, 2, 1, 0, 2, 1];
    let pred = [0i64, 1, 2, 1, 1, 2, 2, 0];
    let proba: Vec<f64> = [
        [0.7, 0.2, 0.1],
        [0.1, 0.8, 0.1],
        [0.2, 0.2, 0.6],
        [0.1, 0.5, 0.4],
        [0.3, 0.6, 0.1],
        [0.3, 0.3, 0.4],
        [0.1, 0.1, 0.8],
        [0.5, 0.4, 0.1],
    ]
    .concat();
    let mut list = FixedSizeListBuilder::new(Float64Builder::new(), 3);
    for row in proba.chunks(3) {
        list.values().append_slice(row);
        list.append(true);
    }
    let col = |k: usize| floats(&proba.iter().skip(k).step_by(3).copied().collect::<Vec<_>>());
    let t = batch(vec![
        ("y", ints(&y)),
        ("pred", ints(&pred)),
        ("proba", Arc::new(list.finish())),
        ("proba_0", col(0)),
        ("proba_1", col(1)),
        ("proba_2", col(2)),
    ]);
    let suite = EvaluationSuite {
        task: Task::Multiclass,
        bootstrap: None,
        ..Default::default()
    };
    let listed = suite
        .metrics(
            &t,
            &EvalColumns {
                label: "y".into(),
                prediction: "pred".into(),
                score: Some("proba".into()),
            },
        )
        .unwrap();
    let wide_suite = EvaluationSuite {
        probability_columns: vec!["proba_0".into(), "proba_1".into(), "proba_2".into()],
        ..suite.clone()
    };
    let wide = wide_suite
        .metrics(
            &t,
            &EvalColumns {
                label: "y".into(),
                prediction: "pred".into(),
                score: None,
            },
        )
        .unwrap();
    assert_eq!(listed, wide);
    for m in catalogue(Task::Multiclass) {
        assert!(listed.contains_key(m), "{m} missing");
    }
    let direct = crate::metrics::roc_auc_score(
        &y,
        ScoreMatrix::new(&proba, 3).unwrap(),
        &RocAucOptions {
            multi_class: MultiClass::Ovr,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(listed["roc_auc_ovr"], direct);
    assert_eq!(listed["accuracy"], 5.0 / 8.0);

    // Probabilities for 3 classes against 4 declared classes: refused.
    let four = EvaluationSuite {
        classes: Some(vec![0, 1, 2, 3]),
        ..wide_suite
    };
    let e = four
        .metrics(
            &t,
            &EvalColumns {
                label: "y".into(),
                prediction: "pred".into(),
                score: None,
            },
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("one per class (4 classes)"), "{e}");
}

#[test]
fn regression_suites_and_business_measures() {
    let t = batch(vec![
        ("y", floats(&[1.0, 2.0, 3.0, 4.0])),
        ("pred", floats(&[1.5, 2.0, 2.0, 4.0])),
        (
            "country",
            Arc::new(StringArray::from(vec!["fr", "fr", "de", "de"])),
        ),
        (
            "latency",
            Arc::new(Float64Array::from(vec![
                Some(1.0),
                None,
                Some(3.0),
                Some(2.0),
            ])),
        ),
        ("cpu_s", floats(&[0.001, 0.002, 0.001, 0.002])),
    ]);
    let suite = EvaluationSuite {
        task: Task::Regression,
        slices: vec![Slice::column("country")],
        business: Some(BusinessSpec {
            latency_ms: Some("latency".into()),
            cost: Some((CostModel::PerCpuHour(3.6), "cpu_s".into())),
        }),
        bootstrap: None,
        ..Default::default()
    };
    let cols = EvalColumns {
        label: "y".into(),
        prediction: "pred".into(),
        score: None,
    };
    let m = suite.metrics(&t, &cols).unwrap();
    assert_eq!(m["mae"], 0.375);
    assert_eq!(m["slice/country/fr/mae"], 0.25);
    assert_eq!(m["slice/country/de/mae"], 0.5);
    // The null latency is skipped: median of 1, 2, 3.
    assert_eq!(m["latency_p50_ms"], 2.0);
    // $3.6 per CPU-hour = $0.001 per CPU-second; 1.5 ms mean → $0.0015 per 1,000.
    assert!((m["cost_per_1k_usd"] - 0.0015).abs() < 1e-15, "{m:?}");
}

#[test]
fn fairness_is_measured_and_gated() {
    let suite = EvaluationSuite {
        fairness: Some(FairnessSpec::new("plan", 1)),
        gates: vec![GateRule::threshold(
            "fairness/plan/demographic_parity_ratio",
            Direction::GreaterIsBetter,
            0.8,
        )],
        bootstrap: None,
        ..Default::default()
    };
    let r = suite.run(&table(), &cols()).unwrap();
    // Selection rates: a 1/3, b 2/3.
    assert!((r.metrics["fairness/plan/demographic_parity_ratio"] - 0.5).abs() < 1e-15);
    assert!((r.metrics["fairness/plan/group/b/selection_rate"] - 2.0 / 3.0).abs() < 1e-15);
    assert!(!r.gates.passed);
    assert!(r.fairness.unwrap().by_group.contains_key("a"));
}

/// 400 rows where the candidate is right more often than the champion.
fn pair() -> (RecordBatch, RecordBatch) {
    let mut rng = Rng::new(3);
    let n = 400;
    let y: Vec<i64> = (0..n).map(|_| rng.below(2) as i64).collect();
    let noisy = |rng: &mut Rng, flip: u64| -> (Vec<i64>, Vec<f64>) {
        y.iter()
            .map(|&v| {
                let wrong = rng.below(100) < flip;
                let p = if wrong { 1 - v } else { v };
                let s = 0.5 + (p as f64 - 0.5) * (0.2 + rng.below(80) as f64 / 100.0);
                (p, s)
            })
            .unzip()
    };
    let (pa, sa) = noisy(&mut rng, 10);
    let (pb, sb) = noisy(&mut rng, 25);
    let t =
        |p: &[i64], s: &[f64]| batch(vec![("y", ints(&y)), ("pred", ints(p)), ("p1", floats(s))]);
    (t(&pa, &sa), t(&pb, &sb))
}

#[test]
fn comparisons_use_paired_intervals_and_refuse_unequal_conditions() {
    let (cand, champ) = pair();
    let options = BootstrapOptions {
        resamples: 500,
        seed: 11,
        ..Default::default()
    };
    let suite = EvaluationSuite {
        gates: vec![
            GateRule::beats_champion("accuracy", Direction::GreaterIsBetter, 0.05),
            GateRule::threshold("roc_auc", Direction::GreaterIsBetter, 0.8),
        ],
        bootstrap: Some(options),
        ..Default::default()
    };
    let (mc, mh) = (manifest("cand"), manifest("champ"));
    let c = cols();
    let scored = |b, m| Scored {
        batch: b,
        columns: &c,
        manifest: m,
    };
    let r = suite
        .compare(scored(&cand, &mc), scored(&champ, &mh))
        .unwrap();
    let champion = r.champion.as_ref().unwrap();
    let acc = &champion.differences["accuracy"];

    // The suite's interval is exactly the one paired_bootstrap gives with the same seed.
    let tables = [&cand, &champ];
    let reference = paired_bootstrap(
        400,
        |m, rows| {
            let y = tables[m]
                .column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap();
            let p = tables[m]
                .column(1)
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap();
            Ok(
                rows.iter().filter(|&&i| y.value(i) == p.value(i)).count() as f64
                    / rows.len() as f64,
            )
        },
        options,
    )
    .unwrap();
    assert_eq!(
        (acc.ci_low, acc.ci_high),
        (reference.ci_low, reference.ci_high)
    );
    assert_eq!(acc.difference, reference.difference);
    assert!(acc.ci_low > 0.05, "{acc:?}");
    assert!(r.gates.passed, "{:?}", r.gates);
    assert!(r.gates.outcomes[0].reason.contains("CI bound"));
    assert!(r.intervals["roc_auc"].0 < r.metrics["roc_auc"]);
    assert!(champion.mcnemar.as_ref().unwrap().p_value < 0.01);

    // The same seed gives bit-identical results.
    assert_eq!(
        suite
            .compare(scored(&cand, &mc), scored(&champ, &mh))
            .unwrap(),
        r
    );

    // The reverse comparison fails the change rule, judged on the interval's bound.
    let rev = suite
        .compare(scored(&champ, &mh), scored(&cand, &mc))
        .unwrap();
    assert!(!rev.gates.outcomes[0].passed);

    // Anything but the model differing is refused, naming what differs.
    let other_split = EvalManifest {
        split: "eval".into(),
        ..manifest("champ")
    };
    let e = suite
        .compare(scored(&cand, &mc), scored(&champ, &other_split))
        .unwrap_err()
        .to_string();
    assert!(e.contains("split") && e.contains("\"eval\""), "{e}");
    let shifted = champ.slice(1, 399);
    let e = suite
        .compare(scored(&cand.slice(0, 399), &mc), scored(&shifted, &mh))
        .unwrap_err()
        .to_string();
    assert!(e.contains("same rows") && e.contains("label at row"), "{e}");
}

#[test]
fn report_has_curves_for_both_models() {
    let (cand, champ) = pair();
    let suite = EvaluationSuite {
        slices: vec![Slice::numeric("high", "p1", |s| s > 0.5)],
        bootstrap: None,
        ..Default::default()
    };
    let (mc, mh) = (manifest("cand"), manifest("champ"));
    let c = cols();
    let r = suite
        .compare(
            Scored {
                batch: &cand,
                columns: &c,
                manifest: &mc,
            },
            Scored {
                batch: &champ,
                columns: &c,
                manifest: &mh,
            },
        )
        .unwrap();
    let report = suite
        .report("candidate vs champion", &r, (&cand, &c), Some((&champ, &c)))
        .unwrap();
    assert_eq!(report.roc.len(), 2);
    assert_eq!(report.calibration.len(), 2);
    assert_eq!(report.confusion.as_ref().unwrap().0, vec![0, 1]);
    assert_eq!(report.slices.as_ref().unwrap().1.len(), 2);
    let html = report.to_html();
    assert!(html.contains("<svg") && html.contains("champion"));
}

#[test]
fn custom_metrics_run_on_slices_and_resamples_and_clashing_names_are_errors() {
    let flag_rate = CustomMetric::new("flag_rate", |rows: &MetricInput<'_>| match rows {
        MetricInput::Classes { y_pred, score, .. } => {
            assert!(score.is_some());
            Ok(y_pred.iter().filter(|p| **p == 1).count() as f64 / y_pred.len() as f64)
        }
        MetricInput::Values { .. } => Err(Error::invalid("rows", "values", "classes")),
    });
    let suite = EvaluationSuite {
        slices: vec![Slice::column("plan")],
        custom_metrics: vec![flag_rate],
        gates: vec![GateRule::threshold(
            "flag_rate",
            Direction::LessIsBetter,
            0.9,
        )],
        bootstrap: Some(BootstrapOptions {
            resamples: 200,
            ..Default::default()
        }),
        ..Default::default()
    };
    let r = suite.run(&table(), &cols()).unwrap();
    assert_eq!(r.metrics["flag_rate"], 0.5);
    // plan a: predictions 0, 1, 0; plan b: 1, 1, 0.
    assert_eq!(r.metrics["slice/plan/a/flag_rate"], 1.0 / 3.0);
    assert_eq!(r.metrics["slice/plan/b/flag_rate"], 2.0 / 3.0);
    let (lo, hi) = r.intervals["flag_rate"];
    assert!(lo <= 0.5 && 0.5 <= hi && lo < hi, "{lo} {hi}");
    let gate = r
        .gates
        .outcomes
        .iter()
        .find(|o| o.rule.metric == "flag_rate")
        .unwrap();
    assert_eq!(gate.observed, Some(0.5));

    let clash = EvaluationSuite {
        custom_metrics: vec![CustomMetric::new("accuracy", |_: &MetricInput<'_>| Ok(1.0))],
        bootstrap: None,
        ..Default::default()
    };
    let err = clash.run(&table(), &cols()).unwrap_err().to_string();
    assert!(err.contains("accuracy"), "{err}");
}
