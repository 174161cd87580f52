//! The detector's behaviour, one test per rule.

use std::sync::Arc;

use arrow_array::builder::{FixedSizeListBuilder, Float32Builder};
use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, BinaryArray, Date32Array, DictionaryArray, Float64Array, Int32Array, StringArray,
    TimestampMicrosecondArray,
};
use arrow_schema::{Field, Schema};
use statrs::distribution::{ContinuousCDF, Normal};

use super::*;
use crate::drift::ks::{KsOptions, ks_2samp};

fn batch(cols: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> = cols
        .iter()
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        cols.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap()
}

fn f64s(v: Vec<Option<f64>>) -> ArrayRef {
    Arc::new(Float64Array::from(v))
}

fn vals(v: Vec<f64>) -> ArrayRef {
    Arc::new(Float64Array::from(v))
}

fn strs(v: Vec<&str>) -> ArrayRef {
    Arc::new(StringArray::from(v))
}

fn detector(f: impl FnOnce(&mut DetectorOptions)) -> DefaultDriftDetector {
    let mut o = DetectorOptions::default();
    f(&mut o);
    DefaultDriftDetector::new(o)
}

fn analyze(d: &DefaultDriftDetector, r: &RecordBatch, c: &RecordBatch) -> DriftAnalysis {
    d.analyze(&d.fit_reference(r).unwrap(), c).unwrap()
}

/// `n` stratified normal quantiles `Φ⁻¹((i + offset) / n) + shift`: a sample whose empirical
/// CDF is within 1/n of the normal's, so a test sees the shift and no noise.
fn normal_quantiles(n: usize, offset: f64, shift: f64) -> Vec<f64> {
    let z = Normal::new(0.0, 1.0).unwrap();
    (0..n)
        .map(|i| z.inverse_cdf((i as f64 + offset) / n as f64) + shift)
        .collect()
}

#[test]
fn nan_and_infinities_are_counted_apart_from_nulls() {
    let d = DefaultDriftDetector::default();
    let r = batch(vec![(
        "x",
        f64s(vec![
            Some(1.0),
            Some(2.0),
            Some(f64::NAN),
            None,
            Some(3.0),
            Some(4.0),
            Some(5.0),
            Some(6.0),
        ]),
    )]);
    let c = batch(vec![(
        "x",
        f64s(vec![
            Some(1.5),
            Some(f64::INFINITY),
            Some(f64::NEG_INFINITY),
            Some(2.5),
            Some(3.5),
            Some(f64::NAN),
            Some(4.5),
            Some(5.5),
            Some(6.5),
        ]),
    )]);
    let fitted = d.fit(&r).unwrap();
    let (cols, rep) = d.score_detailed(&fitted, &c).unwrap();
    let col = &cols[0];
    assert_eq!((col.n_reference, col.n_current), (6, 6));
    let missing = |nan, pos_inf, neg_inf, null| MissingCounts {
        nan,
        pos_inf,
        neg_inf,
        null,
    };
    assert_eq!(col.reference_missing, missing(1, 0, 0, 1));
    assert_eq!(col.current_missing, missing(1, 1, 1, 0));
    assert_eq!(col.method, "ks");
    let ks = ks_2samp(
        &[1., 2., 3., 4., 5., 6.],
        &[1.5, 2.5, 3.5, 4.5, 5.5, 6.5],
        &KsOptions::default(),
    )
    .unwrap();
    assert_eq!(col.p_value, Some(ks.p_value));
    assert_eq!(rep.columns.len(), 1);
}

#[test]
fn empty_inputs_are_errors() {
    let d = DefaultDriftDetector::default();
    let empty = batch(vec![("x", f64s(vec![]))]);
    assert!(d.fit(&empty).is_err());
    let nan = batch(vec![("x", f64s(vec![Some(f64::NAN), None]))]);
    let e = d.fit(&nan).unwrap_err().to_string();
    assert!(
        e.contains("x: 2 rows") && e.contains("1 null, 1 NaN"),
        "{e}"
    );
    let ok = batch(vec![("x", f64s(vec![Some(1.0), Some(2.0)]))]);
    let fitted = d.fit(&ok).unwrap();
    assert!(d.score(&fitted, &nan).is_err(), "no finite current value");
    assert!(d.score(&fitted, &empty).is_err(), "empty current batch");
    assert!(
        d.score(&fitted, &batch(vec![("y", f64s(vec![Some(1.0)]))]))
            .is_err(),
        "a fitted column missing from current"
    );
    assert!(ks_2samp(&[], &[1.0], &KsOptions::default()).is_err());
    assert!(ks_2samp(&[f64::NAN], &[1.0], &KsOptions::default()).is_err());
}

#[test]
fn a_type_mismatch_is_a_finding_not_an_error() {
    let d = DefaultDriftDetector::default();
    let r = batch(vec![
        ("x", vals(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])),
        ("n", Arc::new(Int32Array::from(vec![1, 2, 3, 4, 5, 6, 7]))),
    ]);
    let c = batch(vec![
        ("x", strs(vec!["a", "b", "c", "d", "e", "f", "g"])),
        ("n", vals(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.5])),
    ]);
    let a = analyze(&d, &r, &c);
    let x = &a.columns[0];
    assert_eq!((x.method.as_str(), x.drifted), ("type_mismatch", true));
    assert_eq!(
        x.quality.type_mismatch,
        Some(TypeMismatch {
            reference: "Float64".into(),
            current: "Utf8".into(),
            comparable: false
        })
    );
    // Int32 -> Float64 is still a number: scored, and noted.
    let n = &a.columns[1];
    assert_eq!(n.method, "ks");
    assert_eq!(
        n.quality.type_mismatch.as_ref().map(|t| t.comparable),
        Some(true)
    );
    assert!(a.report.drifted, "one of two columns drifted: share 0.5");
}

#[test]
fn constant_reference_uses_the_std_floor() {
    let d = detector(|o| o.numeric_method = DriftMethod::Wasserstein);
    let r = batch(vec![("x", f64s(vec![Some(3.0); 10]))]);
    let c = batch(vec![(
        "x",
        f64s(vec![Some(3.0), Some(3.001), Some(3.0), Some(3.0)]),
    )]);
    let (cols, _) = d.score_detailed(&d.fit(&r).unwrap(), &c).unwrap();
    // W1 = 0.001 / 4; normed by max(0, 0.001).
    assert!(
        (cols[0].statistic - 0.25).abs() < 1e-9,
        "{}",
        cols[0].statistic
    );
    assert_eq!(cols[0].effect_size, Some(cols[0].statistic));
    assert!(cols[0].drifted);
    assert_eq!(cols[0].quality.above_range, 1);
}

#[test]
fn a_new_category_is_a_finding_and_evidently_chi_square_is_infinite() {
    let r = batch(vec![("c", strs(vec!["a", "b", "c", "a", "b", "c"]))]);
    let c = batch(vec![("c", strs(vec!["a", "b", "c", "d", "d"]))]);
    let ev = DefaultDriftDetector::new(DetectorOptions::evidently());
    let a = analyze(&ev, &r, &c);
    let col = &a.columns[0];
    assert_eq!(col.method, "chisquare");
    assert_eq!(col.statistic, f64::INFINITY);
    assert_eq!(col.p_value, Some(0.0));
    assert!(a.report.drifted);
    let cal = analyze(&DefaultDriftDetector::default(), &r, &c);
    let col = &cal.columns[0];
    assert_eq!(col.method, "chi2_contingency");
    assert!(col.statistic.is_finite() && col.p_value.unwrap() > 0.0);
    assert_eq!(col.new_categories, 1);
    assert_eq!(col.quality.new_category_rows, 2);
    assert_eq!(col.quality.new_category_examples, vec!["d".to_string()]);
    // p(d) goes 0 -> 0.4: a large effect.
    assert!(col.effect_size.unwrap() > 0.3);
}

#[test]
fn unequal_lengths_and_auto_choice() {
    let d = DefaultDriftDetector::default();
    let refv: Vec<Option<f64>> = (0..1500).map(|i| Some((i % 97) as f64)).collect();
    let curv: Vec<Option<f64>> = (0..40).map(|i| Some((i % 13) as f64)).collect();
    let binary: Vec<i32> = (0..1500).map(|i| i % 2).collect();
    let r = batch(vec![
        ("x", f64s(refv)),
        ("b", Arc::new(Int32Array::from(binary)) as ArrayRef),
    ]);
    let c = batch(vec![
        ("x", f64s(curv)),
        (
            "b",
            Arc::new(Int32Array::from(
                (0..40).map(|i| i32::from(i % 3 != 0)).collect::<Vec<_>>(),
            )) as ArrayRef,
        ),
    ]);
    let fitted = d.fit(&r).unwrap();
    // The fitted reference survives a JSON round trip.
    let text = serde_json::to_string(&fitted).unwrap();
    let back: FittedReference = serde_json::from_str(&text).unwrap();
    let (cols, rep) = d.score_detailed(&back, &c).unwrap();
    assert_eq!(cols[0].method, "wasserstein");
    assert_eq!(cols[1].method, "jensenshannon");
    assert_eq!(rep.columns.len(), 2);
    let small = batch(vec![(
        "x",
        f64s((0..1000).map(|i| Some(i as f64)).collect()),
    )]);
    let (cols, _) = d
        .score_detailed(&d.fit(&small).unwrap(), &c.project(&[0]).unwrap())
        .unwrap();
    assert_eq!(cols[0].method, "ks");
    // Few distinct values at <= 1000 rows: chi-square (the homogeneity test) and z.
    let three = batch(vec![("x", vals((0..90).map(|i| (i % 3) as f64).collect()))]);
    let a = analyze(&d, &three, &three);
    assert_eq!(a.columns[0].method, "chi2_contingency");
    assert_eq!(a.columns[0].p_value, Some(1.0));
    let zeros = batch(vec![(
        "x",
        vals((0..60).map(|i| (i % 6 / 4) as f64).collect()),
    )]);
    let a = analyze(&d, &three, &zeros);
    assert!(a.columns[0].drifted && a.columns[0].new_categories == 0);
    let a = analyze(
        &DefaultDriftDetector::new(DetectorOptions::evidently()),
        &three,
        &three,
    );
    assert_eq!(a.columns[0].method, "chisquare");
}

#[test]
fn multiple_testing_rules() {
    let mk = |rule| detector(|o| o.rule = rule);
    let r = batch(vec![
        ("a", f64s((0..200).map(|i| Some(i as f64)).collect())),
        ("b", f64s((0..200).map(|i| Some(i as f64)).collect())),
    ]);
    let c = batch(vec![
        ("a", f64s((0..200).map(|i| Some(i as f64 + 30.0)).collect())),
        ("b", f64s((0..200).map(|i| Some(i as f64 + 0.5)).collect())),
    ]);
    let share = mk(DatasetRule::Share { drift_share: 0.5 });
    let rep = share.score(&share.fit(&r).unwrap(), &c).unwrap();
    assert_eq!(rep.share_drifted, 0.5);
    assert!(rep.drifted);
    let bonf = mk(DatasetRule::Bonferroni { alpha: 0.05 });
    let rep = bonf.score(&bonf.fit(&r).unwrap(), &c).unwrap();
    assert!(rep.columns[0].drifted && !rep.columns[1].drifted && rep.drifted);
    let bh = mk(DatasetRule::BenjaminiHochberg { alpha: 0.05 });
    let rep = bh.score(&bh.fit(&r).unwrap(), &c).unwrap();
    assert!(rep.columns[0].drifted && !rep.columns[1].drifted && rep.drifted);
}

#[test]
fn extra_methods_score_numeric_columns() {
    let r = batch(vec![(
        "x",
        f64s((0..300).map(|i| Some((i as f64 * 0.37).sin())).collect()),
    )]);
    let c = batch(vec![(
        "x",
        f64s(
            (0..250)
                .map(|i| Some((i as f64 * 0.53).sin() + 0.3))
                .collect(),
        ),
    )]);
    for (m, name) in [
        (DriftMethod::Anderson, "anderson"),
        (DriftMethod::CramerVonMises, "cramer_von_mises"),
        (DriftMethod::EnergyDistance, "ed"),
        (DriftMethod::Psi, "psi"),
        (DriftMethod::KlDiv, "kl_div"),
    ] {
        let d = detector(|o| o.numeric_method = m);
        let (cols, _) = d.score_detailed(&d.fit(&r).unwrap(), &c).unwrap();
        assert_eq!(cols[0].method, name);
        assert!(cols[0].statistic.is_finite());
        assert!(cols[0].drifted, "{name} should flag a 0.3 shift");
        assert!(cols[0].effect_size.unwrap() > 0.3);
    }
    let cat = batch(vec![("c", strs(vec!["a", "b"]))]);
    let d = detector(|o| o.categorical_method = DriftMethod::Anderson);
    assert!(
        d.score(&d.fit(&cat).unwrap(), &cat).is_err(),
        "numeric-only method on strings"
    );
}

/// 0.02σ at a million rows: every test is significant, no default alarm; with
/// `min_effect: None` (or Evidently's behaviour) every test alarms.
#[test]
fn a_tiny_shift_at_a_million_rows_does_not_alarm_by_default() {
    let n = 1_000_000;
    let r = batch(vec![("x", vals(normal_quantiles(n, 0.5, 0.0)))]);
    let c = batch(vec![("x", vals(normal_quantiles(n, 0.25, 0.02)))]);
    for m in [
        DriftMethod::Ks,
        DriftMethod::Anderson,
        DriftMethod::CramerVonMises,
    ] {
        let quiet = detector(|o| o.numeric_method = m);
        let reference = quiet.fit_reference(&r).unwrap();
        let col = &quiet.analyze(&reference, &c).unwrap().columns[0];
        // Anderson-Darling's p-value is capped at 0.001, as scipy's.
        assert!(col.p_value.unwrap() <= 1e-3, "{col:?}");
        let effect = col.effect_size.unwrap();
        assert!((effect - 0.02).abs() < 1e-3, "{effect}");
        assert!(!col.drifted && col.below_min_effect, "{col:?}");
        assert_eq!(col.effect_floor, Some(DEFAULT_MIN_EFFECT));
        for loud in [
            detector(|o| {
                o.numeric_method = m;
                o.min_effect = None;
            }),
            detector(|o| {
                o.numeric_method = m;
                o.compat = Compat::Evidently;
            }),
        ] {
            let col = &loud
                .analyze(&loud.fit_reference(&r).unwrap(), &c)
                .unwrap()
                .columns[0];
            assert!(col.drifted && !col.below_min_effect, "{m:?}: {col:?}");
            assert_eq!(col.effect_floor, None);
        }
    }
    // Auto picks the normed Wasserstein distance at this size: 0.02 < 0.1, no alarm either.
    let auto = analyze(&DefaultDriftDetector::default(), &r, &c);
    assert_eq!(auto.columns[0].method, "wasserstein");
    assert!(!auto.report.drifted);
}

#[test]
fn a_tiny_categorical_shift_at_a_million_rows_does_not_alarm_by_default() {
    let cats = |p: [usize; 3]| -> ArrayRef {
        let v: Vec<&str> = ["a", "b", "c"]
            .iter()
            .zip(p)
            .flat_map(|(k, n)| std::iter::repeat_n(*k, n))
            .collect();
        strs(v)
    };
    let r = batch(vec![("c", cats([500_000, 300_000, 200_000]))]);
    let c = batch(vec![("c", cats([505_000, 300_000, 195_000]))]);
    let quiet = detector(|o| o.categorical_method = DriftMethod::Chi2Contingency);
    let col = analyze(&quiet, &r, &c).columns.remove(0);
    assert!(col.p_value.unwrap() < 1e-6);
    assert!(col.effect_size.unwrap() < categorical_floor(DEFAULT_MIN_EFFECT));
    assert!(!col.drifted && col.below_min_effect);
    let loud = detector(|o| {
        o.categorical_method = DriftMethod::Chi2Contingency;
        o.min_effect = None;
    });
    assert!(analyze(&loud, &r, &c).columns[0].drifted);
}

#[test]
fn categorical_floor_is_the_js_distance_of_a_normal_shift() {
    // Jensen-Shannon distance between N(0, 1) and N(0.1, 1) on a fine grid.
    let z = Normal::new(0.0, 1.0).unwrap();
    let edges: Vec<f64> = (0..=4000).map(|i| -10.0 + i as f64 * 0.005).collect();
    let mass = |shift: f64| -> Vec<f64> {
        edges
            .windows(2)
            .map(|w| z.cdf(w[1] - shift) - z.cdf(w[0] - shift))
            .collect()
    };
    let js = crate::drift::jensenshannon(&mass(0.0), &mass(0.1), None);
    assert!((js / categorical_floor(0.1) - 1.0).abs() < 2e-3, "{js}");
}

#[test]
fn timestamps_and_dates_are_skipped_unless_named() {
    let n = 50;
    let ts: ArrayRef = Arc::new(TimestampMicrosecondArray::from(
        (0..n as i64)
            .map(|i| 1_700_000_000_000_000 + i)
            .collect::<Vec<_>>(),
    ));
    let later: ArrayRef = Arc::new(TimestampMicrosecondArray::from(
        (0..n as i64)
            .map(|i| 1_800_000_000_000_000 + i)
            .collect::<Vec<_>>(),
    ));
    let date: ArrayRef = Arc::new(Date32Array::from((0..n as i32).collect::<Vec<_>>()));
    let x = vals((0..n).map(|i| i as f64).collect());
    let bytes: ArrayRef = Arc::new(BinaryArray::from_vec(vec![b"ab".as_slice(); n]));
    let r = batch(vec![
        ("ts", ts),
        ("day", date.clone()),
        ("x", x.clone()),
        ("blob", bytes),
    ]);
    let c = batch(vec![("ts", later), ("day", date), ("x", x)]);
    let d = DefaultDriftDetector::default();
    let a = analyze(&d, &r, &c);
    assert_eq!(a.columns.len(), 1);
    assert!(!a.report.drifted);
    let skipped: Vec<(&str, &str)> = a
        .skipped
        .iter()
        .map(|s| (s.column.as_str(), s.data_type.as_str()))
        .collect();
    assert_eq!(
        skipped,
        [
            ("ts", "Timestamp(µs)"),
            ("day", "Date32"),
            ("blob", "Binary")
        ]
    );
    assert!(a.skipped[0].reason.contains("epoch"));
    let named = detector(|o| o.columns = Some(vec!["ts".into(), "day".into()]));
    let a = analyze(&named, &r, &c);
    assert_eq!(a.columns[0].kind, ColumnKind::Temporal);
    assert!(a.columns[0].drifted, "the window moved on in time");
    assert!(!a.columns[1].drifted);
    let blob = detector(|o| o.columns = Some(vec!["blob".into()]));
    assert!(blob.fit(&r).is_err(), "naming an unsupported column");
    let only_time = batch(vec![("ts", r.column(0).clone())]);
    assert!(d.fit(&only_time).is_err(), "nothing left to test");
}

fn embeddings(rows: usize, dim: usize, seed: u64, shift: f32) -> ArrayRef {
    let mut rng = Rng::new(seed);
    let mut b = FixedSizeListBuilder::new(Float32Builder::new(), dim as i32);
    for i in 0..rows {
        if i == 3 {
            b.values().append_slice(&vec![f32::NAN; dim]);
            b.append(true);
            continue;
        }
        for j in 0..dim {
            let u = (rng.next_f64() - 0.5) as f32;
            b.values().append_value(u + if j < 2 { shift } else { 0.0 });
        }
        b.append(true);
    }
    b.values().append_slice(&vec![0.0; dim]);
    b.append(false);
    Arc::new(b.finish())
}

#[test]
fn embedding_columns_are_scored_with_the_domain_classifier() {
    let r = batch(vec![("e", embeddings(400, 8, 1, 0.0))]);
    let same = batch(vec![("e", embeddings(300, 8, 2, 0.0))]);
    let moved = batch(vec![("e", embeddings(300, 8, 3, 0.4))]);
    let d = DefaultDriftDetector::default();
    let reference = d.fit_reference(&r).unwrap();
    let quiet = d.analyze(&reference, &same).unwrap();
    let col = &quiet.columns[0];
    assert_eq!(
        (col.kind, col.method.as_str()),
        (ColumnKind::Embedding, "embedding_model")
    );
    assert!(!col.drifted, "{col:?}");
    assert_eq!((col.n_reference, col.n_current), (399, 299));
    assert_eq!(col.current_missing.nan, 1);
    assert_eq!(col.current_missing.null, 1);
    let loud = d.analyze(&reference, &moved).unwrap();
    assert!(loud.columns[0].drifted && loud.columns[0].statistic > 0.55);
    // Another dimension cannot be compared.
    let other = batch(vec![("e", embeddings(50, 4, 4, 0.0))]);
    let a = d.analyze(&reference, &other).unwrap();
    assert_eq!(a.columns[0].method, "type_mismatch");
    // The state (a sample of rows) survives JSON.
    let fitted = d.fit(&r).unwrap();
    assert_eq!(d.score(&fitted, &moved).unwrap(), loud.report);
}

#[test]
fn data_quality_is_reported_in_the_same_pass() {
    let r = batch(vec![
        ("x", vals((0..100).map(|i| i as f64).collect())),
        (
            "p",
            vals((0..100).map(|i| (i as f64 + 0.5) / 100.0).collect()),
        ),
        (
            "c",
            strs((0..100).map(|i| ["a", "b"][i % 2]).collect::<Vec<_>>()),
        ),
    ]);
    let c = batch(vec![
        (
            "x",
            f64s(
                [-5.0, 0.0, 50.0, 99.0, 120.0, 130.0]
                    .map(Some)
                    .into_iter()
                    .chain([None, Some(f64::NAN)])
                    .collect(),
            ),
        ),
        ("p", vals(vec![0.05, 0.95, 0.95, 1.0, 1.5, 0.3, 0.31, 0.0])),
        ("c", strs(vec!["a", "z", "z", "y", "b", "a", "a", "b"])),
    ]);
    let d = detector(|o| o.confidence_column = Some("p".into()));
    let a = analyze(&d, &r, &c);
    let x = &a.columns[0].quality;
    assert_eq!(x.reference_range, Some((0.0, 99.0)));
    assert_eq!((x.below_range, x.above_range), (1, 2));
    assert_eq!(a.columns[0].current_missing.null, 1);
    assert_eq!(a.columns[0].current_missing.nan, 1);
    let conf = a.columns[1].quality.confidence.as_ref().unwrap();
    assert_eq!(conf.edges.len(), CONFIDENCE_BINS + 1);
    assert_eq!(conf.reference, vec![10; 10]);
    // numpy's edges: 3 * 0.1 = 0.30000000000000004, so 0.3 falls in [0.2, 0.3).
    assert_eq!(conf.current, vec![2, 0, 1, 1, 0, 0, 0, 0, 0, 3]);
    assert_eq!((conf.reference_outside, conf.current_outside), (0, 1));
    let cat = &a.columns[2];
    assert_eq!(cat.new_categories, 2);
    assert_eq!(cat.quality.new_category_rows, 3);
    assert_eq!(cat.quality.new_category_examples, vec!["z", "y"]);
    assert!(
        detector(|o| o.confidence_column = Some("c".into()))
            .fit(&r)
            .is_err(),
        "a confidence column must be numeric"
    );
}

#[test]
fn dictionary_strings_count_like_plain_strings() {
    let words: Vec<&str> = (0..60).map(|i| ["x", "y", "z"][i % 3]).collect();
    let dict: DictionaryArray<Int32Type> = words.iter().copied().collect();
    let plain = batch(vec![("c", strs(words.clone()))]);
    let dicts = batch(vec![("c", Arc::new(dict) as ArrayRef)]);
    let d = DefaultDriftDetector::default();
    let a = analyze(&d, &plain, &dicts);
    assert_eq!(a.columns[0].statistic, 0.0);
    assert_eq!(
        a.columns[0].quality.type_mismatch.as_ref().unwrap().current,
        "Dictionary(Int32, Utf8)"
    );
    let b = analyze(&d, &dicts, &plain);
    assert_eq!(b.columns[0].n_reference, 60);
}

#[test]
fn threads_do_not_change_the_result() {
    let mut rng = Rng::new(3);
    let cols: Vec<(String, ArrayRef)> = (0..7)
        .map(|j| {
            let v: Vec<f64> = (0..3000)
                .map(|_| rng.next_f64() + j as f64 * 0.01)
                .collect();
            (format!("f{j}"), vals(v))
        })
        .collect();
    let r = batch(cols.iter().map(|(n, a)| (n.as_str(), a.clone())).collect());
    let c = batch(
        cols.iter()
            .rev()
            .zip(cols.iter())
            .map(|((_, a), (n, _))| (n.as_str(), a.clone()))
            .collect(),
    );
    let one = analyze(&detector(|o| o.threads = 1), &r, &c);
    let two = analyze(&detector(|o| o.threads = 2), &r, &c);
    assert_eq!(one, two);
}

#[test]
fn version_one_states_are_still_read() {
    let state = serde_json::json!({
        "options": {"numeric_method": "auto", "categorical_method": "auto", "threshold": null,
                    "rule": {"rule": "share", "drift_share": 0.5}, "columns": null},
        "columns": [{"kind": "numeric", "name": "x", "sorted": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
                     "std": 1.707825127659933,
                     "missing": {"nan": 0, "pos_inf": 0, "neg_inf": 0, "null": 0}}]
    });
    let v1 = FittedReference {
        detector: DETECTOR_NAME.into(),
        version: 1,
        state,
    };
    let d = DefaultDriftDetector::default();
    let c = batch(vec![("x", vals(vec![1.5, 2.5, 3.5, 4.5, 5.5, 6.5]))]);
    let (cols, _) = d.score_detailed(&v1, &c).unwrap();
    assert_eq!(cols[0].method, "ks");
    let fresh = d
        .fit(&batch(vec![(
            "x",
            vals(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
        )]))
        .unwrap();
    assert_eq!(fresh.version, 2);
    assert!(fresh.state["columns"][0]["sorted"].is_string());
    assert_eq!(
        d.score_detailed(&fresh, &c).unwrap().0[0].p_value,
        cols[0].p_value
    );
    let bad = FittedReference { version: 3, ..v1 };
    assert!(d.score(&bad, &c).is_err());
}
