//! Listing the regular files of a folder tree, in parallel across sub-folders, without
//! following symlinks.

use std::path::Path;

use mlops_core::{Error, Result};
use rayon::prelude::*;

/// What the walk skips.
pub(super) struct Walk<'a> {
    /// File and folder names skipped wherever they occur.
    pub ignore: &'a [String],
    /// A folder skipped entirely (the stat cache's, when it lies inside the tree).
    pub skip_dir: Option<&'a Path>,
}

impl Walk<'_> {
    /// The relative paths ('/'-separated, below `rel`) of every regular file under `dir`,
    /// in no particular order.
    pub fn files(&self, dir: &Path, rel: &str) -> Result<Vec<String>> {
        let read = std::fs::read_dir(dir).map_err(|e| Error::io(dir.display().to_string(), e))?;
        let mut files = Vec::new();
        let mut dirs = Vec::new();
        for entry in read {
            let entry = entry.map_err(|e| Error::io(dir.display().to_string(), e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                return Err(non_utf8(&entry.path()));
            };
            if self.ignore.iter().any(|i| i == name) {
                continue;
            }
            let kind = entry
                .file_type()
                .map_err(|e| Error::io(entry.path().display().to_string(), e))?;
            let child = if rel.is_empty() {
                name.to_owned()
            } else {
                format!("{rel}/{name}")
            };
            if kind.is_file() {
                files.push(child);
            } else if kind.is_dir() {
                let path = entry.path();
                if self.skip_dir != Some(path.as_path()) {
                    dirs.push((path, child));
                }
            } else {
                return Err(not_regular(&entry.path(), kind.is_symlink()));
            }
        }
        let nested = dirs
            .par_iter()
            .map(|(path, child)| self.files(path, child))
            .collect::<Result<Vec<_>>>()?;
        files.extend(nested.into_iter().flatten());
        Ok(files)
    }
}

/// The error for a file or folder name that is not UTF-8.
pub(super) fn non_utf8(path: &Path) -> Error {
    Error::invalid(
        "file name (not UTF-8)",
        path.display().to_string(),
        "UTF-8 names only: manifests record paths as UTF-8; rename it",
    )
}

/// The error for a symlink, socket, FIFO or device inside the tree.
pub(super) fn not_regular(path: &Path, symlink: bool) -> Error {
    if symlink {
        Error::invalid(
            "symlink in the tree",
            path.display().to_string(),
            "a regular file or folder: symlinks are not followed; remove it or add its name \
             to FileOptions::ignore",
        )
    } else {
        Error::invalid(
            "special file in the tree",
            path.display().to_string(),
            "a regular file or folder (not a socket, FIFO or device); remove it or add its \
             name to FileOptions::ignore",
        )
    }
}
