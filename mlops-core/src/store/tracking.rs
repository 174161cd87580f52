//! Tracking operations of the embedded store, run synchronously on a pooled connection.

use std::collections::{BTreeMap, HashMap};

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use super::Inner;
use super::chunks;
use super::db::write_tx;
use super::search::{LeadingMetric, compile_run_search};
use super::writer::write_series;
use crate::downsample;
use crate::error::{Error, Result};
use crate::ids::{Digest, ExperimentId, RunId};
use crate::tracking::*;
use crate::validation::*;
use rusqlite::types::Value;

const RUN_COLUMNS: &str = "r.run_id, r.experiment_id, r.run_name, r.user_id, r.status, \
    r.start_time, r.end_time, r.artifact_uri, r.lifecycle_stage";

fn parse_col<T: std::str::FromStr<Err = Error>>(row: &Row<'_>, i: usize) -> rusqlite::Result<T> {
    let s: String = row.get(i)?;
    s.parse().map_err(|e: Error| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn run_info(row: &Row<'_>) -> rusqlite::Result<RunInfo> {
    Ok(RunInfo {
        run_id: parse_col(row, 0)?,
        experiment_id: ExperimentId::from(row.get::<_, i64>(1)?),
        run_name: row.get(2)?,
        user_id: row.get(3)?,
        status: parse_col(row, 4)?,
        start_time: row.get(5)?,
        end_time: row.get(6)?,
        artifact_uri: row.get(7)?,
        lifecycle_stage: parse_col(row, 8)?,
    })
}

fn experiment_row(row: &Row<'_>) -> rusqlite::Result<Experiment> {
    Ok(Experiment {
        experiment_id: ExperimentId::from(row.get::<_, i64>(0)?),
        name: row.get(1)?,
        artifact_location: row.get(2)?,
        lifecycle_stage: parse_col(row, 3)?,
        creation_time: row.get(4)?,
        last_update_time: row.get(5)?,
        tags: BTreeMap::new(),
    })
}

/// Parses an experiment id; the embedded store's ids are integers.
pub(crate) fn experiment_key(id: &ExperimentId) -> Result<i64> {
    id.as_str()
        .parse()
        .map_err(|_| Error::invalid("experiment id", id.as_str(), "a decimal integer"))
}

fn stage_condition(view: ViewType, column: &str) -> String {
    match view {
        ViewType::ActiveOnly => format!("{column} = 'active'"),
        ViewType::DeletedOnly => format!("{column} = 'deleted'"),
        ViewType::All => "1".to_owned(),
    }
}

fn default_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// Validates metric points before they are queued or written.
pub(crate) fn check_metrics(metrics: &[Metric]) -> Result<()> {
    for m in metrics {
        check_key("metric key", &m.key)?;
        check_timestamp(&m.key, m.timestamp)?;
    }
    Ok(())
}

impl Inner {
    pub(crate) fn create_experiment(
        &self,
        name: &str,
        tags: &[Tag],
        artifact_location: Option<&str>,
    ) -> Result<ExperimentId> {
        check_experiment_name(name)?;
        for t in tags {
            check_key("experiment tag key", &t.key)?;
            check_registry_value("experiment tag value", &t.value)?;
        }
        let now = now_ms();
        let default_location = self.artifact_root();
        self.pool.with(|conn| {
            write_tx(conn, |tx| {
                let taken: bool = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM experiments WHERE name = ?1)",
                    [name],
                    |r| r.get(0),
                )?;
                if taken {
                    return Err(Error::already_exists("experiment", name));
                }
                tx.execute(
                    "INSERT INTO experiments (name, artifact_location, creation_time, last_update_time) \
                     VALUES (?1, ?2, ?3, ?3)",
                    params![name, artifact_location.unwrap_or(&default_location), now],
                )?;
                let id = tx.last_insert_rowid();
                for t in tags {
                    tx.execute(
                        "INSERT OR REPLACE INTO experiment_tags (experiment_id, key, value) VALUES (?1, ?2, ?3)",
                        params![id, t.key, t.value],
                    )?;
                }
                Ok(ExperimentId::from(id))
            })
        })
    }

    fn load_experiment(
        conn: &Connection,
        where_sql: &str,
        arg: &dyn rusqlite::ToSql,
    ) -> Result<Option<Experiment>> {
        let sql = format!(
            "SELECT experiment_id, name, artifact_location, lifecycle_stage, creation_time, \
             last_update_time FROM experiments WHERE {where_sql}"
        );
        let exp = conn
            .prepare_cached(&sql)?
            .query_row([arg], experiment_row)
            .optional()?;
        let Some(mut exp) = exp else { return Ok(None) };
        let key = experiment_key(&exp.experiment_id)?;
        let mut stmt =
            conn.prepare_cached("SELECT key, value FROM experiment_tags WHERE experiment_id = ?1")?;
        let rows = stmt.query_map([key], |r| Ok((r.get(0)?, r.get(1)?)))?;
        for row in rows {
            let (k, v) = row?;
            exp.tags.insert(k, v);
        }
        Ok(Some(exp))
    }

    pub(crate) fn get_experiment(&self, id: &ExperimentId) -> Result<Experiment> {
        let key = experiment_key(id)?;
        self.pool.with(|conn| {
            Self::load_experiment(conn, "experiment_id = ?1", &key)?
                .ok_or_else(|| Error::not_found("experiment", id.as_str()))
        })
    }

    pub(crate) fn get_experiment_by_name(&self, name: &str) -> Result<Experiment> {
        self.pool.with(|conn| {
            Self::load_experiment(conn, "name = ?1", &name)?
                .ok_or_else(|| Error::not_found("experiment", name))
        })
    }

    pub(crate) fn list_experiments(&self, view: ViewType) -> Result<Vec<Experiment>> {
        self.pool.with(|conn| {
            let sql = format!(
                "SELECT experiment_id FROM experiments WHERE {} ORDER BY experiment_id",
                stage_condition(view, "lifecycle_stage")
            );
            let ids: Vec<i64> = conn
                .prepare(&sql)?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            ids.into_iter()
                .filter_map(|id| Self::load_experiment(conn, "experiment_id = ?1", &id).transpose())
                .collect()
        })
    }

    pub(crate) fn set_experiment_stage(
        &self,
        id: &ExperimentId,
        stage: LifecycleStage,
    ) -> Result<()> {
        let key = experiment_key(id)?;
        self.pool.with(|conn| {
            write_tx(conn, |tx| {
                let n = tx.execute(
                    "UPDATE experiments SET lifecycle_stage = ?1, last_update_time = ?2 WHERE experiment_id = ?3",
                    params![stage.as_str(), now_ms(), key],
                )?;
                if n == 0 {
                    return Err(Error::not_found("experiment", id.as_str()));
                }
                tx.execute(
                    "UPDATE runs SET lifecycle_stage = ?1 WHERE experiment_id = ?2",
                    params![stage.as_str(), key],
                )?;
                Ok(())
            })
        })?;
        self.known_runs_clear();
        Ok(())
    }

    pub(crate) fn set_experiment_tag(&self, id: &ExperimentId, tag: &Tag) -> Result<()> {
        check_key("experiment tag key", &tag.key)?;
        check_registry_value("experiment tag value", &tag.value)?;
        let key = experiment_key(id)?;
        self.pool.with(|conn| {
            write_tx(conn, |tx| {
                let exists: bool = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM experiments WHERE experiment_id = ?1)",
                    [key],
                    |r| r.get(0),
                )?;
                if !exists {
                    return Err(Error::not_found("experiment", id.as_str()));
                }
                tx.execute(
                    "INSERT OR REPLACE INTO experiment_tags (experiment_id, key, value) VALUES (?1, ?2, ?3)",
                    params![key, tag.key, tag.value],
                )?;
                Ok(())
            })
        })
    }

    pub(crate) fn create_run(&self, options: CreateRunOptions) -> Result<RunInfo> {
        let exp = experiment_key(&options.experiment_id)?;
        for t in &options.tags {
            check_key("tag key", &t.key)?;
            check_tag_value(&t.key, &t.value)?;
        }
        let run_id = RunId::new();
        let start = options.start_time.unwrap_or_else(now_ms);
        let name = match options.run_name {
            Some(n) => {
                check_tag_value("run name", &n)?;
                n
            }
            None => format!("run-{}", &run_id.to_string()[24..]),
        };
        let user = options.user_id.unwrap_or_else(default_user);
        let artifact_uri = format!("{}/runs/{run_id}", self.artifact_root());
        let mut tags = options.tags;
        tags.push(Tag::new("mlflow.runName", name.clone()));
        tags.push(Tag::new("mlflow.user", user.clone()));
        if let Some(parent) = options.parent_run_id {
            tags.push(Tag::new(PARENT_RUN_TAG, parent.to_string()));
        }
        let info = RunInfo {
            run_id,
            experiment_id: options.experiment_id.clone(),
            run_name: name,
            user_id: user,
            status: RunStatus::Running,
            start_time: start,
            end_time: None,
            artifact_uri,
            lifecycle_stage: LifecycleStage::Active,
        };
        self.pool.with(|conn| {
            write_tx(conn, |tx| {
                let stage: Option<String> = tx
                    .query_row(
                        "SELECT lifecycle_stage FROM experiments WHERE experiment_id = ?1",
                        [exp],
                        |r| r.get(0),
                    )
                    .optional()?;
                match stage.as_deref() {
                    None => return Err(Error::not_found("experiment", options.experiment_id.as_str())),
                    Some("active") => {}
                    Some(_) => {
                        return Err(Error::Conflict(format!(
                            "experiment {} is deleted; restore it before creating runs in it",
                            options.experiment_id
                        )));
                    }
                }
                if let Some(parent) = &options.parent_run_id {
                    Self::run_stage(tx, parent)?;
                }
                tx.execute(
                    "INSERT INTO runs (run_id, experiment_id, run_name, user_id, status, start_time, \
                     heartbeat_time, artifact_uri) VALUES (?1, ?2, ?3, ?4, 'RUNNING', ?5, ?6, ?7)",
                    params![run_id.to_string(), exp, info.run_name, info.user_id, start, now_ms(), info.artifact_uri],
                )?;
                let mut stmt = tx.prepare_cached("INSERT OR REPLACE INTO tags (run_id, key, value) VALUES (?1, ?2, ?3)")?;
                for t in &tags {
                    stmt.execute(params![run_id.to_string(), t.key, t.value])?;
                }
                Ok(())
            })
        })?;
        self.known_runs_insert(run_id);
        self.writer.track_run(run_id);
        Ok(info)
    }

    /// The lifecycle stage of a run, or `NotFound`.
    fn run_stage(conn: &Connection, run: &RunId) -> Result<LifecycleStage> {
        let stage: Option<String> = conn
            .prepare_cached("SELECT lifecycle_stage FROM runs WHERE run_id = ?1")?
            .query_row([run.to_string()], |r| r.get(0))
            .optional()?;
        stage
            .ok_or_else(|| Error::not_found("run", run.to_string()))?
            .parse()
    }

    /// Checks that a run exists and is active, with a cache so the hot logging path does no I/O.
    pub(crate) fn ensure_active_run(&self, run: &RunId) -> Result<()> {
        if self.known_runs_contains(run) {
            return Ok(());
        }
        let stage = self.pool.with(|conn| Self::run_stage(conn, run))?;
        if stage != LifecycleStage::Active {
            return Err(Error::Conflict(format!(
                "run {run} is deleted; restore it before logging to it"
            )));
        }
        self.known_runs_insert(*run);
        Ok(())
    }

    pub(crate) fn load_run(conn: &Connection, run: &RunId) -> Result<Option<Run>> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs r WHERE r.run_id = ?1");
        let Some(info) = conn
            .prepare_cached(&sql)?
            .query_row([run.to_string()], run_info)
            .optional()?
        else {
            return Ok(None);
        };
        let id = run.to_string();
        let mut data = RunData::default();
        let mut stmt = conn.prepare_cached(
            "SELECT key, value, is_nan, step, timestamp FROM latest_metrics WHERE run_id = ?1",
        )?;
        for row in stmt.query_map([&id], |r| {
            let key: String = r.get(0)?;
            let value: Option<f64> = r.get(1)?;
            let is_nan: bool = r.get(2)?;
            Ok(Metric {
                value: if is_nan {
                    f64::NAN
                } else {
                    value.unwrap_or(f64::NAN)
                },
                step: r.get(3)?,
                timestamp: r.get(4)?,
                key,
            })
        })? {
            let m = row?;
            data.metrics.insert(m.key.clone(), m);
        }
        for (table, map) in [("params", &mut data.params), ("tags", &mut data.tags)] {
            let mut stmt =
                conn.prepare_cached(&format!("SELECT key, value FROM {table} WHERE run_id = ?1"))?;
            for row in stmt.query_map([&id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })? {
                let (k, v) = row?;
                map.insert(k, v);
            }
        }
        let mut inputs = Vec::new();
        let mut stmt = conn.prepare_cached(
            "SELECT d.digest, d.name, d.source_type, d.source, d.schema, d.profile, i.context \
             FROM run_inputs i JOIN datasets d ON d.digest = i.digest WHERE i.run_id = ?1 \
             ORDER BY i.context, d.name",
        )?;
        type InputRow = (
            String,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            String,
        );
        let rows = stmt.query_map([&id], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })?;
        for row in rows {
            let (digest, name, source_type, source, schema, profile, context): InputRow = row?;
            let dataset = Dataset {
                id: digest.parse()?,
                name,
                source_type,
                source,
                schema,
                profile,
            };
            inputs.push(DatasetInput { dataset, context });
        }
        Ok(Some(Run { info, data, inputs }))
    }

    pub(crate) fn get_run(&self, run: &RunId) -> Result<Run> {
        self.flush_if_pending()?;
        self.pool
            .with(|conn| Self::load_run(conn, run))?
            .ok_or_else(|| Error::not_found("run", run.to_string()))
    }

    pub(crate) fn end_run(&self, run: &RunId, status: RunStatus) -> Result<()> {
        if !status.is_terminal() {
            return Err(Error::invalid(
                "final run status",
                status.as_str(),
                "FINISHED, FAILED or KILLED",
            ));
        }
        self.writer.flush()?;
        self.pool.with(|conn| {
            write_tx(conn, |tx| {
                let n = tx.execute(
                    "UPDATE runs SET status = ?1, end_time = ?2 WHERE run_id = ?3",
                    params![status.as_str(), now_ms(), run.to_string()],
                )?;
                if n == 0 {
                    return Err(Error::not_found("run", run.to_string()));
                }
                Ok(())
            })
        })?;
        self.writer.untrack_run(run);
        Ok(())
    }

    pub(crate) fn set_run_name(&self, run: &RunId, name: &str) -> Result<()> {
        check_tag_value("run name", name)?;
        self.pool.with(|conn| {
            write_tx(conn, |tx| {
                let n = tx.execute(
                    "UPDATE runs SET run_name = ?1 WHERE run_id = ?2",
                    params![name, run.to_string()],
                )?;
                if n == 0 {
                    return Err(Error::not_found("run", run.to_string()));
                }
                tx.execute(
                    "INSERT OR REPLACE INTO tags (run_id, key, value) VALUES (?1, 'mlflow.runName', ?2)",
                    params![run.to_string(), name],
                )?;
                Ok(())
            })
        })
    }

    pub(crate) fn set_run_stage(&self, run: &RunId, stage: LifecycleStage) -> Result<()> {
        self.pool.with(|conn| {
            write_tx(conn, |tx| {
                let n = tx.execute(
                    "UPDATE runs SET lifecycle_stage = ?1 WHERE run_id = ?2",
                    params![stage.as_str(), run.to_string()],
                )?;
                if n == 0 {
                    return Err(Error::not_found("run", run.to_string()));
                }
                Ok(())
            })
        })?;
        self.known_runs_clear();
        Ok(())
    }

    pub(crate) fn log_batch(
        &self,
        run: &RunId,
        metrics: &[Metric],
        params_in: &[Param],
        tags: &[Tag],
    ) -> Result<()> {
        check_metrics(metrics)?;
        let mut seen: HashMap<&str, &str> = HashMap::new();
        for p in params_in {
            check_key("param key", &p.key)?;
            check_param_value(&p.key, &p.value)?;
            if let Some(prev) = seen.insert(&p.key, &p.value)
                && prev != p.value
            {
                return Err(Error::Conflict(format!(
                    "param {:?} appears twice in one batch with values {prev:?} and {:?}",
                    p.key, p.value
                )));
            }
        }
        for t in tags {
            check_key("tag key", &t.key)?;
            check_tag_value(&t.key, &t.value)?;
        }
        self.ensure_active_run(run)?;
        let id = run.to_string();
        self.pool.with(|conn| {
            write_tx(conn, |tx| {
                write_params(tx, &id, params_in)?;
                let mut stmt = tx.prepare_cached(
                    "INSERT OR REPLACE INTO tags (run_id, key, value) VALUES (?1, ?2, ?3)",
                )?;
                for t in tags {
                    stmt.execute(params![id, t.key, t.value])?;
                }
                write_metrics_now(tx, run, metrics)
            })
        })
    }

    pub(crate) fn delete_tag(&self, run: &RunId, key: &str) -> Result<()> {
        self.ensure_active_run(run)?;
        self.pool.with(|conn| {
            write_tx(conn, |tx| {
                let n = tx.execute(
                    "DELETE FROM tags WHERE run_id = ?1 AND key = ?2",
                    params![run.to_string(), key],
                )?;
                if n == 0 {
                    return Err(Error::not_found("tag", format!("{key} on run {run}")));
                }
                Ok(())
            })
        })
    }

    pub(crate) fn log_inputs(&self, run: &RunId, inputs: &[DatasetInput]) -> Result<()> {
        for i in inputs {
            if i.dataset.name.is_empty() || i.dataset.name.len() > 500 {
                return Err(Error::invalid(
                    "dataset name",
                    &i.dataset.name,
                    "1 to 500 characters",
                ));
            }
            if i.context.len() > 500 {
                return Err(Error::invalid(
                    "dataset context",
                    &i.context,
                    "at most 500 characters",
                ));
            }
        }
        self.ensure_active_run(run)?;
        let now = now_ms();
        self.pool.with(|conn| {
            write_tx(conn, |tx| {
                for i in inputs {
                    let d = &i.dataset;
                    tx.prepare_cached(
                        "INSERT OR IGNORE INTO datasets (digest, name, source_type, source, schema, profile, created) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    )?
                    .execute(params![d.id.as_str(), d.name, d.source_type, d.source, d.schema, d.profile, now])?;
                    tx.prepare_cached("INSERT OR IGNORE INTO run_inputs (run_id, digest, context) VALUES (?1, ?2, ?3)")?
                        .execute(params![run.to_string(), d.id.as_str(), i.context])?;
                    tx.prepare_cached(
                        "INSERT OR IGNORE INTO lineage_edges (src_kind, src_id, dst_kind, dst_id, relation, created) \
                         VALUES ('dataset', ?1, 'run', ?2, 'input', ?3)",
                    )?
                    .execute(params![d.id.as_str(), run.to_string(), now])?;
                }
                Ok(())
            })
        })
    }

    pub(crate) fn log_artifact(&self, run: &RunId, artifact: &RunArtifact) -> Result<()> {
        check_artifact_path(&artifact.path)?;
        self.ensure_active_run(run)?;
        self.pool.with(|conn| {
            write_tx(conn, |tx| {
                tx.execute(
                    "INSERT OR REPLACE INTO run_artifacts (run_id, path, digest, size) VALUES (?1, ?2, ?3, ?4)",
                    params![run.to_string(), artifact.path, artifact.digest.to_hex(), artifact.size as i64],
                )?;
                Ok(())
            })
        })
    }

    pub(crate) fn list_artifacts(&self, run: &RunId) -> Result<Vec<RunArtifact>> {
        self.pool.with(|conn| {
            Self::run_stage(conn, run)?;
            let mut stmt = conn.prepare_cached(
                "SELECT path, digest, size FROM run_artifacts WHERE run_id = ?1 ORDER BY path",
            )?;
            let rows = stmt.query_map([run.to_string()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (path, digest, size) = row?;
                out.push(RunArtifact {
                    path,
                    digest: digest.parse::<Digest>()?,
                    size: size as u64,
                });
            }
            Ok(out)
        })
    }

    pub(crate) fn get_metric_history(
        &self,
        run: &RunId,
        key: &str,
        options: HistoryOptions,
    ) -> Result<Vec<MetricPoint>> {
        check_key("metric key", key)?;
        self.flush_if_pending()?;
        let mut points = self.pool.with(|conn| {
            Self::run_stage(conn, run)?;
            let sid: Option<i64> = conn
                .prepare_cached(
                    "SELECT series_id FROM metric_series WHERE run_id = ?1 AND key = ?2",
                )?
                .query_row(params![run.to_string(), key], |r| r.get(0))
                .optional()?;
            let mut points = Vec::new();
            if let Some(sid) = sid {
                let mut stmt = conn.prepare_cached(
                    "SELECT data FROM metric_chunks WHERE series_id = ?1 ORDER BY chunk",
                )?;
                let mut rows = stmt.query([sid])?;
                while let Some(row) = rows.next()? {
                    let data = row
                        .get_ref(0)?
                        .as_blob()
                        .map_err(|e| Error::Database(e.to_string()))?;
                    chunks::decode_into(&mut points, data)?;
                }
            }
            Ok(points)
        })?;
        // Ordered by (step, timestamp, value); exact duplicates count once, as in MLflow.
        points.sort_by(|a, b| {
            (a.step, a.timestamp)
                .cmp(&(b.step, b.timestamp))
                .then(a.value.total_cmp(&b.value))
        });
        points.dedup_by(|a, b| {
            a.step == b.step && a.timestamp == b.timestamp && a.value.to_bits() == b.value.to_bits()
        });
        Ok(match options.max_points {
            Some(n) if n < points.len() => match options.method.unwrap_or(Downsample::M4) {
                Downsample::M4 => downsample::m4(&points, n),
                Downsample::Lttb => downsample::lttb(&points, n),
            },
            _ => points,
        })
    }

    pub(crate) fn search_runs(&self, options: SearchRunsOptions) -> Result<RunPage> {
        if options.max_results == 0 || options.max_results > 50_000 {
            return Err(Error::invalid(
                "max_results",
                options.max_results.to_string(),
                "between 1 and 50000",
            ));
        }
        let offset = match &options.page_token {
            None => 0,
            Some(t) => decode_page_token(t)?,
        };
        let compiled = compile_run_search(&options.filter, &options.order_by)?;
        let exp_keys: Vec<i64> = options
            .experiment_ids
            .iter()
            .map(experiment_key)
            .collect::<Result<_>>()?;
        let exp_cond = if exp_keys.is_empty() {
            "1".to_owned()
        } else {
            format!(
                "r.experiment_id IN ({})",
                exp_keys
                    .iter()
                    .map(|k| k.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            )
        };
        let cond = format!(
            "{exp_cond} AND {} AND ({})",
            stage_condition(options.view, "r.lifecycle_stage"),
            compiled.where_sql
        );
        let want = options.max_results + 1;
        self.flush_if_pending()?;
        self.pool.with(|conn| {
            let mut ids = match &compiled.leading_metric {
                Some(lead) => {
                    leading_metric_page(conn, lead, &cond, &compiled.where_params, offset, want)?
                }
                None => {
                    let sql = format!(
                        "SELECT r.run_id FROM runs r {} WHERE {cond} ORDER BY {} LIMIT ? OFFSET ?",
                        compiled.joins, compiled.order_sql
                    );
                    let mut args = compiled.params.clone();
                    args.push(Value::Integer(want as i64));
                    args.push(Value::Integer(offset as i64));
                    query_ids(conn, &sql, &args)?
                }
            };
            let more = ids.len() > options.max_results;
            ids.truncate(options.max_results);
            let mut runs = Vec::with_capacity(ids.len());
            for id in &ids {
                if let Some(run) = Self::load_run(conn, &id.parse()?)? {
                    runs.push(run);
                }
            }
            let next_page_token = more.then(|| encode_page_token(offset + options.max_results));
            Ok(RunPage {
                runs,
                next_page_token,
            })
        })
    }
}

fn query_ids(conn: &Connection, sql: &str, args: &[Value]) -> Result<Vec<String>> {
    Ok(conn
        .prepare_cached(sql)?
        .query_map(rusqlite::params_from_iter(args.iter()), |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

/// One page of runs ordered first by a metric, in three segments as MLflow orders them:
/// runs with a number (walking the `(key, value)` index in order, so the scan stops once the
/// page is full), then runs whose value is NaN, then runs without the metric.
fn leading_metric_page(
    conn: &Connection,
    lead: &LeadingMetric,
    cond: &str,
    where_params: &[Value],
    mut offset: usize,
    want: usize,
) -> Result<Vec<String>> {
    let (joins, rest) = (&lead.rest_joins, &lead.rest_order_sql);
    let dir = if lead.descending { "DESC" } else { "ASC" };
    let driver = format!(
        "FROM latest_metrics lead CROSS JOIN runs r ON r.run_id = lead.run_id {joins} WHERE lead.key = ?"
    );
    let segments = [
        (
            format!("{driver} AND lead.value IS NOT NULL AND {cond}"),
            format!("lead.value {dir}, {rest}"),
        ),
        (
            format!("{driver} AND lead.is_nan = 1 AND {cond}"),
            rest.clone(),
        ),
        (
            format!(
                "FROM runs r {joins} WHERE NOT EXISTS (SELECT 1 FROM latest_metrics lm \
                 WHERE lm.run_id = r.run_id AND lm.key = ?) AND {cond}"
            ),
            rest.clone(),
        ),
    ];
    let mut args = lead.rest_join_params.clone();
    args.push(Value::Text(lead.key.clone()));
    args.extend(where_params.iter().cloned());
    let mut out = Vec::new();
    for (from, order) in segments {
        let need = want - out.len();
        if need == 0 {
            break;
        }
        let mut page_args = args.clone();
        page_args.push(Value::Integer(need as i64));
        page_args.push(Value::Integer(offset as i64));
        let ids = query_ids(
            conn,
            &format!("SELECT r.run_id {from} ORDER BY {order} LIMIT ? OFFSET ?"),
            &page_args,
        )?;
        if ids.is_empty() && offset > 0 {
            // The offset may reach past this segment: skip all of it.
            let n: i64 = conn
                .prepare_cached(&format!("SELECT COUNT(*) {from}"))?
                .query_row(rusqlite::params_from_iter(args.iter()), |r| r.get(0))?;
            offset = offset.saturating_sub(n as usize);
            continue;
        }
        offset = 0;
        out.extend(ids);
    }
    Ok(out)
}

/// Inserts params, refusing to change a stored value.
fn write_params(tx: &Transaction<'_>, run: &str, params_in: &[Param]) -> Result<()> {
    let mut insert =
        tx.prepare_cached("INSERT OR IGNORE INTO params (run_id, key, value) VALUES (?1, ?2, ?3)")?;
    let mut read = tx.prepare_cached("SELECT value FROM params WHERE run_id = ?1 AND key = ?2")?;
    for p in params_in {
        if insert.execute(params![run, p.key, p.value])? == 0 {
            let old: String = read.query_row(params![run, p.key], |r| r.get(0))?;
            if old != p.value {
                return Err(Error::Conflict(format!(
                    "param {:?} of run {run} already has value {old:?}; refusing new value {:?} (params are write-once)",
                    p.key, p.value
                )));
            }
        }
    }
    Ok(())
}

/// Writes metric points inside the caller's transaction (the durable batch path).
fn write_metrics_now(tx: &Transaction<'_>, run: &RunId, metrics: &[Metric]) -> Result<()> {
    let mut by_key: BTreeMap<&str, Vec<MetricPoint>> = BTreeMap::new();
    for m in metrics {
        by_key.entry(&m.key).or_default().push(MetricPoint {
            step: m.step,
            timestamp: m.timestamp,
            value: m.value,
        });
    }
    let mut cache = HashMap::new();
    for (key, points) in by_key {
        write_series(tx, &mut cache, *run, key, &points)?;
    }
    Ok(())
}

fn encode_page_token(offset: usize) -> String {
    format!("o{offset:x}")
}

fn decode_page_token(token: &str) -> Result<usize> {
    token
        .strip_prefix('o')
        .and_then(|h| usize::from_str_radix(h, 16).ok())
        .ok_or_else(|| Error::invalid("page token", token, "a token returned by a previous search"))
}
