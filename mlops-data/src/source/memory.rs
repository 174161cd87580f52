//! A table held in memory, served as a [`DataSource`].

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use async_trait::async_trait;
use futures::StreamExt;
use mlops_core::{BatchStream, DataSource, Error, Result, ScanOptions};

/// A table held in memory, served as a [`DataSource`].
#[derive(Clone, Debug)]
pub struct MemorySource {
    name: String,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
}

impl MemorySource {
    /// A source over `batches`, which must all have `schema`.
    pub fn new(
        name: impl Into<String>,
        schema: SchemaRef,
        batches: Vec<RecordBatch>,
    ) -> Result<Self> {
        if let Some(bad) = batches.iter().position(|b| b.schema() != schema) {
            return Err(Error::invalid(
                "record batch schema",
                format!("batch {bad}: {:?}", batches[bad].schema()),
                format!("the source's schema {schema:?}"),
            ));
        }
        Ok(MemorySource {
            name: name.into(),
            schema,
            batches,
        })
    }
}

#[async_trait]
impl DataSource for MemorySource {
    fn name(&self) -> &str {
        &self.name
    }

    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    async fn scan(&self, options: ScanOptions) -> Result<BatchStream> {
        let indices = super::projection_indices(
            &self.schema,
            options.projection.as_deref(),
            &format!("source {}", self.name),
        )?;
        let projected: Vec<Result<RecordBatch>> = self
            .batches
            .iter()
            .map(|batch| match &indices {
                Some(ix) => batch
                    .project(ix)
                    .map_err(|e| Error::invalid("projection", format!("{ix:?}"), e.to_string())),
                None => Ok(batch.clone()),
            })
            .collect();
        let out: Vec<Result<RecordBatch>> =
            super::limit_rows(projected.into_iter(), options.limit).collect();
        Ok(futures::stream::iter(out).boxed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Int64Array;
    use arrow_schema::{DataType, Field, Schema};
    use std::sync::Arc;

    #[tokio::test]
    async fn scans_with_projection_and_limit() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, false),
            Field::new("b", DataType::Int64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![1, 2, 3])),
                Arc::new(Int64Array::from(vec![4, 5, 6])),
            ],
        )
        .unwrap();
        let src = MemorySource::new("t", schema, vec![batch.clone(), batch]).unwrap();
        let opts = ScanOptions {
            projection: Some(vec!["b".into()]),
            limit: Some(4),
            ..Default::default()
        };
        let batches: Vec<_> = src.scan(opts).await.unwrap().collect().await;
        let rows: usize = batches.iter().map(|b| b.as_ref().unwrap().num_rows()).sum();
        assert_eq!(rows, 4);
        assert_eq!(batches[0].as_ref().unwrap().schema().field(0).name(), "b");
        let bad = ScanOptions {
            projection: Some(vec!["zzz".into()]),
            ..Default::default()
        };
        let err = src.scan(bad).await.err().unwrap().to_string();
        assert!(err.contains("zzz"), "{err}");
    }
}
