//! Reducing a metric history to at most N points for display, keeping what matters.
//!
//! - [`m4`]: per bucket of steps, the first, last, minimum and maximum points, so every
//!   extreme value survives (Jugel et al., "M4", VLDB 2014).
//! - [`lttb`]: Largest-Triangle-Three-Buckets (Steinarsson, 2013), which keeps the visual
//!   shape; first and last points are always kept.

use crate::tracking::MetricPoint;

/// M4 downsampling to at most `max_points` points (rounded down to a multiple of 4, at least
/// 4). Buckets split the index range evenly; each keeps its first, min, max and last point,
/// in their original order, without repeats. NaN values never count as min or max.
pub fn m4(points: &[MetricPoint], max_points: usize) -> Vec<MetricPoint> {
    let buckets = (max_points / 4).max(1);
    if points.len() <= max_points.max(4) {
        return points.to_vec();
    }
    let mut out = Vec::with_capacity(buckets * 4);
    let n = points.len();
    for b in 0..buckets {
        let lo = b * n / buckets;
        let hi = ((b + 1) * n / buckets).max(lo + 1).min(n);
        let bucket = &points[lo..hi];
        let (mut imin, mut imax) = (None::<usize>, None::<usize>);
        for (i, p) in bucket.iter().enumerate() {
            if p.value.is_nan() {
                continue;
            }
            if imin.is_none_or(|j| p.value < bucket[j].value) {
                imin = Some(i);
            }
            if imax.is_none_or(|j| p.value > bucket[j].value) {
                imax = Some(i);
            }
        }
        let mut picks = [Some(0), imin, imax, Some(bucket.len() - 1)];
        picks.sort_unstable();
        let mut last = None;
        for i in picks.into_iter().flatten() {
            if last != Some(i) {
                out.push(bucket[i]);
                last = Some(i);
            }
        }
    }
    out
}

/// LTTB downsampling to at most `max_points` points (at least 3). The x axis is the step.
pub fn lttb(points: &[MetricPoint], max_points: usize) -> Vec<MetricPoint> {
    let threshold = max_points.max(3);
    let n = points.len();
    if n <= threshold {
        return points.to_vec();
    }
    let value = |p: &MetricPoint| if p.value.is_finite() { p.value } else { 0.0 };
    let mut out = Vec::with_capacity(threshold);
    out.push(points[0]);
    let every = (n - 2) as f64 / (threshold - 2) as f64;
    let mut a = 0usize;
    for i in 0..threshold - 2 {
        let start = (i as f64 * every) as usize + 1;
        let end = (((i + 1) as f64 * every) as usize + 1).min(n - 1);
        let next_start = end;
        let next_end = ((((i + 2) as f64) * every) as usize + 1).min(n);
        let next = &points[next_start..next_end.max(next_start + 1).min(n)];
        let (mut ax, mut ay) = (0.0, 0.0);
        for p in next {
            ax += p.step as f64;
            ay += value(p);
        }
        ax /= next.len() as f64;
        ay /= next.len() as f64;
        let pa = &points[a];
        let (px, py) = (pa.step as f64, value(pa));
        let mut best = start;
        let mut best_area = -1.0;
        for (j, p) in points
            .iter()
            .enumerate()
            .take(end.max(start + 1))
            .skip(start)
        {
            let area = ((px - ax) * (value(p) - py) - (px - p.step as f64) * (ay - py)).abs();
            if area > best_area {
                best_area = area;
                best = j;
            }
        }
        out.push(points[best]);
        a = best;
    }
    out.push(points[n - 1]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn series(values: &[f64]) -> Vec<MetricPoint> {
        values
            .iter()
            .enumerate()
            .map(|(i, &v)| MetricPoint {
                step: i as i64,
                timestamp: i as i64,
                value: v,
            })
            .collect()
    }

    #[test]
    fn m4_keeps_the_spike() {
        let mut v = vec![0.0; 10_000];
        v[4321] = 99.0;
        v[777] = -5.0;
        let out = m4(&series(&v), 100);
        assert!(out.len() <= 100);
        assert!(out.iter().any(|p| p.value == 99.0 && p.step == 4321));
        assert!(out.iter().any(|p| p.value == -5.0 && p.step == 777));
    }

    #[test]
    fn lttb_keeps_ends_and_count() {
        let v: Vec<f64> = (0..1000).map(|i| (i as f64 / 30.0).sin()).collect();
        let out = lttb(&series(&v), 50);
        assert_eq!(out.len(), 50);
        assert_eq!(out[0].step, 0);
        assert_eq!(out[49].step, 999);
    }

    proptest! {
        #[test]
        fn m4_preserves_global_extremes_and_order(v in proptest::collection::vec(-1e6f64..1e6, 1..3000), n in 4usize..200) {
            let s = series(&v);
            let out = m4(&s, n);
            let cap = n.max(4);
            prop_assert!(out.len() <= cap);
            prop_assert!(out.windows(2).all(|w| w[0].step < w[1].step));
            let max = v.iter().cloned().fold(f64::MIN, f64::max);
            let min = v.iter().cloned().fold(f64::MAX, f64::min);
            prop_assert!(out.iter().any(|p| p.value == max));
            prop_assert!(out.iter().any(|p| p.value == min));
        }

        #[test]
        fn lttb_output_is_an_ordered_subset(v in proptest::collection::vec(-1e3f64..1e3, 1..2000), n in 3usize..100) {
            let s = series(&v);
            let out = lttb(&s, n);
            prop_assert!(out.len() <= n);
            prop_assert!(out.windows(2).all(|w| w[0].step < w[1].step));
            prop_assert!(out.iter().all(|p| s[p.step as usize] == *p));
        }
    }
}
