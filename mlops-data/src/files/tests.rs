use std::path::Path;
use std::time::{Duration, SystemTime};

use proptest::prelude::*;

use super::*;

/// The fixture's digest from `fixtures/files/golden.py` (Python `blake3` 1.0.11).
const GOLDEN_TREE: &str = "4f0027c0b7ea4c5266ede2596cc8db429c7d9089989774272d0c77f3c2895294";
const EMPTY: &str = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262";

/// A margin short enough for tests, with [`settle`] waiting past it.
const MARGIN: Duration = Duration::from_millis(50);

/// Waits until files written so far are older than [`MARGIN`], so their records are trusted.
fn settle() {
    std::thread::sleep(MARGIN * 3);
}

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn cached(cache: &Path) -> FileOptions {
    FileOptions {
        cache_dir: Some(cache.to_path_buf()),
        racy_margin: MARGIN,
        ..Default::default()
    }
}

fn plain() -> FileOptions {
    FileOptions::default()
}

/// Five files, two nested levels, an empty file.
fn sample_tree(root: &Path) {
    write(root, "a.txt", b"alpha");
    write(root, "sub/b.txt", b"bravo");
    write(root, "sub/deeper/c.bin", &[0u8, 1, 2, 255]);
    write(root, "sub/deeper/empty", b"");
    write(root, "z/last.txt", b"zulu");
}

fn record_count(cache: &Path) -> usize {
    StatCache::load(&cache.join(STAT_CACHE_FILE))
        .unwrap()
        .entries
        .len()
}

#[test]
fn golden_fixture_matches_the_independent_python_digest() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/files/tree");
    let fp = fingerprint_path(&root, &plain()).unwrap();
    assert_eq!(fp.digest, GOLDEN_TREE);
    let paths: Vec<&str> = fp.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "README.txt",
            "data.txt",
            "data/a.csv",
            "data/nested/deep/b.bin",
            "données/é.txt",
            "empty.bin"
        ]
    );
    let b = &fp.files[3];
    assert_eq!(b.size, 1280);
    assert_eq!(
        b.digest,
        "7586fa21246e8e17b384b8fe78948d916880e5ce4a80d030f45504952a69e050"
    );
    assert_eq!((fp.files[5].size, fp.files[5].digest.as_str()), (0, EMPTY));
    assert_eq!((fp.n_files, fp.total_bytes, fp.n_cached), (6, 1333, 0));
    assert_eq!(fp.bytes_hashed, 1333);
    assert_eq!(blake3::hash(&fp.manifest()).to_hex().as_str(), GOLDEN_TREE);
}

#[test]
fn manifest_has_the_documented_bytes() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "b/x", b"hi");
    write(dir.path(), "a", b"");
    let fp = fingerprint_path(dir.path(), &plain()).unwrap();
    let hi = blake3::hash(b"hi").to_hex();
    let expected = format!("a\x000\x00{EMPTY}\nb/x\x002\x00{hi}\n");
    assert_eq!(fp.manifest(), expected.as_bytes());
    assert_eq!(
        fp.digest,
        blake3::hash(expected.as_bytes()).to_hex().as_str()
    );
}

#[test]
fn empty_folders_do_not_count_and_empty_files_do() {
    let dir = tempfile::tempdir().unwrap();
    sample_tree(dir.path());
    let before = fingerprint_path(dir.path(), &plain()).unwrap();
    std::fs::create_dir_all(dir.path().join("sub/nothing/here")).unwrap();
    std::fs::create_dir(dir.path().join("void")).unwrap();
    let after = fingerprint_path(dir.path(), &plain()).unwrap();
    assert_eq!(after, before);
    let empty = before
        .files
        .iter()
        .find(|f| f.path == "sub/deeper/empty")
        .unwrap();
    assert_eq!((empty.size, empty.digest.as_str()), (0, EMPTY));
    assert_eq!(before.n_files, 5);

    let only_empty = tempfile::tempdir().unwrap();
    std::fs::create_dir(only_empty.path().join("void")).unwrap();
    let fp = fingerprint_path(only_empty.path(), &plain()).unwrap();
    assert_eq!((fp.n_files, fp.digest.as_str()), (0, EMPTY));
}

#[test]
fn same_bytes_give_the_same_digest_whatever_the_creation_order_and_threads() {
    let one = tempfile::tempdir().unwrap();
    sample_tree(one.path());
    let two = tempfile::tempdir().unwrap();
    for (rel, bytes) in [
        ("z/last.txt", &b"zulu"[..]),
        ("sub/deeper/empty", b""),
        ("sub/deeper/c.bin", &[0, 1, 2, 255]),
        ("sub/b.txt", b"bravo"),
        ("a.txt", b"alpha"),
    ] {
        write(two.path(), rel, bytes);
    }
    let reference = fingerprint_path(one.path(), &plain()).unwrap();
    for threads in [1, 2, 5] {
        let opts = FileOptions {
            threads,
            ..Default::default()
        };
        assert_eq!(fingerprint_path(one.path(), &opts).unwrap(), reference);
        assert_eq!(fingerprint_path(two.path(), &opts).unwrap(), reference);
    }
}

#[test]
fn one_changed_byte_gives_a_new_digest_and_only_that_file_is_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    sample_tree(dir.path());
    settle();
    let opts = cached(cache.path());
    let first = fingerprint_path(dir.path(), &opts).unwrap();
    assert_eq!((first.n_cached, first.bytes_hashed), (0, 18));
    let warm = fingerprint_path(dir.path(), &opts).unwrap();
    assert_eq!((warm.n_cached, warm.bytes_hashed), (5, 0));
    assert_eq!(warm.digest, first.digest);

    // Same size, one byte different.
    write(dir.path(), "sub/b.txt", b"brave");
    let second = fingerprint_path(dir.path(), &opts).unwrap();
    assert_ne!(second.digest, first.digest);
    assert_eq!((second.n_cached, second.bytes_hashed), (4, 5));
    let uncached = fingerprint_path(dir.path(), &plain()).unwrap();
    assert_eq!(second, uncached.with_counts(4, 5));
}

impl TreeFingerprint {
    fn with_counts(mut self, n_cached: usize, bytes_hashed: u64) -> Self {
        self.n_cached = n_cached;
        self.bytes_hashed = bytes_hashed;
        self
    }
}

#[test]
fn a_touched_file_is_read_again_and_keeps_its_digest() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    sample_tree(dir.path());
    settle();
    let opts = cached(cache.path());
    let first = fingerprint_path(dir.path(), &opts).unwrap();
    let f = std::fs::File::options()
        .write(true)
        .open(dir.path().join("a.txt"))
        .unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
    drop(f);
    let second = fingerprint_path(dir.path(), &opts).unwrap();
    assert_eq!(second.digest, first.digest);
    assert_eq!((second.n_cached, second.bytes_hashed), (4, 5));
}

#[test]
fn deleted_added_and_renamed_files_change_the_digest_and_the_cache_follows() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    sample_tree(dir.path());
    settle();
    let opts = cached(cache.path());
    let first = fingerprint_path(dir.path(), &opts).unwrap();
    assert_eq!(record_count(cache.path()), 5);

    std::fs::remove_file(dir.path().join("z/last.txt")).unwrap();
    let deleted = fingerprint_path(dir.path(), &opts).unwrap();
    assert_ne!(deleted.digest, first.digest);
    assert_eq!(
        (deleted.n_files, deleted.n_cached, deleted.bytes_hashed),
        (4, 4, 0)
    );
    assert_eq!(
        record_count(cache.path()),
        4,
        "the deleted file's record is dropped"
    );

    write(dir.path(), "new/file.txt", b"november");
    settle();
    let added = fingerprint_path(dir.path(), &opts).unwrap();
    assert_eq!(
        (added.n_files, added.n_cached, added.bytes_hashed),
        (5, 4, 8)
    );
    assert_eq!(record_count(cache.path()), 5);

    std::fs::rename(dir.path().join("a.txt"), dir.path().join("renamed.txt")).unwrap();
    let renamed = fingerprint_path(dir.path(), &opts).unwrap();
    assert_ne!(renamed.digest, added.digest);
    assert!(renamed.files.iter().any(|f| f.path == "renamed.txt"));
    assert!(!renamed.files.iter().any(|f| f.path == "a.txt"));
    assert_eq!(
        (renamed.n_cached, renamed.bytes_hashed),
        (4, 5),
        "only the renamed file"
    );
    assert_eq!(record_count(cache.path()), 5);
    let uncached = fingerprint_path(dir.path(), &plain()).unwrap();
    assert_eq!(renamed, uncached.with_counts(4, 5));
}

#[test]
fn files_changed_within_the_racy_margin_of_their_record_are_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    sample_tree(dir.path());
    let opts = FileOptions {
        cache_dir: Some(cache.path().to_path_buf()),
        racy_margin: Duration::from_secs(3600),
        ..Default::default()
    };
    let first = fingerprint_path(dir.path(), &opts).unwrap();
    let second = fingerprint_path(dir.path(), &opts).unwrap();
    assert_eq!(second.digest, first.digest);
    assert_eq!((second.n_cached, second.bytes_hashed), (0, 18));
    // With the default margin, files written just now are racy too.
    let default = FileOptions {
        cache_dir: Some(cache.path().to_path_buf()),
        ..Default::default()
    };
    fingerprint_path(dir.path(), &default).unwrap();
    assert_eq!(fingerprint_path(dir.path(), &default).unwrap().n_cached, 0);
}

#[test]
fn a_damaged_cache_is_ignored_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    sample_tree(dir.path());
    settle();
    let opts = cached(cache.path());
    let first = fingerprint_path(dir.path(), &opts).unwrap();
    let file = cache.path().join(STAT_CACHE_FILE);
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[30] ^= 0x55;
    std::fs::write(&file, &bytes).unwrap();
    let second = fingerprint_path(dir.path(), &opts).unwrap();
    assert_eq!(
        (second.digest.as_str(), second.n_cached),
        (first.digest.as_str(), 0)
    );
    let third = fingerprint_path(dir.path(), &opts).unwrap();
    assert_eq!(third.n_cached, 5);
    let leftovers: Vec<_> = std::fs::read_dir(cache.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left");
}

#[test]
fn roots_sharing_a_cache_keep_each_others_records() {
    let one = tempfile::tempdir().unwrap();
    let two = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    sample_tree(one.path());
    write(two.path(), "x", b"x");
    settle();
    let opts = cached(cache.path());
    fingerprint_path(one.path(), &opts).unwrap();
    fingerprint_path(two.path(), &opts).unwrap();
    assert_eq!(record_count(cache.path()), 6);
    assert_eq!(fingerprint_path(one.path(), &opts).unwrap().n_cached, 5);
    // A sub-folder's run prunes nothing outside it.
    std::fs::remove_file(one.path().join("sub/b.txt")).unwrap();
    fingerprint_path(&one.path().join("sub"), &opts).unwrap();
    assert_eq!(record_count(cache.path()), 5);
    assert_eq!(fingerprint_path(two.path(), &opts).unwrap().n_cached, 1);
}

#[test]
fn a_cache_folder_inside_the_tree_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    sample_tree(dir.path());
    let reference = fingerprint_path(dir.path(), &plain()).unwrap();
    let opts = cached(&dir.path().join("sub/.cache"));
    let first = fingerprint_path(dir.path(), &opts).unwrap();
    assert!(dir.path().join("sub/.cache").join(STAT_CACHE_FILE).exists());
    let second = fingerprint_path(dir.path(), &opts).unwrap();
    assert_eq!(first.digest, reference.digest);
    assert_eq!(second.digest, reference.digest);
}

#[test]
fn the_root_folder_cannot_be_its_own_cache_folder() {
    let dir = tempfile::tempdir().unwrap();
    sample_tree(dir.path());
    let err = fingerprint_path(dir.path(), &cached(dir.path())).unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    assert!(err.to_string().contains("cache folder"), "{err}");
}

#[test]
fn a_single_file_is_a_one_entry_tree_named_by_its_file_name() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "model.bin", b"weights");
    let cache = tempfile::tempdir().unwrap();
    let fp = fingerprint_path(&dir.path().join("model.bin"), &cached(cache.path())).unwrap();
    assert_eq!(fp.files.len(), 1);
    assert_eq!(fp.files[0].path, "model.bin");
    assert_eq!(
        fp.files[0].digest,
        blake3::hash(b"weights").to_hex().as_str()
    );
    let manifest = format!("model.bin\x007\x00{}\n", fp.files[0].digest);
    assert_eq!(
        fp.digest,
        blake3::hash(manifest.as_bytes()).to_hex().as_str()
    );
    assert_eq!(record_count(cache.path()), 1);
}

#[test]
fn big_files_hash_as_one_buffer_would() {
    let dir = tempfile::tempdir().unwrap();
    let bytes: Vec<u8> = (0..(BIG_FILE as usize + BIG_BLOCK + 3))
        .map(|i| (i * 31 % 251) as u8)
        .collect();
    write(dir.path(), "big", &bytes);
    write(dir.path(), "medium", &bytes[..SMALL_BUF * 2 + 1]);
    write(dir.path(), "block", &bytes[..BIG_BLOCK * 3]);
    let fp = fingerprint_path(dir.path(), &plain()).unwrap();
    let digest = |b: &[u8]| blake3::hash(b).to_hex().to_string();
    assert_eq!(fp.files[0].digest, digest(&bytes));
    assert_eq!(fp.files[1].digest, digest(&bytes[..BIG_BLOCK * 3]));
    assert_eq!(fp.files[2].digest, digest(&bytes[..SMALL_BUF * 2 + 1]));
    assert_eq!(
        fp.total_bytes,
        (bytes.len() + SMALL_BUF * 2 + 1 + BIG_BLOCK * 3) as u64
    );
}

#[test]
fn ignored_names_are_skipped_at_any_depth_and_git_by_default() {
    let dir = tempfile::tempdir().unwrap();
    sample_tree(dir.path());
    let reference = fingerprint_path(dir.path(), &plain()).unwrap();
    write(dir.path(), ".git/HEAD", b"ref: refs/heads/main");
    write(dir.path(), "sub/.git", b"gitdir: ../.git/modules/sub");
    write(dir.path(), "sub/deeper/__pycache__/x.pyc", b"junk");
    write(dir.path(), "z/.DS_Store", b"junk");
    let opts = FileOptions {
        ignore: vec![".git".into(), "__pycache__".into(), ".DS_Store".into()],
        ..Default::default()
    };
    assert_eq!(fingerprint_path(dir.path(), &opts).unwrap(), reference);
    let nothing_ignored = FileOptions {
        ignore: vec![],
        ..Default::default()
    };
    assert_eq!(
        fingerprint_path(dir.path(), &nothing_ignored)
            .unwrap()
            .n_files,
        9
    );
}

#[test]
fn bad_ignore_names_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["", ".", "..", "a/b", "*.tmp", "x?", "[ab]"] {
        let opts = FileOptions {
            ignore: vec![bad.into()],
            ..Default::default()
        };
        let err = fingerprint_path(dir.path(), &opts).unwrap_err();
        assert!(
            matches!(err, Error::InvalidInput { .. }),
            "{bad:?} gave {err}"
        );
        assert!(err.to_string().contains("ignore name"), "{err}");
    }
}

#[test]
fn a_missing_path_is_not_found_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/data");
    let err = fingerprint_path(&missing, &plain()).unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(err.to_string().contains("no/such/data"), "{err}");
}

#[cfg(unix)]
#[test]
fn a_symlink_in_the_tree_is_an_error_naming_it_unless_ignored() {
    let dir = tempfile::tempdir().unwrap();
    sample_tree(dir.path());
    std::os::unix::fs::symlink(dir.path().join("a.txt"), dir.path().join("sub/link")).unwrap();
    let err = fingerprint_path(dir.path(), &plain()).unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    assert!(err.to_string().contains("sub/link"), "{err}");
    assert!(err.to_string().contains("symlink"), "{err}");
    let opts = FileOptions {
        ignore: vec!["link".into()],
        ..Default::default()
    };
    assert_eq!(fingerprint_path(dir.path(), &opts).unwrap().n_files, 5);
    // The root itself may be a symlink: the caller named it.
    let other = tempfile::tempdir().unwrap();
    let link = other.path().join("data");
    std::os::unix::fs::symlink(dir.path().join("sub/deeper"), &link).unwrap();
    assert_eq!(fingerprint_path(&link, &plain()).unwrap().n_files, 2);
}

#[cfg(target_os = "linux")]
#[test]
fn a_non_utf8_name_is_an_error_naming_it() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    sample_tree(dir.path());
    let name = std::ffi::OsStr::from_bytes(b"bad-\xff-name");
    std::fs::write(dir.path().join("sub").join(name), b"x").unwrap();
    let err = fingerprint_path(dir.path(), &plain()).unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    assert!(err.to_string().contains("not UTF-8"), "{err}");
    assert!(err.to_string().contains("sub/bad-\u{fffd}-name"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// The digest is a function of the (path, bytes) set: creation order and thread count
    /// do not matter, and it equals the manifest spec computed directly.
    #[test]
    fn the_digest_depends_only_on_paths_and_bytes(
        files in prop::collection::btree_map(
            "[a-c]{1,2}(/[a-c.]{1,2}){0,2}",
            prop::collection::vec(any::<u8>(), 0..300),
            0..12,
        ),
        threads in 1usize..4,
    ) {
        // Drop paths that are a prefix folder of another (a file and a folder of one name).
        let keys: Vec<String> = files.keys().cloned().collect();
        let files: Vec<(String, Vec<u8>)> = files
            .into_iter()
            .filter(|(p, _)| !keys.iter().any(|k| k.starts_with(&format!("{p}/"))))
            .filter(|(p, _)| p.split('/').all(|c| c != "." && c != ".."))
            .collect();
        let one = tempfile::tempdir().unwrap();
        let two = tempfile::tempdir().unwrap();
        for (p, b) in &files {
            write(one.path(), p, b);
        }
        for (p, b) in files.iter().rev() {
            write(two.path(), p, b);
        }
        let mut expected = Vec::new();
        for (p, b) in &files {
            expected.extend_from_slice(
                format!("{p}\0{}\0{}\n", b.len(), blake3::hash(b).to_hex()).as_bytes(),
            );
        }
        let opts = FileOptions { threads, ..Default::default() };
        let a = fingerprint_path(one.path(), &opts).unwrap();
        let b = fingerprint_path(two.path(), &FileOptions::default()).unwrap();
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(a.manifest(), expected);
    }
}
