//! The two float types of the probabilities, and a borrowed block of either. The bottom of
//! the layers float -> ragged (blocks laid end to end) and of simd -> lanes: this module reads
//! the row kernels from `simd` and imports nothing else of the crate.

use ndarray::ArrayView2;
use std::fmt::Debug;
use std::ops::{Add, Div, Mul, Neg, Sub};

/// One borrowed (rows, K) block of probabilities.
#[derive(Clone, Debug)]
pub enum Block<'a> {
    F32(ArrayView2<'a, f32>),
    F64(ArrayView2<'a, f64>),
}

impl Block<'_> {
    pub fn nrows(&self) -> usize {
        match self {
            Block::F32(v) => v.nrows(),
            Block::F64(v) => v.nrows(),
        }
    }
    pub fn ncols(&self) -> usize {
        match self {
            Block::F32(v) => v.ncols(),
            Block::F64(v) => v.ncols(),
        }
    }
}

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
    const NEG_INFINITY: Self;
    const INFINITY: Self;
    const IS_F64: bool;
    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
    fn ln(self) -> Self;
    /// The whole block as one row-major slice, when it is C-contiguous and of this type.
    fn contiguous<'b>(block: &'b Block<'_>) -> Option<&'b [Self]>;
    /// Row `i` of `block` in this type: borrowed when the layout allows, else copied into `buf`.
    fn read_row<'b>(block: &'b Block<'_>, i: usize, buf: &'b mut [Self]) -> &'b [Self];
    /// Bit `j` set where `row[j] >= cuts[j]`, the row's maximum, the index of its first
    /// occurrence (as `np.argmax`) and whether every value lies in [0, 1] (false for NaN; the
    /// rest is meaningless unless the row is finite); a non-empty row, at most 64 classes.
    fn ge_mask_argmax(row: &[Self], cuts: &[Self]) -> (u64, Self, usize, bool);
    /// Bit `j` set where `pc - row[j] <= limits[j]`, at most 64 classes.
    fn margin_mask(row: &[Self], pc: Self, limits: &[Self]) -> u64;
    /// The smallest value of this type at or above `x` (`v >= x` iff `v >= up(x)` for every
    /// value `v` of this type).
    fn at_or_above(x: f64) -> Self;
}

macro_rules! impl_float {
    ($t:ty, $is64:expr, $same:ident, $other:ident, $ge:ident, $margin:ident) => {
        impl Float for $t {
            const ZERO: Self = 0.0;
            const NEG_ZERO: Self = -0.0;
            const ONE: Self = 1.0;
            const NEG_INFINITY: Self = <$t>::NEG_INFINITY;
            const INFINITY: Self = <$t>::INFINITY;
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
            fn ge_mask_argmax(row: &[Self], cuts: &[Self]) -> (u64, Self, usize, bool) {
                crate::simd::$ge(row, cuts)
            }
            #[inline(always)]
            fn margin_mask(row: &[Self], pc: Self, limits: &[Self]) -> u64 {
                crate::simd::$margin(row, pc, limits)
            }
            fn at_or_above(x: f64) -> Self {
                let v = x as $t;
                if (v as f64) < x {
                    // The next value up (`next_up` needs a newer Rust than the MSRV).
                    if v == 0.0 {
                        <$t>::from_bits(1)
                    } else if v > 0.0 {
                        <$t>::from_bits(v.to_bits() + 1)
                    } else {
                        <$t>::from_bits(v.to_bits() - 1)
                    }
                } else {
                    v
                }
            }
            #[inline]
            fn contiguous<'b>(block: &'b Block<'_>) -> Option<&'b [Self]> {
                match block {
                    Block::$same(view) => view.as_slice(),
                    Block::$other(_) => None,
                }
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

impl_float!(f32, false, F32, F64, ge_mask_argmax_f32, margin_mask_f32);
impl_float!(f64, true, F64, F32, ge_mask_argmax_f64, margin_mask_f64);

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
    fn truncation_matches_numpy() {
        assert_eq!(truncate_like_numpy(4.5), 4);
        assert_eq!(truncate_like_numpy(-0.7), 0);
        assert_eq!(truncate_like_numpy(f64::NAN), i64::MIN);
        assert_eq!(truncate_like_numpy(f64::INFINITY), i64::MIN);
    }

    #[test]
    fn float32_cuts_at_or_above_compare_like_float64() {
        for cut in [
            0.1f64,
            0.7 - 1e-6,
            2.0 - 1e-6,
            1.0,
            2e-6 - 1e-6,
            0.0,
            -0.3,
            1e-45,
        ] {
            let up = f32::at_or_above(cut);
            let b = up.to_bits();
            for v in [b.wrapping_sub(1), b, b + 1].map(f32::from_bits) {
                assert_eq!(v >= up, v as f64 >= cut, "cut {cut} value {v}");
            }
        }
    }
}
