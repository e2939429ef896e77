//! Binding of the entity spans ([`crate::spans`]) for `tokenclean.spans`: flat int64 labels and
//! sentence lengths in, numpy arrays out; the class table is (prefix code, type id) per class.

use super::arrays::{block, borrow, sentence_offsets, shape_of};
use super::errors::{core_error, Where};
use super::threads::without_gil;
use crate::filter;
use crate::ragged::{Offsets, Probs};
use crate::spans::{self, Prefix, Scheme, Spans, Tagset};
use numpy::{
    IntoPyArray, PyArray1, PyArrayMethods, PyReadonlyArray1, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

const SCHEMES: [&str; 4] = ["IOB1", "IOB2", "BIOES", "IO"];

fn tagset(
    scheme: &str,
    prefixes: PyReadonlyArray1<'_, u8>,
    types: PyReadonlyArray1<'_, i64>,
) -> PyResult<Tagset> {
    let scheme = SCHEMES
        .iter()
        .position(|&s| s == scheme)
        .and_then(|i| Scheme::from_code(i as u8))
        .ok_or_else(|| {
            PyValueError::new_err(format!(
                "scheme {scheme:?} is not one of {}",
                SCHEMES.join(", ")
            ))
        })?;
    let prefix = prefixes
        .as_array()
        .iter()
        .map(|&c| {
            Prefix::from_code(c)
                .ok_or_else(|| PyValueError::new_err(format!("prefix code {c} is not in 0..=5")))
        })
        .collect::<PyResult<Vec<_>>>()?;
    let types = types
        .as_array()
        .iter()
        .map(|&t| {
            u32::try_from(t).map_err(|_| PyValueError::new_err(format!("type id {t} is invalid")))
        })
        .collect::<PyResult<Vec<_>>>()?;
    Tagset::new(scheme, prefix, types).map_err(|e| core_error(e, &Where::Flat))
}

/// Class ids of flat labels, with the sentence offsets they must fill.
fn ids_and_offsets(
    labels: &Bound<'_, PyArray1<i64>>,
    lengths: &Bound<'_, PyArray1<i64>>,
    k: usize,
) -> PyResult<(Vec<u32>, Offsets)> {
    let ro = labels
        .try_readonly()
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let offsets = sentence_offsets(lengths, ro.len())?;
    let ids = filter::class_ids(ro.as_array().iter().copied(), k, 0)
        .map_err(|e| core_error(e, &Where::Sentences(&offsets)))?;
    Ok((ids, offsets))
}

fn i64s(v: impl IntoIterator<Item = usize>) -> Vec<i64> {
    v.into_iter().map(|x| x as i64).collect()
}

fn put_spans(d: &Bound<'_, PyDict>, prefix: &str, s: Spans) -> PyResult<()> {
    let py = d.py();
    d.set_item(
        format!("{prefix}sentence"),
        i64s(s.sentence).into_pyarray(py),
    )?;
    d.set_item(format!("{prefix}start"), i64s(s.start).into_pyarray(py))?;
    d.set_item(format!("{prefix}end"), i64s(s.end).into_pyarray(py))?;
    let types: Vec<i64> = s.types.iter().map(|&t| i64::from(t)).collect();
    d.set_item(format!("{prefix}type"), types.into_pyarray(py))?;
    Ok(())
}

/// The entity spans of flat `labels` (sentence, flat start, flat end, type) and the flat
/// positions the scheme forbids (`malformed`).
#[pyfunction]
fn spans_group<'py>(
    py: Python<'py>,
    labels: &Bound<'py, PyArray1<i64>>,
    lengths: &Bound<'py, PyArray1<i64>>,
    prefixes: PyReadonlyArray1<'py, u8>,
    types: PyReadonlyArray1<'py, i64>,
    scheme: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let tags = tagset(scheme, prefixes, types)?;
    let (ids, offsets) = ids_and_offsets(labels, lengths, tags.num_classes())?;
    let (s, m) = without_gil(py, || spans::group(&ids, &offsets, &tags))
        .map_err(|e| core_error(e, &Where::Sentences(&offsets)))?;
    let d = PyDict::new(py);
    put_spans(&d, "", s)?;
    d.set_item("malformed", i64s(m).into_pyarray(py))?;
    Ok(d)
}

/// The most probable tag sequence of each sentence among those the scheme allows, entity
/// classes' probabilities weighed by `entity_weight`.
#[pyfunction]
#[pyo3(signature = (pred_probs, lengths, prefixes, types, scheme, entity_weight=1.0, n_jobs=None))]
#[allow(clippy::too_many_arguments)]
fn spans_decode<'py>(
    py: Python<'py>,
    pred_probs: &Bound<'py, PyUntypedArray>,
    lengths: &Bound<'py, PyArray1<i64>>,
    prefixes: PyReadonlyArray1<'py, u8>,
    types: PyReadonlyArray1<'py, i64>,
    scheme: &str,
    entity_weight: f64,
    n_jobs: Option<usize>,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let tags = tagset(scheme, prefixes, types)?;
    if pred_probs.ndim() != 2 {
        return Err(PyValueError::new_err(format!(
            "pred_probs has shape {}; it must be 2-D (tokens, classes)",
            shape_of(pred_probs)
        )));
    }
    let n = pred_probs.shape()[0];
    let offsets = sentence_offsets(lengths, n)?;
    if n == 0 {
        return Ok(Vec::<i64>::new().into_pyarray(py));
    }
    let b = borrow(pred_probs)?;
    let probs = Probs::new(vec![block(&b)]).map_err(|e| core_error(e, &Where::Flat))?;
    let path = without_gil(py, || {
        spans::viterbi(&probs, &offsets, &tags, entity_weight, n_jobs.unwrap_or(0))
    })
    .map_err(|e| core_error(e, &Where::Sentences(&offsets)))?;
    let path: Vec<i64> = path.into_iter().map(i64::from).collect();
    Ok(path.into_pyarray(py))
}

/// Given and predicted spans of flat `labels` and `predicted` and their disagreements: keys
/// `given_*` and `predicted_*` (sentence, start, end, type), `malformed`, and per
/// disagreement `kind` (0 wrong_type, 1 wrong_span, 2 spurious, 3 missing, 4 malformed),
/// `sentence`, `start`, `end` (flat), `given_first`, `given_count`, `predicted_first`,
/// `predicted_count`, `has_malformed` (0/1).
#[pyfunction]
fn spans_compare<'py>(
    py: Python<'py>,
    labels: &Bound<'py, PyArray1<i64>>,
    predicted: &Bound<'py, PyArray1<i64>>,
    lengths: &Bound<'py, PyArray1<i64>>,
    prefixes: PyReadonlyArray1<'py, u8>,
    types: PyReadonlyArray1<'py, i64>,
    scheme: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let tags = tagset(scheme, prefixes, types)?;
    let k = tags.num_classes();
    let (given_ids, offsets) = ids_and_offsets(labels, lengths, k)?;
    let (pred_ids, _) = ids_and_offsets(predicted, lengths, k)?;
    let (g, m, p, d) = without_gil(py, || {
        let (g, m) = spans::group(&given_ids, &offsets, &tags)?;
        let (p, _) = spans::group(&pred_ids, &offsets, &tags)?;
        let d = spans::compare(&g, &p, &m);
        Ok((g, m, p, d))
    })
    .map_err(|e| core_error(e, &Where::Sentences(&offsets)))?;
    let out = PyDict::new(py);
    put_spans(&out, "given_", g)?;
    put_spans(&out, "predicted_", p)?;
    out.set_item("malformed", i64s(m).into_pyarray(py))?;
    let kind: Vec<i64> = d.kind.iter().map(|&k| k as i64).collect();
    out.set_item("kind", kind.into_pyarray(py))?;
    out.set_item("sentence", i64s(d.sentence).into_pyarray(py))?;
    out.set_item("start", i64s(d.start).into_pyarray(py))?;
    out.set_item("end", i64s(d.end).into_pyarray(py))?;
    out.set_item(
        "given_first",
        i64s(d.given.iter().map(|r| r.start)).into_pyarray(py),
    )?;
    out.set_item(
        "given_count",
        i64s(d.given.iter().map(|r| r.len())).into_pyarray(py),
    )?;
    out.set_item(
        "predicted_first",
        i64s(d.predicted.iter().map(|r| r.start)).into_pyarray(py),
    )?;
    out.set_item(
        "predicted_count",
        i64s(d.predicted.iter().map(|r| r.len())).into_pyarray(py),
    )?;
    out.set_item(
        "has_malformed",
        i64s(d.malformed.iter().map(|&b| usize::from(b))).into_pyarray(py),
    )?;
    Ok(out)
}

pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(spans_group, m)?)?;
    m.add_function(wrap_pyfunction!(spans_decode, m)?)?;
    m.add_function(wrap_pyfunction!(spans_compare, m)?)?;
    Ok(())
}
