//! The same kernels compiled a second time for AVX2, chosen at run time: the four-lane groups
//! of [`crate::lanes`] and the flat sweeps then use 256-bit registers. Results are identical:
//! LLVM neither fuses nor reorders floating-point operations unless told to. The scan's and the
//! noise-rate pass's row kernels are also written with AVX2 intrinsics (whole registers, no
//! scalar tail); the portable ones stay the fallback and the reference of the tests.
//!
//! `TOKENCLEAN_SIMD=baseline` keeps the baseline code (for comparing the two).
//!
//! Measured (issue 21 review; 1M tokens, one thread, `benches/compare_cleanlab.py`): the
//! intrinsics row kernels gain about 10% at K=9 float32 and nothing measurable at K=37
//! float64; recompiling the closures for AVX2 without intrinsics measures the same as the
//! baseline build. Only the first clears the project's 5% bar.

/// Calls `f`, with everything inlined into it compiled for AVX2 and FMA when the CPU has them.
/// Closures meant to run wide must be `#[inline(always)]` down to the row kernels.
#[inline(always)]
pub fn wide<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if avx2_enabled() {
            #[allow(unsafe_code)]
            // SAFETY: the CPU supports AVX2 and FMA (checked by `avx2_enabled`).
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

/// Whether [`wide`] runs the AVX2 build. Decided once (`TOKENCLEAN_SIMD` is read on the first
/// call, which the binding makes at import, with the GIL held).
pub fn avx2_enabled() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *ENABLED.get_or_init(|| {
            std::env::var("TOKENCLEAN_SIMD").map_or(true, |v| v != "baseline")
                && std::is_x86_feature_detected!("avx2")
                && std::is_x86_feature_detected!("fma")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// Row kernels for [`crate::float::Float`]: AVX2 registers where the CPU has them, else the
/// portable [`crate::lanes`]. Rows are finite and hold at most 64 classes.
macro_rules! row_kernels {
    ($t:ty, $lanes:expr, $ge:ident, $margin:ident) => {
        /// Bit `j` set where `row[j] >= cuts[j]`, the row's maximum, the index of its first
        /// occurrence (as `np.argmax`) and whether every value lies in [0, 1] (false for NaN;
        /// the other results are then meaningless).
        #[inline(always)]
        pub fn $ge(row: &[$t], cuts: &[$t]) -> (u64, $t, usize, bool) {
            #[cfg(target_arch = "x86_64")]
            {
                let n = row.len();
                if ($lanes..=64).contains(&n) && cuts.len() >= n && avx2_enabled() {
                    #[allow(unsafe_code)]
                    // SAFETY: AVX2 is there and the lengths are as `x86` requires.
                    return unsafe { x86::$ge(row, cuts) };
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
                if ($lanes..=64).contains(&n) && limits.len() >= n && avx2_enabled() {
                    #[allow(unsafe_code)]
                    // SAFETY: AVX2 is there and the lengths are as `x86` requires.
                    return unsafe { x86::$margin(row, pc, limits) };
                }
            }
            crate::lanes::mask(row, limits, |v, l| pc - v <= l)
        }
    };
}

row_kernels!(f32, 8, ge_mask_argmax_f32, margin_mask_f32);
row_kernels!(f64, 4, ge_mask_argmax_f64, margin_mask_f64);

/// AVX2 row kernels. Every function needs AVX2, `LANES <= row.len() <= 64` and the other
/// slice at least as long as the row. Rows are read a register at a time, the last register
/// moved back to end with the row: a value seen twice gives the same bit and the same maximum.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod x86 {
    use core::arch::x86_64::*;

    /// Starts of the registers covering `0..n`, the last one ending at `n`.
    #[inline(always)]
    fn next_start(s: usize, lanes: usize, n: usize) -> Option<usize> {
        (s + lanes < n).then(|| (s + lanes).min(n - lanes))
    }

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

    /// One kernel pair per float type, from the type's intrinsics.
    macro_rules! kernels {
        ($t:ty, $lanes:expr, $ge:ident, $margin:ident, $load:ident, $set1:ident, $cmp:ident,
         $movemask:ident, $max:ident, $sub:ident, $and:ident, $hmax:ident) => {
            #[target_feature(enable = "avx2,fma")]
            pub unsafe fn $ge(row: &[$t], cuts: &[$t]) -> (u64, $t, usize, bool) {
                let (n, r, c) = (row.len(), row.as_ptr(), cuts.as_ptr());
                let (zero, one) = ($set1(0.0), $set1(1.0));
                // Lanes in [0, 1]; ordered compares are false for NaN.
                let unit = |v| $and($cmp::<_CMP_GE_OQ>(v, zero), $cmp::<_CMP_LE_OQ>(v, one));
                let all = (1 << $lanes) - 1;
                if n <= 2 * $lanes {
                    // Two registers, the second ending with the row: no loop, and the first
                    // maximum from both registers' equality masks, without a branch.
                    let hi = n - $lanes;
                    let (v0, v1) = ($load(r), $load(r.add(hi)));
                    let m0 = $movemask($cmp::<_CMP_GE_OQ>(v0, $load(c))) as u32 as u64;
                    let m1 = $movemask($cmp::<_CMP_GE_OQ>(v1, $load(c.add(hi)))) as u32 as u64;
                    let best = $hmax($max(v0, v1));
                    let b = $set1(best);
                    let e0 = $movemask($cmp::<_CMP_EQ_OQ>(v0, b)) as u32 as u64;
                    let e1 = $movemask($cmp::<_CMP_EQ_OQ>(v1, b)) as u32 as u64;
                    let first = (e0 | (e1 << hi)).trailing_zeros() as usize;
                    let ok = $movemask($and(unit(v0), unit(v1))) == all;
                    return (m0 | (m1 << hi), best, first, ok);
                }
                let mut m = 0u64;
                let mut top = $load(r);
                let mut ok = $cmp::<_CMP_EQ_OQ>(top, top);
                let mut s = Some(0);
                while let Some(at) = s {
                    let v = $load(r.add(at));
                    let ge = $cmp::<_CMP_GE_OQ>(v, $load(c.add(at)));
                    m |= ($movemask(ge) as u32 as u64) << at;
                    top = $max(top, v);
                    ok = $and(ok, unit(v));
                    s = next_start(at, $lanes, n);
                }
                let ok = $movemask(ok) == all;
                let best = $hmax(top);
                let b = $set1(best);
                // The first register holding the maximum holds its first occurrence.
                let mut at = 0;
                loop {
                    let eq = $movemask($cmp::<_CMP_EQ_OQ>($load(r.add(at)), b));
                    if eq != 0 || at + $lanes >= n {
                        return (
                            m,
                            best,
                            at + eq.trailing_zeros().min($lanes - 1) as usize,
                            ok,
                        );
                    }
                    at = (at + $lanes).min(n - $lanes);
                }
            }

            #[target_feature(enable = "avx2,fma")]
            pub unsafe fn $margin(row: &[$t], pc: $t, limits: &[$t]) -> u64 {
                let (n, r, l) = (row.len(), row.as_ptr(), limits.as_ptr());
                let p = $set1(pc);
                if n <= 2 * $lanes {
                    let hi = n - $lanes;
                    let m0 = $cmp::<_CMP_LE_OQ>($sub(p, $load(r)), $load(l));
                    let m1 = $cmp::<_CMP_LE_OQ>($sub(p, $load(r.add(hi))), $load(l.add(hi)));
                    return ($movemask(m0) as u32 as u64) | (($movemask(m1) as u32 as u64) << hi);
                }
                let mut m = 0u64;
                let mut s = Some(0);
                while let Some(at) = s {
                    let le = $cmp::<_CMP_LE_OQ>($sub(p, $load(r.add(at))), $load(l.add(at)));
                    m |= ($movemask(le) as u32 as u64) << at;
                    s = next_start(at, $lanes, n);
                }
                m
            }
        };
    }

    kernels!(
        f32,
        8,
        ge_mask_argmax_f32,
        margin_mask_f32,
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
        f64,
        4,
        ge_mask_argmax_f64,
        margin_mask_f64,
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
    /// Without the AVX2 build (another CPU, or `TOKENCLEAN_SIMD=baseline`) both sides would be
    /// the portable kernels: ignored off x86-64, and reported as skipped on a CPU without AVX2.
    #[test]
    #[cfg_attr(
        not(target_arch = "x86_64"),
        ignore = "the AVX2 build exists only on x86-64"
    )]
    fn wide_kernels_match_the_portable_ones() {
        if !avx2_enabled() {
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
