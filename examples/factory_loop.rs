//! The factory loop, end to end, on the embedded default (no server): success criteria first,
//! then data (Parquet, validation, dedup, a leakage-free split, content ids), tracked training
//! with a progress bar and a challenger sweep, evaluation under identical conditions with
//! gates that decide promotion, serving the champion, drift monitoring on a production batch,
//! and feedback: served predictions go to an append-only log, labels and corrections that
//! arrive later join them by request id into a labelled dataset version, and drift or
//! enough new labels trigger a retraining with lineage.
//!
//! ```text
//! cargo run --release -p mlops-examples --example factory_loop [-- <store folder>]
//! ```
//! The store folder defaults to `.mlops/`; data files land in `<store>/data/` and the
//! evaluation reports in `<store>/report.html` (and `<store>/report-retrain.html`).

use std::collections::BTreeMap;
use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{
    ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use futures::TryStreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use mlops_core::features::{ColumnSpec, PipelineSpec, Transform};
use mlops_core::learn::{BurnTrainer, DeviceSpec, ModelSpec, Optimizer, Predictor, TrainerConfig};
use mlops_core::rng::Rng;
use mlops_core::sweep::{
    Domain, Objective, Search, SearchSpace, SweepOptions, TrainerBuilder, TrialParams, run_sweep,
};
use mlops_core::{
    Change, DataSource, DatasetId, DriftDetector, EpochDecision, EvalColumns, Factory, LineageEdge,
    LineageNode, ModelRef, ModelVersion, ScanOptions, SearchRunsOptions, Tag, TrainObserver,
    TrainOptions, TrainPlan, Trainer, TrainingData, now_ms,
};
use mlops_data::feedback::{self, AppendLog, LabelJoin, LogKind, join_labels};
use mlops_data::snapshot::{SnapshotOptions, diff, snapshot};
use mlops_data::{
    Check, Dedup, HashSplit, ParquetSource, Validator, WriteOptions, dataset_id, leakage_report,
    write_parquet,
};
use mlops_eval::business::CostModel;
use mlops_eval::compare::{BootstrapOptions, EvalManifest, METRICS_VERSION};
use mlops_eval::drift::{DefaultDriftDetector, DetectorOptions};
use mlops_eval::evaluator::{
    BusinessSpec, EvaluationSuite, Scored, Slice, SuiteResult, record_evaluation,
};
use mlops_eval::gates::{Direction, GateRule};
use mlops_serve::ModelRepository;

type Res<T> = std::result::Result<T, Box<dyn Error>>;

const EXPERIMENT: &str = "churn";
const MODEL: &str = "churn";
const CHAMPION: &str = "champion";
const ACTOR: &str = "factory_loop";
const LABEL: &str = "churned";
const ENTITY: &str = "user_id";
const TIME: &str = "event_time";
const PLAN: &str = "plan";
const NUMERIC: [&str; 5] = [
    "tenure_months",
    "monthly_charges",
    "support_calls",
    "data_usage_gb",
    "days_since_login",
];
/// Seed of the data, the trainings and the evaluation resamples.
const SEED: u64 = 42;
/// New labels that trigger a retraining even without drift.
const MIN_NEW_LABELS: usize = 1_000;
/// Single-row predictions timed per model.
const LATENCY_ROWS: usize = 300;
/// Paired bootstrap resamples.
const RESAMPLES: usize = 2_000;

// ---------------------------------------------------------------------------------------
// Synthetic churn data: users with monthly snapshots, a noisy teacher for the label.
// ---------------------------------------------------------------------------------------

/// How the world behaves: the training period, or production after a price increase.
struct Regime {
    basic_share: f64,
    premium_share: f64,
    charge_shift: f64,
    login_mean_days: f64,
    call_rate: f64,
    price_sensitivity: f64,
}

const TRAINING: Regime = Regime {
    basic_share: 0.45,
    premium_share: 0.20,
    charge_shift: 0.0,
    login_mean_days: 8.0,
    call_rate: 0.18,
    price_sensitivity: 0.025,
};

/// Production: prices up, engagement down, a cheaper plan mix, and customers more
/// sensitive to price (a concept shift, not only a covariate shift).
const PRODUCTION: Regime = Regime {
    basic_share: 0.60,
    premium_share: 0.12,
    charge_shift: 12.0,
    login_mean_days: 13.0,
    call_rate: 0.24,
    price_sensitivity: 0.05,
};

#[derive(Clone)]
struct Row {
    user_id: i64,
    time_us: i64,
    tenure: Option<f64>,
    charges: Option<f64>,
    calls: i64,
    usage: Option<f64>,
    login: f64,
    plan: &'static str,
    churned: i64,
}

fn normal(rng: &mut Rng) -> f64 {
    (0..12).map(|_| rng.next_f64()).sum::<f64>() - 6.0
}

/// One to five monthly snapshots per user, labelled by a noisy teacher.
fn generate(rng: &mut Rng, users: std::ops::Range<i64>, start_us: i64, w: &Regime) -> Vec<Row> {
    const MONTH_US: i64 = 30 * 86_400 * 1_000_000;
    let mut rows = Vec::new();
    for user_id in users {
        let u = rng.next_f64();
        let plan = if u < w.basic_share {
            "basic"
        } else if u < 1.0 - w.premium_share {
            "standard"
        } else {
            "premium"
        };
        let (base_charge, plan_effect) = match plan {
            "basic" => (35.0, 0.5),
            "standard" => (65.0, 0.0),
            _ => (95.0, -0.6),
        };
        let tenure0 = rng.next_f64() * 60.0;
        let usage0 = 2.0 + 0.5 * normal(rng);
        for k in 0..1 + rng.below(5) as i64 {
            let tenure = tenure0 + k as f64;
            let charges = base_charge + 8.0 * normal(rng) + w.charge_shift;
            let rate = w.call_rate + if plan == "basic" { 0.05 } else { 0.0 };
            let calls = (0..8).filter(|_| rng.next_f64() < rate).count() as i64;
            let usage = (usage0 + 0.3 * normal(rng)).exp();
            let login = -(1.0 - rng.next_f64()).ln() * w.login_mean_days;
            let z = -0.6 + 0.55 * (calls as f64 - 1.5) - 0.06 * (tenure - 30.0)
                + w.price_sensitivity * (charges - 60.0)
                + 0.09 * (login - 8.0)
                - 0.5 * (usage.ln() - 2.0)
                + plan_effect;
            let churned = i64::from(z + 0.6 * normal(rng) > 0.0);
            rows.push(Row {
                user_id,
                time_us: start_us + k * MONTH_US + rng.below(86_400_000_000) as i64,
                tenure: Some((tenure * 10.0).round() / 10.0),
                charges: Some((charges * 100.0).round() / 100.0),
                calls,
                usage: Some((usage * 100.0).round() / 100.0),
                login: (login * 10.0).round() / 10.0,
                plan,
                churned,
            });
        }
    }
    rows
}

/// What real extracts look like: a few missing values and ~2% exact duplicate rows.
fn make_dirty(rng: &mut Rng, rows: &mut Vec<Row>) {
    for r in rows.iter_mut() {
        if rng.next_f64() < 0.004 {
            r.charges = None;
        }
        if rng.next_f64() < 0.003 {
            r.usage = None;
        }
        if rng.next_f64() < 0.002 {
            r.tenure = None;
        }
    }
    let copies: Vec<Row> = (0..rows.len() / 50)
        .map(|_| rows[rng.below(rows.len() as u64) as usize].clone())
        .collect();
    rows.extend(copies);
    rng.shuffle(rows);
}

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new(ENTITY, DataType::Int64, false),
        Field::new(
            TIME,
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new(NUMERIC[0], DataType::Float64, true),
        Field::new(NUMERIC[1], DataType::Float64, true),
        Field::new(NUMERIC[2], DataType::Int64, true),
        Field::new(NUMERIC[3], DataType::Float64, true),
        Field::new(NUMERIC[4], DataType::Float64, true),
        Field::new(PLAN, DataType::Utf8, true),
        Field::new(LABEL, DataType::Int64, false),
    ]))
}

fn to_batch(rows: &[Row]) -> Res<RecordBatch> {
    let f = |g: fn(&Row) -> Option<f64>| -> ArrayRef {
        Arc::new(rows.iter().map(g).collect::<Float64Array>())
    };
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.user_id))),
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(rows.iter().map(|r| r.time_us))
                .with_timezone("UTC"),
        ),
        f(|r| r.tenure),
        f(|r| r.charges),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.calls))),
        f(|r| r.usage),
        f(|r| Some(r.login)),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.plan))),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.churned))),
    ];
    Ok(RecordBatch::try_new(schema(), columns)?)
}

fn concat(batches: &[RecordBatch]) -> Res<RecordBatch> {
    Ok(arrow_select::concat::concat_batches(&schema(), batches)?)
}

fn int_column(batch: &RecordBatch, name: &str) -> Res<Vec<i64>> {
    let col = batch
        .column_by_name(name)
        .ok_or_else(|| format!("column {name} is missing"))?;
    Ok(col.as_primitive::<Int64Type>().values().to_vec())
}

fn write_split(dir: &Path, name: &str, batch: &RecordBatch) -> Res<PathBuf> {
    let path = dir.join(format!("{name}.parquet"));
    write_parquet(
        &path,
        &batch.schema(),
        std::slice::from_ref(batch),
        WriteOptions::default(),
    )?;
    Ok(path)
}

fn short(id: &DatasetId) -> &str {
    &id.as_str()[..12]
}

// ---------------------------------------------------------------------------------------
// A progress bar on the trainer's callbacks.
// ---------------------------------------------------------------------------------------

struct Progress {
    bar: ProgressBar,
    epochs: Mutex<usize>,
    val: Mutex<String>,
}

impl Progress {
    fn new(name: &str) -> Arc<Self> {
        let bar = ProgressBar::new(0);
        if let Ok(style) = ProgressStyle::with_template("  {prefix:<13} [{bar:20}] {msg} {elapsed}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(name.to_owned());
        Arc::new(Progress {
            bar,
            epochs: Mutex::new(0),
            val: Mutex::default(),
        })
    }
}

impl TrainObserver for Progress {
    fn on_start(&self, plan: &TrainPlan) {
        if let Ok(mut e) = self.epochs.lock() {
            *e = plan.epochs;
        }
        self.bar
            .set_length((plan.epochs * plan.steps_per_epoch) as u64);
        self.bar
            .set_position(((plan.first_epoch - 1) * plan.steps_per_epoch) as u64);
    }

    fn on_step(&self, epoch: usize, step: u64, loss: f64) {
        self.bar.set_position(step);
        let epochs = self.epochs.lock().map(|e| *e).unwrap_or_default();
        let val = self.val.lock().map(|v| v.clone()).unwrap_or_default();
        self.bar
            .set_message(format!("ep {epoch}/{epochs} loss {loss:.3}{val}"));
    }

    fn on_epoch_end(&self, _epoch: usize, metrics: &BTreeMap<String, f64>) -> EpochDecision {
        if let (Ok(mut v), Some(loss), Some(acc)) = (
            self.val.lock(),
            metrics.get("val_loss"),
            metrics.get("val_accuracy"),
        ) {
            *v = format!(" val {loss:.3}/{acc:.3}");
        }
        EpochDecision::Continue
    }

    fn on_end(&self) {
        self.bar.finish_and_clear();
    }
}

// ---------------------------------------------------------------------------------------
// Evaluation under identical conditions.
// ---------------------------------------------------------------------------------------

/// A model's predictions on one dataset, as the evaluation table the suite reads.
struct Evaluated {
    version: ModelVersion,
    manifest: EvalManifest,
    table: RecordBatch,
    metrics: BTreeMap<String, f64>,
}

/// The columns of every evaluation table.
fn eval_columns() -> EvalColumns {
    EvalColumns {
        label: LABEL.into(),
        prediction: "prediction".into(),
        score: Some("score".into()),
    }
}

/// Loads a registered model and predicts `table` into an evaluation table: label,
/// prediction, score, the plan (for slices), and for the first rows the single-row latency
/// and CPU seconds as a caller sees them (the suite's business measures; null elsewhere).
async fn evaluate(
    factory: &Factory,
    model: &ModelRef,
    table: &RecordBatch,
    data: (&DatasetId, &str),
    suite: &EvaluationSuite,
) -> Res<Evaluated> {
    let predictor = Predictor::load(factory, model, DeviceSpec::Cpu).await?;
    let version = predictor
        .version()
        .cloned()
        .ok_or("a model loaded from the registry has a version")?;
    let out = predictor.predict(table)?;
    let score: Vec<f64> = out
        .column_by_name("score")
        .ok_or("a binary classifier outputs a score")?
        .as_primitive::<Float64Type>()
        .values()
        .iter()
        .map(|p| p.clamp(0.0, 1.0))
        .collect();

    // Latency as a caller sees it: one row in, one prediction out, through the pipeline.
    predictor.predict(&table.slice(0, 1))?;
    let mut ms: Vec<Option<f64>> = vec![None; table.num_rows()];
    for (i, slot) in ms.iter_mut().enumerate().take(LATENCY_ROWS) {
        let row = table.slice(i, 1);
        let t = Instant::now();
        predictor.predict(&row)?;
        *slot = Some(t.elapsed().as_secs_f64() * 1e3);
    }
    let cpu_s: Vec<Option<f64>> = ms.iter().map(|v| v.map(|v| v / 1e3)).collect();
    let column = |name: &str| -> Res<ArrayRef> {
        Ok(table
            .column_by_name(name)
            .ok_or_else(|| format!("column {name}"))?
            .clone())
    };
    let eval_table = RecordBatch::try_from_iter([
        (LABEL, column(LABEL)?),
        (
            "prediction",
            out.column_by_name("prediction")
                .ok_or("prediction")?
                .clone(),
        ),
        ("score", Arc::new(Float64Array::from(score)) as ArrayRef),
        (PLAN, column(PLAN)?),
        ("latency_ms", Arc::new(Float64Array::from(ms)) as ArrayRef),
        ("cpu_s", Arc::new(Float64Array::from(cpu_s)) as ArrayRef),
    ])?;
    let metrics = suite.metrics(&eval_table, &eval_columns())?;
    let manifest = EvalManifest {
        dataset_id: data.0.to_string(),
        split: data.1.into(),
        seed: SEED,
        metrics_version: METRICS_VERSION.into(),
        model_digest: version
            .artifact_digest
            .map(|d| d.to_hex())
            .unwrap_or_default(),
    };
    Ok(Evaluated {
        version,
        manifest,
        table: eval_table,
        metrics,
    })
}

/// Runs the suite on a candidate, against the champion when there is one (identical
/// conditions are checked by the suite; gated metrics get paired bootstrap intervals),
/// and prints what it found.
fn compare(
    suite: &EvaluationSuite,
    cand: &Evaluated,
    champ: Option<&Evaluated>,
) -> Res<SuiteResult> {
    let columns = eval_columns();
    fn scored<'a>(e: &'a Evaluated, columns: &'a EvalColumns) -> Scored<'a> {
        Scored {
            batch: &e.table,
            columns,
            manifest: &e.manifest,
        }
    }
    let result = match champ {
        Some(champ) => {
            let r = suite.compare(scored(cand, &columns), scored(champ, &columns))?;
            println!(
                "  identical conditions: dataset {}…, split {}, seed {}, {}",
                &cand.manifest.dataset_id[..12],
                cand.manifest.split,
                cand.manifest.seed,
                cand.manifest.metrics_version
            );
            let c = r
                .champion
                .as_ref()
                .ok_or("a comparison has a champion side")?;
            for (name, b) in &c.differences {
                println!(
                    "  {name:<9} {:.4} vs champion {:.4}: Δ {:+.4}, 95% CI [{:+.4}, {:+.4}] (paired bootstrap, {} resamples)",
                    b.candidate, b.champion, b.difference, b.ci_low, b.ci_high, b.resamples
                );
            }
            if let Some(mc) = &c.mcnemar {
                println!(
                    "  McNemar: {} rows only the candidate gets right, {} only the champion, p = {:.3}",
                    mc.b, mc.c, mc.p_value
                );
            }
            r
        }
        None => {
            let mut r = suite.run(&cand.table, &columns)?;
            r.manifest = Some(cand.manifest.clone());
            r
        }
    };
    for (segment, key) in [("basic", "accuracy"), ("premium", "accuracy")] {
        if let Some(v) = result.metrics.get(&format!("slice/{PLAN}/{segment}/{key}")) {
            println!("  slice {PLAN}={segment:<8} {key} {v:.4}");
        }
    }
    for o in &result.gates.outcomes {
        println!(
            "  gate {:<15} {}  {}",
            o.rule.metric,
            if o.passed { "pass" } else { "FAIL" },
            o.reason
        );
    }
    Ok(result)
}

fn print_metrics(label: &str, e: &Evaluated) {
    let m = |k: &str| e.metrics.get(k).copied().unwrap_or(f64::NAN);
    println!(
        "  {label:<22} acc {:.4}  auc {:.4}  f1 {:.4}  log_loss {:.4}  p95 {:.3} ms  ${:.1e}/1k",
        m("accuracy"),
        m("roc_auc"),
        m("f1"),
        m("log_loss"),
        m("latency_p95_ms"),
        m("cost_per_1k_usd")
    );
}

/// The self-contained HTML report (and its JSON) of one promotion decision.
fn write_report(
    path: &Path,
    title: String,
    suite: &EvaluationSuite,
    result: &SuiteResult,
    cand: &Evaluated,
    champ: Option<&Evaluated>,
) -> Res<()> {
    let columns = eval_columns();
    let report = suite.report(
        title,
        result,
        (&cand.table, &columns),
        champ.map(|c| (&c.table, &columns)),
    )?;
    std::fs::write(path, report.to_html())?;
    std::fs::write(path.with_extension("json"), report.to_json().to_string())?;
    Ok(())
}

/// Moves the champion alias when the gates pass, and shows the audit log entry.
async fn decide(factory: &Factory, cand: &Evaluated, cmp: &SuiteResult, why: &str) -> Res<bool> {
    let v = cand.version.version;
    if !cmp.gates.passed {
        let failed: Vec<&str> = cmp
            .gates
            .outcomes
            .iter()
            .filter(|o| !o.passed)
            .map(|o| o.rule.metric.as_str())
            .collect();
        println!(
            "  decision: keep the champion; {MODEL}@{v} fails {}",
            failed.join(", ")
        );
        return Ok(false);
    }
    let o = |k: &str| cmp.metrics.get(k).copied().unwrap_or(f64::NAN);
    let reason = format!(
        "{why}: every gate passed (accuracy {:.4}, roc_auc {:.4}, p95 {:.3} ms on {} {}…)",
        o("accuracy"),
        o("roc_auc"),
        o("latency_p95_ms"),
        cand.manifest.split,
        &cand.manifest.dataset_id[..12]
    );
    factory
        .registry()
        .set_alias(MODEL, CHAMPION, v, &Change::new(ACTOR, reason))
        .await?;
    let log = factory
        .registry()
        .audit_log(Some(&format!("model:{MODEL}")))
        .await?;
    if let Some(e) = log.last() {
        println!(
            "  decision: promote {MODEL}@{v}; audit #{} {} {} by {}: {} — \"{}\"",
            e.seq, e.action, e.entity, e.actor, e.detail, e.reason
        );
    }
    Ok(true)
}

// ---------------------------------------------------------------------------------------
// The loop.
// ---------------------------------------------------------------------------------------

/// One HTTP/1.1 POST of a JSON body on loopback (the example needs no HTTP client crate);
/// returns the status and the JSON body.
fn http_post(
    addr: std::net::SocketAddr,
    path: &str,
    body: &serde_json::Value,
) -> Res<(u16, serde_json::Value)> {
    use std::io::{Read, Write};
    let body = body.to_string();
    let mut s = std::net::TcpStream::connect(addr)?;
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = String::new();
    s.read_to_string(&mut raw)?;
    let (head, payload) = raw.split_once("\r\n\r\n").ok_or("no HTTP header")?;
    let status = head.get(9..12).ok_or("no HTTP status")?.parse()?;
    Ok((status, serde_json::from_str(payload)?))
}

fn step(n: u32, title: &str) {
    println!("\n== {n}. {title}");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Res<()> {
    let started = Instant::now();
    let root = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".mlops".into()));
    let data_dir = root.join("data");
    std::fs::create_dir_all(&data_dir)?;

    // 1. Success criteria, declared before any data is touched.
    step(1, "success criteria (the gates of every later stage)");
    let gates = vec![
        GateRule::threshold("accuracy", Direction::GreaterIsBetter, 0.85),
        GateRule::threshold("roc_auc", Direction::GreaterIsBetter, 0.90),
        GateRule::threshold("latency_p95_ms", Direction::LessIsBetter, 5.0),
        GateRule::threshold("cost_per_1k_usd", Direction::LessIsBetter, 0.001),
        // Against the champion: not worse on accuracy by more than 1 point, judged on the
        // lower bound of the paired bootstrap interval...
        GateRule::beats_champion("accuracy", Direction::GreaterIsBetter, -0.01),
        // ... and a better ranking: ROC AUC up by at least 0.1% of the champion's.
        GateRule {
            metric: "roc_auc".into(),
            direction: Direction::GreaterIsBetter,
            threshold: None,
            min_absolute_change: None,
            min_relative_change: Some(0.001),
        },
    ];
    for g in &gates {
        let rule = match (g.threshold, g.min_absolute_change, g.min_relative_change) {
            (Some(t), _, _) => format!(
                "{} {t}",
                if g.direction == Direction::GreaterIsBetter {
                    ">="
                } else {
                    "<="
                }
            ),
            (_, Some(a), _) => format!("change vs champion >= {a:+} (95% CI bound)"),
            (_, _, Some(r)) => format!("relative change vs champion >= {:+}%", r * 100.0),
            _ => "—".into(),
        };
        println!("  {:<16} {rule}", g.metric);
    }
    let suite = EvaluationSuite {
        name: "churn-test".into(),
        slices: vec![Slice::column(PLAN)],
        business: Some(BusinessSpec {
            latency_ms: Some("latency_ms".into()),
            cost: Some((CostModel::PerCpuHour(0.05), "cpu_s".into())),
        }),
        gates: gates.clone(),
        bootstrap: Some(BootstrapOptions {
            resamples: RESAMPLES,
            seed: SEED,
            ..Default::default()
        }),
        ..Default::default()
    };

    // 2. Data: generate, write Parquet, read back, validate, dedup, split, snapshot.
    step(2, "data: ingest → validate → dedup → split → snapshot");
    let mut rng = Rng::new(SEED);
    let mut rows = generate(&mut rng, 0..12_000, 1_735_689_600_000_000, &TRAINING);
    make_dirty(&mut rng, &mut rows);
    let raw = to_batch(&rows)?;
    let raw_path = write_split(&data_dir, "churn_raw", &raw)?;
    let source: Arc<dyn DataSource> = Arc::new(ParquetSource::open(&raw_path)?);
    let batches: Vec<RecordBatch> = source
        .scan(ScanOptions::default())
        .await?
        .try_collect()
        .await?;
    let n_raw: usize = batches.iter().map(RecordBatch::num_rows).sum();
    println!(
        "  wrote and read back {} ({n_raw} rows, {} columns) through the DataSource trait",
        raw_path.display(),
        source.schema().fields().len()
    );

    let blocking = [
        Check::NotNull {
            column: ENTITY.into(),
        },
        Check::NotNull {
            column: TIME.into(),
        },
        Check::Range {
            column: LABEL.into(),
            min: Some(0.0),
            max: Some(1.0),
        },
        Check::AllowedValues {
            column: PLAN.into(),
            values: vec!["basic".into(), "standard".into(), "premium".into()],
        },
    ];
    let imputable: Vec<Check> = [
        ("tenure_months", 0.0, 120.0),
        ("monthly_charges", 0.0, 500.0),
        ("support_calls", 0.0, 50.0),
        ("data_usage_gb", 0.0, 10_000.0),
        ("days_since_login", 0.0, 3_650.0),
    ]
    .into_iter()
    .map(|(c, lo, hi)| Check::Range {
        column: c.into(),
        min: Some(lo),
        max: Some(hi),
    })
    .collect();
    // One lazy pass collects every failure; the report lists each failing value and row.
    let mut validator = Validator::new(blocking.iter().chain(&imputable).cloned().collect())?;
    for b in &batches {
        validator.check_batch(b)?;
    }
    let report = validator.finish();
    let mut blocked = 0u64;
    for (i, c) in report.checks.iter().enumerate() {
        let kind = if i < blocking.len() {
            blocked += c.failures;
            "blocking"
        } else {
            "nulls count; imputed by the pipeline"
        };
        println!(
            "  check {:<17} {:<42} {:>4} rows ({:.2}%, {kind})",
            c.column.as_deref().unwrap_or("-"),
            c.check,
            c.failures,
            c.percent
        );
    }
    for f in report.failures.iter().take(3) {
        println!(
            "    e.g. row {}: {} = {} fails {}",
            f.row.map_or("-".into(), |r| r.to_string()),
            f.column.as_deref().unwrap_or("-"),
            f.failure_case.as_deref().unwrap_or("null"),
            f.check
        );
    }
    if blocked > 0 {
        return Err(format!("{blocked} rows break blocking checks: fix the extract").into());
    }

    let mut dedup = Dedup::new(source.schema())?;
    let mut unique = Vec::new();
    for b in &batches {
        unique.push(dedup.push(b)?);
    }
    let d = dedup.report();
    println!(
        "  dedup: {} rows in, {} kept, {} exact duplicates removed ({:.1}%)",
        d.rows_in,
        d.rows_kept,
        d.rows_removed,
        100.0 * d.rows_removed as f64 / d.rows_in.max(1) as f64
    );

    let split = HashSplit::new(70, 15)?;
    let mut parts: [Vec<RecordBatch>; 3] = Default::default();
    for b in &unique {
        for (part, s) in parts.iter_mut().zip(split.split_batch(b, ENTITY)?) {
            part.push(s);
        }
    }
    let train = concat(&parts[0])?;
    let eval = concat(&parts[1])?;
    let test = concat(&parts[2])?;
    let leak = leakage_report(
        [
            std::slice::from_ref(&train),
            std::slice::from_ref(&eval),
            std::slice::from_ref(&test),
        ],
        ENTITY,
        LABEL,
    )?;
    let ids = [
        dataset_id(&schema(), std::slice::from_ref(&train))?,
        dataset_id(&schema(), std::slice::from_ref(&eval))?,
        dataset_id(&schema(), std::slice::from_ref(&test))?,
    ];
    println!("  split by XXH64({ENTITY}) 70/15/15:");
    println!(
        "    {:<6} {:>6} {:>6} {:>8}  {:<14} file",
        "split", "rows", "users", "churn", "dataset id"
    );
    for (i, (name, batch)) in [("train", &train), ("eval", &eval), ("test", &test)]
        .into_iter()
        .enumerate()
    {
        let path = write_split(&data_dir, name, batch)?;
        let labels = &leak.labels[i];
        let pos = labels.get("1").copied().unwrap_or(0) as f64;
        println!(
            "    {name:<6} {:>6} {:>6} {:>7.1}%  {}…  {}",
            batch.num_rows(),
            leak.entities[i],
            100.0 * pos / batch.num_rows().max(1) as f64,
            short(&ids[i]),
            path.display()
        );
    }
    println!(
        "  leakage report: users shared train/eval {}, train/test {}, eval/test {}; eval/test rows copying a training row {:?} → {}",
        leak.entity_overlap[0],
        leak.entity_overlap[1],
        leak.entity_overlap[2],
        leak.duplicate_rows,
        if leak.is_clean() { "clean" } else { "LEAKS" }
    );
    if !leak.is_clean() {
        return Err("the split leaks: refusing to train".into());
    }
    let [train_id, eval_id, test_id] = ids;

    // 3. Train: a tracked baseline with a progress bar, then a challenger sweep.
    step(3, "train (burn, tracked runs, registered with lineage)");
    let factory = Factory::open(&root)?;
    let (train_manifest, train_handle) = snapshot(
        factory.artifacts().as_ref(),
        "churn-train",
        std::slice::from_ref(&train),
        SnapshotOptions::default(),
    )
    .await?;
    println!(
        "  snapshot of train in the artifact store: manifest {}… = dataset {}… ({} rows in {} content-addressed part)",
        &train_handle.to_hex()[..12],
        short(&train_manifest.id),
        train_manifest.rows,
        train_manifest.parts.len()
    );
    let features = PipelineSpec::new(
        NUMERIC
            .iter()
            .map(|c| ColumnSpec::new(*c, Transform::Standardize).impute_mean())
            .chain([ColumnSpec::new(PLAN, Transform::one_hot())])
            .collect(),
    );
    let config = move |hidden: &[usize], lr: f64| {
        TrainerConfig::new(ModelSpec::mlp_classifier(hidden))
            .features(features.clone())
            .epochs(20)
            .batch_size(128)
            .optimizer(Optimizer::adam(lr))
            .early_stopping(3)
    };
    let data = TrainingData {
        train: vec![train.clone()],
        train_id: train_id.clone(),
        eval: Some((vec![eval.clone()], eval_id.clone())),
        label: LABEL.into(),
    };
    println!(
        "  features: {} standardized + mean-imputed, {PLAN} one-hot; {ENTITY} and {TIME} are not features",
        NUMERIC.join(", ")
    );
    let progress = Progress::new("baseline [16]");
    let t = Instant::now();
    let baseline = factory
        .train(
            Arc::new(BurnTrainer::new(config(&[16], 0.01))),
            data.clone(),
            TrainOptions::new(EXPERIMENT)
                .run_name("baseline-mlp16")
                .seed(SEED)
                .register_as(MODEL)
                .observe(progress.clone()),
        )
        .await?;
    let baseline_v = baseline.version.clone().ok_or("registered")?;
    let metric = |m: &BTreeMap<String, f64>, k: &str| m.get(k).copied().unwrap_or(f64::NAN);
    println!(
        "  baseline: run {} → {MODEL}@{} in {:.1} s ({} epochs, {:?}; weights of epoch {}): val_loss {:.4}, val_accuracy {:.4}",
        baseline.run_id,
        baseline_v.version,
        t.elapsed().as_secs_f64(),
        baseline.model.epochs,
        baseline.model.completion,
        metric(&baseline.model.metrics, "weights_epoch"),
        metric(&baseline.model.metrics, "val_loss"),
        metric(&baseline.model.metrics, "val_accuracy"),
    );

    let space = SearchSpace::new()
        .param(
            "hidden",
            Domain::choice([serde_json::json!([32, 16]), serde_json::json!([64, 32])]),
        )
        .param("lr", Domain::choice([0.01, 0.003]));
    let build: TrainerBuilder = {
        let config = config.clone();
        Arc::new(
            move |p: &TrialParams| -> mlops_core::Result<Arc<dyn Trainer>> {
                let hidden: Vec<usize> = p
                    .get("hidden")
                    .and_then(|v| serde_json::from_value(v.clone()).ok())
                    .unwrap_or_else(|| vec![32]);
                let lr = p.get("lr").and_then(|v| v.as_f64()).unwrap_or(0.01);
                Ok(Arc::new(BurnTrainer::new(config(&hidden, lr))))
            },
        )
    };
    let mut sweep_options = SweepOptions::new(EXPERIMENT, Objective::minimize("val_loss"))
        .search(Search::Grid)
        .max_concurrent(2)
        .seed(SEED)
        .register_best_as(MODEL);
    sweep_options.name = Some("challenger-sweep".into());
    let t = Instant::now();
    println!("  challenger sweep: grid hidden × lr (4 trials, 2 at a time) ...");
    let sweep = run_sweep(&factory, &space, build, &data, sweep_options).await?;
    for trial in &sweep.trials {
        let run = factory.tracker().get_run(&trial.run_id).await?;
        let acc = run
            .data
            .metrics
            .get("val_accuracy")
            .map_or(f64::NAN, |m| m.value);
        println!(
            "    trial {} hidden {:<8} lr {:<6} val_loss {:.4} val_accuracy {:.4} ({} epochs){}",
            trial.index,
            trial
                .params
                .get("hidden")
                .map(|v| v.to_string())
                .unwrap_or_default(),
            trial
                .params
                .get("lr")
                .map(|v| v.to_string())
                .unwrap_or_default(),
            trial.objective.unwrap_or(f64::NAN),
            acc,
            trial.epochs,
            if sweep.best == Some(trial.index) {
                "  ← best"
            } else {
                ""
            }
        );
    }
    let challenger_v = sweep
        .version
        .clone()
        .ok_or("the sweep registers its best")?;
    println!(
        "  sweep run {} in {:.1} s; best trial registered as {MODEL}@{}",
        sweep.parent,
        t.elapsed().as_secs_f64(),
        challenger_v.version
    );

    // 4. Evaluate every candidate on the test split against the champion; the gate decides.
    step(4, "evaluate under identical conditions; the gate decides");
    let registry = factory.registry().clone();
    let test_data = (&test_id, "test");
    let mut champion = match registry.resolve(&ModelRef::alias(MODEL, CHAMPION)).await {
        Ok(v) => {
            println!("  current champion: {MODEL}@{}", v.version);
            Some(evaluate(&factory, &v.model_ref(), &test, test_data, &suite).await?)
        }
        Err(e) if e.is_not_found() => {
            println!("  no champion yet: change rules pass by default for the first one");
            None
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(c) = &champion {
        print_metrics(&format!("champion {MODEL}@{}", c.version.version), c);
    }
    let report_path = root.join("report.html");
    for (role, v) in [("baseline", &baseline_v), ("challenger", &challenger_v)] {
        let cand = evaluate(&factory, &v.model_ref(), &test, test_data, &suite).await?;
        println!("\n  candidate {MODEL}@{} ({role}):", v.version);
        print_metrics(&format!("{MODEL}@{} on test", v.version), &cand);
        let cmp = compare(&suite, &cand, champion.as_ref())?;
        if let Some(run) = &v.run_id {
            record_evaluation(factory.tracker().as_ref(), run, &cmp).await?;
        }
        let title = match &champion {
            Some(c) => format!(
                "{MODEL}@{} ({role}) vs {MODEL}@{} (champion) on the test split",
                v.version, c.version.version
            ),
            None => format!("{MODEL}@{} ({role}) on the test split", v.version),
        };
        write_report(&report_path, title, &suite, &cmp, &cand, champion.as_ref())?;
        if decide(&factory, &cand, &cmp, &format!("{role} on test")).await? {
            champion = Some(cand);
        }
    }
    let champion = champion.ok_or("no model passed the gates: nothing to serve")?;
    println!(
        "  report of the last decision: {} (and report.json)",
        report_path.display()
    );

    // 5. Serve the champion.
    step(5, "serve churn@champion");
    let repo = Arc::new(ModelRepository::new(factory.clone(), DeviceSpec::Cpu));
    let served = repo.load(&ModelRef::alias(MODEL, CHAMPION)).await?;
    println!(
        "  serving {} v{}; OIP metadata (GET v2/models/{}):",
        served.name, served.version, served.name
    );
    let meta = &served.metadata;
    let tensors = |ts: &[mlops_serve::MetadataTensor]| -> Res<String> {
        let lines = ts
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(lines.join(",\n      "))
    };
    println!(
        "    {{\"name\": {}, \"versions\": {}, \"platform\": {},\n     \"inputs\": [\n      {}],\n     \"outputs\": [\n      {}]}}",
        serde_json::to_string(&meta.name)?,
        serde_json::to_string(&meta.versions)?,
        serde_json::to_string(&meta.platform)?,
        tensors(&meta.inputs)?,
        tensors(&meta.outputs)?
    );
    let sample = test.slice(0, 5);
    let out = served.infer(&sample)?;
    let (uid, truth, pred) = (
        int_column(&sample, ENTITY)?,
        int_column(&sample, LABEL)?,
        int_column(&out, "prediction")?,
    );
    let score = out
        .column_by_name("score")
        .ok_or("score")?
        .as_primitive::<Float64Type>();
    let plan = sample
        .column_by_name(PLAN)
        .ok_or("plan")?
        .as_string::<i32>();
    println!(
        "  {:>8} {:<9} {:>5} {:>10} {:>8}",
        ENTITY, PLAN, "truth", "prediction", "p(churn)"
    );
    for i in 0..sample.num_rows() {
        println!(
            "  {:>8} {:<9} {:>5} {:>10} {:>8.3}",
            uid[i],
            plan.value(i),
            truth[i],
            pred[i],
            score.value(i)
        );
    }
    let request = serde_json::json!({
        "tenure_months": 3.0, "monthly_charges": 99.0, "support_calls": 5,
        "data_usage_gb": null, "days_since_login": 30.0, "plan": "basic"
    });
    let one = served.predictor()?.predict_row(&request)?;
    println!(
        "  one JSON request {request}\n    → churned = {}, p(churn) = {:.3}",
        one.value,
        one.probabilities.get(1).copied().unwrap_or(f32::NAN)
    );
    // The same request over HTTP, in the Open Inference Protocol (what tritonclient sends).
    let server = mlops_serve::spawn(repo.clone(), "127.0.0.1:0".parse()?)?;
    let tensor = |name: &str, datatype: &str, value: serde_json::Value| serde_json::json!({"name": name, "shape": [1], "datatype": datatype, "data": [value]});
    let oip = serde_json::json!({"id": "factory-loop-1", "inputs": [
        tensor("tenure_months", "FP64", request["tenure_months"].clone()),
        tensor("monthly_charges", "FP64", request["monthly_charges"].clone()),
        tensor("support_calls", "INT64", request["support_calls"].clone()),
        tensor("data_usage_gb", "FP64", serde_json::Value::Null),
        tensor("days_since_login", "FP64", request["days_since_login"].clone()),
        tensor("plan", "BYTES", request["plan"].clone()),
    ], "outputs": [{"name": "prediction"}, {"name": "score"}]});
    let (status, resp) = http_post(server.addr(), &format!("/v2/models/{MODEL}/infer"), &oip)?;
    let score = resp["outputs"][1]["data"][0].as_f64().unwrap_or(f64::NAN);
    println!(
        "  POST {}/v2/models/{MODEL}/infer → {status}: prediction {}, score {score:.3} (in-process {:.3})",
        server.url(),
        resp["outputs"][0]["data"][0],
        one.probabilities.get(1).copied().unwrap_or(f32::NAN)
    );
    if status != 200
        || (score - f64::from(one.probabilities.get(1).copied().unwrap_or(0.0))).abs() > 1e-6
    {
        return Err(format!("the server disagrees with the model: {resp}").into());
    }
    server.stop();

    // 6. Monitor: a production batch from a shifted world, scored for drift.
    step(
        6,
        "monitor: drift of a production batch against the training split",
    );
    let mut prod_rows = generate(
        &mut rng,
        1_000_000..1_002_000,
        1_767_225_600_000_000,
        &PRODUCTION,
    );
    rng.shuffle(&mut prod_rows);
    let prod = to_batch(&prod_rows)?;
    let prod_path = write_split(&data_dir, "production_batch", &prod)?;
    let prod_out = served.infer(&prod)?;
    let prod_pred = int_column(&prod_out, "prediction")?;
    println!(
        "  production batch: {} rows scored by {MODEL}@{} ({}), {:.1}% predicted to churn",
        prod.num_rows(),
        served.version,
        prod_path.display(),
        100.0 * prod_pred.iter().sum::<i64>() as f64 / prod_pred.len().max(1) as f64
    );
    let feature_columns: Vec<String> = NUMERIC
        .iter()
        .chain([&PLAN])
        .map(|c| (*c).to_owned())
        .collect();
    let detector = DefaultDriftDetector::new(DetectorOptions {
        columns: Some(feature_columns),
        ..Default::default()
    });
    let reference = detector.fit(&train)?;
    let (columns, drift) = detector.score_detailed(&reference, &prod)?;
    println!(
        "  {:<17} {:<12} {:>10} {:>10} {:>9}  verdict",
        "column", "method", "statistic", "p-value", "threshold"
    );
    for c in &columns {
        println!(
            "  {:<17} {:<12} {:>10.4} {:>10} {:>9}  {}",
            c.column,
            c.method,
            c.statistic,
            c.p_value.map_or("—".into(), |p| format!("{p:.2e}")),
            c.threshold,
            if c.drifted { "DRIFT" } else { "ok" }
        );
    }
    println!(
        "  dataset: {:.0}% of columns drifted → {}",
        100.0 * drift.share_drifted,
        if drift.drifted {
            "DATASET DRIFT"
        } else {
            "no dataset drift"
        }
    );

    // Every served prediction goes to the append-only prediction log, with the features as
    // the model saw them, in chunks as a server would flush them.
    let log_dir = root.join("logs").join(now_ms().to_string());
    let prediction_log = AppendLog::open(log_dir.join("predictions"), LogKind::Predictions)?;
    let n_prod = prod.num_rows();
    let mut logged: Vec<(&str, ArrayRef)> = vec![
        (
            feedback::REQUEST_ID,
            Arc::new(StringArray::from_iter_values(
                (0..n_prod).map(|i| format!("req-{i:06}")),
            )),
        ),
        (
            feedback::MODEL_VERSION,
            Arc::new(StringArray::from_iter_values(
                (0..n_prod).map(|_| served.version.to_string()),
            )),
        ),
        (
            feedback::PREDICTED_AT,
            prod.column_by_name(TIME).ok_or("time")?.clone(),
        ),
    ];
    let training_schema = schema();
    for f in training_schema
        .fields()
        .iter()
        .filter(|f| f.name() != LABEL)
    {
        logged.push((
            f.name(),
            prod.column_by_name(f.name()).ok_or("column")?.clone(),
        ));
    }
    logged.push((
        feedback::PREDICTION,
        prod_out
            .column_by_name("prediction")
            .ok_or("prediction")?
            .clone(),
    ));
    logged.push((
        "score",
        prod_out.column_by_name("score").ok_or("score")?.clone(),
    ));
    let logged = RecordBatch::try_from_iter(logged)?;
    for start in (0..n_prod).step_by(1_000) {
        prediction_log.append(&logged.slice(start, 1_000.min(n_prod - start)))?;
    }
    println!(
        "  prediction log: {n_prod} predictions in {} append-only segments ({})",
        prediction_log.segments()?.len(),
        prediction_log.dir().display()
    );

    // 7. Feedback: labels arrive; drift or enough labels trigger a retraining.
    step(7, "feedback and the retraining trigger");
    // Labels arrive 0.5 to 14.5 days after the prediction for 85% of the requests; some are
    // drafts, and some first answers are wrong and corrected a day later.
    let feedback_log = AppendLog::open(log_dir.join("feedback"), LogKind::Feedback)?;
    let truth = int_column(&prod, LABEL)?;
    let served_at = prod
        .column_by_name(TIME)
        .ok_or("time")?
        .as_primitive::<arrow_array::types::TimestampMicrosecondType>()
        .values()
        .to_vec();
    const DAY_US: i64 = 86_400_000_000;
    let (mut ids, mut labels, mut at, mut status) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..n_prod {
        if rng.next_f64() >= 0.85 {
            continue;
        }
        let t = served_at[i] + DAY_US / 2 + (rng.next_f64() * 14.0 * DAY_US as f64) as i64;
        let id = format!("req-{i:06}");
        let corrected = rng.next_f64() < 0.03;
        if corrected {
            ids.push(id.clone());
            labels.push(1 - truth[i]);
            at.push(t);
            status.push("submitted");
        }
        let draft = !corrected && rng.next_f64() < 0.04;
        ids.push(id);
        labels.push(truth[i]);
        at.push(if corrected { t + DAY_US } else { t });
        status.push(if draft { "draft" } else { "submitted" });
    }
    let fb_batch = RecordBatch::try_from_iter([
        (
            feedback::REQUEST_ID,
            Arc::new(StringArray::from(ids)) as ArrayRef,
        ),
        (
            feedback::LABEL,
            Arc::new(Int64Array::from(labels)) as ArrayRef,
        ),
        (
            feedback::LABELLED_AT,
            Arc::new(TimestampMicrosecondArray::from(at).with_timezone("UTC")) as ArrayRef,
        ),
        (
            feedback::STATUS,
            Arc::new(StringArray::from(status)) as ArrayRef,
        ),
    ])?;
    for start in (0..fb_batch.num_rows()).step_by(2_000) {
        feedback_log.append(&fb_batch.slice(start, 2_000.min(fb_batch.num_rows() - start)))?;
    }
    // The labelled dataset as of ten days after the last prediction; labels later than two
    // weeks after their prediction are too late to trust.
    let as_of_us = served_at.iter().copied().max().unwrap_or(0) + 10 * DAY_US;
    let joined = join_labels(
        &prediction_log.read()?,
        &feedback_log.read()?,
        &LabelJoin {
            max_label_delay: Some(std::time::Duration::from_secs(14 * 86_400)),
            ..LabelJoin::as_of(as_of_us)
        },
    )?;
    let r = &joined.report;
    println!(
        "  joined by request id as of last prediction + 10 days: {} labelled ({} corrected), {} pending, {} expired; ignored {} drafts, {} not yet given, {} later than 14 days; label delay p50 {:.1} d, p95 {:.1} d",
        r.labelled,
        r.corrected,
        r.pending,
        r.expired,
        r.rejected_status,
        r.future_labels,
        r.late_labels,
        r.delay_p50_ms.unwrap_or(0) as f64 / 86_400_000.0,
        r.delay_p95_ms.unwrap_or(0) as f64 / 86_400_000.0,
    );
    // Back to the training schema: the feedback's label is the target.
    let labelled = RecordBatch::try_new(
        schema(),
        schema()
            .fields()
            .iter()
            .map(|f| {
                let name = if f.name() == LABEL {
                    feedback::LABEL
                } else {
                    f.name()
                };
                joined
                    .batch
                    .column_by_name(name)
                    .cloned()
                    .ok_or_else(|| format!("joined column {name}"))
            })
            .collect::<Result<Vec<_>, _>>()?,
    )?;
    let live_pred = int_column(&joined.batch, feedback::PREDICTION)?;
    let live_truth = int_column(&joined.batch, feedback::LABEL)?;
    let n = live_pred.len();
    let hits = live_pred
        .iter()
        .zip(&live_truth)
        .filter(|(a, b)| a == b)
        .count();
    let live = hits as f64 / n.max(1) as f64;
    let offline = champion
        .metrics
        .get("accuracy")
        .copied()
        .unwrap_or(f64::NAN);
    println!(
        "  {n} labelled production predictions (dataset {}…): live accuracy {live:.4} vs {offline:.4} offline ({:+.1} points)",
        short(&joined.dataset_id),
        100.0 * (live - offline)
    );
    let mut reasons = Vec::new();
    if drift.drifted {
        reasons.push(format!(
            "dataset drift ({:.0}% of columns)",
            100.0 * drift.share_drifted
        ));
    }
    if n >= MIN_NEW_LABELS {
        reasons.push(format!("{n} new labels >= {MIN_NEW_LABELS}"));
    }
    let mut retrained = None;
    if reasons.is_empty() {
        println!("  no trigger: keep serving {MODEL}@{}", served.version);
    } else {
        let reason = reasons.join(" and ");
        println!("  trigger: {reason} → retrain");
        // Users are split again: most feedback joins the training data, the rest is held out
        // to judge the retrained model against the champion on the new world.
        let [fb_train, _, fb_holdout] = HashSplit::new(70, 0)?.split_batch(&labelled, ENTITY)?;
        let fb_id = dataset_id(&schema(), std::slice::from_ref(&fb_train))?;
        let holdout_id = dataset_id(&schema(), std::slice::from_ref(&fb_holdout))?;
        let train2 = concat(&[train.clone(), fb_train.clone()])?;
        let train2_id = dataset_id(&schema(), std::slice::from_ref(&train2))?;
        write_split(&data_dir, "feedback_train", &fb_train)?;
        write_split(&data_dir, "feedback_holdout", &fb_holdout)?;
        let train2_path = write_split(&data_dir, "train_v2", &train2)?;
        for (src, relation) in [(&train_id, "derived_from"), (&fb_id, "derived_from")] {
            registry
                .add_lineage_edge(&LineageEdge {
                    src: LineageNode::Dataset { id: src.clone() },
                    dst: LineageNode::Dataset {
                        id: train2_id.clone(),
                    },
                    relation: relation.into(),
                })
                .await?;
        }
        let (v2, v2_handle) = snapshot(
            factory.artifacts().as_ref(),
            "churn-train",
            std::slice::from_ref(&train2),
            SnapshotOptions {
                parent: Some(train_id.clone()),
                transform: Some(format!("append {} feedback rows", fb_train.num_rows())),
                ..Default::default()
            },
        )
        .await?;
        let changes = diff(std::slice::from_ref(&train), std::slice::from_ref(&train2))?;
        println!(
            "  snapshot train v2: manifest {}… (parent {}…, \"{}\"); diff against v1: +{} rows, -{} rows, {} unchanged, schema {}",
            &v2_handle.to_hex()[..12],
            short(&train_id),
            v2.transform.as_deref().unwrap_or(""),
            changes.rows_added,
            changes.rows_removed,
            changes.rows_unchanged,
            if changes.columns_added.is_empty()
                && changes.columns_removed.is_empty()
                && changes.type_changes.is_empty()
            {
                "unchanged"
            } else {
                "CHANGED"
            }
        );
        println!(
            "  training data v2 = train {}… + feedback {}… ({} rows) = {}… ({} rows, {})",
            short(&train_id),
            short(&fb_id),
            fb_train.num_rows(),
            short(&train2_id),
            train2.num_rows(),
            train2_path.display()
        );
        // The champion's exact configuration, on the new data.
        let champion_predictor = served.predictor()?;
        let cfg = champion_predictor.manifest().config.clone();
        let progress = Progress::new("retrain");
        let t = Instant::now();
        let mut options = TrainOptions::new(EXPERIMENT)
            .run_name("retrain-on-feedback")
            .seed(SEED)
            .register_as(MODEL)
            .observe(progress.clone());
        options.tags.push(Tag::new("mlops.trigger", &reason));
        options.tags.push(Tag::new(
            "mlops.retrain_of",
            format!("{MODEL}@{}", served.version),
        ));
        let outcome = factory
            .train(
                Arc::new(BurnTrainer::new(cfg)),
                TrainingData {
                    train: vec![train2],
                    train_id: train2_id.clone(),
                    eval: Some((vec![eval.clone()], eval_id.clone())),
                    label: LABEL.into(),
                },
                options,
            )
            .await?;
        let new_v = outcome.version.clone().ok_or("registered")?;
        println!(
            "  retrained: run {} → {MODEL}@{} in {:.1} s ({} epochs)",
            outcome.run_id,
            new_v.version,
            t.elapsed().as_secs_f64(),
            outcome.model.epochs
        );

        let holdout_data = (&holdout_id, "feedback-holdout");
        let champ_eval = evaluate(
            &factory,
            &champion.version.model_ref(),
            &fb_holdout,
            holdout_data,
            &suite,
        )
        .await?;
        let cand = evaluate(
            &factory,
            &new_v.model_ref(),
            &fb_holdout,
            holdout_data,
            &suite,
        )
        .await?;
        println!(
            "  on the held-out feedback ({} rows, {}…):",
            fb_holdout.num_rows(),
            short(&holdout_id)
        );
        print_metrics(
            &format!("champion {MODEL}@{}", champ_eval.version.version),
            &champ_eval,
        );
        print_metrics(&format!("retrained {MODEL}@{}", new_v.version), &cand);
        let holdout_suite = EvaluationSuite {
            name: "churn-feedback-holdout".into(),
            ..suite.clone()
        };
        let cmp = compare(&holdout_suite, &cand, Some(&champ_eval))?;
        if let Some(run) = &new_v.run_id {
            record_evaluation(factory.tracker().as_ref(), run, &cmp).await?;
        }
        let retrain_report = root.join("report-retrain.html");
        write_report(
            &retrain_report,
            format!(
                "{MODEL}@{} (retrained) vs {MODEL}@{} (champion) on held-out feedback",
                new_v.version, champ_eval.version.version
            ),
            &holdout_suite,
            &cmp,
            &cand,
            Some(&champ_eval),
        )?;
        decide(&factory, &cand, &cmp, "retrained on feedback").await?;
        println!("  report: {}", retrain_report.display());

        // Lineage, both ways.
        let names: BTreeMap<&DatasetId, &str> = [
            (&train_id, "train"),
            (&eval_id, "eval"),
            (&test_id, "test"),
            (&fb_id, "feedback_train"),
            (&train2_id, "train_v2"),
        ]
        .into_iter()
        .collect();
        let from_train = registry.versions_from_dataset(&train_id).await?;
        println!(
            "  versions descending from train {}…: {}",
            short(&train_id),
            from_train
                .iter()
                .map(|v| format!("{}@{}", v.name, v.version))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let up = registry.datasets_of_version(MODEL, new_v.version).await?;
        println!(
            "  datasets behind {MODEL}@{}: {}",
            new_v.version,
            up.iter()
                .map(|d| format!("{} {}…", names.get(d).copied().unwrap_or("?"), short(d)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        retrained = Some(new_v.version);
    }

    // 8. Summary.
    step(8, "summary");
    let experiment = factory.tracker().get_experiment_by_name(EXPERIMENT).await?;
    let runs = factory
        .tracker()
        .search_runs(SearchRunsOptions {
            experiment_ids: vec![experiment.experiment_id],
            ..Default::default()
        })
        .await?;
    let versions = registry.list_model_versions(MODEL).await?;
    let champion_now = registry.resolve(&ModelRef::alias(MODEL, CHAMPION)).await?;
    println!(
        "  runs in experiment {EXPERIMENT}: {} (this session: baseline, sweep parent + {} trials{})",
        runs.runs.len(),
        sweep.trials.len(),
        if retrained.is_some() { ", retrain" } else { "" }
    );
    println!(
        "  versions of {MODEL}: {} (latest v{}); champion: {MODEL}@{}",
        versions.len(),
        versions.last().map_or(0, |v| v.version),
        champion_now.version
    );
    println!("  store:  {}", root.display());
    println!("  data:   {}", data_dir.display());
    println!("  report: {}", report_path.display());
    println!("  done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
