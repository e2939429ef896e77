//! The same kernels compiled a second time for AVX2, chosen at run time: the four-lane groups
//! of [`crate::lanes`] and the flat sweeps then use 256-bit registers. Results are identical:
//! LLVM neither fuses nor reorders floating-point operations unless told to.
//!
//! `TOKENCLEAN_SIMD=baseline` keeps the baseline code (for comparing the two).

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

/// Whether [`wide`] runs the AVX2 build.
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
