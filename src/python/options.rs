//! The keyword options of the filter entry points, parsed and checked.

use super::arrays::column_major_like;
use super::threads::threads;
use crate::filter::{FilterBy, Options};
use crate::scores::Method;
use numpy::{PyArray2, PyArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The keyword options both entry points share, parsed from their `**options`.
pub(crate) fn options(kw: Option<&Bound<'_, PyDict>>) -> PyResult<Options> {
    const KNOWN: [&str; 11] = [
        "filter_by",
        "rank_by",
        "adjust_pred_probs",
        "frac_noise",
        "num_to_remove_per_class",
        "min_examples_per_class",
        "confident_joint",
        "low_memory",
        "n_jobs",
        "allow_one_class",
        "numpy_layout",
    ];
    let get = |name: &str| -> PyResult<Option<Bound<'_, PyAny>>> {
        match kw {
            Some(d) => Ok(d.get_item(name)?.filter(|v| !v.is_none())),
            None => Ok(None),
        }
    };
    if let Some(d) = kw {
        for key in d.keys() {
            let key: String = key.extract()?;
            if !KNOWN.contains(&key.as_str()) {
                return Err(PyTypeError::new_err(format!(
                    "unexpected keyword argument {key:?}"
                )));
            }
        }
    }
    let filter_by: String =
        get("filter_by")?.map_or(Ok("prune_by_noise_rate".into()), |v| v.extract())?;
    let filter_by = filter_by.as_str();
    let rank_by: Option<String> = get("rank_by")?.map(|v| v.extract()).transpose()?;
    let rank_by = rank_by.as_deref();
    let adjust_pred_probs: bool = get("adjust_pred_probs")?.map_or(Ok(false), |v| v.extract())?;
    let frac_noise: f64 = get("frac_noise")?.map_or(Ok(1.0), |v| v.extract())?;
    let num_to_remove_per_class: Option<Vec<i64>> = get("num_to_remove_per_class")?
        .map(|v| v.extract())
        .transpose()?;
    let min_examples_per_class: f64 =
        get("min_examples_per_class")?.map_or(Ok(1.0), |v| v.extract())?;
    let confident_joint = get("confident_joint")?;
    let confident_joint = confident_joint.as_ref();
    let low_memory: bool = get("low_memory")?.map_or(Ok(false), |v| v.extract())?;
    let n_jobs: Option<i64> = get("n_jobs")?.map(|v| v.extract()).transpose()?;
    let allow_one_class: bool = get("allow_one_class")?.map_or(Ok(false), |v| v.extract())?;
    let numpy_layout: bool = get("numpy_layout")?.map_or(Ok(false), |v| v.extract())?;
    // tokenclean._options owns the user-facing checks (and cleanlab's exception classes);
    // here an unknown name is only refused, tersely, for direct callers of `_core`.
    let filter_by = FilterBy::parse(filter_by).ok_or_else(|| unchecked("filter_by", filter_by))?;
    let rank_by = rank_by
        .map(|name| Method::parse(name).ok_or_else(|| unchecked("rank_by", name)))
        .transpose()?;
    let mut joint_column_major = false;
    let confident_joint = match confident_joint {
        None => None,
        Some(cj) => {
            let arr = cj.cast::<PyArray2<f64>>().map_err(|_| {
                PyTypeError::new_err("confident_joint must be a 2-D float64 numpy array")
            })?;
            joint_column_major = column_major_like(arr.as_untyped());
            let ro = arr
                .try_readonly()
                .map_err(|e| PyValueError::new_err(e.to_string()))?;
            let view = ro.as_array();
            if view.nrows() != view.ncols() {
                return Err(unchecked(
                    "confident_joint shape",
                    &format!("{:?}", view.shape()),
                ));
            }
            Some(view.iter().copied().collect())
        }
    };
    Ok(Options {
        filter_by,
        rank_by,
        adjust_pred_probs,
        frac_noise,
        num_to_remove_per_class,
        min_examples_per_class,
        confident_joint,
        low_memory,
        allow_one_class,
        threads: threads(n_jobs),
        joint_column_major,
        // Resolved against the array's layout by the flat entry point.
        sequential_row_sums: numpy_layout,
    })
}

/// An option value that `tokenclean._options` would have refused with a full message.
pub(super) fn unchecked(name: &str, value: &str) -> PyErr {
    PyValueError::new_err(format!("_core: invalid {name} {value:?}"))
}
