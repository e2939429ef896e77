//! The Python binding: borrows numpy arrays, validates what only Python can see (types,
//! shapes, sentence structure), releases the GIL around the core and maps its errors to
//! `ValueError`/`TypeError` naming the sentence and token.
//!
//! One file per concern: `ragged` parses lists of sentences, `arrays` borrows flat arrays,
//! `options` reads the keyword options, `errors` maps core errors, `threads` runs the core
//! without the GIL, `issues` and `counts` hold the entry points, `chunks` the Dask rounds.

mod arrays;
mod chunks;
mod counts;
mod errors;
mod issues;
mod ngrams;
mod options;
mod ragged;
mod spans;
mod threads;

use counts::{
    calibrate_confident_joint, confident_joint, confident_thresholds, label_quality_scores,
    label_quality_scores_ragged, round_preserving_sums, sentence_scores,
};
use issues::{find_label_issues_flat, find_label_issues_ragged};
use pyo3::prelude::*;

/// Which build of the row kernels runs: "avx2" or "baseline" (see `TOKENCLEAN_SIMD`), or the
/// benchmarking switch's "recompile-only"/"intrinsics-only".
#[pyfunction]
fn kernels() -> &'static str {
    match crate::simd::mode() {
        crate::simd::Mode {
            recompile: true,
            intrinsics: true,
        } => "avx2",
        crate::simd::Mode {
            recompile: true, ..
        } => "recompile-only",
        crate::simd::Mode {
            intrinsics: true, ..
        } => "intrinsics-only",
        _ => "baseline",
    }
}

// The GIL is required (no free-threaded build): the borrowed list reads of `exact_ints` and
// the address-keyed `IntCache` are correct only while the GIL keeps other Python threads from
// changing the caller's lists (or freeing and reusing an int's address) during a call.
#[pymodule(gil_used = true)]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // The environment is read here, once, with the GIL held: later reads would race with
    // `os.environ` writes from other threads while the GIL is released.
    crate::parallel::default_threads();
    crate::simd::mode();
    ragged::bench_switches();
    m.add_function(wrap_pyfunction!(find_label_issues_ragged, m)?)?;
    m.add_function(wrap_pyfunction!(find_label_issues_flat, m)?)?;
    m.add_function(wrap_pyfunction!(confident_thresholds, m)?)?;
    m.add_function(wrap_pyfunction!(confident_joint, m)?)?;
    m.add_function(wrap_pyfunction!(calibrate_confident_joint, m)?)?;
    m.add_function(wrap_pyfunction!(label_quality_scores, m)?)?;
    m.add_function(wrap_pyfunction!(label_quality_scores_ragged, m)?)?;
    m.add_function(wrap_pyfunction!(sentence_scores, m)?)?;
    m.add_function(wrap_pyfunction!(kernels, m)?)?;
    m.add_function(wrap_pyfunction!(round_preserving_sums, m)?)?;
    chunks::register(m)?;
    ngrams::register(m)?;
    spans::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
