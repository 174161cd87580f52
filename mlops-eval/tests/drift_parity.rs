//! Parity of the drift statistics with scipy 1.17 / numpy 2.x / Evidently 0.7.23, against the
//! golden fixtures written by `fixtures/drift/gen_drift.py` (see there how to rerun it).

use std::collections::BTreeMap;

use mlops_eval::drift::binned::{BinnedReference, evidently_binned};
use mlops_eval::drift::*;
use serde_json::Value;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_schema::{Field, Schema};
use mlops_core::DriftDetector;

const TOL: f64 = 1e-9;

fn fixtures() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/drift/drift_golden.json"
    );
    let text = std::fs::read_to_string(path).expect("fixture file");
    serde_json::from_str(&text).expect("fixture JSON")
}

fn num(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().expect("f64"),
        Value::String(s) => match s.as_str() {
            "nan" => f64::NAN,
            "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            other => panic!("bad float {other}"),
        },
        other => panic!("bad float {other}"),
    }
}

fn sample(v: &Value) -> Vec<f64> {
    if let Some(spec) = v.get("lcg") {
        let s: Vec<f64> = spec.as_array().unwrap().iter().map(num).collect();
        let (n, a, c, m) = (s[0] as u64, s[1] as u64, s[2] as u64, s[3] as u64);
        let (scale, shift) = (s[4], s[5]);
        return (0..n)
            .map(|i| {
                let u = ((a * i + c) % m) as f64 / m as f64;
                shift + scale * u * u
            })
            .collect();
    }
    v.as_array().unwrap().iter().map(num).collect()
}

/// Tracks the largest deviation seen by a test.
#[derive(Default)]
struct Check {
    cases: usize,
    max_err: f64,
    failures: Vec<String>,
}

impl Check {
    fn close(&mut self, what: &str, ours: f64, theirs: f64) {
        self.cases += 1;
        let ok = if theirs.is_nan() || ours.is_nan() {
            theirs.is_nan() && ours.is_nan()
        } else if theirs.is_infinite() || ours.is_infinite() {
            theirs == ours
        } else {
            let err = (ours - theirs).abs() / theirs.abs().max(1.0);
            self.max_err = self.max_err.max(err);
            err <= TOL
        };
        if !ok {
            self.failures
                .push(format!("{what}: ours {ours:e} vs golden {theirs:e}"));
        }
    }

    fn finish(self, name: &str) {
        eprintln!(
            "{name}: {} comparisons, max error {:.3e}",
            self.cases, self.max_err
        );
        assert!(
            self.failures.is_empty(),
            "{name}: {} failures:\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
    }
}

#[test]
fn ks_2samp_matches_scipy() {
    let fx = fixtures();
    let mut c = Check::default();
    for case in fx["ks_2samp"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let a = sample(&case["a"]);
        let b = sample(&case["b"]);
        let alternative = match case["alternative"].as_str().unwrap() {
            "two-sided" => Alternative::TwoSided,
            "less" => Alternative::Less,
            _ => Alternative::Greater,
        };
        let method = match case["method"].as_str().unwrap() {
            "auto" => KsMethod::Auto,
            "exact" => KsMethod::Exact,
            _ => KsMethod::Asymp,
        };
        let r = ks_2samp(
            &a,
            &b,
            &KsOptions {
                alternative,
                method,
            },
        )
        .unwrap();
        let tag = format!("{name} {alternative:?} {method:?}");
        c.close(
            &format!("{tag} statistic"),
            r.statistic,
            num(&case["statistic"]),
        );
        c.close(&format!("{tag} pvalue"), r.p_value, num(&case["pvalue"]));
        c.close(
            &format!("{tag} location"),
            r.statistic_location,
            num(&case["location"]),
        );
        c.close(
            &format!("{tag} sign"),
            r.statistic_sign as f64,
            case["sign"].as_i64().unwrap() as f64,
        );
    }
    c.finish("ks_2samp");
}

#[test]
fn kstwo_and_smirnov_match_scipy() {
    let fx = fixtures();
    let mut c = Check::default();
    for row in fx["kstwo"].as_array().unwrap() {
        let r = row.as_array().unwrap();
        let (n, d) = (r[0].as_u64().unwrap(), num(&r[1]));
        c.close(&format!("kstwo.sf({d}, {n})"), kstwo_sf(d, n), num(&r[2]));
        c.close(&format!("kstwo.cdf({d}, {n})"), kstwo_cdf(d, n), num(&r[3]));
    }
    for row in fx["smirnov"].as_array().unwrap() {
        let r = row.as_array().unwrap();
        let (n, d) = (r[0].as_u64().unwrap(), num(&r[1]));
        c.close(&format!("smirnov({n}, {d})"), smirnov(n, d), num(&r[2]));
    }
    c.finish("kstwo/smirnov");
}

#[test]
fn numeric_statistics_match_scipy_and_numpy() {
    let fx = fixtures();
    let mut c = Check::default();
    for case in fx["numeric"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let a = sample(&case["ref"]);
        let b = sample(&case["cur"]);
        c.close(
            &format!("{name} wasserstein"),
            wasserstein_distance(&a, &b).unwrap(),
            num(&case["wasserstein_distance"]),
        );
        c.close(
            &format!("{name} wasserstein normed"),
            wasserstein_distance_norm(&a, &b).unwrap(),
            num(&case["wasserstein_norm_formula"]),
        );
        c.close(
            &format!("{name} std"),
            std_population(&a),
            num(&case["std_ref"]),
        );
        let fitted = BinnedReference::fit(&a, 10).unwrap();
        let golden_edges: Vec<f64> = case["decile_edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(num)
            .collect();
        for (e, g) in fitted.quantile_edges.iter().zip(&golden_edges) {
            c.close(&format!("{name} decile edge"), *e, *g);
        }
        c.close(
            &format!("{name} psi deciles"),
            fitted.psi_quantile(&b),
            num(&case["psi_deciles"]),
        );
        c.close(
            &format!("{name} js base 2"),
            fitted.js_shared_bins(&b, 10, Some(2.0)).unwrap(),
            num(&case["js_base2_10bins"]),
        );
        c.close(
            &format!("{name} js base e"),
            fitted.js_shared_bins(&b, 10, None).unwrap(),
            num(&case["js_base_e_10bins"]),
        );
        let lo = a.iter().chain(&b).cloned().fold(f64::INFINITY, f64::min);
        let hi = a
            .iter()
            .chain(&b)
            .cloned()
            .fold(f64::NEG_INFINITY, f64::max);
        let edges = histogram_bin_edges(lo, hi, 10);
        let hr: Vec<f64> = histogram(&a, &edges)
            .iter()
            .map(|x| *x as f64 / a.len() as f64)
            .collect();
        let hc: Vec<f64> = histogram(&b, &edges)
            .iter()
            .map(|x| *x as f64 / b.len() as f64)
            .collect();
        c.close(
            &format!("{name} hellinger"),
            hellinger(&hr, &hc),
            num(&case["hellinger_10bins"]),
        );
        let hr3: Vec<f64> = hr.iter().map(|x| x + 1e-3).collect();
        let hc3: Vec<f64> = hc.iter().map(|x| x + 1e-3).collect();
        c.close(
            &format!("{name} entropy base 2"),
            entropy(&hr3, &hc3, Some(2.0)),
            num(&case["entropy_10bins_base2"]),
        );
        c.close(
            &format!("{name} sturges bins"),
            sturges_bin_count(a.len() + b.len(), lo, hi) as f64,
            case["sturges_bins"].as_f64().unwrap(),
        );
    }
    c.finish("numeric");
}

fn counts(v: &Value) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for s in v.as_array().unwrap() {
        *m.entry(s.as_str().unwrap().to_string()).or_insert(0) += 1;
    }
    m
}

#[test]
fn evidently_stattests_match() {
    let fx = fixtures();
    let mut c = Check::default();
    let ev: BTreeMap<String, &Value> = fx["evidently"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap().to_string(), r))
        .collect();
    for case in fx["numeric"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let e = ev[name];
        let mut a = sample(&case["ref"]);
        let mut b = sample(&case["cur"]);
        let w = wasserstein_distance_norm(&a, &b).unwrap();
        c.close(
            &format!("{name} evidently wasserstein"),
            w,
            num(&e["wasserstein"]),
        );
        if e.get("mmd").is_some() {
            c.close(
                &format!("{name} evidently mmd sigma"),
                mmd_sigma(&a),
                num(&e["mmd_sigma"]),
            );
            c.close(
                &format!("{name} evidently mmd"),
                mmd_rbf(&a, &b, None).unwrap(),
                num(&e["mmd"]),
            );
            let r = mmd_permutation_test(&a, &b, 20, 7).unwrap();
            c.close(
                &format!("{name} mmd permutation statistic"),
                r.statistic,
                num(&e["mmd"]),
            );
            assert!(r.p_value > 0.0 && r.p_value <= 1.0);
            assert_eq!(r, mmd_permutation_test(&a, &b, 20, 7).unwrap(), "seeded");
        }
        let ks = ks_2samp(&a, &b, &KsOptions::default()).unwrap();
        c.close(
            &format!("{name} evidently ks p"),
            ks.p_value,
            num(&e["ks_p"]),
        );
        a.sort_by(f64::total_cmp);
        b.sort_by(f64::total_cmp);
        c.close(
            &format!("{name} evidently hellinger"),
            hellinger_evidently_numeric(&a, &b),
            num(&e["hellinger"]),
        );
        let (p, q) = evidently_binned(&a, &b, true);
        c.close(
            &format!("{name} evidently psi"),
            psi(&p, &q),
            num(&e["psi"]),
        );
        c.close(
            &format!("{name} evidently kl_div"),
            kl_div(&p, &q),
            num(&e["kl_div"]),
        );
        let (p, q) = evidently_binned(&a, &b, false);
        c.close(
            &format!("{name} evidently jensenshannon"),
            jensenshannon(&p, &q, None),
            num(&e["jensenshannon"]),
        );
        if case["z"].as_bool().unwrap() {
            let lo = a[0].min(b[0]);
            let k1 = a.iter().filter(|x| **x != lo).count() as u64;
            let k2 = b.iter().filter(|x| **x != lo).count() as u64;
            let z = proportions_ztest(k1, a.len() as u64, k2, b.len() as u64).unwrap();
            c.close(&format!("{name} evidently z p"), z.p_value, num(&e["z_p"]));
        }
    }
    for case in fx["categorical"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let e = ev[name];
        let (r, q) = (counts(&case["ref"]), counts(&case["cur"]));
        let chi = chisquare_counts(&r, &q).unwrap();
        c.close(
            &format!("{name} evidently chisquare p"),
            chi.p_value,
            num(&e["chisquare_p"]),
        );
        let (nr, nq) = (
            r.values().sum::<u64>() as f64,
            q.values().sum::<u64>() as f64,
        );
        let mut keys: Vec<&String> = r.keys().chain(q.keys()).collect();
        keys.sort();
        keys.dedup();
        let p0: Vec<f64> = keys
            .iter()
            .map(|k| *r.get(*k).unwrap_or(&0) as f64 / nr)
            .collect();
        let q0: Vec<f64> = keys
            .iter()
            .map(|k| *q.get(*k).unwrap_or(&0) as f64 / nq)
            .collect();
        c.close(
            &format!("{name} evidently jensenshannon"),
            jensenshannon(&p0, &q0, None),
            num(&e["jensenshannon"]),
        );
        let (mut p1, mut q1) = (p0.clone(), q0.clone());
        fill_zeroes_evidently(&mut p1);
        fill_zeroes_evidently(&mut q1);
        c.close(
            &format!("{name} evidently psi"),
            psi(&p1, &q1),
            num(&e["psi"]),
        );
        c.close(
            &format!("{name} evidently kl_div"),
            kl_div(&p1, &q1),
            num(&e["kl_div"]),
        );
        c.close(
            &format!("{name} evidently hellinger"),
            hellinger_evidently(&p0, &q0),
            num(&e["hellinger"]),
        );
        if case["z"].as_bool().unwrap() {
            let first = keys[0];
            let k1 = nr as u64 - r.get(first).copied().unwrap_or(0);
            let k2 = nq as u64 - q.get(first).copied().unwrap_or(0);
            let z = proportions_ztest(k1, nr as u64, k2, nq as u64).unwrap();
            c.close(&format!("{name} evidently z p"), z.p_value, num(&e["z_p"]));
        }
    }
    c.finish("evidently");
}

#[test]
fn chi_square_variants_match_scipy() {
    let fx = fixtures();
    let mut c = Check::default();
    for case in fx["chisquare"].as_array().unwrap() {
        let obs: Vec<f64> = case["obs"].as_array().unwrap().iter().map(num).collect();
        let exp: Vec<f64> = case["exp"].as_array().unwrap().iter().map(num).collect();
        let r = chisquare(&obs, &exp).unwrap();
        c.close("chisquare statistic", r.statistic, num(&case["statistic"]));
        c.close("chisquare pvalue", r.p_value, num(&case["pvalue"]));
    }
    for case in fx["chi2_contingency"].as_array().unwrap() {
        let rows: Vec<Vec<f64>> = case["table"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_array().unwrap().iter().map(num).collect())
            .collect();
        let flat: Vec<f64> = rows.iter().flatten().cloned().collect();
        let corr = case["correction"].as_bool().unwrap();
        let r = chi2_contingency(&flat, rows.len(), corr).unwrap();
        let tag = format!("{:?} correction={corr}", rows);
        c.close(
            &format!("{tag} statistic"),
            r.statistic,
            num(&case["statistic"]),
        );
        c.close(&format!("{tag} pvalue"), r.p_value, num(&case["pvalue"]));
        c.close(
            &format!("{tag} dof"),
            r.dof as f64,
            case["dof"].as_f64().unwrap(),
        );
    }
    for case in fx["vectors"].as_array().unwrap() {
        let p: Vec<f64> = case["p"].as_array().unwrap().iter().map(num).collect();
        let q: Vec<f64> = case["q"].as_array().unwrap().iter().map(num).collect();
        c.close("js e", jensenshannon(&p, &q, None), num(&case["js_e"]));
        c.close("js 2", jensenshannon(&p, &q, Some(2.0)), num(&case["js_2"]));
        c.close("entropy e", entropy(&p, &q, None), num(&case["entropy_e"]));
        c.close(
            "entropy 2",
            entropy(&p, &q, Some(2.0)),
            num(&case["entropy_2"]),
        );
    }
    c.finish("chi-square / vectors");
}

#[test]
fn cramervonmises_matches_scipy() {
    let fx = fixtures();
    let mut c = Check::default();
    for case in fx["cramervonmises_2samp"].as_array().unwrap() {
        let a = sample(&case["a"]);
        let b = sample(&case["b"]);
        let method = match case["method"].as_str().unwrap() {
            "auto" => CvmMethod::Auto,
            "exact" => CvmMethod::Exact,
            _ => CvmMethod::Asymptotic,
        };
        let r = cramervonmises_2samp(&a, &b, method).unwrap();
        let tag = format!("cvm {}x{} {method:?}", a.len(), b.len());
        c.close(
            &format!("{tag} statistic"),
            r.statistic,
            num(&case["statistic"]),
        );
        c.close(&format!("{tag} pvalue"), r.p_value, num(&case["pvalue"]));
    }
    c.finish("cramervonmises_2samp");
}

#[test]
fn anderson_ksamp_matches_scipy() {
    let fx = fixtures();
    let mut c = Check::default();
    for case in fx["anderson_ksamp"].as_array().unwrap() {
        let samples: Vec<Vec<f64>> = case["samples"]
            .as_array()
            .unwrap()
            .iter()
            .map(sample)
            .collect();
        let refs: Vec<&[f64]> = samples.iter().map(|s| s.as_slice()).collect();
        let r = anderson_ksamp(&refs).unwrap();
        let tag = format!(
            "anderson {:?}",
            samples.iter().map(|s| s.len()).collect::<Vec<_>>()
        );
        c.close(
            &format!("{tag} statistic"),
            r.statistic,
            num(&case["statistic"]),
        );
        c.close(&format!("{tag} pvalue"), r.p_value, num(&case["pvalue"]));
    }
    c.finish("anderson_ksamp");
}

#[test]
fn fisher_exact_matches_scipy() {
    let fx = fixtures();
    let mut c = Check::default();
    for case in fx["fisher_exact"].as_array().unwrap() {
        let t: Vec<Vec<u64>> = case["table"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap())
                    .collect()
            })
            .collect();
        let alt = match case["alternative"].as_str().unwrap() {
            "two-sided" => Alternative::TwoSided,
            "less" => Alternative::Less,
            _ => Alternative::Greater,
        };
        let r = fisher_exact([[t[0][0], t[0][1]], [t[1][0], t[1][1]]], alt);
        let tag = format!("fisher {t:?} {alt:?}");
        c.close(
            &format!("{tag} statistic"),
            r.statistic,
            num(&case["statistic"]),
        );
        c.close(&format!("{tag} pvalue"), r.p_value, num(&case["pvalue"]));
    }
    c.finish("fisher_exact");
}

fn dataset_batch(v: &Value) -> RecordBatch {
    let obj = v.as_object().unwrap();
    let mut fields = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    for (name, col) in obj {
        if name.starts_with('c') {
            let s: Vec<&str> = col
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap())
                .collect();
            arrays.push(Arc::new(StringArray::from(s)));
            fields.push(Field::new(name, arrow_schema::DataType::Utf8, true));
        } else {
            arrays.push(Arc::new(Float64Array::from(sample(col))));
            fields.push(Field::new(name, arrow_schema::DataType::Float64, true));
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
}

#[test]
fn detector_matches_evidently_data_drift_preset() {
    let fx = fixtures();
    let mut c = Check::default();
    let presets: BTreeMap<String, &Value> = fx["evidently_presets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap().to_string(), &p["columns"]))
        .collect();
    let names = [
        ("K-S p_value", "ks"),
        ("chi-square p_value", "chisquare"),
        ("Z-test p_value", "z"),
        ("Wasserstein distance (normed)", "wasserstein"),
        ("Jensen-Shannon distance", "jensenshannon"),
    ];
    for ds in fx["datasets"].as_array().unwrap() {
        let name = ds["name"].as_str().unwrap();
        let reference = dataset_batch(&ds["ref"]);
        let current = dataset_batch(&ds["cur"]);
        // Evidently verbatim: its goodness-of-fit chisquare, no effect-size floor.
        let det = DefaultDriftDetector::new(DetectorOptions::evidently());
        let fitted = det.fit(&reference).unwrap();
        let (cols, report) = det.score_detailed(&fitted, &current).unwrap();
        assert_eq!(report.columns.len(), cols.len());
        for col in &cols {
            let ev = &presets[name][col.column.as_str()];
            let ev_method = ev["method"].as_str().unwrap();
            let ours = names
                .iter()
                .find(|(e, _)| *e == ev_method)
                .map(|(_, o)| *o)
                .unwrap();
            assert_eq!(col.method, ours, "{name}/{}: method", col.column);
            let value = col.p_value.unwrap_or(col.statistic);
            c.close(
                &format!("{name}/{} {}", col.column, col.method),
                value,
                num(&ev["value"]),
            );
        }
    }
    c.finish("detector vs DataDriftPreset");
}
