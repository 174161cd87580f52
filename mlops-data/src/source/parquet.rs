//! Parquet files as a [`DataSource`]: column projection by name, batch size and row limit,
//! row-group pruning on a column's range (from the footer's statistics), read a batch at a
//! time so memory stays bounded whatever the file's size; and [`ParquetDataset`], many files
//! (a folder) with one schema read as one source.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use async_trait::async_trait;
use futures::StreamExt;
use mlops_core::{BatchStream, DataSource, Error, Result, ScanOptions};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

const DEFAULT_BATCH: usize = 65_536;

/// Rows whose `column` lies in `[min, max]` (either bound open), for row-group pruning: row
/// groups whose footer statistics prove no row can match are not read. Pruning is coarse:
/// rows of a kept row group are all returned, so filter rows afterwards when needed.
#[derive(Clone, Debug, PartialEq)]
pub struct RangePredicate {
    /// A numeric column.
    pub column: String,
    /// Smallest wanted value.
    pub min: Option<f64>,
    /// Largest wanted value.
    pub max: Option<f64>,
}

/// A Parquet file.
#[derive(Clone, Debug)]
pub struct ParquetSource {
    path: PathBuf,
    name: String,
    schema: SchemaRef,
    rows: u64,
    prune: Option<RangePredicate>,
}

fn parquet_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::invalid(
        "Parquet file",
        path.display().to_string(),
        format!("a readable Parquet file ({e})"),
    )
}

impl ParquetSource {
    /// Opens a Parquet file, reading only its footer.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let builder = Self::builder(&path)?;
        let schema = builder.schema().clone();
        let rows = builder.metadata().file_metadata().num_rows().max(0) as u64;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        Ok(ParquetSource {
            path,
            name,
            schema,
            rows,
            prune: None,
        })
    }

    /// Skips the row groups that cannot hold a row of `predicate`; the column must exist.
    pub fn with_pruning(mut self, predicate: RangePredicate) -> Result<Self> {
        if self.schema.index_of(&predicate.column).is_err() {
            return Err(Error::invalid(
                "pruning column",
                &predicate.column,
                format!("a column of {}", self.path.display()),
            ));
        }
        self.prune = Some(predicate);
        Ok(self)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The row groups a scan reads (all without pruning), out of how many.
    pub fn row_groups(&self) -> Result<(Vec<usize>, usize)> {
        let builder = Self::builder(&self.path)?;
        let meta = builder.metadata();
        let total = meta.num_row_groups();
        let Some(p) = &self.prune else {
            return Ok(((0..total).collect(), total));
        };
        let (lo, hi) = (
            p.min.unwrap_or(f64::NEG_INFINITY),
            p.max.unwrap_or(f64::INFINITY),
        );
        let leaf = meta
            .file_metadata()
            .schema_descr()
            .columns()
            .iter()
            .position(|c| c.path().string() == p.column);
        let kept = (0..total)
            .filter(|&g| {
                let Some(stats) = leaf.and_then(|i| meta.row_group(g).column(i).statistics())
                else {
                    return true;
                };
                use parquet::file::statistics::Statistics as S;
                let range = match stats {
                    S::Int32(v) => v
                        .min_opt()
                        .zip(v.max_opt())
                        .map(|(a, b)| (*a as f64, *b as f64)),
                    S::Int64(v) => v
                        .min_opt()
                        .zip(v.max_opt())
                        .map(|(a, b)| (*a as f64, *b as f64)),
                    S::Float(v) => v
                        .min_opt()
                        .zip(v.max_opt())
                        .map(|(a, b)| (*a as f64, *b as f64)),
                    S::Double(v) => v.min_opt().zip(v.max_opt()).map(|(a, b)| (*a, *b)),
                    _ => None,
                };
                range.is_none_or(|(min, max)| !(max < lo || min > hi))
            })
            .collect();
        Ok((kept, total))
    }

    /// The number of rows, from the footer.
    pub fn num_rows(&self) -> u64 {
        self.rows
    }

    fn builder(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<File>> {
        let file = File::open(path).map_err(|e| Error::io(path.display().to_string(), e))?;
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| parquet_err(path, e))
    }

    /// A synchronous reader for `options`, for callers outside an async context.
    pub fn reader(&self, options: &ScanOptions) -> Result<ParquetRecordBatchReader> {
        self.reader_over(options, None)
    }

    /// A reader over `row_groups` (default: those pruning keeps, or all).
    fn reader_over(
        &self,
        options: &ScanOptions,
        row_groups: Option<Vec<usize>>,
    ) -> Result<ParquetRecordBatchReader> {
        let mut builder = Self::builder(&self.path)?
            .with_batch_size(options.batch_size.unwrap_or(DEFAULT_BATCH).max(1));
        if let Some(names) = &options.projection {
            let fields = builder.parquet_schema().root_schema().get_fields().to_vec();
            let mut roots = Vec::with_capacity(names.len());
            for n in names {
                let i = fields.iter().position(|f| f.name() == n).ok_or_else(|| {
                    Error::invalid(
                        "projected column",
                        n,
                        format!("a column of {}", self.path.display()),
                    )
                })?;
                roots.push(i);
            }
            let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
            builder = builder.with_projection(mask);
        }
        if let Some(groups) = row_groups {
            builder = builder.with_row_groups(groups);
        } else if self.prune.is_some() {
            builder = builder.with_row_groups(self.row_groups()?.0);
        }
        if let Some(limit) = options.limit {
            builder = builder.with_limit(limit);
        }
        builder.build().map_err(|e| parquet_err(&self.path, e))
    }

    /// Reads the whole (projected) file into memory. Without a row limit, row groups are
    /// decoded on all cores (each thread a contiguous run of row groups), and the batches
    /// come back in file order.
    pub fn read_all(&self, options: &ScanOptions) -> Result<Vec<RecordBatch>> {
        let path = self.path.clone();
        let groups = self.row_groups()?.0;
        let threads = std::thread::available_parallelism()
            .map_or(1, |t| t.get())
            .min(groups.len());
        if options.limit.is_some() || threads < 2 {
            return self
                .reader(options)?
                .map(|b| b.map_err(|e| parquet_err(&path, e)))
                .collect();
        }
        let per = groups.len().div_ceil(threads);
        let parts: Vec<Result<Vec<RecordBatch>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = groups
                .chunks(per)
                .map(|chunk| {
                    let source = ParquetSource {
                        prune: None,
                        ..self.clone()
                    };
                    let chunk = chunk.to_vec();
                    let path = path.clone();
                    scope.spawn(move || -> Result<Vec<RecordBatch>> {
                        source
                            .reader_over(options, Some(chunk))?
                            .map(|b| b.map_err(|e| parquet_err(&path, e)))
                            .collect()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(Error::Closed("a Parquet decoding thread panicked".into()))
                    })
                })
                .collect()
        });
        let mut out = Vec::new();
        for p in parts {
            out.extend(p?);
        }
        Ok(out)
    }
}

#[async_trait]
impl DataSource for ParquetSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Streams batches; each is decoded when the stream is polled (blocking briefly: wrap the
    /// stream in a blocking task for very large row groups in latency-sensitive services).
    async fn scan(&self, options: ScanOptions) -> Result<BatchStream> {
        let reader = self.reader(&options)?;
        let path = self.path.clone();
        Ok(futures::stream::iter(reader)
            .map(move |b| b.map_err(|e| parquet_err(&path, e)))
            .boxed())
    }
}

/// Many Parquet files with one schema, read in path order as one source: a folder's
/// `*.parquet` files (sorted by name) or an explicit list. A file whose schema differs from
/// the first's is refused when the dataset is opened, naming both files and the column.
#[derive(Clone, Debug)]
pub struct ParquetDataset {
    name: String,
    files: Vec<ParquetSource>,
    schema: SchemaRef,
}

impl ParquetDataset {
    /// Opens every `*.parquet` file of a folder (not recursive), sorted by name.
    pub fn open_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir.display().to_string(), e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
            .collect();
        paths.sort();
        let name = dir
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| dir.display().to_string());
        Self::open(name, &paths)
    }

    /// Opens the given files, in order.
    pub fn open(name: impl Into<String>, paths: &[PathBuf]) -> Result<Self> {
        let files = paths
            .iter()
            .map(ParquetSource::open)
            .collect::<Result<Vec<_>>>()?;
        let first = files.first().ok_or_else(|| {
            Error::invalid("Parquet dataset", "no files", "at least one .parquet file")
        })?;
        let schema = first.schema.clone();
        for f in &files[1..] {
            if f.schema.fields() != schema.fields() {
                let what = schema
                    .fields()
                    .iter()
                    .zip(f.schema.fields())
                    .find(|(a, b)| a != b)
                    .map(|(a, b)| {
                        format!(
                            "column {:?} {} (nullable {}) vs column {:?} {} (nullable {})",
                            a.name(),
                            a.data_type(),
                            a.is_nullable(),
                            b.name(),
                            b.data_type(),
                            b.is_nullable()
                        )
                    })
                    .unwrap_or_else(|| {
                        format!(
                            "{} columns vs {}",
                            schema.fields().len(),
                            f.schema.fields().len()
                        )
                    });
                return Err(Error::invalid(
                    format!("schema of {}", f.path.display()),
                    what,
                    format!("the schema of {}", first.path.display()),
                ));
            }
        }
        Ok(ParquetDataset {
            name: name.into(),
            files,
            schema,
        })
    }

    /// The files, in read order.
    pub fn files(&self) -> &[ParquetSource] {
        &self.files
    }

    /// Rows in all files, from the footers.
    pub fn num_rows(&self) -> u64 {
        self.files.iter().map(ParquetSource::num_rows).sum()
    }

    /// Applies row-group pruning to every file.
    pub fn with_pruning(mut self, predicate: RangePredicate) -> Result<Self> {
        self.files = self
            .files
            .into_iter()
            .map(|f| f.with_pruning(predicate.clone()))
            .collect::<Result<_>>()?;
        Ok(self)
    }
}

#[async_trait]
impl DataSource for ParquetDataset {
    fn name(&self) -> &str {
        &self.name
    }

    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Streams the files one after the other (each opened when reached), applying the
    /// projection and batch size to each and the row limit to the whole.
    async fn scan(&self, options: ScanOptions) -> Result<BatchStream> {
        let files = self.files.clone();
        let per_file = ScanOptions {
            limit: None,
            ..options.clone()
        };
        // Check the projection up front, so the error comes from scan().
        if let Some(first) = files.first() {
            crate::source::projection_indices(
                &first.schema,
                per_file.projection.as_deref(),
                &first.path.display().to_string(),
            )?;
        }
        let batches = files.into_iter().flat_map(move |f| {
            let path = f.path.clone();
            let items: Box<dyn Iterator<Item = Result<RecordBatch>> + Send> =
                match f.reader(&per_file) {
                    Ok(r) => Box::new(r.map(move |b| b.map_err(|e| parquet_err(&path, e)))),
                    Err(e) => Box::new(std::iter::once(Err(e))),
                };
            items
        });
        Ok(futures::stream::iter(crate::source::limit_rows(batches, options.limit)).boxed())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Int64Array, StringArray};
    use arrow_schema::{DataType, Field, Schema};
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;

    use super::*;

    fn write(path: &Path, rows: i64, row_group: usize) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
        ]));
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(row_group))
            .build();
        let mut w =
            ArrowWriter::try_new(File::create(path).unwrap(), schema.clone(), Some(props)).unwrap();
        let ids: Vec<i64> = (0..rows).collect();
        let names: Vec<Option<String>> = (0..rows)
            .map(|i| (i % 3 != 0).then(|| format!("n{i}")))
            .collect();
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(ids)),
                Arc::new(StringArray::from(names)),
            ],
        )
        .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }

    #[tokio::test]
    async fn streams_projected_batches_with_a_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        write(&path, 10_000, 1_000);
        let src = ParquetSource::open(&path).unwrap();
        assert_eq!(src.num_rows(), 10_000);
        assert_eq!(src.name(), "t");
        let opts = ScanOptions {
            projection: Some(vec!["name".into()]),
            batch_size: Some(512),
            limit: Some(2_000),
        };
        let batches: Vec<_> = src.scan(opts).await.unwrap().collect().await;
        let batches: Vec<RecordBatch> = batches.into_iter().map(|b| b.unwrap()).collect();
        assert!(
            batches
                .iter()
                .all(|b| b.num_rows() <= 512 && b.num_columns() == 1)
        );
        assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 2_000);
        assert_eq!(batches[0].schema().field(0).name(), "name");
    }

    #[test]
    fn bad_files_and_columns_are_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("corrupt.parquet");
        std::fs::write(&bad, b"PAR1 this is not parquet").unwrap();
        let err = ParquetSource::open(&bad).unwrap_err().to_string();
        assert!(err.contains("corrupt.parquet"), "{err}");
        assert!(
            ParquetSource::open(dir.path().join("missing.parquet"))
                .unwrap_err()
                .to_string()
                .contains("missing.parquet")
        );
        let good = dir.path().join("g.parquet");
        write(&good, 10, 5);
        let src = ParquetSource::open(&good).unwrap();
        let opts = ScanOptions {
            projection: Some(vec!["nope".into()]),
            ..Default::default()
        };
        assert!(src.reader(&opts).unwrap_err().to_string().contains("nope"));
    }

    #[tokio::test]
    async fn row_groups_outside_the_range_are_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        write(&path, 10_000, 1_000);
        let src = ParquetSource::open(&path)
            .unwrap()
            .with_pruning(RangePredicate {
                column: "id".into(),
                min: Some(2_500.0),
                max: Some(3_200.0),
            })
            .unwrap();
        assert_eq!(src.row_groups().unwrap(), (vec![2, 3], 10));
        let rows: usize = src
            .read_all(&ScanOptions::default())
            .unwrap()
            .iter()
            .map(RecordBatch::num_rows)
            .sum();
        assert_eq!(rows, 2_000);
        let open_top = src.clone().with_pruning(RangePredicate {
            column: "id".into(),
            min: Some(9_999.5),
            max: None,
        });
        assert_eq!(
            open_top.unwrap().row_groups().unwrap().0,
            Vec::<usize>::new()
        );
        let e = ParquetSource::open(&path)
            .unwrap()
            .with_pruning(RangePredicate {
                column: "nope".into(),
                min: None,
                max: None,
            });
        assert!(e.unwrap_err().to_string().contains("nope"));
    }

    #[tokio::test]
    async fn a_folder_is_one_source_and_a_foreign_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        for (i, rows) in [(0, 300), (1, 500), (2, 200)] {
            write(&dir.path().join(format!("part-{i}.parquet")), rows, 100);
        }
        std::fs::write(dir.path().join("README.txt"), "not data").unwrap();
        let ds = ParquetDataset::open_dir(dir.path()).unwrap();
        assert_eq!((ds.files().len(), ds.num_rows()), (3, 1_000));
        let opts = ScanOptions {
            projection: Some(vec!["id".into()]),
            limit: Some(650),
            ..Default::default()
        };
        let batches: Vec<RecordBatch> = ds
            .scan(opts)
            .await
            .unwrap()
            .map(|b| b.unwrap())
            .collect()
            .await;
        assert_eq!(
            batches.iter().map(RecordBatch::num_rows).sum::<usize>(),
            650
        );
        assert!(batches.iter().all(|b| b.num_columns() == 1));
        let bad = ScanOptions {
            projection: Some(vec!["nope".into()]),
            ..Default::default()
        };
        assert!(
            ds.scan(bad)
                .await
                .err()
                .unwrap()
                .to_string()
                .contains("nope")
        );

        // A file with another type for `name` is refused, naming both files and the column.
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Int64, true),
        ]));
        let other = dir.path().join("part-3.parquet");
        let mut w =
            ArrowWriter::try_new(File::create(&other).unwrap(), schema.clone(), None).unwrap();
        w.write(
            &RecordBatch::try_new(
                schema,
                vec![
                    Arc::new(Int64Array::from(vec![1])),
                    Arc::new(Int64Array::from(vec![2])),
                ],
            )
            .unwrap(),
        )
        .unwrap();
        w.close().unwrap();
        let e = ParquetDataset::open_dir(dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("part-3.parquet")
                && e.contains("part-0.parquet")
                && e.contains("name")
                && e.contains("Utf8")
                && e.contains("Int64"),
            "{e}"
        );
        assert!(ParquetDataset::open("none", &[]).is_err());
    }

    #[test]
    fn parallel_reads_keep_file_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        write(&path, 10_000, 700);
        let src = ParquetSource::open(&path).unwrap();
        let parallel = src.read_all(&ScanOptions::default()).unwrap();
        let sequential: Vec<RecordBatch> = src
            .reader(&ScanOptions::default())
            .unwrap()
            .map(|b| b.unwrap())
            .collect();
        let ids = |b: &[RecordBatch]| -> Vec<i64> {
            b.iter()
                .flat_map(|b| {
                    b.column(0)
                        .as_any()
                        .downcast_ref::<Int64Array>()
                        .unwrap()
                        .values()
                        .to_vec()
                })
                .collect()
        };
        assert_eq!(ids(&parallel), (0..10_000).collect::<Vec<i64>>());
        assert_eq!(ids(&parallel), ids(&sequential));
    }
}
