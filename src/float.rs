//! The two float types and numpy's summation order.

use crate::ragged::Block;
use std::fmt::Debug;
use std::ops::{Add, Div, Mul, Neg, Sub};

/// float32 or float64, with arithmetic done in the type itself as numpy does it.
pub trait Float:
    Copy
    + Debug
    + PartialOrd
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    const ZERO: Self;
    const NEG_ZERO: Self;
    const ONE: Self;
    const IS_F64: bool;
    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
    fn ln(self) -> Self;
    /// Row `i` of `block` in this type: borrowed when the layout allows, else copied into `buf`.
    fn read_row<'b>(block: &'b Block<'_>, i: usize, buf: &'b mut [Self]) -> &'b [Self];
}

macro_rules! impl_float {
    ($t:ty, $is64:expr, $same:ident, $other:ident) => {
        impl Float for $t {
            const ZERO: Self = 0.0;
            const NEG_ZERO: Self = -0.0;
            const ONE: Self = 1.0;
            const IS_F64: bool = $is64;
            #[inline(always)]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            #[inline(always)]
            fn read_row<'b>(block: &'b Block<'_>, i: usize, buf: &'b mut [Self]) -> &'b [Self] {
                match block {
                    Block::$same(view) => {
                        let row = view.row(i);
                        match row.to_slice() {
                            Some(s) => s,
                            None => {
                                for (b, v) in buf.iter_mut().zip(view.row(i).iter()) {
                                    *b = *v;
                                }
                                buf
                            }
                        }
                    }
                    Block::$other(view) => {
                        for (b, v) in buf.iter_mut().zip(view.row(i).iter()) {
                            *b = *v as $t;
                        }
                        buf
                    }
                }
            }
        }
    };
}

impl_float!(f32, false, F32, F64);
impl_float!(f64, true, F64, F32);

/// numpy's pairwise summation (`pairwise_sum` in numpy's `loops_utils.h`) over `values` in
/// order: fewer than 8 summed in order from -0.0; up to 128 with eight interleaved
/// accumulators; longer runs split at half rounded down to a multiple of 8.
pub fn pairwise_sum<T: Float>(values: &[T]) -> T {
    let n = values.len();
    if n < 8 {
        let mut res = T::NEG_ZERO;
        for &v in values {
            res = res + v;
        }
        res
    } else if n <= 128 {
        let mut r = [T::ZERO; 8];
        r.copy_from_slice(&values[..8]);
        let full = n - n % 8;
        let mut i = 8;
        while i < full {
            for (j, acc) in r.iter_mut().enumerate() {
                *acc = *acc + values[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &v in &values[full..] {
            res = res + v;
        }
        res
    } else {
        let mut half = n / 2;
        half -= half % 8;
        pairwise_sum(&values[..half]) + pairwise_sum(&values[half..])
    }
}

/// numpy's order of floats: -0.0 equals 0.0 (NaN never reaches here; it sorts last).
#[inline]
pub fn cmp_f64(a: f64, b: f64) -> std::cmp::Ordering {
    a.partial_cmp(&b)
        .unwrap_or_else(|| a.is_nan().cmp(&b.is_nan()))
}

/// `x` with numpy's rounding half to even, as `ndarray.round()`.
#[inline]
pub fn round_half_even(x: f64) -> f64 {
    x.round_ties_even()
}

/// `x.astype(int)` as numpy does it on x86-64: truncation, with NaN and out-of-range values
/// becoming `i64::MIN`.
#[inline]
pub fn truncate_like_numpy(x: f64) -> i64 {
    if x.is_finite() && x > -9.223_372_036_854_776e18 && x < 9.223_372_036_854_776e18 {
        x.trunc() as i64
    } else {
        i64::MIN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_sums_run_in_order() {
        let v = [1.0f32, 1e8, -1e8];
        assert_eq!(pairwise_sum(&v), 0.0);
        assert!(pairwise_sum::<f64>(&[]).is_sign_negative());
    }

    #[test]
    fn eight_accumulators_differ_from_a_running_sum() {
        // A running sum loses every 1 against 2^24; numpy's accumulators keep most of them.
        let mut v = vec![1.0f32; 9];
        v[0] = 16_777_216.0;
        let running = v.iter().fold(-0.0f32, |a, b| a + b);
        assert_eq!(running, 16_777_216.0);
        assert_eq!(pairwise_sum(&v), 16_777_224.0);
    }

    #[test]
    fn truncation_matches_numpy() {
        assert_eq!(truncate_like_numpy(4.5), 4);
        assert_eq!(truncate_like_numpy(-0.7), 0);
        assert_eq!(truncate_like_numpy(f64::NAN), i64::MIN);
        assert_eq!(truncate_like_numpy(f64::INFINITY), i64::MIN);
    }
}
