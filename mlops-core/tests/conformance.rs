//! The SQLite store passes the public conformance suite.

use mlops_core::{SqliteStore, conformance};

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    (dir, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store_passes_the_tracker_suite() {
    let (_dir, s) = store();
    conformance::tracker_suite(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store_passes_the_registry_suite() {
    let (_dir, s) = store();
    conformance::registry_suite(&s, &s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store_passes_the_artifact_suite() {
    let (_dir, s) = store();
    conformance::artifact_suite(&s).await;
}

#[test]
fn the_suites_run_without_a_tokio_runtime() {
    let (_dir, s) = store();
    futures::executor::block_on(conformance::registry_suite(&s, &s));
}
