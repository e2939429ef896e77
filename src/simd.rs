//! The same kernels compiled a second time for AVX2, chosen at run time ([`wide`]): the
//! four-lane groups of [`crate::lanes`] and the flat sweeps then use 256-bit registers. Results
//! are identical: LLVM neither fuses nor reorders floating-point operations unless told to.
//! The scan's and the noise-rate pass's row kernels are also written with AVX2 intrinsics for
//! rows of one or two registers (8-16 float32, 4-8 float64 classes); the portable ones stay
//! the fallback, the kernels of longer rows and the reference of the tests.
//!
//! `TOKENCLEAN_SIMD=baseline` keeps the baseline code (for comparing the two).
//!
//! Measured with `benches/engine_parts.py` (2026-12-07; 1M tokens, one thread, medians of 5
//! alternating runs; gains on list / flat input, noise about 3%):
//! - the intrinsics: +10% / +13% at K=9 float32 and +16% / +18% at K=7 float64. Their loops
//!   over longer rows lost 3-6% to the recompiled portable kernels at K=37 float64 (and 6-10%
//!   at K=9 and 12 float64, 9% at K=20 float32): removed.
//! - the recompile of [`wide`]: +6% / +7% at K=37 float64, where the portable kernels run;
//!   +3% / +5% at K=9 float32 and +1% / +2% at K=7 float64, beside the intrinsics.

/// Calls `f`, with everything inlined into it compiled for AVX2 and FMA when the CPU has them.
/// Closures meant to run wide must be `#[inline(always)]` down to the row kernels. Gains +6% /
/// +7% (list / flat input) at K=37 float64 (`benches/engine_parts.py`, 2026-12-07).
#[inline(always)]
pub fn wide<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if mode().recompile {
            #[allow(unsafe_code)]
            // SAFETY: the CPU supports AVX2 and FMA (checked by `mode`).
            return unsafe { avx2(f) };
        }
    }
    f()
}

/// Asks the CPU to bring the cache line holding `p` closer: a hint, never a fault.
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    {
        #[allow(unsafe_code)]
        // SAFETY: a prefetch reads nothing architecturally and cannot fault, whatever `p` is.
        unsafe {
            core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast())
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Which AVX2 parts run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mode {
    /// [`wide`] recompiles its closure for AVX2.
    pub recompile: bool,
    /// The row kernels use the AVX2 intrinsics.
    pub intrinsics: bool,
}

/// The AVX2 parts that run. Decided once (`TOKENCLEAN_SIMD` is read on the first call, which
/// the binding makes at import, with the GIL held): both where the CPU has AVX2 and FMA,
/// none with `baseline`. `recompile-only` and `intrinsics-only` are undocumented benchmarking
/// switches that keep one part each, for `benches/engine_parts.py` to measure.
pub fn mode() -> Mode {
    #[cfg(target_arch = "x86_64")]
    {
        static MODE: std::sync::OnceLock<Mode> = std::sync::OnceLock::new();
        *MODE.get_or_init(|| {
            let cpu = std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma");
            let var = std::env::var("TOKENCLEAN_SIMD").unwrap_or_default();
            Mode {
                recompile: cpu && !matches!(var.as_str(), "baseline" | "intrinsics-only"),
                intrinsics: cpu && !matches!(var.as_str(), "baseline" | "recompile-only"),
            }
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    Mode {
        recompile: false,
        intrinsics: false,
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// Row kernels for [`crate::float::Float`]: AVX2 intrinsics for rows of one to two registers
/// (8 to 16 float32, 4 to 8 float64 classes) where the CPU has them, else the portable
/// [`crate::lanes`]. Rows are finite and hold at most 64 classes.
macro_rules! row_kernels {
    ($t:ty, $ge:ident, $margin:ident, $x86:ident) => {
        /// Bit `j` set where `row[j] >= cuts[j]`, the row's maximum, the index of its first
        /// occurrence (as `np.argmax`) and whether every value lies in [0, 1] (false for NaN;
        /// the other results are then meaningless).
        #[inline(always)]
        pub fn $ge(row: &[$t], cuts: &[$t]) -> (u64, $t, usize, bool) {
            #[cfg(target_arch = "x86_64")]
            {
                let n = row.len();
                if x86::$x86::fits(n) && cuts.len() >= n && mode().intrinsics {
                    #[allow(unsafe_code)]
                    // SAFETY: AVX2 is there and the lengths are as `x86` requires.
                    return unsafe { x86::$x86::ge_mask_argmax(row, cuts) };
                }
            }
            let (m, best, top) = crate::lanes::mask_and_argmax(row, cuts, |v, c| v >= c);
            (m, best, top, crate::lanes::in_unit_interval(row))
        }

        /// Bit `j` set where `pc - row[j] <= limits[j]`.
        #[inline(always)]
        pub fn $margin(row: &[$t], pc: $t, limits: &[$t]) -> u64 {
            #[cfg(target_arch = "x86_64")]
            {
                let n = row.len();
                if x86::$x86::fits(n) && limits.len() >= n && mode().intrinsics {
                    #[allow(unsafe_code)]
                    // SAFETY: AVX2 is there and the lengths are as `x86` requires.
                    return unsafe { x86::$x86::margin_mask(row, pc, limits) };
                }
            }
            crate::lanes::mask(row, limits, |v, l| pc - v <= l)
        }
    };
}

row_kernels!(f32, ge_mask_argmax_f32, margin_mask_f32, f32x8);
row_kernels!(f64, ge_mask_argmax_f64, margin_mask_f64, f64x4);

/// AVX2 row kernels for rows of one to two registers: the first register and one ending with
/// the row (they overlap below two registers: a value seen twice gives the same bit and the
/// same maximum), without a loop or a branch. Every function needs AVX2, `fits(row.len())`
/// and the other slice at least as long as the row. Longer rows run the portable kernels,
/// which measured faster there (module comment).
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod x86 {
    /// One kernel pair per float type, from the type's intrinsics.
    macro_rules! kernels {
        ($name:ident, $t:ty, $v:ty, $lanes:expr, $load:ident, $set1:ident, $cmp:ident,
         $movemask:ident, $max:ident, $sub:ident, $and:ident, $hmax:ident) => {
            pub mod $name {
                use core::arch::x86_64::*;

                /// Whether a row of `n` values takes these kernels.
                #[inline(always)]
                pub fn fits(n: usize) -> bool {
                    ($lanes..=2 * $lanes).contains(&n)
                }

                /// Bits of a compare's lanes.
                #[target_feature(enable = "avx2,fma")]
                unsafe fn bits(v: $v) -> u64 {
                    $movemask(v) as u32 as u64
                }

                /// Lanes in [0, 1]; ordered compares are false for NaN.
                #[target_feature(enable = "avx2,fma")]
                unsafe fn unit(v: $v) -> $v {
                    $and(
                        $cmp::<_CMP_GE_OQ>(v, $set1(0.0)),
                        $cmp::<_CMP_LE_OQ>(v, $set1(1.0)),
                    )
                }

                #[target_feature(enable = "avx2,fma")]
                pub unsafe fn ge_mask_argmax(row: &[$t], cuts: &[$t]) -> (u64, $t, usize, bool) {
                    let (r, c, hi) = (row.as_ptr(), cuts.as_ptr(), row.len() - $lanes);
                    let (v0, v1) = ($load(r), $load(r.add(hi)));
                    let m0 = bits($cmp::<_CMP_GE_OQ>(v0, $load(c)));
                    let m1 = bits($cmp::<_CMP_GE_OQ>(v1, $load(c.add(hi))));
                    let best = super::$hmax($max(v0, v1));
                    let b = $set1(best);
                    // The first maximum, from both registers' equality masks.
                    let e0 = bits($cmp::<_CMP_EQ_OQ>(v0, b));
                    let e1 = bits($cmp::<_CMP_EQ_OQ>(v1, b));
                    let first = (e0 | (e1 << hi)).trailing_zeros() as usize;
                    let ok = bits($and(unit(v0), unit(v1))) == (1 << $lanes) - 1;
                    (m0 | (m1 << hi), best, first, ok)
                }

                #[target_feature(enable = "avx2,fma")]
                pub unsafe fn margin_mask(row: &[$t], pc: $t, limits: &[$t]) -> u64 {
                    let (r, l, hi) = (row.as_ptr(), limits.as_ptr(), row.len() - $lanes);
                    let p = $set1(pc);
                    let m0 = $cmp::<_CMP_LE_OQ>($sub(p, $load(r)), $load(l));
                    let m1 = $cmp::<_CMP_LE_OQ>($sub(p, $load(r.add(hi))), $load(l.add(hi)));
                    bits(m0) | (bits(m1) << hi)
                }
            }
        };
    }

    use core::arch::x86_64::*;

    /// The largest of eight float32 lanes.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn hmax_ps(v: __m256) -> f32 {
        let h = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        _mm_cvtss_f32(_mm_max_ss(h, _mm_shuffle_ps::<1>(h, h)))
    }

    /// The largest of four float64 lanes.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn hmax_pd(v: __m256d) -> f64 {
        let h = _mm_max_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd::<1>(v));
        _mm_cvtsd_f64(_mm_max_sd(h, _mm_unpackhi_pd(h, h)))
    }

    kernels!(
        f32x8,
        f32,
        __m256,
        8,
        _mm256_loadu_ps,
        _mm256_set1_ps,
        _mm256_cmp_ps,
        _mm256_movemask_ps,
        _mm256_max_ps,
        _mm256_sub_ps,
        _mm256_and_ps,
        hmax_ps
    );
    kernels!(
        f64x4,
        f64,
        __m256d,
        4,
        _mm256_loadu_pd,
        _mm256_set1_pd,
        _mm256_cmp_pd,
        _mm256_movemask_pd,
        _mm256_max_pd,
        _mm256_sub_pd,
        _mm256_and_pd,
        hmax_pd
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lanes;

    /// Rows with ties, the maximum anywhere (last lane included) and every length to 64.
    /// Without the intrinsics (another CPU, or `TOKENCLEAN_SIMD=baseline`) both sides would be
    /// the portable kernels: ignored off x86-64, and reported as skipped on a CPU without AVX2.
    #[test]
    #[cfg_attr(
        not(target_arch = "x86_64"),
        ignore = "the AVX2 build exists only on x86-64"
    )]
    fn wide_kernels_match_the_portable_ones() {
        if !mode().intrinsics {
            // Straight to stderr: the harness would swallow eprintln! of a passing test.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED wide_kernels_match_the_portable_ones: the AVX2 build does not run here"
            );
            return;
        }
        for k in 1..=64usize {
            for shift in 0..k {
                let row: Vec<f64> = (0..k)
                    .map(|j| ((j + shift) * 7 % 11) as f64 / 16.0)
                    .collect();
                let cut: Vec<f64> = (0..k).map(|j| ((j * 5 + 1) % 9) as f64 / 16.0).collect();
                let pc = row[shift % k];
                let (m, best, top) = lanes::mask_and_argmax(&row, &cut, |a, b| a >= b);
                let want = (m, best, top, true);
                assert_eq!(ge_mask_argmax_f64(&row, &cut), want, "k={k} shift={shift}");
                // Any one value outside [0, 1] (or NaN) anywhere clears the flag.
                for bad in [-1e-9, 1.0 + 1e-9, f64::NAN] {
                    let mut off = row.clone();
                    off[(shift * 3) % k] = bad;
                    assert!(!ge_mask_argmax_f64(&off, &cut).3, "k={k} {bad}");
                    let off32: Vec<f32> = off.iter().map(|&v| v as f32).collect();
                    let cut32: Vec<f32> = cut.iter().map(|&v| v as f32).collect();
                    let in32 = ge_mask_argmax_f32(&off32, &cut32).3;
                    assert_eq!(in32, off32.iter().all(|v| (0.0..=1.0).contains(v)));
                }
                let margins = lanes::mask(&row, &cut, |v, l| pc - v <= l);
                assert_eq!(margin_mask_f64(&row, pc, &cut), margins);
                let row32: Vec<f32> = row.iter().map(|&v| v as f32).collect();
                let cut32: Vec<f32> = cut.iter().map(|&v| v as f32).collect();
                let (m32, best32, top32) = lanes::mask_and_argmax(&row32, &cut32, |a, b| a >= b);
                let want32 = (m32, best32, top32, true);
                assert_eq!(ge_mask_argmax_f32(&row32, &cut32), want32);
                assert_eq!((want32.0, want32.2), (want.0, want.2));
                assert_eq!(margin_mask_f32(&row32, pc as f32, &cut32), margins);
            }
        }
    }
}
