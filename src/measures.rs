//! The building blocks of `find_label_issues` on their own, for cleanlab's `count` and `rank`
//! functions: thresholds, the confident joint, per-token scores and sentence scores.

use crate::error::{Error, Result};
use crate::filter::check_labels;
use crate::float::Float;
use crate::joint::{self, NEAR_LABEL, OFF_DIAGONAL};
use crate::parallel::Workers;
use crate::ragged::by_dtype;
use crate::ragged::{Offsets, Probs};
use crate::scores::{Method, Scorer};
use crate::thresholds::{confident_thresholds, Thresholds};

/// Per-class thresholds exactly as cleanlab's `get_confident_thresholds`.
pub fn thresholds(labels: &[u32], probs: &Probs, threads: usize) -> Result<Thresholds> {
    check_labels(labels, probs)?;
    let w = Workers::new(threads);
    let ranges = w.ranges(labels.len());
    Ok(if probs.is_f64() {
        confident_thresholds::<f64>(labels, probs, &w, &ranges).0
    } else {
        confident_thresholds::<f32>(labels, probs, &w, &ranges).0
    })
}

/// The confident joint before calibration (diagonal clipped to at least 1), the off-diagonal
/// token positions, and how many of those survive the `+1e-6` unflag step. `thresholds`
/// defaults to [`thresholds`].
pub struct Joint {
    pub joint: Vec<i64>,
    pub off_diagonal: Vec<usize>,
    pub off_diagonal_not_near: usize,
    pub label_counts: Vec<usize>,
    /// Some token had a class at or above its threshold (cleanlab builds the matrix another
    /// way when none has, which changes its memory layout).
    pub any_confident: bool,
}

pub fn confident_joint(
    labels: &[u32],
    probs: &Probs,
    given: Option<Thresholds>,
    threads: usize,
) -> Result<Joint> {
    check_labels(labels, probs)?;
    let k = probs.num_classes();
    if let Some(t) = &given {
        if t.values.len() != k {
            return Err(Error::Invalid(format!(
                "thresholds has {} entries; it needs one per class ({k})",
                t.values.len()
            )));
        }
    }
    let w = Workers::new(threads);
    let ranges = w.ranges(labels.len());
    let (scan, label_counts) = if probs.is_f64() {
        let (t, counts) = confident_thresholds::<f64>(labels, probs, &w, &ranges);
        (
            joint::scan::<f64>(labels, probs, given.as_ref().unwrap_or(&t), &w, &ranges)?,
            counts,
        )
    } else {
        let (t, counts) = confident_thresholds::<f32>(labels, probs, &w, &ranges);
        (
            joint::scan::<f32>(labels, probs, given.as_ref().unwrap_or(&t), &w, &ranges)?,
            counts,
        )
    };
    let mut raw = scan.joint;
    let any_confident = raw.iter().any(|&c| c != 0);
    joint::clip_diagonal(&mut raw, k);
    let off_diagonal: Vec<usize> = (0..labels.len())
        .filter(|&f| scan.flags[f] & OFF_DIAGONAL != 0)
        .collect();
    let off_diagonal_not_near = off_diagonal
        .iter()
        .filter(|&&f| scan.flags[f] & NEAR_LABEL == 0)
        .count();
    Ok(Joint {
        joint: raw,
        off_diagonal,
        off_diagonal_not_near,
        label_counts,
        any_confident,
    })
}

/// Scores of every token, widened to float64, and whether numpy would hold them as float32.
pub fn label_quality_scores(
    labels: &[u32],
    probs: &Probs,
    method: Method,
    adjust_pred_probs: bool,
    sequential_row_sums: bool,
    threads: usize,
) -> Result<(Vec<f64>, bool)> {
    let seq = sequential_row_sums;
    by_dtype!(
        probs,
        scores_in(labels, probs, method, adjust_pred_probs, seq, threads)
    )
}

fn scores_in<T: Float>(
    labels: &[u32],
    probs: &Probs,
    method: Method,
    adjust_pred_probs: bool,
    sequential_row_sums: bool,
    threads: usize,
) -> Result<(Vec<f64>, bool)> {
    check_labels(labels, probs)?;
    let w = Workers::new(threads);
    let ranges = w.ranges(labels.len());
    let (t, _) = confident_thresholds::<T>(labels, probs, &w, &ranges);
    // Validation (and the [0, 1] check entropies need) comes with the scan.
    let scan = joint::scan::<T>(labels, probs, &t, &w, &ranges)?;
    if method == Method::ConfidenceWeightedEntropy {
        if let Some((row, class, value)) = scan.outside_unit {
            return Err(Error::EntropyDomain { row, class, value });
        }
    }
    let scorer = Scorer::new(method, adjust_pred_probs.then_some(&t))?
        .sequential_row_sums(sequential_row_sums);
    let mut scores = vec![0.0f64; labels.len()];
    w.map_mut(&ranges, &mut scores, |r, out| {
        let base = r.start;
        probs.for_each_row_in::<T>(r, |f, row| {
            out[f - base] = scorer.score(row, labels[f] as usize);
        });
    });
    let narrow =
        !T::IS_F64 && method != Method::ConfidenceWeightedEntropy && !(adjust_pred_probs && t.wide);
    Ok((scores, narrow))
}

/// How token scores become a sentence score.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SentenceScore {
    Min,
    /// cleanlab's softmin with a temperature: 0 is the minimum, infinity the mean.
    Softmin(f64),
}

/// One score per sentence from per-token scores (`scores` in token order, `offsets` its
/// sentences). Empty sentences get NaN, as numpy's reductions over nothing would not.
pub fn sentence_scores(scores: &[f64], offsets: &Offsets, how: SentenceScore) -> Vec<f64> {
    (0..offsets.num_sentences())
        .map(|s| {
            let (a, b) = offsets.bounds(s);
            let x = &scores[a..b];
            if x.is_empty() {
                return f64::NAN;
            }
            match how {
                SentenceScore::Softmin(t) if t.is_infinite() => {
                    x.iter().sum::<f64>() / x.len() as f64
                }
                SentenceScore::Softmin(t) if t != 0.0 => softmin(x, t),
                _ => x.iter().copied().fold(f64::INFINITY, f64::min),
            }
        })
        .collect()
}

/// `sum(x * softmax((1 - x) / t))`, shifted for stability (the shift cancels).
fn softmin(x: &[f64], t: f64) -> f64 {
    let top = x
        .iter()
        .map(|&v| (1.0 - v) / t)
        .fold(f64::NEG_INFINITY, f64::max);
    let weights: Vec<f64> = x.iter().map(|&v| ((1.0 - v) / t - top).exp()).collect();
    let total: f64 = weights.iter().sum();
    x.iter().zip(&weights).map(|(v, w)| v * w).sum::<f64>() / total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmin_between_min_and_mean() {
        let o = Offsets::from_lengths([3, 0, 1]).unwrap();
        let x = [0.9, 0.1, 0.5, 0.7];
        let m = sentence_scores(&x, &o, SentenceScore::Min);
        assert_eq!(m[0], 0.1);
        assert!(m[1].is_nan());
        assert_eq!(m[2], 0.7);
        let s = sentence_scores(&x, &o, SentenceScore::Softmin(0.05))[0];
        assert!(s > 0.1 && s < 0.5);
        let mean = sentence_scores(&x, &o, SentenceScore::Softmin(f64::INFINITY))[0];
        assert!((mean - 0.5).abs() < 1e-15);
    }
}
