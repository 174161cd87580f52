//! Sorting floats for the fitted references and windows: an LSD radix sort on order-preserving
//! 64-bit keys of the IEEE bits, in `f64::total_cmp` order.
//!
//! Every exact statistic here (KS, Wasserstein, Cramér-von Mises, Anderson-Darling, the
//! quantile and equal-width bins) starts from sorted samples, so the sort is the largest
//! cost of a numeric column. The radix sort does a counting pass (eight byte histograms at
//! once) and one scatter pass per byte that is not the same for every key; for a million
//! doubles it measured about 2.5× faster than `sort_unstable_by(f64::total_cmp)` (8 ms
//! against 21 ms on the shared 2-core VM), and on few distinct values (integers stored as
//! floats) the constant bytes are skipped. Small slices use the comparison sort.

/// Below this many values the comparison sort is faster than the eight byte histograms.
const RADIX_MIN: usize = 1024;

/// Order-preserving key of a float: `total_cmp` order becomes unsigned integer order
/// (negative values have every bit flipped, non-negative values only the sign bit).
#[inline(always)]
fn key(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

#[inline(always)]
fn unkey(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

/// The reusable buffer of [`sort_f64_with`], so that sorting many columns allocates (and
/// page-faults) once.
#[derive(Debug, Default)]
pub struct SortScratch {
    a: Vec<u64>,
}

impl SortScratch {
    /// An empty buffer; it grows to the largest slice sorted.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Sorts floats ascending in `f64::total_cmp` order (-0.0 before 0.0; NaN last or first by
/// sign), the sort behind every fitted reference and window. Allocates a scratch buffer of
/// the slice's length; [`sort_f64_with`] reuses it.
pub fn sort_f64(v: &mut [f64]) {
    if v.len() < RADIX_MIN {
        v.sort_unstable_by(f64::total_cmp);
        return;
    }
    sort_f64_with(v, &mut SortScratch::default());
}

/// [`sort_f64`] with caller-owned scratch buffers.
pub fn sort_f64_with(v: &mut [f64], scratch: &mut SortScratch) {
    let n = v.len();
    if n < RADIX_MIN {
        v.sort_unstable_by(f64::total_cmp);
        return;
    }
    let mut hist = [[0usize; 256]; 8];
    for &x in v.iter() {
        let k = key(x);
        hist[0][(k & 255) as usize] += 1;
        hist[1][((k >> 8) & 255) as usize] += 1;
        hist[2][((k >> 16) & 255) as usize] += 1;
        hist[3][((k >> 24) & 255) as usize] += 1;
        hist[4][((k >> 32) & 255) as usize] += 1;
        hist[5][((k >> 40) & 255) as usize] += 1;
        hist[6][((k >> 48) & 255) as usize] += 1;
        hist[7][(k >> 56) as usize] += 1;
    }
    // A byte that is the same in every key orders nothing: skip its pass.
    let mut passes = [0usize; 8];
    let mut np = 0;
    for (p, h) in hist.iter_mut().enumerate() {
        if h.contains(&n) {
            continue;
        }
        let mut sum = 0;
        for c in h.iter_mut() {
            let t = *c;
            *c = sum;
            sum += t;
        }
        passes[np] = p;
        np += 1;
    }
    if np == 0 {
        return; // every key equal
    }
    // Passes ping-pong between the slice (keys stored as float bits) and one scratch
    // buffer; the first reads floats, the last writes floats.
    let buf = &mut scratch.a;
    if buf.len() < n {
        buf.resize(n, 0);
    }
    let buf = &mut buf[..n];
    let last = np - 1;
    for (t, &p) in passes[..np].iter().enumerate() {
        let shift = 8 * p;
        let h = &mut hist[p];
        let (first, fin) = (t == 0, t == last);
        if t % 2 == 0 {
            // slice -> buffer
            for &x in v.iter() {
                let k = if first { key(x) } else { x.to_bits() };
                let d = ((k >> shift) & 255) as usize;
                buf[h[d]] = k;
                h[d] += 1;
            }
        } else {
            // buffer -> slice
            for &k in buf.iter() {
                let d = ((k >> shift) & 255) as usize;
                v[h[d]] = if fin { unkey(k) } else { f64::from_bits(k) };
                h[d] += 1;
            }
        }
    }
    if np % 2 == 1 {
        // The last pass wrote the buffer.
        for (o, &k) in v.iter_mut().zip(buf.iter()) {
            *o = unkey(k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn radix_sort_orders_like_total_cmp() {
        let mut rng = Rng::new(11);
        let mut scratch = SortScratch::new();
        for n in [0usize, 1, 2, 1023, 1024, 1025, 4096, 70_000] {
            for kind in 0..5 {
                let mut v: Vec<f64> = (0..n)
                    .map(|i| match kind {
                        0 => (rng.next_f64() - 0.5) * 1e6,
                        1 => (rng.next_f64() * 10.0).floor(),
                        2 => 1000.0 + rng.next_f64(),
                        3 => 7.25,
                        _ => match i % 9 {
                            0 => -0.0,
                            1 => 0.0,
                            2 => f64::NAN,
                            3 => -f64::NAN,
                            4 => f64::INFINITY,
                            5 => f64::NEG_INFINITY,
                            6 => (rng.next_f64() - 0.5) * 1e-300,
                            7 => f64::MIN_POSITIVE / 2.0,
                            _ => -1e308 * rng.next_f64(),
                        },
                    })
                    .collect();
                let mut want = v.clone();
                want.sort_unstable_by(f64::total_cmp);
                let mut w = v.clone();
                sort_f64(&mut v);
                sort_f64_with(&mut w, &mut scratch);
                assert_eq!(bits(&v), bits(&want), "n {n} kind {kind}");
                assert_eq!(bits(&w), bits(&want), "n {n} kind {kind} (scratch)");
            }
        }
    }
}
