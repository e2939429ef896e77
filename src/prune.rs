//! How many tokens to prune per (given, true) class pair, and which ones.
//!
//! # Why the noise-rate pass is exact
//!
//! Each picker (given class c, other class j) must return the `n` tokens labelled c with the
//! smallest keys `p[c] - p[j]`, ties by position ([`Smallest`] keeps exactly those of what it
//! is shown). The shortcuts only decide which tokens a picker is shown, and the one invariant
//! is: **a picker's final contents were chosen from a set of tokens that holds all of its true
//! `n` smallest.** Each shortcut keeps it as follows.
//!
//! * **A full picker's bound** (`Smallest::limit`): once a picker holds `n` keys it is shown
//!   only keys that could still enter it; a key left out would have been dropped anyway.
//! * **`not_top`** (the tokens whose label is not their first maximum): a topped token has
//!   `p[c] >= p[j]` for every j, so all its keys are `>= 0`. If the picker's n-th smallest key
//!   among the listed tokens is negative, no topped token can displace it. Otherwise the
//!   picker is *unsure* and is run again over every token. Without a list (more than 4G
//!   tokens: positions do not fit u32) every token is read. Over the list, only negative
//!   keys are shown ([`Smallest::tighten`]): the picker is sure exactly when n of them
//!   exist, and then its n smallest are among them.
//! * **A bound given up front** (the second exchange of the chunked rounds): every key beyond
//!   it is known to lose already.
//! * **Threads**: each range fills its own pickers and [`Smallest::absorb`] merges them. The
//!   smallest `n` of a union are the smallest `n` of the parts' smallest `n`, whatever the
//!   split, so the answer does not depend on the number of threads.
//!
//! A sampled cut per picker (admit only keys below a value a sample predicts) used to sit in
//! front of the pass. Measured before its removal (1M tokens, K=9 float32, one thread: 3-5%
//! faster; 500k tokens, K=37 float64: 5-8% slower), it did not clear the 5% bar: the
//! pickers' own bounds, which tighten as they fill, already skip most keys.

use crate::error::{Error, Result};
use crate::float::{truncate_like_numpy, Float};
use crate::joint::round_preserving_sum;
use crate::pairwise::pairwise_sum;
use crate::parallel::Workers;
use crate::ragged::Probs;
use crate::rank::{Keyed, Smallest};
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
/// `given`: as [`class_pickers`].
#[allow(clippy::too_many_arguments)]
pub fn select_by_class<T: Float>(
    labels: &[u32],
    probs: &Probs,
    pcm: &[i64],
    counts: &[usize],
    min_examples: f64,
    given: Option<&[T]>,
    w: &Workers,
    ranges: &[Range<usize>],
) -> Vec<usize> {
    let wanted = class_wanted(pcm, counts, min_examples);
    let make = || wanted.iter().map(|n| n.map(Smallest::new)).collect();
    class_pickers::<T>(labels, probs, make, given, w, ranges)
        .into_iter()
        .flatten()
        .flat_map(Smallest::positions)
        .collect()
}

/// Per range, fresh pickers from `make` fed every row (position, row) by `feed`.
fn per_range<T: Float, P: Send>(
    probs: &Probs,
    make: &(impl Fn() -> P + Sync),
    feed: impl Fn(&mut P, usize, &[T]) + Sync + Send,
    w: &Workers,
    ranges: &[Range<usize>],
) -> Vec<P> {
    w.map(
        ranges,
        #[inline(always)]
        |range| {
            let mut pickers = make();
            probs.for_each_row_in::<T>(
                range.clone(),
                #[inline(always)]
                |f, row| feed(&mut pickers, f, row),
            );
            pickers
        },
    )
}

/// Fills `prune_by_class` pickers (one per class; `None`: the class is left alone) from the
/// rows of `ranges`; `make` gives empty ones.
///
/// `given`: every token's given-class probability, if at hand: read instead of the rows.
pub fn class_pickers<T: Float>(
    labels: &[u32],
    probs: &Probs,
    make: impl Fn() -> Vec<Option<Smallest>> + Sync,
    given: Option<&[T]>,
    w: &Workers,
    ranges: &[Range<usize>],
) -> Vec<Option<Smallest>> {
    let per_range = match given {
        Some(given) => w.map(ranges, |range| {
            let mut pickers = make();
            for f in range.clone() {
                if let Some(p) = &mut pickers[labels[f] as usize] {
                    p.push_key(given[f].to_f64(), f);
                }
            }
            pickers
        }),
        None => per_range::<T, _>(
            probs,
            &make,
            #[inline(always)]
            |pickers, f, row| {
                let c = labels[f] as usize;
                if let Some(p) = &mut pickers[c] {
                    p.push_key(row[c].to_f64(), f);
                }
            },
            w,
            ranges,
        ),
    };
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
/// Returns their positions (a token may appear more than once). `not_top`: as [`rate_pickers`].
#[allow(clippy::too_many_arguments)]
pub fn select_by_noise_rate<T: Float>(
    labels: &[u32],
    probs: &Probs,
    pcm: &[i64],
    counts: &[usize],
    min_examples: f64,
    not_top: Option<&[u32]>,
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
    rate_pickers::<T>(labels, probs, make, not_top, w, ranges)
        .into_iter()
        .flatten()
        .flat_map(|(_, p)| p.positions())
        .collect()
}

/// `prune_by_noise_rate` pickers: per given class c, (j, picker) for each class j that prunes
/// it.
pub type Pickers = Vec<Vec<(usize, Smallest)>>;

/// Fills the pickers `make` gives (any sizes, any bounds) from the rows of `ranges`. `not_top`,
/// if given, lists (ascending) the tokens whose label is not their first maximum; the others
/// are then read only for pickers that need them.
pub fn rate_pickers<T: Float>(
    labels: &[u32],
    probs: &Probs,
    make: impl Fn() -> Pickers + Sync,
    not_top: Option<&[u32]>,
    w: &Workers,
    ranges: &[Range<usize>],
) -> Pickers {
    // Every range holds a full set of pickers until the merge: one range per thread keeps
    // that to one set per thread.
    let ranges = &w.per_thread(ranges);
    let k = probs.num_classes();
    if k > 64 {
        let per_range = per_range::<T, _>(
            probs,
            &make,
            #[inline(always)]
            |pickers: &mut Pickers, f, row| {
                let c = labels[f] as usize;
                for (j, p) in pickers[c].iter_mut() {
                    p.push_key(margin_key(row, c, *j), f);
                }
            },
            w,
            ranges,
        );
        return merge_pickers(per_range).unwrap_or_else(make);
    }
    // Over the listed tokens only negative keys are admitted: a picker is sure exactly when
    // it holds n of them (its n-th key is then negative), as before, and is otherwise run
    // again below. Until a picker fills, an unbounded one took every key of its class: 449k
    // keys pushed instead of 334k (1M tokens, K=9). Measured (issue 19; list input, 1M
    // tokens, medians of alternating runs): this pass, one thread, K=37 float64 33.2 -> 31.3
    // ms, K=9 float32 11.3 -> 10.7 ms; default threads (2 cores) 45.8 -> 39.8 and 15.8 ->
    // 14.1 ms (each thread's pickers fill on their own).
    let negative = || -> Pickers {
        let mut pickers = make();
        if not_top.is_some() {
            for (_, p) in pickers.iter_mut().flatten() {
                p.tighten(Keyed::new(0.0, 0));
            }
        }
        pickers
    };
    let mut merged = noise_rate_pass::<T>(labels, probs, &negative, not_top, w, ranges);
    // When only the tokens not topped by their label were read, run again over every token
    // the pickers whose n-th key is not negative (a topped token's keys are all >= 0 and could
    // still belong).
    let Some(_) = not_top else {
        return merged;
    };
    let short: Vec<Vec<usize>> = merged
        .iter_mut()
        .map(|kept| {
            kept.iter_mut()
                .filter_map(|(j, p)| (!p.nth_key().is_some_and(|key| key < 0.0)).then_some(*j))
                .collect()
        })
        .collect();
    if short.iter().any(|v| !v.is_empty()) {
        let make_short = || -> Pickers {
            make()
                .into_iter()
                .zip(&short)
                .map(|(v, s)| v.into_iter().filter(|(j, _)| s.contains(j)).collect())
                .collect()
        };
        let again = noise_rate_pass::<T>(labels, probs, &make_short, None, w, ranges);
        for (m, a) in merged.iter_mut().zip(again) {
            for (j, p) in a {
                if let Some(slot) = m.iter_mut().find(|(jj, _)| *jj == j) {
                    slot.1 = p;
                }
            }
        }
    }
    merged
}

/// The ranges' pickers merged into the first range's (`None` without ranges).
fn merge_pickers(per_range: Vec<Pickers>) -> Option<Pickers> {
    let mut per_range = per_range.into_iter();
    let mut merged = per_range.next()?;
    for pickers in per_range {
        for (m, p) in merged.iter_mut().zip(pickers) {
            for ((_, m), (_, p)) in m.iter_mut().zip(p) {
                m.absorb(p);
            }
        }
    }
    Some(merged)
}

/// What one range's pass keeps: the pickers and the largest key each still accepts.
struct PassState<'a, T> {
    pickers: &'a mut Pickers,
    /// `limits[c * k + j]`: the largest key picker (j, c) still accepts; -inf where there is
    /// no picker. One comparison per class, which vectorises, finds the rare candidates.
    limits: &'a mut [T],
    /// `slot[c * k + j]`: the index of picker (j, c) among class c's.
    slot: &'a [usize],
}

impl<T: Float> PassState<'_, T> {
    /// Offers token `f`, labelled `c`, to its class's pickers.
    #[inline(always)]
    fn offer(&mut self, c: usize, f: usize, row: &[T]) {
        let k = row.len();
        let pc = row[c];
        let lim = &self.limits[c * k..c * k + k];
        let mut mask = T::margin_mask(row, pc, lim);
        while mask != 0 {
            let j = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            let i = self.slot[c * k + j];
            let p = &mut self.pickers[c][i].1;
            p.push_key(margin_key(row, c, j), f);
            let l = T::from_f64(p.limit());
            if l < self.limits[c * k + j] {
                self.limits[c * k + j] = l;
            }
        }
    }
}

/// One pass of the noise-rate pickers `make` gives over every range (only the tokens listed in
/// `rows`, ascending, if given), admitting keys within the pickers' own bounds.
fn noise_rate_pass<T: Float>(
    labels: &[u32],
    probs: &Probs,
    make: &(impl Fn() -> Pickers + Sync),
    rows: Option<&[u32]>,
    w: &Workers,
    ranges: &[Range<usize>],
) -> Pickers {
    let k = probs.num_classes();
    let per_range = w.map(
        ranges,
        #[inline(always)]
        |range| {
            let mut pickers = make();
            let mut slot = vec![usize::MAX; k * k];
            let mut limits = vec![T::NEG_INFINITY; k * k];
            for (c, per_class) in pickers.iter().enumerate() {
                for (i, (j, p)) in per_class.iter().enumerate() {
                    slot[c * k + j] = i;
                    limits[c * k + j] = T::from_f64(p.limit());
                }
            }
            let mut state = PassState {
                pickers: &mut pickers,
                limits: &mut limits,
                slot: &slot,
            };
            match rows {
                Some(rows) => {
                    let lo = rows.partition_point(|&r| (r as usize) < range.start);
                    let hi = rows.partition_point(|&r| (r as usize) < range.end);
                    probs.for_each_listed_row::<T, _>(
                        &rows[lo..hi],
                        #[inline(always)]
                        |f, row| state.offer(labels[f] as usize, f, row),
                    );
                }
                None => probs.for_each_row_in::<T>(
                    range.clone(),
                    #[inline(always)]
                    |f, row| state.offer(labels[f] as usize, f, row),
                ),
            }
            pickers
        },
    );
    merge_pickers(per_range).unwrap_or_else(make)
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

    /// The `n` tokens labelled 0 with the smallest `p[0] - p[1]`, by brute force.
    fn naive(p: &ndarray::Array2<f64>, labels: &[u32], n: usize) -> Vec<usize> {
        let mut keyed: Vec<crate::rank::Keyed> = (0..labels.len())
            .filter(|&f| labels[f] == 0)
            .map(|f| crate::rank::Keyed::new(p[[f, 0]] - p[[f, 1]], f))
            .collect();
        keyed.sort();
        let mut v: Vec<usize> = keyed[..n].iter().map(|k| k.pos).collect();
        v.sort();
        v
    }

    #[test]
    fn too_few_untopped_tokens_are_completed_from_all_tokens() {
        // Eighty strong candidates and a hundred wanted: the pass over the untopped tokens
        // alone cannot fill the picker, so it runs again over every token.
        let n = 1 << 16;
        let mut p = ndarray::Array2::<f64>::zeros((n, 2));
        let mut labels = vec![0u32; n];
        let mut strong = 0;
        for f in 0..n {
            let x = (f % 97) as f64 / 1000.0;
            let p1 = if f % 16 == 0 && strong < 80 {
                strong += 1;
                0.6 + x
            } else {
                0.1 + x
            };
            p[[f, 0]] = 1.0 - p1;
            p[[f, 1]] = p1;
            if f % 10 == 9 {
                labels[f] = 1;
            }
        }
        let probs = Probs::from_view_f64(p.view()).unwrap();
        let counts = crate::thresholds::label_counts(&labels, 2);
        let pcm = vec![0, 0, 100, 0]; // 100 tokens labelled 0 pruned as class 1

        // Tokens whose label is not their first maximum: the 80 strong ones, fewer than wanted,
        // so a pass over them alone is run again over every token.
        let not_top: Vec<u32> = (0..n)
            .filter(|&f| crate::joint::argmax(&[p[[f, 0]], p[[f, 1]]]) != labels[f] as usize)
            .map(|f| f as u32)
            .collect();
        assert_eq!(
            not_top.iter().filter(|&&f| labels[f as usize] == 0).count(),
            80
        );
        for threads in [1, 3] {
            let w = Workers::new(threads);
            for rows in [None, Some(&not_top[..])] {
                let mut got = select_by_noise_rate::<f64>(
                    &labels,
                    &probs,
                    &pcm,
                    &counts,
                    1.0,
                    rows,
                    &w,
                    &w.ranges(n),
                );
                got.sort();
                assert_eq!(got, naive(&p, &labels, 100));
            }
        }
    }
}
