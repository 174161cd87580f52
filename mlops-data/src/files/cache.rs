//! The stat cache: (absolute path, size, mtime, ctime, inode, device) → BLAKE3 digest,
//! persisted in one binary file and replaced atomically.
//!
//! File layout, all integers little-endian:
//!
//! ```text
//! magic       8 bytes  "MLOPSSC1"
//! count       u64      number of records
//! records     count times:
//!     key_len     u32
//!     key         key_len bytes: the absolute path, as the OS encodes it
//!     size        u64
//!     mtime_ns    i64      nanoseconds since the Unix epoch
//!     ctime_ns    i64      (0 where the platform has no ctime)
//!     ino         u64      (0 where the platform has no inode number)
//!     dev         u64      (0 where the platform has no device number)
//!     checked_ns  i64      wall clock when the file's stat was taken, before it was read
//!     digest      32 bytes BLAKE3 of the file's bytes
//! checksum    32 bytes BLAKE3 of everything above
//! ```
//!
//! A file that is missing, truncated, of another version or whose checksum does not match is
//! treated as an empty cache and replaced on the next write: the cache only ever saves work,
//! it is never needed for a correct answer.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use mlops_core::{Error, Result};

const MAGIC: &[u8; 8] = b"MLOPSSC1";
const RECORD_FIXED: usize = 4 + 8 * 6 + 32;

/// The stat tuple that must be unchanged for a cached digest to be reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Stat {
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
    pub ino: u64,
    pub dev: u64,
}

impl Stat {
    #[cfg(unix)]
    pub fn of(m: &std::fs::Metadata) -> Stat {
        use std::os::unix::fs::MetadataExt;
        Stat {
            size: m.len(),
            mtime_ns: nanos(m.mtime(), m.mtime_nsec()),
            ctime_ns: nanos(m.ctime(), m.ctime_nsec()),
            ino: m.ino(),
            dev: m.dev(),
        }
    }

    #[cfg(not(unix))]
    pub fn of(m: &std::fs::Metadata) -> Stat {
        let mtime_ns = m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        Stat {
            size: m.len(),
            mtime_ns,
            ctime_ns: 0,
            ino: 0,
            dev: 0,
        }
    }
}

#[cfg(unix)]
fn nanos(secs: i64, nsec: i64) -> i64 {
    secs.saturating_mul(1_000_000_000).saturating_add(nsec)
}

/// One cached digest with the stat it was computed under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Record {
    pub stat: Stat,
    pub checked_ns: i64,
    pub digest: [u8; 32],
}

impl Record {
    /// True if `stat` is the recorded one and the file was last changed at least `margin_ns`
    /// before the record was taken: a file changed within the same timestamp tick as the
    /// record could have been changed again after it was read without any stat field moving
    /// (the "racy git" problem), so such a record is never trusted.
    pub fn trusted_for(&self, stat: &Stat, margin_ns: i64) -> bool {
        self.stat == *stat
            && stat.mtime_ns.max(stat.ctime_ns) < self.checked_ns.saturating_sub(margin_ns)
    }
}

/// The cache file's contents, keyed by absolute path bytes.
#[derive(Debug, Default)]
pub(super) struct StatCache {
    pub entries: HashMap<Vec<u8>, Record>,
}

impl StatCache {
    /// Reads `file`; a missing or damaged file gives an empty cache.
    pub fn load(file: &Path) -> Result<StatCache> {
        match std::fs::read(file) {
            Ok(bytes) => Ok(StatCache {
                entries: decode(&bytes).unwrap_or_default(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StatCache::default()),
            Err(e) => Err(Error::io(file.display().to_string(), e)),
        }
    }

    /// Writes the cache to `file` through a temporary file in the same folder, fsynced,
    /// renamed over `file`, and the folder fsynced, so a crash leaves the old or the new cache.
    pub fn save(&self, file: &Path) -> Result<()> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let shown = file.display().to_string();
        let dir = file.parent().unwrap_or(Path::new("."));
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp: PathBuf = dir.join(format!(
            ".{name}.tmp-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let result = (|| {
            let bytes = encode(&self.entries);
            let mut f =
                std::fs::File::create(&tmp).map_err(|e| Error::io(tmp.display().to_string(), e))?;
            f.write_all(&bytes)
                .and_then(|()| f.sync_all())
                .map_err(|e| Error::io(tmp.display().to_string(), e))?;
            std::fs::rename(&tmp, file).map_err(|e| Error::io(&shown, e))?;
            #[cfg(unix)]
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| Error::io(dir.display().to_string(), e))?;
            Ok(())
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }
}

fn encode(entries: &HashMap<Vec<u8>, Record>) -> Vec<u8> {
    // Paths longer than 4 GiB do not exist; such a key would simply not be cached.
    let mut keys: Vec<&Vec<u8>> = entries
        .keys()
        .filter(|k| u32::try_from(k.len()).is_ok())
        .collect();
    keys.sort_unstable();
    let size: usize = keys.iter().map(|k| k.len() + RECORD_FIXED).sum();
    let mut out = Vec::with_capacity(8 + 8 + size + 32);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(keys.len() as u64).to_le_bytes());
    for k in keys {
        let r = &entries[k];
        out.extend_from_slice(&(k.len() as u32).to_le_bytes());
        out.extend_from_slice(k);
        out.extend_from_slice(&r.stat.size.to_le_bytes());
        out.extend_from_slice(&r.stat.mtime_ns.to_le_bytes());
        out.extend_from_slice(&r.stat.ctime_ns.to_le_bytes());
        out.extend_from_slice(&r.stat.ino.to_le_bytes());
        out.extend_from_slice(&r.stat.dev.to_le_bytes());
        out.extend_from_slice(&r.checked_ns.to_le_bytes());
        out.extend_from_slice(&r.digest);
    }
    let sum = blake3::hash(&out);
    out.extend_from_slice(sum.as_bytes());
    out
}

fn decode(bytes: &[u8]) -> Option<HashMap<Vec<u8>, Record>> {
    let body_len = bytes.len().checked_sub(32)?;
    let (body, sum) = bytes.split_at(body_len);
    if blake3::hash(body).as_bytes() != sum {
        return None;
    }
    let mut r = Reader { rest: body };
    if r.take(8)? != MAGIC {
        return None;
    }
    let count = usize::try_from(r.u64()?).ok()?;
    // Each record is at least RECORD_FIXED bytes, which bounds the allocation.
    if count > r.rest.len() / RECORD_FIXED {
        return None;
    }
    let mut entries = HashMap::with_capacity(count);
    for _ in 0..count {
        let len = r.u32()? as usize;
        let key = r.take(len)?.to_vec();
        let stat = Stat {
            size: r.u64()?,
            mtime_ns: r.i64()?,
            ctime_ns: r.i64()?,
            ino: r.u64()?,
            dev: r.u64()?,
        };
        let checked_ns = r.i64()?;
        let digest: [u8; 32] = r.take(32)?.try_into().ok()?;
        entries.insert(
            key,
            Record {
                stat,
                checked_ns,
                digest,
            },
        );
    }
    r.rest.is_empty().then_some(entries)
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.rest.len() < n {
            return None;
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Some(head)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: u64) -> Record {
        Record {
            stat: Stat {
                size: i,
                mtime_ns: -5 + i as i64,
                ctime_ns: 7,
                ino: 1 << 40,
                dev: 3,
            },
            checked_ns: 1_700_000_000_000_000_000,
            digest: [i as u8; 32],
        }
    }

    #[test]
    fn encoding_round_trips_and_rejects_damage() {
        let entries: HashMap<Vec<u8>, Record> = (0..5u64)
            .map(|i| (format!("/data/f{i}").into_bytes(), record(i)))
            .chain([(vec![0xff, b'/', 0xfe], record(9))])
            .collect();
        let bytes = encode(&entries);
        assert_eq!(decode(&bytes).as_ref(), Some(&entries));
        for cut in [0, 1, 8, 16, bytes.len() - 33, bytes.len() - 1] {
            assert_eq!(decode(&bytes[..cut]), None, "truncated at {cut}");
        }
        let mut flipped = bytes.clone();
        flipped[20] ^= 1;
        assert_eq!(decode(&flipped), None);
        assert_eq!(decode(&encode(&HashMap::new())), Some(HashMap::new()));
    }

    #[test]
    fn a_record_is_trusted_only_for_its_stat_and_outside_the_racy_window() {
        let r = record(1);
        assert!(r.trusted_for(&r.stat, 0));
        let mut other = r.stat;
        other.ctime_ns += 1;
        assert!(!r.trusted_for(&other, 0));
        let mut racy = r;
        racy.checked_ns = r.stat.ctime_ns + 10;
        assert!(racy.trusted_for(&r.stat, 9));
        assert!(!racy.trusted_for(&r.stat, 10));
    }
}
