//! Row kernels written in fixed groups of four lanes, a shape LLVM turns into packed compares
//! and `movmsk` on any x86-64 (no intrinsics, no `unsafe`).

use crate::float::Float;

/// Bit `j` set where `pred(a[j], b[j])`, for the first `min(len, 64)` lanes.
#[inline(always)]
pub fn mask<A: Copy, B: Copy>(a: &[A], b: &[B], pred: impl Fn(A, B) -> bool) -> u64 {
    let n = a.len().min(b.len()).min(64);
    let (a, b) = (&a[..n], &b[..n]);
    let mut m = 0u64;
    let mut base = 0;
    for (x, y) in a.chunks_exact(4).zip(b.chunks_exact(4)) {
        let mut c = 0u64;
        for i in 0..4 {
            c |= (pred(x[i], y[i]) as u64) << i;
        }
        m |= c << base;
        base += 4;
    }
    for j in base..n {
        m |= (pred(a[j], b[j]) as u64) << j;
    }
    m
}

/// The largest value of a non-empty row without NaN (`v > best` keeps the earlier of ties).
#[inline(always)]
pub fn max<T: Float>(row: &[T]) -> T {
    let mut acc = [row[0]; 4];
    let mut chunks = row.chunks_exact(4);
    for x in &mut chunks {
        for i in 0..4 {
            acc[i] = if x[i] > acc[i] { x[i] } else { acc[i] };
        }
    }
    let mut best = acc[0];
    for &v in acc[1..].iter().chain(chunks.remainder()) {
        best = if v > best { v } else { best };
    }
    best
}

/// In one sweep of a non-empty row without NaN: the [`mask`] of `pred(row[j], other[j])`, the
/// mask of `row[j] >= x`, and the row's [`max`].
#[inline(always)]
pub fn masks_and_max<T: Float, B: Copy>(
    row: &[T],
    other: &[B],
    pred: impl Fn(T, B) -> bool,
    x: T,
) -> (u64, u64, T) {
    let n = row.len().min(other.len()).min(64);
    let (a, b) = (&row[..n], &other[..n]);
    let (mut m, mut ge) = (0u64, 0u64);
    let mut acc = [a[0]; 4];
    let full = n / 4;
    for i in 0..full {
        let (v, w) = (&a[4 * i..4 * i + 4], &b[4 * i..4 * i + 4]);
        let (mut c, mut g) = (0u64, 0u64);
        for l in 0..4 {
            c |= (pred(v[l], w[l]) as u64) << l;
            g |= ((v[l] >= x) as u64) << l;
            acc[l] = if v[l] > acc[l] { v[l] } else { acc[l] };
        }
        m |= c << (4 * i);
        ge |= g << (4 * i);
    }
    let mut best = acc[0];
    for &v in &acc[1..] {
        best = if v > best { v } else { best };
    }
    for j in 4 * full..n {
        m |= (pred(a[j], b[j]) as u64) << j;
        ge |= ((a[j] >= x) as u64) << j;
        best = if a[j] > best { a[j] } else { best };
    }
    (m, ge, best)
}

/// Index of the first value equal to `x` (`row.len()` if none).
#[inline]
pub fn first_equal<T: Float>(row: &[T], x: T) -> usize {
    row.iter().position(|&v| v == x).unwrap_or(row.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_maxima_match_plain_loops() {
        for k in 1..=23usize {
            let row: Vec<f32> = (0..k).map(|j| ((j * 7 + 3) % 11) as f32 / 10.0).collect();
            let cut: Vec<f32> = (0..k).map(|j| ((j * 5 + 1) % 9) as f32 / 10.0).collect();
            let want = (0..k).fold(0u64, |m, j| m | ((row[j] >= cut[j]) as u64) << j);
            assert_eq!(mask(&row, &cut, |a, b| a >= b), want);
            let top = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            assert_eq!(max(&row), top);
            let ge = (0..k).fold(0u64, |m, j| m | ((row[j] >= 0.5) as u64) << j);
            assert_eq!(
                masks_and_max(&row, &cut, |a, b| a >= b, 0.5),
                (want, ge, top)
            );
        }
    }
}
