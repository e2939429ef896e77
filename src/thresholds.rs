//! Per-class confident thresholds: the mean probability of class k over tokens labelled k.

use crate::error::{Error, Result};
use crate::float::Float;
use crate::pairwise::{assemble, pairwise_sum, Piece, PieceBuilder, Plan};
use crate::parallel::Workers;
use crate::ragged::Probs;
use std::ops::Range;

/// Class thresholds with the dtype numpy gives them.
#[derive(Clone, Debug, PartialEq)]
pub struct Thresholds {
    /// Thresholds, exact in float64 (float32 values widened).
    pub values: Vec<f64>,
    /// Whether numpy holds them as float64: float64 input, or a class with no token, whose
    /// placeholder is the Python int 2 and widens the whole vector.
    pub wide: bool,
}

/// Placeholder threshold of a class that no token carries.
const MISSING_CLASS: f64 = 2.0;
/// Lower clip of every threshold.
const LOWER_BOUND: f64 = 2e-6;
/// Slack of the `p >= t - 1e-6` comparison.
pub const SLACK: f64 = 1e-6;

impl Thresholds {
    /// From per-class sums (in the input dtype) and counts, as `np.mean` then `np.clip`.
    pub fn from_sums<T: Float>(sums: &[T], counts: &[usize]) -> Self {
        let wide = T::IS_F64 || counts.contains(&0);
        let floor = if wide {
            LOWER_BOUND
        } else {
            T::from_f64(LOWER_BOUND).to_f64()
        };
        let values = sums
            .iter()
            .zip(counts)
            .map(|(&s, &c)| {
                let mean = if c == 0 {
                    MISSING_CLASS
                } else {
                    // numpy divides the dtype's sum by the count in float64, then rounds back.
                    T::from_f64(s.to_f64() / c as f64).to_f64()
                };
                mean.max(floor)
            })
            .collect();
        Thresholds { values, wide }
    }

    /// `t - 1e-6` per class, computed in the thresholds' dtype and widened to float64, so that
    /// `p as f64 >= cut` is numpy's comparison.
    pub fn cuts(&self) -> Vec<f64> {
        self.values
            .iter()
            .map(|&t| {
                if self.wide {
                    t - SLACK
                } else {
                    ((t as f32) - (SLACK as f32)) as f64
                }
            })
            .collect()
    }

    /// [`Thresholds::cuts`] in the probabilities' dtype `T`, comparing as numpy does: float32
    /// values meet wide (float64) cuts in float64, and the smallest float32 at or above each
    /// cut gives the same answers in float32.
    pub fn typed_cuts<T: Float>(&self) -> Vec<T> {
        self.cuts().iter().map(|&c| T::at_or_above(c)).collect()
    }

    /// The largest threshold (numpy's `max`, same dtype).
    pub fn max(&self) -> f64 {
        self.values
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max)
    }
}

/// Tokens per class (a slice of labels, or any labels read one by one).
pub fn label_counts<'a>(labels: impl IntoIterator<Item = &'a u32>, k: usize) -> Vec<usize> {
    let mut counts = vec![0usize; k];
    for &l in labels {
        counts[l as usize] += 1;
    }
    counts
}

/// Thresholds over all tokens, with the label counts. Each class's values are summed along
/// numpy's pairwise tree in token order, exactly as `np.mean(pred_probs[:, k][labels == k])`,
/// without gathering them; only each token's given-class probability is read.
pub fn confident_thresholds<T: Float>(
    labels: &[u32],
    probs: &Probs,
    w: &Workers,
    ranges: &[Range<usize>],
) -> (Thresholds, Vec<usize>) {
    thresholds_into::<T>(labels, probs, None, w, ranges)
}

/// [`confident_thresholds`], keeping every token's given-class probability (which the pass
/// reads anyway) for the steps that score by it.
pub fn confident_thresholds_given<T: Float>(
    labels: &[u32],
    probs: &Probs,
    w: &Workers,
    ranges: &[Range<usize>],
) -> (Thresholds, Vec<usize>, Vec<T>) {
    let mut given = vec![T::ZERO; labels.len()];
    let (t, counts) = thresholds_into::<T>(labels, probs, Some(&mut given), w, ranges);
    (t, counts, given)
}

fn thresholds_into<T: Float>(
    labels: &[u32],
    probs: &Probs,
    given: Option<&mut [T]>,
    w: &Workers,
    ranges: &[Range<usize>],
) -> (Thresholds, Vec<usize>) {
    let k = probs.num_classes();
    let per_range = w.map(ranges, |r| label_counts(&labels[r.clone()], k));
    let counts = sum_counts(&per_range, k);
    let plans: Vec<Plan> = counts.iter().map(|&n| Plan::new(n)).collect();
    let first = vec![0; k];
    let pieces = range_pieces::<T>(labels, probs, &first, &per_range, &plans, given, w, ranges);
    (thresholds_from_pieces(&counts, &plans, pieces), counts)
}

/// Per-class totals of per-range counts.
pub fn sum_counts(per_range: &[Vec<usize>], k: usize) -> Vec<usize> {
    let mut counts = vec![0usize; k];
    for c in per_range {
        for (total, n) in counts.iter_mut().zip(c) {
            *total += n;
        }
    }
    counts
}

/// Tokens of each class before each range, the first range starting after `first`.
fn range_starts(first: &[usize], per_range: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let mut starts = first.to_vec();
    let mut out = Vec::with_capacity(per_range.len());
    for c in per_range {
        out.push(starts.clone());
        for (s, n) in starts.iter_mut().zip(c) {
            *s += n;
        }
    }
    out
}

/// [`threshold_pieces`] of consecutive `ranges`, whose label counts are `per_range` and before
/// which `first[c]` tokens of each class c come; `given`, if any, receives every token's
/// given-class probability.
#[allow(clippy::too_many_arguments)]
pub fn range_pieces<T: Float>(
    labels: &[u32],
    probs: &Probs,
    first: &[usize],
    per_range: &[Vec<usize>],
    plans: &[Plan],
    given: Option<&mut [T]>,
    w: &Workers,
    ranges: &[Range<usize>],
) -> Vec<Vec<Piece<T>>> {
    let starts = range_starts(first, per_range);
    match given {
        Some(given) => w.map_mut(
            ranges,
            given,
            #[inline(always)]
            |range, out| {
                let i = ranges.partition_point(|r| r.start < range.start);
                threshold_pieces::<T>(labels, probs, range, &starts[i], plans, out)
            },
        ),
        None => {
            let each: Vec<usize> = (0..ranges.len()).collect();
            w.map(
                &each,
                #[inline(always)]
                |&i| {
                    let (range, buf) = (ranges[i].clone(), &mut [T::ZERO; 256]);
                    threshold_pieces::<T>(labels, probs, range, &starts[i], plans, buf)
                },
            )
        }
    }
}

/// What rows `range` contribute to every class's sum, given how many tokens of each class come
/// before them (`starts`) and the summation plans of the whole dataset. `buf` (not empty)
/// receives the given-class probabilities, a block of its length at a time.
#[inline(always)]
pub fn threshold_pieces<T: Float>(
    labels: &[u32],
    probs: &Probs,
    range: Range<usize>,
    starts: &[usize],
    plans: &[Plan],
    buf: &mut [T],
) -> Vec<Piece<T>> {
    let mut builders: Vec<PieceBuilder<T>> = plans
        .iter()
        .zip(starts)
        .map(|(p, &s)| PieceBuilder::new(p, s))
        .collect();
    // Gather first, then feed: the loads of a block are independent and overlap in flight.
    // Rows of two cache lines or more leave most lines unread, which defeats the hardware's
    // prefetching: the value a few rows on is fetched by hand.
    const AHEAD: usize = 16;
    let sparse = probs.num_classes() * std::mem::size_of::<T>() >= 128;
    let vals = buf;
    let mut start = range.start;
    while start < range.end {
        let end = (start + vals.len().max(1)).min(range.end);
        probs.for_each_row_in::<T>(
            start..end,
            #[inline(always)]
            |f, row| {
                vals[f - start] = row[labels[f] as usize];
                if let Some(&l) = labels.get(f + AHEAD).filter(|_| sparse) {
                    // The value AHEAD rows on, in a contiguous block (elsewhere a harmless
                    // hint).
                    let at = AHEAD * row.len() + l as usize;
                    crate::simd::prefetch(row.as_ptr().wrapping_add(at));
                }
            },
        );
        for (f, &v) in (start..end).zip(vals.iter()) {
            let l = labels[f] as usize;
            builders[l].push(&plans[l], v);
        }
        start = end;
    }
    builders.into_iter().map(PieceBuilder::finish).collect()
}

/// Completes the thresholds from every range's [`threshold_pieces`], in token order.
pub fn thresholds_from_pieces<T: Float>(
    counts: &[usize],
    plans: &[Plan],
    pieces: impl IntoIterator<Item = Vec<Piece<T>>>,
) -> Thresholds {
    let mut per_class: Vec<Vec<Piece<T>>> = vec![Vec::new(); counts.len()];
    for range_pieces in pieces {
        for (c, piece) in range_pieces.into_iter().enumerate() {
            per_class[c].push(piece);
        }
    }
    let sums: Vec<T> = per_class
        .into_iter()
        .zip(plans)
        .map(|(p, plan)| assemble(plan, p))
        .collect();
    Thresholds::from_sums(&sums, counts)
}

/// The first probability outside [0, 1] of some rows: (row, class, value).
pub type Outside = Option<(usize, usize, f64)>;

/// Checks one row: finite and within `[-1e-6, 1 + 1e-6]` (bounds in the dtype). Returns the
/// first class whose probability lies outside [0, 1] (entropies refuse those).
#[inline]
pub fn check_row<T: Float>(f: usize, row: &[T]) -> Result<Outside> {
    let mut outside = None;
    for (j, &v) in row.iter().enumerate() {
        // One comparison pair covers the common case; details only on failure.
        if !(v >= T::ZERO && v <= T::ONE) {
            let x = v.to_f64();
            if !x.is_finite() {
                return Err(Error::NotFinite {
                    row: f,
                    class: j,
                    value: x,
                });
            }
            if v < T::from_f64(-SLACK) || v > T::from_f64(1.0 + SLACK) {
                return Err(Error::OutOfRange {
                    row: f,
                    class: j,
                    value: x,
                });
            }
            outside.get_or_insert((f, j, x));
        }
    }
    Ok(outside)
}

/// cleanlab's `low_memory` thresholds: a running float64 mean, weighted by class counts, of the
/// thresholds of consecutive batches of `batch` tokens, clipped after every batch.
pub fn batched_thresholds<T: Float>(
    labels: &[u32],
    probs: &Probs,
    batch: usize,
    w: &Workers,
) -> Vec<f64> {
    let k = probs.num_classes();
    let n = labels.len();
    let batches: Vec<Range<usize>> = (0..n.div_ceil(batch))
        .map(|b| b * batch..((b + 1) * batch).min(n))
        .collect();
    let per_batch = w.map(&batches, |r| {
        let mut gathered: Vec<Vec<T>> = vec![Vec::new(); k];
        probs.for_each_row_in::<T>(
            r.clone(),
            #[inline(always)]
            |f, row| {
                let l = labels[f] as usize;
                gathered[l].push(row[l]);
            },
        );
        let counts: Vec<usize> = gathered.iter().map(Vec::len).collect();
        let sums: Vec<T> = gathered.iter().map(|v| pairwise_sum(v)).collect();
        (Thresholds::from_sums(&sums, &counts), counts)
    });
    let mut running = vec![0.0f64; k];
    let mut seen = vec![0.0f64; k];
    for (bt, counts) in per_batch {
        for c in 0..k {
            let bc = counts[c] as f64;
            let num = seen[c] * running[c] + bc * bt.values[c];
            running[c] = (num / (seen[c] + bc).max(1.0)).max(LOWER_BOUND);
            seen[c] += bc;
        }
    }
    running
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array2};

    fn thresholds<T: Float>(labels: &[u32], probs: &Probs, threads: usize) -> Thresholds {
        let w = Workers::new(threads);
        confident_thresholds::<T>(labels, probs, &w, &w.ranges(labels.len())).0
    }

    #[test]
    fn all_present_float32_stays_narrow() {
        let p = array![[0.9f32, 0.1], [0.3, 0.7], [0.6, 0.4]];
        let probs = Probs::from_view_f32(p.view()).unwrap();
        let t = thresholds::<f32>(&[0, 1, 0], &probs, 1);
        assert!(!t.wide);
        assert_eq!(t.values[0], ((0.9f32 + 0.6f32) as f64 / 2.0) as f32 as f64);
        assert_eq!(t.values[1], 0.7f32 as f64);
        assert_eq!(t.cuts()[1], (0.7f32 - 1e-6f32) as f64);
    }

    #[test]
    fn a_missing_class_widens_and_gets_two() {
        let p = array![[0.9f32, 0.1, 0.0], [0.3, 0.7, 0.0]];
        let probs = Probs::from_view_f32(p.view()).unwrap();
        let t = thresholds::<f32>(&[0, 1], &probs, 1);
        assert!(t.wide);
        assert_eq!(t.values[2], 2.0);
        assert_eq!(t.cuts()[1], 0.7f32 as f64 - 1e-6);
        // float32 rows meet that float64 cut in float64: the typed cut decides alike.
        let up = t.typed_cuts::<f32>()[1];
        assert!(up as f64 >= t.cuts()[1]);
        assert!((f32::from_bits(up.to_bits() - 1) as f64) < t.cuts()[1]);
    }

    #[test]
    fn tiny_means_are_clipped() {
        let p = array![[1.0f64, 0.0], [1.0, 0.0]];
        let probs = Probs::from_view_f64(p.view()).unwrap();
        assert_eq!(thresholds::<f64>(&[0, 1], &probs, 1).values[1], 2e-6);
    }

    #[test]
    fn threads_do_not_change_the_sums() {
        let n = 300_001;
        let p = Array2::from_shape_fn((n, 3), |(i, j)| {
            ((i * 31 + j * 17) % 1000) as f32 / 999.0 * 0.3
        });
        let labels: Vec<u32> = (0..n).map(|i| (i % 7 % 3) as u32).collect();
        let probs = Probs::from_view_f32(p.view()).unwrap();
        let one = thresholds::<f32>(&labels, &probs, 1);
        let many = thresholds::<f32>(&labels, &probs, 4);
        assert_eq!(one, many);
        // and both equal the plain gathered pairwise mean
        let col: Vec<f32> = (0..n)
            .filter(|&i| labels[i] == 2)
            .map(|i| p[[i, 2]])
            .collect();
        let mean = (pairwise_sum(&col) as f64 / col.len() as f64) as f32;
        assert_eq!(one.values[2], mean as f64);
    }

    #[test]
    fn rows_are_checked_with_slack() {
        assert_eq!(check_row(3, &[0.5f64, 0.5]), Ok(None));
        assert_eq!(
            check_row(3, &[-5e-7f32, 1.0]),
            Ok(Some((3, 0, -5e-7f32 as f64)))
        );
        assert!(matches!(
            check_row(3, &[0.5f64, f64::NAN]),
            Err(Error::NotFinite {
                row: 3,
                class: 1,
                ..
            })
        ));
        assert!(matches!(
            check_row(0, &[1.1f32, 0.0]),
            Err(Error::OutOfRange { class: 0, .. })
        ));
    }

    #[test]
    fn batches_of_everything_equal_the_plain_mean_in_float64() {
        let p = array![[0.9f64, 0.1], [0.3, 0.7], [0.6, 0.4]];
        let probs = Probs::from_view_f64(p.view()).unwrap();
        let w = Workers::serial();
        let one = batched_thresholds::<f64>(&[0, 1, 0], &probs, 10, &w);
        assert_eq!(one, thresholds::<f64>(&[0, 1, 0], &probs, 1).values);
        let small = batched_thresholds::<f64>(&[0, 1, 0], &probs, 1, &w);
        assert_eq!(small[0], (1.0 * 0.9 + 1.0 * 0.6) / 2.0);
    }
}
