//! Borrowing flat numpy arrays, and building the arrays returned.

use super::errors::{core_error, Where};
use super::ragged::Typed;
use crate::filter;
use crate::ragged::{Block, Offsets};
use ndarray::Array2;
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray2, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

pub(super) fn shape_of(arr: &Bound<'_, PyUntypedArray>) -> String {
    let dims: Vec<String> = arr.shape().iter().map(|d| d.to_string()).collect();
    if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    }
}

/// Checks labels against K and turns them into class ids, naming the first bad one.
pub(super) fn class_ids(
    raw: impl ExactSizeIterator<Item = i64>,
    k: usize,
    at: &Where,
) -> PyResult<Vec<u32>> {
    filter::class_ids(raw, k, 0).map_err(|e| core_error(e, at))
}

/// Holds borrowed arrays of either dtype.
pub(crate) enum Borrowed<'py> {
    F32(PyReadonlyArray2<'py, f32>),
    F64(PyReadonlyArray2<'py, f64>),
}

pub(super) fn typed<'py>(arr: &Bound<'py, PyUntypedArray>) -> PyResult<Typed<'py>> {
    if let Ok(a) = arr.cast::<PyArray2<f32>>() {
        Ok(Typed::F32(a.clone()))
    } else {
        let a = arr.cast::<PyArray2<f64>>().map_err(|_| {
            PyTypeError::new_err("pred_probs must be a 2-D float32 or float64 array")
        })?;
        Ok(Typed::F64(a.clone()))
    }
}

pub(crate) fn borrow<'py>(arr: &Bound<'py, PyUntypedArray>) -> PyResult<Borrowed<'py>> {
    let err = |e: numpy::BorrowError| PyValueError::new_err(e.to_string());
    Ok(match typed(arr)? {
        Typed::F32(a) => Borrowed::F32(a.try_readonly().map_err(err)?),
        Typed::F64(a) => Borrowed::F64(a.try_readonly().map_err(err)?),
    })
}

pub(crate) fn block<'a>(b: &'a Borrowed<'_>) -> Block<'a> {
    match b {
        Borrowed::F32(r) => Block::F32(r.as_array()),
        Borrowed::F64(r) => Block::F64(r.as_array()),
    }
}

/// Sentence offsets from `lengths`, which must add up to `n` tokens.
pub(crate) fn sentence_offsets(lengths: &Bound<'_, PyArray1<i64>>, n: usize) -> PyResult<Offsets> {
    let ro = lengths
        .try_readonly()
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let mut lens = Vec::with_capacity(ro.len());
    let mut total = 0usize;
    for (s, &x) in ro.as_array().iter().enumerate() {
        if x < 0 {
            return Err(PyValueError::new_err(format!(
                "lengths[{s}] = {x}; sentence lengths cannot be negative"
            )));
        }
        total = total.checked_add(x as usize).ok_or_else(|| {
            PyValueError::new_err(format!(
                "lengths add up to more than {} tokens; pred_probs has {n} rows",
                usize::MAX
            ))
        })?;
        lens.push(x as usize);
    }
    if total != n {
        return Err(PyValueError::new_err(format!(
            "lengths add up to {total} tokens but pred_probs has {n} rows"
        )));
    }
    Offsets::from_lengths(lens).map_err(|e| core_error(e, &Where::Flat))
}

/// Class ids and a borrowed flat probability matrix, validated for the kernels below.
pub(super) fn flat_input<'py>(
    labels: &Bound<'py, PyArray1<i64>>,
    pred_probs: &Bound<'py, PyUntypedArray>,
    at: &Where,
) -> PyResult<(Vec<u32>, Borrowed<'py>)> {
    if pred_probs.ndim() != 2 {
        return Err(PyValueError::new_err(format!(
            "pred_probs has shape {}; it must be 2-D (examples, classes)",
            shape_of(pred_probs)
        )));
    }
    let (n, k) = (pred_probs.shape()[0], pred_probs.shape()[1]);
    let ro = labels
        .try_readonly()
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let raw = ro.as_array();
    if raw.len() != n {
        return Err(PyValueError::new_err(format!(
            "labels has {} entries but pred_probs has {n} rows",
            raw.len()
        )));
    }
    if n == 0 {
        return Err(PyValueError::new_err("the dataset is empty"));
    }
    let ids = class_ids(raw.iter().copied(), k, at)?;
    Ok((ids, borrow(pred_probs)?))
}

/// Whether numpy would sum this 2-D array's rows across columns one at a time: the column
/// stride is the larger one (column-major and similar layouts).
pub(super) fn column_major_like(arr: &Bound<'_, PyUntypedArray>) -> bool {
    let (shape, strides) = (arr.shape(), arr.strides());
    shape.len() == 2 && shape[0] > 1 && shape[1] > 1 && strides[0].abs() < strides[1].abs()
}

pub(crate) fn float_array<'py>(
    py: Python<'py>,
    values: Vec<f64>,
    narrow: bool,
) -> Bound<'py, PyAny> {
    if narrow {
        let v: Vec<f32> = values.iter().map(|&x| x as f32).collect();
        v.into_pyarray(py).into_any()
    } else {
        values.into_pyarray(py).into_any()
    }
}

pub(crate) fn square(values: Vec<i64>, k: usize) -> PyResult<Array2<i64>> {
    Array2::from_shape_vec((k, k), values).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// An int64 array of counts or lengths, negative values read as 0.
pub(super) fn clamped(a: &Bound<'_, PyArray1<i64>>) -> PyResult<Vec<usize>> {
    let ro = a
        .try_readonly()
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(ro.as_array().iter().map(|&c| c.max(0) as usize).collect())
}
