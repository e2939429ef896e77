//! Binding of variation n-grams ([`crate::ngrams`]) for `tokenclean.ngrams`.

use super::errors::{core_error, Where};
use super::threads::without_gil;
use crate::ngrams::{self, NgramOptions};
use crate::ragged::Offsets;
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::borrow::Cow;

type Evidence<'py> = (
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<i64>>,
);

fn slice<'a>(a: &'a PyReadonlyArray1<'_, i64>) -> Cow<'a, [i64]> {
    match a.as_slice() {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(a.as_array().to_vec()),
    }
}

fn widen(v: Vec<u32>) -> Vec<i64> {
    v.into_iter().map(i64::from).collect()
}

/// Variation n-gram evidence of every token: (score, suggested, support, agree, length,
/// offset), each of shape (N,).
#[pyfunction]
#[pyo3(signature = (word_ids, labels, lengths, max_n = 6, min_count = 2, boundaries = true))]
fn variation_ngrams<'py>(
    py: Python<'py>,
    word_ids: PyReadonlyArray1<'py, i64>,
    labels: PyReadonlyArray1<'py, i64>,
    lengths: PyReadonlyArray1<'py, i64>,
    max_n: usize,
    min_count: usize,
    boundaries: bool,
) -> PyResult<Evidence<'py>> {
    let words = slice(&word_ids);
    let n = words.len();
    let mut lens = Vec::with_capacity(lengths.len()?);
    let mut total = 0usize;
    for (s, &x) in lengths.as_array().iter().enumerate() {
        let len = usize::try_from(x).map_err(|_| {
            PyValueError::new_err(format!(
                "lengths[{s}] = {x}; sentence lengths cannot be negative"
            ))
        })?;
        total = total.saturating_add(len);
        lens.push(len);
    }
    if total != n {
        return Err(PyValueError::new_err(format!(
            "lengths add up to {total} tokens but word_ids has {n}"
        )));
    }
    let raw = labels.as_array();
    if raw.len() != n {
        return Err(PyValueError::new_err(format!(
            "labels has {} entries but word_ids has {n}",
            raw.len()
        )));
    }
    let offsets =
        Offsets::from_lengths(lens.iter().copied()).map_err(|e| core_error(e, &Where::Flat))?;
    let mut ids = Vec::with_capacity(n);
    for (f, &x) in raw.iter().enumerate() {
        let id = u32::try_from(x).map_err(|_| {
            let (s, t) = offsets.locate(f);
            let why = if x < 0 { "is negative" } else { "is too large" };
            PyValueError::new_err(format!(
                "label {x} at sentence {s}, token {t} {why}; labels must be class ids"
            ))
        })?;
        ids.push(id);
    }
    let opts = NgramOptions {
        max_n,
        min_count,
        boundaries,
    };
    let v = without_gil(py, || {
        ngrams::variation_ngrams(&words[..], &ids, &lens, &opts)
    })
    .map_err(|e| core_error(e, &Where::Sentences(&offsets)))?;
    Ok((
        v.score.into_pyarray(py),
        widen(v.suggested).into_pyarray(py),
        widen(v.support).into_pyarray(py),
        widen(v.agree).into_pyarray(py),
        widen(v.length).into_pyarray(py),
        widen(v.offset).into_pyarray(py),
    ))
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(variation_ngrams, m)?)?;
    Ok(())
}
