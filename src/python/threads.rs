//! Running the core without the GIL, with panics turned into errors.

use crate::error::Error;
use crate::filter::{self, Options};
use crate::ragged::Probs;
use pyo3::prelude::*;

/// Runs `f` without the GIL. A panic (a bug: validation never panics) becomes an ordinary
/// error instead of pyo3's `PanicException`, which derives from `BaseException`.
pub(crate) fn without_gil<T: Send>(
    py: Python<'_>,
    f: impl FnOnce() -> Result<T, Error> + Send,
) -> Result<T, Error> {
    py.detach(|| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(Error::Internal(what))
        })
    })
}

/// Runs the core without the GIL.
pub(super) fn run(
    py: Python<'_>,
    labels: &[u32],
    probs: &Probs<'_>,
    opts: &Options,
) -> Result<Vec<usize>, Error> {
    without_gil(py, || filter::find_label_issues(labels, probs, opts))
}

pub(super) fn threads(n_jobs: Option<i64>) -> usize {
    n_jobs.map_or(0, |n| n.max(1) as usize)
}
