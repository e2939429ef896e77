//! How many tokens to prune per (given, true) class pair, and which ones.

use crate::error::{Error, Result};
use crate::float::{pairwise_sum, truncate_like_numpy, Float};
use crate::joint::round_preserving_sum;
use crate::parallel::Workers;
use crate::ragged::Probs;
use crate::rank::Smallest;
use std::ops::Range;

/// The prune count matrix from a confident joint `cj` (row = given label, column = guess,
/// K×K, float64). Entry `[j * k + c]` of the result is how many tokens labelled `c` to prune
/// as belonging to `j`; the diagonal is how many to keep.
///
/// `pairwise_columns`: numpy sums the columns of cleanlab's working matrix (`cj.T`) pairwise
/// when they are contiguous, i.e. when `cj` is row-major (always so for the computed joint),
/// and row by row for a column-major `cj` a user supplied.
pub fn prune_count_matrix(
    cj: &[f64],
    k: usize,
    min_examples: f64,
    frac_noise: f64,
    pairwise_columns: bool,
) -> Vec<i64> {
    // m = cj.T: m[i][j] = cj[j][i]; column j holds the tokens labelled j.
    let m = |i: usize, j: usize| cj[j * k + i];
    let mut out = vec![0.0f64; k * k];
    for j in 0..k {
        let diag = m(j, j);
        let raised = diag.max(min_examples);
        let raise = raised - diag;
        let nonzero = (0..k).filter(|&i| m(i, j) != 0.0).count() as f64;
        let spread = (nonzero - 1.0).max(1.0);
        for i in 0..k {
            let v = m(i, j) - raise / spread;
            out[i * k + j] = if v < 0.0 { 0.0 } else { v };
        }
        out[j * k + j] = raised;
    }
    // Scale the noise by frac_noise and move what it loses onto the diagonal. cleanlab's matrix
    // is a transposed view, so numpy sums each column contiguously (pairwise).
    let mut result = vec![0i64; k * k];
    for j in 0..k {
        let lost: Vec<f64> = (0..k)
            .map(|i| {
                let v = out[i * k + j];
                if i == j {
                    0.0
                } else {
                    v - v * frac_noise
                }
            })
            .collect();
        let moved = if pairwise_columns {
            pairwise_sum(&lost)
        } else {
            lost[1..].iter().fold(lost[0], |a, &b| a + b)
        };
        for i in 0..k {
            let v = if i == j {
                out[j * k + j] + moved
            } else {
                out[i * k + j] * frac_noise
            };
            result[i * k + j] = truncate_like_numpy(v);
        }
    }
    result
}

/// cleanlab's rescaling of the prune counts to `num_to_remove_per_class`, including its
/// broadcasting, which divides column j by the total of row j.
pub fn rescale_to_removals(
    pcm: &[i64],
    k: usize,
    removals: &[i64],
    label_counts: &[usize],
) -> Vec<i64> {
    let rowsum: Vec<f64> = (0..k)
        .map(|r| {
            pcm[r * k..(r + 1) * k]
                .iter()
                .fold(0i64, |a, &b| a.wrapping_add(b)) as f64
        })
        .collect();
    let mut out = Vec::with_capacity(k * k);
    for i in 0..k {
        let psy: Vec<f64> = (0..k).map(|j| pcm[i * k + j] as f64 / rowsum[j]).collect();
        let noise = pairwise_sum(&psy) - psy[i];
        let row: Vec<f64> = (0..k)
            .map(|j| {
                if i == j {
                    label_counts[i] as f64 - removals[i] as f64
                } else {
                    psy[j] * removals[i] as f64 / noise
                }
            })
            .collect();
        out.extend(round_preserving_sum(&row));
    }
    out
}

/// Whether class `c` takes part in pruning: more than `min_examples` tokens, and more than one
/// (cleanlab never writes back the mask of a single-token class).
fn prunable(count: usize, min_examples: f64) -> bool {
    count as f64 > min_examples && count > 1
}

/// How many tokens `prune_by_class` takes from each class (`None`: the class is left alone).
pub fn class_wanted(pcm: &[i64], counts: &[usize], min_examples: f64) -> Vec<Option<usize>> {
    let k = counts.len();
    (0..k)
        .map(|c| {
            // numpy's int64 arithmetic wraps; so does this (a NaN-born i64::MIN stays inert).
            let n = (counts[c] as i64).wrapping_sub(pcm[c * k + c]);
            (prunable(counts[c], min_examples) && n >= 1).then_some(n as usize)
        })
        .collect()
}

/// For each given class c: the other classes j that prune it, with how many tokens
/// (`prune_by_noise_rate`).
pub fn noise_rate_wanted(
    pcm: &[i64],
    counts: &[usize],
    min_examples: f64,
) -> Vec<Vec<(usize, usize)>> {
    let k = counts.len();
    (0..k)
        .map(|c| {
            if !prunable(counts[c], min_examples) {
                return Vec::new();
            }
            (0..k)
                .filter(|&j| j != c && pcm[j * k + c] > 0)
                .map(|j| (j, pcm[j * k + c] as usize))
                .collect()
        })
        .collect()
}

/// The key `prune_by_noise_rate` ranks a token labelled `c` by for class `j`: smaller first.
#[inline(always)]
pub fn margin_key<T: Float>(row: &[T], c: usize, j: usize) -> f64 {
    // cleanlab sorts the negated margin -(p[j] - p[c]) ascending; in IEEE arithmetic that is
    // p[c] - p[j] (up to the sign of zero, which ties).
    (row[c] - row[j]).to_f64()
}

/// `prune_by_class`: per class, the tokens with the lowest probability of their given class,
/// as many as the class holds beyond its diagonal prune count. Returns their positions.
pub fn select_by_class<T: Float>(
    labels: &[u32],
    probs: &Probs,
    pcm: &[i64],
    counts: &[usize],
    min_examples: f64,
    w: &Workers,
    ranges: &[Range<usize>],
) -> Vec<usize> {
    let wanted = class_wanted(pcm, counts, min_examples);
    let make = || wanted.iter().map(|n| n.map(Smallest::new)).collect();
    class_pickers::<T>(labels, probs, make, w, ranges)
        .into_iter()
        .flatten()
        .flat_map(Smallest::positions)
        .collect()
}

/// Fills `prune_by_class` pickers (one per class; `None`: the class is left alone) from the
/// rows of `ranges`; `make` gives empty ones.
pub fn class_pickers<T: Float>(
    labels: &[u32],
    probs: &Probs,
    make: impl Fn() -> Vec<Option<Smallest>> + Sync,
    w: &Workers,
    ranges: &[Range<usize>],
) -> Vec<Option<Smallest>> {
    let per_range = w.map(ranges, |range| {
        let mut pickers = make();
        probs.for_each_row_in::<T>(range.clone(), |f, row| {
            let c = labels[f] as usize;
            if let Some(p) = &mut pickers[c] {
                p.push_key(row[c].to_f64(), f);
            }
        });
        pickers
    });
    let mut merged = make();
    for pickers in per_range {
        for (m, p) in merged.iter_mut().zip(pickers) {
            if let (Some(m), Some(p)) = (m, p) {
                m.absorb(p);
            }
        }
    }
    merged
}

/// `prune_by_noise_rate`: for every given class c and other class j with a positive prune
/// count, the tokens labelled c with the largest margin `p[j] - p[c]` (ties: earlier first).
/// Returns their positions (a token may appear more than once).
pub fn select_by_noise_rate<T: Float>(
    labels: &[u32],
    probs: &Probs,
    pcm: &[i64],
    counts: &[usize],
    min_examples: f64,
    w: &Workers,
    ranges: &[Range<usize>],
) -> Vec<usize> {
    let wanted = noise_rate_wanted(pcm, counts, min_examples);
    let make = || {
        wanted
            .iter()
            .map(|v| v.iter().map(|&(j, n)| (j, Smallest::new(n))).collect())
            .collect()
    };
    rate_pickers::<T>(labels, probs, make, w, ranges)
        .into_iter()
        .flatten()
        .flat_map(|(_, p)| p.positions())
        .collect()
}

/// Fills `prune_by_noise_rate` pickers (per given class c: (j, picker) for each class j that
/// prunes it) from the rows of `ranges`; `make` gives empty ones.
pub fn rate_pickers<T: Float>(
    labels: &[u32],
    probs: &Probs,
    make: impl Fn() -> Vec<Vec<(usize, Smallest)>> + Sync,
    w: &Workers,
    ranges: &[Range<usize>],
) -> Vec<Vec<(usize, Smallest)>> {
    let k = probs.num_classes();
    let per_range = w.map(ranges, |range| {
        let mut pickers = make();
        if k > 64 {
            probs.for_each_row_in::<T>(range.clone(), |f, row| {
                let c = labels[f] as usize;
                for (j, p) in pickers[c].iter_mut() {
                    p.push_key(margin_key(row, c, *j), f);
                }
            });
            return pickers;
        }
        // limits[c][j]: the largest key that picker (j, c) still accepts; -inf where there is
        // no picker. One comparison per class, which vectorises, finds the rare candidates.
        let mut slot: Vec<Vec<usize>> = vec![vec![usize::MAX; k]; k];
        let mut limits: Vec<Vec<T>> = vec![vec![T::NEG_INFINITY; k]; k];
        for (c, per_class) in pickers.iter().enumerate() {
            for (i, (j, p)) in per_class.iter().enumerate() {
                slot[c][*j] = i;
                limits[c][*j] = T::from_f64(p.limit());
            }
        }
        probs.for_each_row_in::<T>(range.clone(), |f, row| {
            let c = labels[f] as usize;
            let pc = row[c];
            let lim = &limits[c];
            let mut mask = 0u64;
            for (j, (&v, &l)) in row.iter().zip(lim).enumerate() {
                mask |= ((pc - v <= l) as u64) << j;
            }
            while mask != 0 {
                let j = mask.trailing_zeros() as usize;
                mask &= mask - 1;
                let p = &mut pickers[c][slot[c][j]].1;
                p.push_key(margin_key(row, c, j), f);
                limits[c][j] = T::from_f64(p.limit());
            }
        });
        pickers
    });
    let mut merged = make();
    for pickers in per_range {
        for (m, p) in merged.iter_mut().zip(pickers) {
            for ((_, m), (_, p)) in m.iter_mut().zip(p) {
                m.absorb(p);
            }
        }
    }
    merged
}

/// Checks a user-supplied confident joint: K×K and finite.
pub fn check_joint(cj: &[f64], k: usize) -> Result<()> {
    if cj.len() != k * k {
        return Err(Error::Invalid(format!(
            "confident_joint must be {k}x{k} (one row and column per class)"
        )));
    }
    if let Some(v) = cj.iter().find(|v| !v.is_finite()) {
        return Err(Error::Invalid(format!(
            "confident_joint holds {v}; entries must be finite"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raised_diagonal_is_taken_from_the_noise_and_truncated() {
        // column of given label 0 in cleanlab's orientation: [0, 5, 3, 2] -> [1, 4, 2, 1]
        let k = 4;
        let mut cj = vec![0.0; k * k];
        for (i, v) in [0.0, 5.0, 3.0, 2.0].iter().enumerate() {
            cj[i] = *v; // cj[0][i]: given 0, guessed i
        }
        for c in 1..k {
            cj[c * k + c] = 10.0;
        }
        let pcm = prune_count_matrix(&cj, k, 1.0, 1.0, true);
        let col0: Vec<i64> = (0..k).map(|i| pcm[i * k]).collect();
        assert_eq!(col0, vec![1, 4, 2, 1]);
    }

    #[test]
    fn frac_noise_moves_counts_to_the_diagonal() {
        let cj = vec![6.0, 4.0, 2.0, 8.0];
        let pcm = prune_count_matrix(&cj, 2, 1.0, 0.5, true);
        // given 0: off-diagonal 4 -> 2, diagonal 6 + 2; given 1: 2 -> 1, 8 + 1
        assert_eq!(pcm, vec![8, 1, 2, 9]);
    }
}
