//! Label quality scores of single tokens (lower = more likely mislabeled).

use crate::error::{Error, Result};
use crate::float::Float;
use crate::pairwise::pairwise_sum;
use crate::thresholds::Thresholds;

/// How to score a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    SelfConfidence,
    NormalizedMargin,
    ConfidenceWeightedEntropy,
}

impl Method {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "self_confidence" => Some(Method::SelfConfidence),
            "normalized_margin" => Some(Method::NormalizedMargin),
            "confidence_weighted_entropy" => Some(Method::ConfidenceWeightedEntropy),
            _ => None,
        }
    }
}

/// Why `adjust_pred_probs` and `confidence_weighted_entropy` are refused together.
pub(crate) const ADJUSTED_ENTROPY: &str =
    "adjust_pred_probs is not supported with confidence_weighted_entropy";

/// Lower clip of the self-confidence and of the entropy ratio.
const CLIP: f64 = 1e-6;

/// Scores tokens one at a time. With `adjust`, rows become `p - t + max(t)` renormalised, in
/// the dtype numpy would use (float32 only for float32 input with narrow thresholds).
pub struct Scorer<'t> {
    method: Method,
    adjust: Option<&'t Thresholds>,
    sequential: bool,
}

impl<'t> Scorer<'t> {
    pub fn new(method: Method, adjust: Option<&'t Thresholds>) -> Result<Self> {
        if adjust.is_some() && method == Method::ConfidenceWeightedEntropy {
            return Err(Error::Invalid(ADJUSTED_ENTROPY.into()));
        }
        Ok(Scorer {
            method,
            adjust,
            sequential: false,
        })
    }

    /// Scores of the raw probabilities; never fails.
    pub fn unadjusted(method: Method) -> Scorer<'static> {
        Scorer {
            method,
            adjust: None,
            sequential: false,
        }
    }

    /// Sums each row across columns in order (numpy's order for column-major input) instead
    /// of pairwise.
    pub fn sequential_row_sums(mut self, yes: bool) -> Self {
        self.sequential = yes;
        self
    }

    /// Score of one row with the given label, widened to float64 (ordering is unchanged).
    pub fn score<T: Float>(&self, row: &[T], label: usize) -> f64 {
        match self.adjust {
            None => self.plain(row, label),
            Some(t) if !T::IS_F64 && !t.wide => {
                adjusted_score::<T, f32>(row, label, t, self.method, self.sequential)
            }
            Some(t) => adjusted_score::<T, f64>(row, label, t, self.method, self.sequential),
        }
    }

    fn plain<T: Float>(&self, row: &[T], label: usize) -> f64 {
        match self.method {
            Method::SelfConfidence => row[label].to_f64(),
            Method::NormalizedMargin => normalized_margin(row, label).to_f64(),
            Method::ConfidenceWeightedEntropy => {
                confidence_weighted_entropy(row, label, self.sequential)
            }
        }
    }
}

#[inline]
fn normalized_margin<A: Float>(row: &[A], label: usize) -> A {
    let mut other: Option<A> = None;
    for (j, &v) in row.iter().enumerate() {
        if j != label && other.is_none_or(|o| v > o) {
            other = Some(v);
        }
    }
    // A single class has no competitor; numpy's max over nothing fails, caught at validation.
    let other = other.unwrap_or(A::ZERO);
    (row[label] - other + A::ONE) / (A::ONE + A::ONE)
}

/// A row sum: pairwise (row-major input) or left to right (column-major input).
#[inline]
fn row_sum<A: Float>(v: &[A], sequential: bool) -> A {
    if sequential {
        v[1..].iter().fold(v[0], |a, &b| a + b)
    } else {
        pairwise_sum(v)
    }
}

fn adjusted_score<T: Float, A: Float>(
    row: &[T],
    label: usize,
    t: &Thresholds,
    method: Method,
    sequential: bool,
) -> f64 {
    let tmax = A::from_f64(t.max());
    let mut adj: Vec<A> = row
        .iter()
        .zip(&t.values)
        .map(|(&p, &th)| (A::from_f64(p.to_f64()) - A::from_f64(th)) + tmax)
        .collect();
    let total = row_sum(&adj, sequential);
    for v in adj.iter_mut() {
        *v = *v / total;
    }
    match method {
        Method::SelfConfidence => adj[label].to_f64(),
        _ => normalized_margin(&adj, label).to_f64(),
    }
}

/// `x * ln(x)` in the dtype, 0 at 0 (scipy's `xlogy(x, x)`).
#[inline]
fn xlogx<T: Float>(x: T) -> T {
    if x == T::ZERO {
        T::ZERO
    } else {
        x * x.ln()
    }
}

fn confidence_weighted_entropy<T: Float>(row: &[T], label: usize, sequential: bool) -> f64 {
    let terms: Vec<T> = row.iter().map(|&p| xlogx(p)).collect();
    let entropy = (-row_sum(&terms, sequential)).to_f64() / (row.len() as f64).ln();
    let confidence = {
        let c = row[label];
        let floor = T::from_f64(CLIP);
        if c < floor {
            floor
        } else {
            c
        }
    };
    let ratio = entropy / confidence.to_f64();
    (ratio + 1.0).ln() / ratio.max(CLIP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margin_in_float32() {
        let s = Scorer::new(Method::NormalizedMargin, None).unwrap();
        let row = [0.2f32, 0.5, 0.3];
        let got = s.score(&row, 0);
        assert_eq!(got, ((0.2f32 - 0.5f32 + 1.0) / 2.0) as f64);
    }

    #[test]
    fn entropy_score_of_a_certain_token() {
        let s = Scorer::new(Method::ConfidenceWeightedEntropy, None).unwrap();
        // zero entropy: ratio 0 clipped to 1e-6 below, log(1) = 0
        assert_eq!(s.score(&[1.0f64, 0.0], 0), 0.0);
        let uniform = s.score(&[0.5f64, 0.5], 0);
        assert!((uniform - (3.0f64).ln() / 2.0).abs() < 1e-12);
    }

    #[test]
    fn adjusting_entropy_is_refused() {
        let t = Thresholds {
            values: vec![0.5, 0.5],
            wide: false,
        };
        assert!(Scorer::new(Method::ConfidenceWeightedEntropy, Some(&t)).is_err());
    }
}
