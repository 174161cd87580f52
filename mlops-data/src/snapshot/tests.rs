use arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray};
use mlops_core::store::ObjectArtifactStore;

use super::*;

fn table(ids: &[i64], score: &[f64], plan: &[&str]) -> RecordBatch {
    RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from(ids.to_vec())) as ArrayRef),
        (
            "score",
            Arc::new(Float64Array::from(score.to_vec())) as ArrayRef,
        ),
        (
            "plan",
            Arc::new(StringArray::from(plan.to_vec())) as ArrayRef,
        ),
    ])
    .unwrap()
}

fn big(n: i64) -> RecordBatch {
    let ids: Vec<i64> = (0..n).collect();
    let score: Vec<f64> = ids.iter().map(|i| *i as f64 / 7.0).collect();
    let plan: Vec<&str> = ids
        .iter()
        .map(|i| ["a", "b", "c"][(*i % 3) as usize])
        .collect();
    table(&ids, &score, &plan)
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn the_id_is_the_content_not_the_layout_and_parts_are_stored_once() {
    block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectArtifactStore::local(dir.path()).unwrap();
        let t = big(10_000);
        let (a, ha) = snapshot(
            &store,
            "t",
            std::slice::from_ref(&t),
            SnapshotOptions {
                rows_per_file: 4_000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(a.parts.len(), 3);
        assert_eq!(
            a.parts.iter().map(|p| p.rows).collect::<Vec<_>>(),
            [4_000, 4_000, 2_000]
        );
        // Other batch boundaries, another part size and compression: the same version.
        let pieces = [t.slice(0, 123), t.slice(123, 9_877)];
        let (b, hb) = snapshot(
            &store,
            "t again",
            &pieces,
            SnapshotOptions {
                rows_per_file: 10_000,
                zstd_level: 9,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(a.id, b.id);
        assert_ne!(ha, hb, "the manifests differ (name, parts)");
        // Re-snapshotting identical content adds only a manifest (new timestamp).
        let before = store.list().await.unwrap().len();
        snapshot(
            &store,
            "t",
            std::slice::from_ref(&t),
            SnapshotOptions {
                rows_per_file: 4_000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert!(store.list().await.unwrap().len() <= before + 1);

        let back = read_snapshot(&store, &ha).await.unwrap();
        assert_eq!(back.manifest, a);
        assert_eq!(dataset_id(&t.schema(), &back.batches).unwrap(), a.id);
        assert_eq!(
            back.batches.iter().map(|b| b.num_rows()).sum::<usize>(),
            10_000
        );
    });
}

#[test]
fn one_changed_cell_is_a_new_version_and_the_diff_says_what_changed() {
    block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectArtifactStore::local(dir.path()).unwrap();
        let v1 = table(&[1, 2, 3, 3], &[0.1, 0.2, 0.3, 0.3], &["a", "b", "c", "c"]);
        let (m1, _) = snapshot(
            &store,
            "v1",
            std::slice::from_ref(&v1),
            SnapshotOptions::default(),
        )
        .await
        .unwrap();
        // v2: row 2 changes a cell, one duplicate of row 3 is gone, a new row appears.
        let v2 = table(&[4, 1, 2], &[0.4, 0.1, 0.25], &["d", "a", "b"]);
        let (m2, h2) = snapshot(
            &store,
            "v2",
            std::slice::from_ref(&v2),
            SnapshotOptions {
                parent: Some(m1.id.clone()),
                transform: Some("fix scores".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_ne!(m1.id, m2.id);
        let back = load_manifest(&store, &h2).await.unwrap();
        assert_eq!(back.parent.as_ref(), Some(&m1.id));
        assert_eq!(back.transform.as_deref(), Some("fix scores"));

        let d = diff(std::slice::from_ref(&v1), &[v2]).unwrap();
        assert_eq!((d.rows_old, d.rows_new), (4, 3));
        // Unchanged: id 1. Removed: id 2 (old score), both id 3. Added: id 2 (new), id 4.
        assert_eq!((d.rows_unchanged, d.rows_removed, d.rows_added), (1, 3, 2));
        assert!(d.columns_added.is_empty() && d.type_changes.is_empty());

        // Schema changes: a column dropped, one added, one retyped.
        let v3 = RecordBatch::try_from_iter([
            (
                "id",
                Arc::new(StringArray::from(vec!["1", "2"])) as ArrayRef,
            ),
            (
                "plan",
                Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef,
            ),
            (
                "region",
                Arc::new(StringArray::from(vec!["eu", "us"])) as ArrayRef,
            ),
        ])
        .unwrap();
        let d = diff(&[v1], &[v3]).unwrap();
        assert_eq!(d.columns_added, ["region"]);
        assert_eq!(d.columns_removed, ["score"]);
        assert_eq!(
            d.type_changes,
            [("id".to_string(), "Int64".to_string(), "Utf8".to_string())]
        );
        assert_eq!(d.compared_columns, ["plan"]);
        assert_eq!((d.rows_unchanged, d.rows_removed, d.rows_added), (2, 2, 0));
    });
}

#[test]
fn a_manifest_that_lies_is_refused() {
    block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectArtifactStore::local(dir.path()).unwrap();
        let (mut m, _) = snapshot(&store, "t", &[big(10)], SnapshotOptions::default())
            .await
            .unwrap();
        let (other, _) = snapshot(&store, "u", &[big(11)], SnapshotOptions::default())
            .await
            .unwrap();
        m.id = other.id;
        let forged = store
            .put(Bytes::from(serde_json::to_vec(&m).unwrap()))
            .await
            .unwrap();
        let e = read_snapshot(&store, &forged)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("fingerprint"), "{e}");
        m.format = "mlops.dataset/99".into();
        let future = store
            .put(Bytes::from(serde_json::to_vec(&m).unwrap()))
            .await
            .unwrap();
        let e = read_snapshot(&store, &future)
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("mlops.dataset/99"), "{e}");
        let e = snapshot(&store, "empty", &[], SnapshotOptions::default())
            .await
            .unwrap_err();
        assert!(e.to_string().contains("no batches"));
    });
}
