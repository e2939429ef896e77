//! Per-class confident thresholds: the mean probability of class k over tokens labelled k.

use crate::float::{pairwise_sum, Float};
use crate::ragged::Probs;

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
    fn from_sums<T: Float>(sums: &[T], counts: &[usize]) -> Self {
        let wide = T::IS_F64 || counts.iter().any(|&c| c == 0);
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

    /// The largest threshold (numpy's `max`, same dtype).
    pub fn max(&self) -> f64 {
        self.values.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    }
}

/// Thresholds over all tokens. Each class's values are gathered in token order and summed
/// pairwise, as `np.mean(pred_probs[:, k][labels == k])` does.
pub fn confident_thresholds<T: Float>(labels: &[u32], probs: &Probs) -> Thresholds {
    let k = probs.num_classes();
    let mut counts = vec![0usize; k];
    for &l in labels {
        counts[l as usize] += 1;
    }
    let mut gathered: Vec<Vec<T>> = counts.iter().map(|&c| Vec::with_capacity(c)).collect();
    probs.for_each_row::<T>(|f, row| {
        let l = labels[f] as usize;
        gathered[l].push(row[l]);
    });
    let sums: Vec<T> = gathered.iter().map(|v| pairwise_sum(v)).collect();
    Thresholds::from_sums(&sums, &counts)
}

/// cleanlab's `low_memory` thresholds: a running float64 mean, weighted by class counts, of the
/// thresholds of consecutive batches of `batch` tokens, clipped after every batch.
pub fn batched_thresholds<T: Float>(labels: &[u32], probs: &Probs, batch: usize) -> Vec<f64> {
    let k = probs.num_classes();
    let mut running = vec![0.0f64; k];
    let mut seen = vec![0.0f64; k];
    let mut gathered: Vec<Vec<T>> = vec![Vec::new(); k];
    // One batch at a time: gather its label-column values, then fold them in.
    let fold = |gathered: &mut Vec<Vec<T>>, running: &mut Vec<f64>, seen: &mut Vec<f64>| {
        let counts: Vec<usize> = gathered.iter().map(Vec::len).collect();
        let sums: Vec<T> = gathered.iter().map(|v| pairwise_sum(v)).collect();
        let bt = Thresholds::from_sums(&sums, &counts);
        for c in 0..k {
            let bc = counts[c] as f64;
            let num = seen[c] * running[c] + bc * bt.values[c];
            running[c] = (num / (seen[c] + bc).max(1.0)).max(LOWER_BOUND);
            seen[c] += bc;
        }
        for v in gathered.iter_mut() {
            v.clear();
        }
    };
    let mut in_batch = 0;
    probs.for_each_row::<T>(|f, row| {
        let l = labels[f] as usize;
        gathered[l].push(row[l]);
        in_batch += 1;
        if in_batch == batch {
            fold(&mut gathered, &mut running, &mut seen);
            in_batch = 0;
        }
    });
    if in_batch > 0 {
        fold(&mut gathered, &mut running, &mut seen);
    }
    running
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn all_present_float32_stays_narrow() {
        let p = array![[0.9f32, 0.1], [0.3, 0.7], [0.6, 0.4]];
        let probs = Probs::from_view_f32(p.view()).unwrap();
        let t = confident_thresholds::<f32>(&[0, 1, 0], &probs);
        assert!(!t.wide);
        assert_eq!(t.values[0], ((0.9f32 + 0.6f32) as f64 / 2.0) as f32 as f64);
        assert_eq!(t.values[1], 0.7f32 as f64);
        assert_eq!(t.cuts()[1], (0.7f32 - 1e-6f32) as f64);
    }

    #[test]
    fn a_missing_class_widens_and_gets_two() {
        let p = array![[0.9f32, 0.1, 0.0], [0.3, 0.7, 0.0]];
        let probs = Probs::from_view_f32(p.view()).unwrap();
        let t = confident_thresholds::<f32>(&[0, 1], &probs);
        assert!(t.wide);
        assert_eq!(t.values[2], 2.0);
        assert_eq!(t.cuts()[1], 0.7f32 as f64 - 1e-6);
    }

    #[test]
    fn tiny_means_are_clipped() {
        let p = array![[1.0f64, 0.0], [1.0, 0.0]];
        let probs = Probs::from_view_f64(p.view()).unwrap();
        let t = confident_thresholds::<f64>(&[0, 1], &probs);
        assert_eq!(t.values[1], 2e-6);
    }

    #[test]
    fn batches_of_everything_equal_the_plain_mean_in_float64() {
        let p = array![[0.9f64, 0.1], [0.3, 0.7], [0.6, 0.4]];
        let probs = Probs::from_view_f64(p.view()).unwrap();
        let one = batched_thresholds::<f64>(&[0, 1, 0], &probs, 10);
        let plain = confident_thresholds::<f64>(&[0, 1, 0], &probs);
        assert_eq!(one, plain.values);
        let small = batched_thresholds::<f64>(&[0, 1, 0], &probs, 1);
        // batch 1 = [0.9] for class 0, batch 3 = [0.6]: running mean (0.9 + 0.6) / 2
        assert_eq!(small[0], (1.0 * 0.9 + 1.0 * 0.6) / 2.0);
    }
}
