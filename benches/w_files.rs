//! W-FILES: fingerprint a file tree with `mlops_data::files` (BLAKE3, parallel, stat cache),
//! printing one JSON line. `w_files.py` generates the tree and runs this beside `dvc add`.
//!
//! ```text
//! cargo build --release -p mlops-benches --bin w_files
//! ./target/release/w_files --path bench-out/files/proj/data --cache-dir bench-out/files/mlops-cache
//! ```
//!
//! Without `--cache-dir` no stat cache is used (every file is read).

use std::path::PathBuf;
use std::time::Instant;

use mlops_data::files::{FileOptions, fingerprint_path};
use serde_json::json;

#[path = "common.rs"]
mod common;
use common::peak_rss_mb;

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        argv.iter()
            .position(|a| a == name)
            .and_then(|i| argv.get(i + 1))
            .cloned()
    };
    let path = PathBuf::from(arg("--path").expect("--path DIR"));
    let options = FileOptions {
        cache_dir: arg("--cache-dir").map(PathBuf::from),
        threads: arg("--threads").map_or(0, |t| t.parse().expect("--threads N")),
        ..Default::default()
    };
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let start = Instant::now();
    let fp = match fingerprint_path(&path, &options) {
        Ok(fp) => fp,
        Err(e) => {
            eprintln!("w_files: {e}");
            std::process::exit(1);
        }
    };
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{}",
        json!({
            "impl": "mlops",
            "time_s": secs,
            "digest": fp.digest,
            "n_files": fp.n_files,
            "total_bytes": fp.total_bytes,
            "n_cached": fp.n_cached,
            "bytes_hashed": fp.bytes_hashed,
            "threads": threads,
            "peak_rss_mb": peak_rss_mb(),
        })
    );
}
