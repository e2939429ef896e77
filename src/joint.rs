//! The confident joint: for every token, the class it confidently belongs to, counted against
//! its given label; and the calibration that rescales those counts to the label counts.

use crate::error::{Error, Result};
use crate::float::{cmp_f64, round_half_even, Float};
use crate::pairwise::pairwise_sum;
use crate::parallel::Workers;
use crate::ragged::Probs;
use crate::thresholds::{check_row, Outside, Thresholds, SLACK};
use std::ops::Range;

/// Counted with a confident guess different from the given label.
pub const OFF_DIAGONAL: u8 = 1;
/// The given label wins the argmax once `1e-6` is added to its probability: never an issue.
pub const NEAR_LABEL: u8 = 2;
/// The plain argmax differs from the given label.
pub const PREDICTED_NEQ_GIVEN: u8 = 4;
/// Selected by the filter (set by the flagging step).
pub const SELECTED: u8 = 8;
/// Selected by `prune_by_class` (used by `both`).
pub const SELECTED_BY_CLASS: u8 = 16;

/// What one pass over the tokens learns.
#[derive(Clone, Debug)]
pub struct Scan {
    /// K×K counts, row = given label, column = confident guess (diagonal not yet clipped).
    pub joint: Vec<i64>,
    /// Per-token bit flags ([`OFF_DIAGONAL`], [`NEAR_LABEL`], [`PREDICTED_NEQ_GIVEN`]).
    pub flags: Vec<u8>,
    /// The first probability outside [0, 1] (row, class, value), which entropies refuse.
    pub outside_unit: Outside,
}

/// Index of the first maximum, as `np.argmax`.
#[inline]
pub fn argmax<T: Float>(row: &[T]) -> usize {
    let mut best = 0;
    let mut top = row[0];
    for (j, &v) in row.iter().enumerate().skip(1) {
        if v > top {
            top = v;
            best = j;
        }
    }
    best
}

/// Whether the given label becomes the argmax once `1e-6` (in the dtype) is added to it.
#[inline]
pub fn label_wins_with_slack<T: Float>(row: &[T], label: usize) -> bool {
    let bumped = row[label] + T::from_f64(SLACK);
    row[..label].iter().all(|&v| v < bumped) && row[label + 1..].iter().all(|&v| v <= bumped)
}

/// One pass over every probability: validation (see [`check_row`]), confident guesses, the
/// joint counts and the per-token flags.
pub fn scan<T: Float>(
    labels: &[u32],
    probs: &Probs,
    thresholds: &Thresholds,
    w: &Workers,
    ranges: &[Range<usize>],
) -> Result<Scan> {
    scan_against::<T>(labels, probs, &thresholds.typed_cuts::<T>(), w, ranges)
}

fn scan_against<T: Float>(
    labels: &[u32],
    probs: &Probs,
    cuts: &[T],
    w: &Workers,
    ranges: &[Range<usize>],
) -> Result<Scan> {
    let k = probs.num_classes();
    let mut flags = vec![0u8; labels.len()];
    let parts = w.map_mut(
        ranges,
        &mut flags,
        #[inline(always)]
        |range, out| -> Result<(Vec<i64>, Outside)> {
            let mut joint = vec![0i64; COPIES * (k * k + 1)];
            let mut outside = None;
            let base = range.start;
            let slack = T::from_f64(SLACK);
            // Slices small enough to stay in cache from the flat check (over 64 classes) to
            // the scan, and from the scan to the counting of its cells.
            let slice = ((1usize << 15) / k).max(64);
            // Each row's joint cell, counted after its slice: an increment inside the row loop
            // waits on a cell address that the row kernel computes late, and the loads of the
            // next rows' cells, issued early, keep having to be replayed.
            let mut cells = vec![0u16; slice];
            let mut start = range.start;
            while start < range.end {
                let sub = start..(start + slice).min(range.end);
                start = sub.end;
                let cells = &mut cells[..sub.len()];
                // Up to 64 classes the row kernel checks [0, 1] as it goes (see below); wider rows
                // are checked in one flat sweep, and looked at closely only if it fails.
                if k > 64 && !probs.all_in_unit_interval::<T>(sub.clone()) {
                    probs.try_for_each_row_in::<T, Error>(
                        sub.clone(),
                        #[inline(always)]
                        |f, row| {
                            if let Some(o) = check_row(f, row)? {
                                outside.get_or_insert(o);
                            }
                            Ok(())
                        },
                    )?;
                }
                let first = sub.start;
                probs.try_for_each_row_in::<T, Error>(
                    sub,
                    #[inline(always)]
                    |f, row| {
                        let label = labels[f] as usize;
                        let mut flag = 0u8;
                        if k > 64 {
                            let t = inspect(row, label, cuts);
                            if t.confident > 0 {
                                let guess = if t.confident > 1 {
                                    t.top
                                } else {
                                    t.first_confident
                                };
                                joint[label * k + guess] += 1;
                                if guess != label {
                                    flag |= OFF_DIAGONAL;
                                }
                            }
                            if t.top != label {
                                flag |= PREDICTED_NEQ_GIVEN;
                            }
                            if t.label_wins_with_slack {
                                flag |= NEAR_LABEL;
                            }
                            out[f - base] = flag;
                            return Ok(());
                        }
                        // The [0, 1] check folded into the row kernel, with a prefetch 4 KiB
                        // ahead, replaces a flat sweep of each slice before the scan (which
                        // had also served as the prefetch). Measured (issue 19; 1M tokens, CPU
                        // time, medians of alternating runs): list input, one thread, K=37
                        // float64 150 -> 137 ms (-9%), K=9 float32 -5 to -7%; default threads
                        // -12% and -9%; flat input -11% and -10%. Folded without the prefetch,
                        // K=9 lost 10%. Every cache line of the row is fetched: rows of
                        // several lines (K=37 float64: 296 bytes) otherwise got one of their
                        // four or five lines ahead. Measured (issue 19; list input, 1M tokens,
                        // one thread, medians of alternating runs): K=37 float64 scan 51 -> 39
                        // ms; K=9 float32 (one line a row) unchanged.
                        let ahead = row.as_ptr().cast::<u8>().wrapping_add(4096);
                        let mut off = 0;
                        while off < std::mem::size_of_val(row) {
                            crate::simd::prefetch(ahead.wrapping_add(off));
                            off += 64;
                        }
                        let (mask, best, top, in_unit) = T::ge_mask_argmax(row, cuts);
                        if !in_unit {
                            // Details (and errors) only for rows that fail; results of a
                            // row that passes `check_row` are meaningful (values finite).
                            if let Some(o) = check_row(f, row)? {
                                outside.get_or_insert(o);
                            }
                        }
                        // Confident classes as a bit mask, and the first maximum. Branch-free:
                        // which tokens are confident or off the diagonal is data, not pattern.
                        let pl = row[label];
                        let label_top = top == label;
                        let guess = if mask & mask.wrapping_sub(1) != 0 {
                            top
                        } else {
                            mask.trailing_zeros() as usize
                        };
                        let confident = mask != 0;
                        // Branch-free: tokens with no confident class count in a spare slot past the
                        // matrix.
                        let cell = (label * k + guess) * confident as usize
                            + k * k * (!confident) as usize;
                        cells[f - first] = cell as u16;
                        flag |= (confident & (guess != label)) as u8 * OFF_DIAGONAL;
                        flag |= (!label_top) as u8 * PREDICTED_NEQ_GIVEN;
                        // Does the label win the argmax once 1e-6 is added to it?
                        let bumped = pl + slack;
                        let wins = label_top | (best < bumped) | ((best == bumped) & (top > label));
                        flag |= wins as u8 * NEAR_LABEL;
                        out[f - base] = flag;
                        Ok(())
                    },
                )?;
                if k <= 64 {
                    // Neighbouring tokens count in separate copies, so that increments of one
                    // counter do not wait on each other.
                    let stride = k * k + 1;
                    for (i, &c) in cells.iter().enumerate() {
                        joint[c as usize + (i % COPIES) * stride] += 1;
                    }
                }
            }
            Ok((joint, outside))
        },
    );
    let mut joint = vec![0i64; k * k];
    let mut outside_unit = None;
    for part in parts {
        let (part, outside) = part?;
        outside_unit = outside_unit.or(outside);
        for copy in part.chunks_exact(k * k + 1) {
            for (a, b) in joint.iter_mut().zip(copy) {
                *a += b;
            }
        }
    }
    Ok(Scan {
        joint,
        flags,
        outside_unit,
    })
}

/// Copies of the joint counts in the scan (see there).
const COPIES: usize = 4;

/// Everything the scan needs from one row.
struct Token {
    confident: u32,
    first_confident: usize,
    top: usize,
    label_wins_with_slack: bool,
}

/// [`Token`] of a row of more than 64 classes (fewer go through the bit-mask path).
#[inline(always)]
fn inspect<T: Float>(row: &[T], label: usize, cuts: &[T]) -> Token {
    let mut confident = 0u32;
    let mut first_confident = usize::MAX;
    let mut top = 0usize;
    let mut best = row[0];
    for (j, (&v, &cut)) in row.iter().zip(cuts).enumerate() {
        let c = v >= cut;
        confident += c as u32;
        if c && first_confident == usize::MAX {
            first_confident = j;
        }
        if v > best {
            best = v;
            top = j;
        }
    }
    // Does the label win the argmax (first maximum) once 1e-6 is added to it? The row's first
    // maximum `best` at `top` decides: every earlier value is below it, none later above it.
    let bumped = row[label] + T::from_f64(SLACK);
    let label_wins_with_slack =
        top == label || (top < label && best < bumped) || (top > label && best <= bumped);
    Token {
        confident,
        first_confident,
        top,
        label_wins_with_slack,
    }
}

/// Sets every diagonal entry below 1 to 1.
pub fn clip_diagonal(joint: &mut [i64], k: usize) {
    for i in 0..k {
        joint[i * k + i] = joint[i * k + i].max(1);
    }
}

/// Rescales each row to its label count and the whole matrix to N, then rounds every row to
/// integers that keep its total. float64 throughout, in cleanlab's order of operations.
///
/// `total_column_major`: numpy sums the rescaled matrix in memory order, which follows the
/// layout of the joint it was given: column-major for the one `find_label_issues` builds (a
/// transposed view), row-major for a C-ordered matrix.
///
/// For integer-valued joints (exact row sums). `tokenclean.count` scales floating-point joints
/// in numpy, whose dtype and reduction order it must follow, and rounds them with
/// [`round_preserving_sum`], the one rounding rule.
pub fn calibrate(
    joint: &[f64],
    label_counts: &[usize],
    k: usize,
    total_column_major: bool,
) -> Vec<i64> {
    let mut scaled = vec![0.0f64; k * k];
    for i in 0..k {
        let row = &joint[i * k..(i + 1) * k];
        let rowsum = pairwise_sum(row).max(1e-100);
        for j in 0..k {
            scaled[i * k + j] = row[j] / rowsum * label_counts[i] as f64;
        }
    }
    let total = if total_column_major {
        let column_major: Vec<f64> = (0..k * k).map(|m| scaled[(m % k) * k + m / k]).collect();
        pairwise_sum(&column_major)
    } else {
        pairwise_sum(&scaled)
    }
    .max(1e-100);
    let n = label_counts.iter().sum::<usize>() as f64;
    let mut out = Vec::with_capacity(k * k);
    for i in 0..k {
        let row: Vec<f64> = scaled[i * k..(i + 1) * k]
            .iter()
            .map(|&x| x / total * n)
            .collect();
        out.extend(round_preserving_sum(&row));
    }
    out
}

/// Rounds half to even, then moves units onto the entries rounded furthest from their value
/// until the rounded total equals the rounded float total. Among equal remainders the later
/// index gains a unit first and the earlier one loses it first (cleanlab walks a stable
/// argsort backwards when adding).
pub fn round_preserving_sum(floats: &[f64]) -> Vec<i64> {
    let mut ints: Vec<f64> = floats.iter().map(|&x| round_half_even(x)).collect();
    let target = round_half_even(pairwise_sum(floats));
    let mut total = round_half_even(pairwise_sum(&ints));
    // NaN totals compare false and end the loop, as in cleanlab.
    while (total - target).abs() > 1e-6 {
        let diff = round_half_even(target - total);
        let step = if diff < 0.0 { -1.0 } else { 1.0 };
        let changes = (diff.abs() as usize).min(floats.len());
        let remainders: Vec<f64> = floats.iter().zip(&ints).map(|(f, i)| f - i).collect();
        let mut order: Vec<usize> = (0..floats.len()).collect();
        order.sort_by(|&a, &b| cmp_f64(remainders[a], remainders[b]));
        if step > 0.0 {
            order.reverse();
        }
        for &i in order.iter().take(changes) {
            ints[i] += step;
        }
        let new_total = round_half_even(pairwise_sum(&ints));
        if new_total == total {
            break; // no progress possible (changes == 0)
        }
        total = new_total;
    }
    ints.iter()
        .map(|&x| crate::float::truncate_like_numpy(x))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn rounding_ties_follow_the_reversed_stable_order() {
        assert_eq!(
            round_preserving_sum(&[0.5, 0.5, 0.5, 0.5]),
            vec![0, 0, 1, 1]
        );
        assert_eq!(round_preserving_sum(&[1.5, 1.5, 0.0]), vec![1, 2, 0]);
        assert_eq!(round_preserving_sum(&[2.4, 2.4, 2.4]), vec![2, 2, 3]);
    }

    #[test]
    fn argmax_takes_the_first_maximum() {
        assert_eq!(argmax(&[0.2f32, 0.4, 0.4]), 1);
        assert!(label_wins_with_slack(&[0.4f64, 0.4], 1));
        assert!(label_wins_with_slack(&[0.4f64, 0.4], 0));
        assert!(!label_wins_with_slack(&[0.3f64, 0.7], 0));
    }

    #[test]
    fn scan_counts_guesses_and_flags() {
        let p = array![[0.9f64, 0.1], [0.2, 0.8], [0.95, 0.05]];
        let probs = Probs::from_view_f64(p.view()).unwrap();
        let labels = [0, 1, 1];
        let w = Workers::serial();
        let all = w.ranges(3);
        let (t, _) = crate::thresholds::confident_thresholds::<f64>(&labels, &probs, &w, &all);
        let s = scan::<f64>(&labels, &probs, &t, &w, &all).unwrap();
        // class-1 threshold is (0.8 + 0.05) / 2: token 2 is confidently class 0
        assert_eq!(s.joint, vec![1, 0, 1, 1]);
        assert_eq!(s.flags[2], OFF_DIAGONAL | PREDICTED_NEQ_GIVEN);
        assert_eq!(s.flags[0], NEAR_LABEL);
    }

    #[test]
    fn calibration_keeps_row_totals() {
        let cj = [3.0, 1.0, 0.0, 2.0];
        let out = calibrate(&cj, &[5, 3], 2, true);
        assert_eq!(out.iter().sum::<i64>(), 8);
        assert_eq!(out[0] + out[1], 5);
    }
}
