//! Metric points packed into chunks: each row of `metric_chunks` holds up to
//! [`CHUNK_POINTS`] points as little-endian `(step: i64, timestamp: i64, value: f64)`
//! triples. A 1M-point history is ~60 rows, read and decoded in milliseconds.

use rusqlite::{OptionalExtension, Transaction, params};

use crate::error::{Error, Result};
use crate::tracking::MetricPoint;

/// Most points in one chunk.
pub(crate) const CHUNK_POINTS: usize = 16_384;
/// A last chunk smaller than this is extended in place instead of starting a new one, so
/// that many small flushes do not leave many small rows.
const SMALL_CHUNK: usize = 1_024;
const POINT_BYTES: usize = 24;

fn encode_into(out: &mut Vec<u8>, points: &[MetricPoint]) {
    out.reserve(points.len() * POINT_BYTES);
    for p in points {
        out.extend_from_slice(&p.step.to_le_bytes());
        out.extend_from_slice(&p.timestamp.to_le_bytes());
        out.extend_from_slice(&p.value.to_bits().to_le_bytes());
    }
}

/// Decodes a chunk, appending to `out`.
pub(crate) fn decode_into(out: &mut Vec<MetricPoint>, data: &[u8]) -> Result<()> {
    if !data.len().is_multiple_of(POINT_BYTES) {
        return Err(Error::Database(format!(
            "corrupt metric chunk: {} bytes is not a multiple of {POINT_BYTES}",
            data.len()
        )));
    }
    out.reserve(data.len() / POINT_BYTES);
    for c in data.chunks_exact(POINT_BYTES) {
        let word = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&c[i..i + 8]);
            b
        };
        out.push(MetricPoint {
            step: i64::from_le_bytes(word(0)),
            timestamp: i64::from_le_bytes(word(8)),
            value: f64::from_bits(u64::from_le_bytes(word(16))),
        });
    }
    Ok(())
}

/// Appends points to a series.
pub(crate) fn append(tx: &Transaction<'_>, series: i64, mut points: &[MetricPoint]) -> Result<()> {
    let last: Option<(i64, usize, Vec<u8>)> = tx
        .prepare_cached(
            "SELECT chunk, points, data FROM metric_chunks WHERE series_id = ?1 \
             ORDER BY chunk DESC LIMIT 1",
        )?
        .query_row([series], |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)? as usize, r.get(2)?))
        })
        .optional()?;
    let mut next_chunk = 0;
    if let Some((chunk, n, mut data)) = last {
        next_chunk = chunk + 1;
        if n < SMALL_CHUNK {
            let take = points.len().min(CHUNK_POINTS - n);
            encode_into(&mut data, &points[..take]);
            tx.prepare_cached(
                "UPDATE metric_chunks SET points = ?1, data = ?2 WHERE series_id = ?3 AND chunk = ?4",
            )?
            .execute(params![(n + take) as i64, data, series, chunk])?;
            points = &points[take..];
        }
    }
    let mut insert = tx.prepare_cached(
        "INSERT INTO metric_chunks (series_id, chunk, points, data) VALUES (?1, ?2, ?3, ?4)",
    )?;
    let mut buf = Vec::new();
    for part in points.chunks(CHUNK_POINTS) {
        buf.clear();
        encode_into(&mut buf, part);
        insert.execute(params![series, next_chunk, part.len() as i64, buf])?;
        next_chunk += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codec_round_trips_special_values() {
        let pts: Vec<MetricPoint> = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 1.5]
            .iter()
            .enumerate()
            .map(|(i, &v)| MetricPoint {
                step: i as i64 - 2,
                timestamp: 7,
                value: v,
            })
            .collect();
        let mut buf = Vec::new();
        encode_into(&mut buf, &pts);
        let mut out = Vec::new();
        decode_into(&mut out, &buf).unwrap();
        for (a, b) in pts.iter().zip(&out) {
            assert_eq!(a.value.to_bits(), b.value.to_bits());
            assert_eq!((a.step, a.timestamp), (b.step, b.timestamp));
        }
        assert!(decode_into(&mut out, &buf[..5]).is_err());
    }
}
