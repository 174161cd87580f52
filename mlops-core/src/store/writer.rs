//! The background metric writer: log calls enqueue, one thread group-commits.
//!
//! A call to `log_metric` validates the point and pushes it onto an in-memory queue under a
//! mutex (no I/O). The writer thread wakes when the queue holds `batch_points` points, when
//! `max_delay` has passed, or when someone calls `flush`; it then writes everything queued
//! in one transaction. `flush` returns once every point enqueued before it is committed.
//! The same thread keeps the heartbeat of this store's live runs and marks runs whose
//! process died (stale heartbeat) as `FAILED`.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::chunks;
use super::db::{open_connection, poisoned, write_tx};
use crate::error::{Error, Result};
use crate::ids::RunId;
use crate::tracking::{MetricPoint, now_ms};

/// A queued point.
pub(crate) struct Pending {
    pub run: RunId,
    pub key: String,
    pub point: MetricPoint,
}

#[derive(Default)]
struct State {
    queue: Vec<Pending>,
    /// Points ever enqueued (a sequence number).
    enqueued: u64,
    /// Points committed (or failed) so far.
    done: u64,
    /// An error of the writer not yet reported by `flush`.
    error: Option<String>,
    flush_requested: bool,
    shutdown: bool,
    live_runs: HashSet<RunId>,
}

/// Tuning of the writer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WriterConfig {
    pub batch_points: usize,
    pub max_delay: Duration,
    pub max_queue: usize,
    pub heartbeat_interval: Duration,
    pub stale_after: Duration,
}

pub(crate) struct Writer {
    state: Mutex<State>,
    /// Wakes the writer thread.
    wake: Condvar,
    /// Wakes callers waiting for a flush or for queue space.
    progress: Condvar,
    config: WriterConfig,
}

impl Writer {
    pub(crate) fn start(
        path: PathBuf,
        synchronous_full: bool,
        config: WriterConfig,
    ) -> Result<(Arc<Writer>, JoinHandle<()>)> {
        let conn = open_connection(&path, synchronous_full)?;
        let writer = Arc::new(Writer {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            progress: Condvar::new(),
            config,
        });
        let w = writer.clone();
        let handle = std::thread::Builder::new()
            .name("mlops-store-writer".into())
            .spawn(move || w.run(conn))
            .map_err(|e| Error::io("writer thread", e))?;
        Ok((writer, handle))
    }

    /// Enqueues points; blocks only while the queue is full (backpressure).
    pub(crate) fn enqueue(&self, points: impl ExactSizeIterator<Item = Pending>) -> Result<()> {
        let n = points.len();
        let mut st = self.state.lock().map_err(poisoned)?;
        while st.queue.len() + n > self.config.max_queue && !st.queue.is_empty() {
            if st.shutdown {
                return Err(Error::Closed("the store's writer has stopped".into()));
            }
            self.wake.notify_one();
            st = self.progress.wait(st).map_err(poisoned)?;
        }
        if st.shutdown {
            return Err(Error::Closed("the store's writer has stopped".into()));
        }
        let was = st.queue.len();
        st.queue.extend(points);
        st.enqueued += n as u64;
        if was < self.config.batch_points && st.queue.len() >= self.config.batch_points {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// True when points are queued and not yet committed.
    pub(crate) fn has_pending(&self) -> bool {
        self.state
            .lock()
            .map(|st| st.done < st.enqueued)
            .unwrap_or(false)
    }

    /// Waits until every point enqueued before this call is committed.
    pub(crate) fn flush(&self) -> Result<()> {
        let mut st = self.state.lock().map_err(poisoned)?;
        let target = st.enqueued;
        while st.done < target {
            if st.shutdown {
                return Err(Error::Closed("the store's writer has stopped".into()));
            }
            st.flush_requested = true;
            self.wake.notify_one();
            st = self.progress.wait(st).map_err(poisoned)?;
        }
        match st.error.take() {
            Some(e) => Err(Error::Database(format!("metric points were lost: {e}"))),
            None => Ok(()),
        }
    }

    /// Keeps the heartbeat of a run created by this store.
    pub(crate) fn track_run(&self, run: RunId) {
        if let Ok(mut st) = self.state.lock() {
            st.live_runs.insert(run);
        }
    }

    /// Stops the heartbeat of a run.
    pub(crate) fn untrack_run(&self, run: &RunId) {
        if let Ok(mut st) = self.state.lock() {
            st.live_runs.remove(run);
        }
    }

    /// Asks the thread to drain the queue and stop.
    pub(crate) fn shutdown(&self) {
        if let Ok(mut st) = self.state.lock() {
            st.shutdown = true;
        }
        self.wake.notify_one();
        self.progress.notify_all();
    }

    fn run(&self, mut conn: Connection) {
        let mut series_ids: HashMap<(RunId, String), i64> = HashMap::new();
        let mut next_beat = Instant::now() + self.config.heartbeat_interval;
        loop {
            let (batch, target, live, stop) = {
                let Ok(mut st) = self.state.lock() else {
                    return;
                };
                let deadline = Instant::now() + self.config.max_delay;
                while st.queue.len() < self.config.batch_points
                    && !st.flush_requested
                    && !st.shutdown
                {
                    let now = Instant::now();
                    let until = deadline.min(next_beat);
                    if now >= until {
                        break;
                    }
                    let Ok((s, _)) = self.wake.wait_timeout(st, until - now) else {
                        return;
                    };
                    st = s;
                }
                st.flush_requested = false;
                let batch = std::mem::take(&mut st.queue);
                let live: Vec<RunId> = if Instant::now() >= next_beat {
                    st.live_runs.iter().copied().collect()
                } else {
                    Vec::new()
                };
                (batch, st.enqueued, live, st.shutdown)
            };
            // Room in the queue again: wake producers blocked by backpressure.
            self.progress.notify_all();
            let mut error = None;
            if !batch.is_empty()
                && let Err(e) = write_tx(&mut conn, |tx| write_points(tx, &batch, &mut series_ids))
            {
                series_ids.clear();
                error = Some(e.to_string());
            }
            if Instant::now() >= next_beat {
                // A failed heartbeat is retried at the next tick; it loses no data.
                let _ = heartbeat(&mut conn, &live, self.config.stale_after);
                next_beat = Instant::now() + self.config.heartbeat_interval;
            }
            if let Ok(mut st) = self.state.lock() {
                st.done = target;
                if let Some(e) = error {
                    st.error.get_or_insert(e);
                }
                if stop && st.queue.is_empty() {
                    drop(st);
                    self.progress.notify_all();
                    return;
                }
            }
            self.progress.notify_all();
        }
    }
}

/// Writes a batch of points: appends them to their series' chunks and raises
/// `latest_metrics` where a point is later than the stored one.
fn write_points(
    tx: &Transaction<'_>,
    batch: &[Pending],
    series_ids: &mut HashMap<(RunId, String), i64>,
) -> Result<()> {
    // Group by series, keeping each series' arrival order.
    let mut groups: HashMap<(RunId, &str), Vec<MetricPoint>> = HashMap::new();
    for p in batch {
        groups
            .entry((p.run, p.key.as_str()))
            .or_default()
            .push(p.point);
    }
    for ((run, key), points) in groups {
        write_series(tx, series_ids, run, key, &points)?;
    }
    Ok(())
}

/// Appends points to one series and raises its latest point where they are later.
pub(crate) fn write_series(
    tx: &Transaction<'_>,
    series_ids: &mut HashMap<(RunId, String), i64>,
    run: RunId,
    key: &str,
    points: &[MetricPoint],
) -> Result<()> {
    let sid = series_id(tx, series_ids, run, key)?;
    chunks::append(tx, sid, points)?;
    let latest = points.iter().max_by(|a, b| {
        (a.step, a.timestamp)
            .cmp(&(b.step, b.timestamp))
            .then(a.value.total_cmp(&b.value))
    });
    match latest {
        Some(l) => upsert_latest(tx, &run, key, l),
        None => Ok(()),
    }
}

fn series_id(
    tx: &Transaction<'_>,
    cache: &mut HashMap<(RunId, String), i64>,
    run: RunId,
    key: &str,
) -> Result<i64> {
    if let Some(&id) = cache.get(&(run, key.to_owned())) {
        return Ok(id);
    }
    let run_s = run.to_string();
    let existing: Option<i64> = tx
        .prepare_cached("SELECT series_id FROM metric_series WHERE run_id = ?1 AND key = ?2")?
        .query_row(params![run_s, key], |r| r.get(0))
        .optional()?;
    let id = match existing {
        Some(id) => id,
        None => {
            tx.prepare_cached("INSERT INTO metric_series (run_id, key) VALUES (?1, ?2)")?
                .execute(params![run_s, key])?;
            tx.last_insert_rowid()
        }
    };
    cache.insert((run, key.to_owned()), id);
    Ok(id)
}

/// Raises the latest point of a series when `p` is later by `(step, timestamp, value)`.
fn upsert_latest(tx: &Transaction<'_>, run: &RunId, key: &str, p: &MetricPoint) -> Result<()> {
    let (value, is_nan) = if p.value.is_nan() {
        (None, 1)
    } else {
        (Some(p.value), 0)
    };
    tx.prepare_cached(
        "INSERT INTO latest_metrics (run_id, key, value, is_nan, step, timestamp) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value, \
           is_nan = excluded.is_nan, step = excluded.step, timestamp = excluded.timestamp \
         WHERE (excluded.step, excluded.timestamp, COALESCE(excluded.value, -1e308)) \
             > (latest_metrics.step, latest_metrics.timestamp, COALESCE(latest_metrics.value, -1e308))",
    )?
    .execute(params![run.to_string(), key, value, is_nan, p.step, p.timestamp])?;
    Ok(())
}

/// Refreshes the heartbeat of live runs and fails runs whose heartbeat went stale.
fn heartbeat(conn: &mut Connection, live: &[RunId], stale_after: Duration) -> Result<()> {
    let now = now_ms();
    write_tx(conn, |tx| {
        let mut beat = tx.prepare_cached(
            "UPDATE runs SET heartbeat_time = ?1 WHERE run_id = ?2 AND status = 'RUNNING'",
        )?;
        for run in live {
            beat.execute(params![now, run.to_string()])?;
        }
        Ok(())
    })?;
    reap_stale_runs(conn, stale_after)
}

/// Marks `RUNNING` runs whose heartbeat is older than `stale_after` as `FAILED`, ended at
/// their last heartbeat.
pub(crate) fn reap_stale_runs(conn: &mut Connection, stale_after: Duration) -> Result<()> {
    let cutoff = now_ms() - stale_after.as_millis() as i64;
    let any: bool = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM runs WHERE status = 'RUNNING' AND heartbeat_time < ?1)",
        )?
        .query_row([cutoff], |r| r.get(0))?;
    if any {
        write_tx(conn, |tx| {
            tx.prepare_cached(
                "UPDATE runs SET status = 'FAILED', end_time = heartbeat_time \
                 WHERE status = 'RUNNING' AND heartbeat_time < ?1",
            )?
            .execute([cutoff])?;
            Ok(())
        })?;
    }
    Ok(())
}
