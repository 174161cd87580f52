//! SQLite connections: pragmas, a small pool, and write transactions that wait for the
//! lock instead of failing with "database is locked".

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode, OpenFlags, Transaction, TransactionBehavior};

use super::schema::{SCHEMA_V1, SCHEMA_VERSION};
use crate::error::{Error, Result};

/// How long a write waits for the database lock before giving up.
const LOCK_WAIT: Duration = Duration::from_secs(300);
/// SQLite's own busy timeout per attempt; attempts repeat until [`LOCK_WAIT`].
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) fn sql_err(e: rusqlite::Error) -> Error {
    Error::Database(e.to_string())
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        sql_err(e)
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// Opens a connection with the store's pragmas.
pub(crate) fn open_connection(path: &Path, synchronous_full: bool) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute_batch(&format!(
        "PRAGMA synchronous = {}; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536; \
         PRAGMA mmap_size = 268435456;",
        if synchronous_full { "FULL" } else { "NORMAL" }
    ))?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Runs `f` in a `BEGIN IMMEDIATE` transaction and commits. Waiting for the write lock
/// repeats until [`LOCK_WAIT`], so concurrent writers queue instead of failing.
pub(crate) fn write_tx<T>(
    conn: &mut Connection,
    mut f: impl FnMut(&Transaction<'_>) -> Result<T>,
) -> Result<T> {
    let start = Instant::now();
    loop {
        let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
            Ok(tx) => tx,
            Err(e) if is_busy(&e) && start.elapsed() < LOCK_WAIT => continue,
            Err(e) => return Err(e.into()),
        };
        let out = f(&tx)?;
        match tx.commit() {
            Ok(()) => return Ok(out),
            Err(e) if is_busy(&e) && start.elapsed() < LOCK_WAIT => {
                std::thread::sleep(Duration::from_millis(1));
                continue;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Switches to WAL and creates or upgrades the schema; safe when processes race.
pub(crate) fn init_schema(conn: &mut Connection) -> Result<()> {
    let start = Instant::now();
    loop {
        let mode: rusqlite::Result<String> =
            conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0));
        match mode {
            Ok(m) if m.eq_ignore_ascii_case("wal") => break,
            Ok(m) => {
                return Err(Error::Database(format!(
                    "could not switch the database to WAL mode (got {m:?})"
                )));
            }
            Err(e) if is_busy(&e) && start.elapsed() < LOCK_WAIT => {
                std::thread::sleep(Duration::from_millis(5))
            }
            Err(e) => return Err(e.into()),
        }
    }
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    if version > SCHEMA_VERSION {
        return Err(Error::invalid(
            "store schema version",
            version.to_string(),
            format!("at most {SCHEMA_VERSION}: the store was written by a newer mlops"),
        ));
    }
    write_tx(conn, |tx| {
        let v: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if v < SCHEMA_VERSION {
            tx.execute_batch(SCHEMA_V1)?;
            tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
        }
        Ok(())
    })
}

/// A small pool of connections for reads and synchronous writes.
pub(crate) struct Pool {
    path: PathBuf,
    synchronous_full: bool,
    idle: Mutex<Vec<Connection>>,
}

impl Pool {
    pub(crate) fn new(path: PathBuf, synchronous_full: bool, first: Connection) -> Self {
        Pool {
            path,
            synchronous_full,
            idle: Mutex::new(vec![first]),
        }
    }

    /// Runs `f` with a pooled connection (opening one when all are busy).
    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let taken = self.idle.lock().map_err(poisoned)?.pop();
        let mut conn = match taken {
            Some(c) => c,
            None => open_connection(&self.path, self.synchronous_full)?,
        };
        let out = f(&mut conn);
        let mut idle = self.idle.lock().map_err(poisoned)?;
        if idle.len() < 8 {
            idle.push(conn);
        }
        out
    }
}

pub(crate) fn poisoned<T>(_: std::sync::PoisonError<T>) -> Error {
    Error::Closed("a thread panicked while holding the store's lock".into())
}
