//! Row kernels written in fixed groups of four lanes, a shape LLVM turns into packed compares
//! and `movmsk` on any x86-64 (no intrinsics, no `unsafe`).

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

/// Whether every value lies in [0, 1] (false for NaN).
#[inline(always)]
pub fn in_unit_interval<T: Copy + PartialOrd + From<u8>>(row: &[T]) -> bool {
    let (zero, one) = (T::from(0u8), T::from(1u8));
    row.iter().fold(true, |a, &v| a & (v >= zero) & (v <= one))
}

/// The largest value of a non-empty row without NaN (`v > best` keeps the earlier of ties);
/// the reference the tests compare the kernels' maximum with.
#[cfg(test)]
pub fn max<T: Copy + PartialOrd>(row: &[T]) -> T {
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
/// row's maximum and the index of its first occurrence (as `np.argmax`).
#[inline(always)]
pub fn mask_and_argmax<T: Copy + PartialOrd, B: Copy>(
    row: &[T],
    other: &[B],
    pred: impl Fn(T, B) -> bool,
) -> (u64, T, usize) {
    let n = row.len().min(other.len()).min(64);
    let (a, b) = (&row[..n], &other[..n]);
    let mut m = 0u64;
    // Lane l keeps the first maximum among row[0] and the values at l, l + 4, ...
    let mut acc = [a[0]; 4];
    let mut idx = [0u32; 4];
    let full = n / 4;
    for i in 0..full {
        let (v, w) = (&a[4 * i..4 * i + 4], &b[4 * i..4 * i + 4]);
        let mut c = 0u64;
        for l in 0..4 {
            c |= (pred(v[l], w[l]) as u64) << l;
            let up = v[l] > acc[l];
            acc[l] = if up { v[l] } else { acc[l] };
            idx[l] = if up { (4 * i + l) as u32 } else { idx[l] };
        }
        m |= c << (4 * i);
    }
    let mut best = acc[0];
    for &v in &acc[1..] {
        best = if v > best { v } else { best };
    }
    // Branch-free: the smallest index among lanes holding the maximum.
    let pick = |l: usize| if acc[l] == best { idx[l] } else { u32::MAX };
    let top = pick(0).min(pick(1)).min(pick(2).min(pick(3)));
    let mut top = top as usize;
    for j in 4 * full..n {
        m |= (pred(a[j], b[j]) as u64) << j;
        let up = a[j] > best;
        best = if up { a[j] } else { best };
        top = if up { j } else { top };
    }
    (m, best, top)
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
            let first = row.iter().position(|&v| v == top).unwrap_or(k);
            assert_eq!(
                mask_and_argmax(&row, &cut, |a, b| a >= b),
                (want, top, first)
            );
        }
    }
}
