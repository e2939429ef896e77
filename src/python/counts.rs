//! cleanlab's count and rank measures: thresholds, confident joint, calibration, scores.

use super::arrays::{block, clamped, column_major_like, flat_input, float_array, square};
use super::errors::{core_error, Where};
use super::issues::Ragged;
use super::options::unchecked;
use super::threads::{threads, without_gil};
use crate::joint;
use crate::measures::{self, SentenceScore};
use crate::ragged::{Offsets, Probs};
use crate::scores::Method;
use crate::thresholds::Thresholds;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyArrayMethods, PyUntypedArray};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// cleanlab's `get_confident_thresholds`: float32 for float32 input with every class present.
#[pyfunction]
#[pyo3(signature = (labels, pred_probs, *, n_jobs=None))]
pub(super) fn confident_thresholds<'py>(
    py: Python<'py>,
    labels: &Bound<'py, PyArray1<i64>>,
    pred_probs: &Bound<'py, PyUntypedArray>,
    n_jobs: Option<i64>,
) -> PyResult<Bound<'py, PyAny>> {
    let (ids, b) = flat_input(labels, pred_probs, &Where::Flat)?;
    let probs = Probs::new(vec![block(&b)]).map_err(|e| core_error(e, &Where::Flat))?;
    let t = without_gil(py, || measures::thresholds(&ids, &probs, threads(n_jobs)))
        .map_err(|e| core_error(e, &Where::Flat))?;
    Ok(float_array(py, t.values, !t.wide))
}

/// The uncalibrated confident joint (diagonal at least 1), the off-diagonal positions, how many
/// of those the `+1e-6` unflag step keeps, and the label counts.
#[pyfunction]
#[pyo3(signature = (labels, pred_probs, thresholds=None, thresholds_wide=true, *, n_jobs=None))]
#[allow(clippy::type_complexity)]
pub(super) fn confident_joint<'py>(
    py: Python<'py>,
    labels: &Bound<'py, PyArray1<i64>>,
    pred_probs: &Bound<'py, PyUntypedArray>,
    thresholds: Option<Vec<f64>>,
    thresholds_wide: bool,
    n_jobs: Option<i64>,
) -> PyResult<(
    Bound<'py, PyArray2<i64>>,
    Bound<'py, PyArray1<i64>>,
    usize,
    Bound<'py, PyArray1<i64>>,
    bool,
)> {
    let (ids, b) = flat_input(labels, pred_probs, &Where::Flat)?;
    let probs = Probs::new(vec![block(&b)]).map_err(|e| core_error(e, &Where::Flat))?;
    let k = probs.num_classes();
    let given = thresholds.map(|values| Thresholds {
        values,
        wide: thresholds_wide,
    });
    let j = without_gil(py, || {
        measures::confident_joint(&ids, &probs, given, threads(n_jobs))
    })
    .map_err(|e| core_error(e, &Where::Flat))?;
    let off: Vec<i64> = j.off_diagonal.iter().map(|&f| f as i64).collect();
    let counts: Vec<i64> = j.label_counts.iter().map(|&c| c as i64).collect();
    Ok((
        square(j.joint, k)?.into_pyarray(py),
        off.into_pyarray(py),
        j.off_diagonal_not_near,
        counts.into_pyarray(py),
        j.any_confident,
    ))
}

/// cleanlab's `calibrate_confident_joint` on a K x K matrix and the label counts;
/// `column_major` says how the caller's matrix was laid out (numpy sums in memory order).
#[pyfunction]
#[pyo3(signature = (confident_joint, label_counts, column_major=false))]
pub(super) fn calibrate_confident_joint<'py>(
    py: Python<'py>,
    confident_joint: &Bound<'py, PyArray2<f64>>,
    label_counts: &Bound<'py, PyArray1<i64>>,
    column_major: bool,
) -> PyResult<Bound<'py, PyArray2<i64>>> {
    let cj = confident_joint
        .try_readonly()
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let cj = cj.as_array();
    let k = cj.nrows();
    if cj.ncols() != k {
        return Err(unchecked(
            "confident_joint shape",
            &format!("{:?}", cj.shape()),
        ));
    }
    let counts = clamped(label_counts)?;
    if counts.len() != k {
        return Err(PyValueError::new_err(format!(
            "{} label counts for a {k} x {k} confident joint",
            counts.len()
        )));
    }
    let flat: Vec<f64> = cj.iter().copied().collect();
    let calibrated = without_gil(py, || Ok(joint::calibrate(&flat, &counts, k, column_major)))
        .map_err(|e| core_error(e, &Where::Flat))?;
    Ok(square(calibrated, k)?.into_pyarray(py))
}

/// Each row of a float64 matrix rounded half to even, then adjusted to keep its rounded
/// total (cleanlab's `round_preserving_sum`, with a stop when a step makes no progress): the
/// one implementation, which `tokenclean.count` uses for floating-point joints.
#[pyfunction]
pub(super) fn round_preserving_sums<'py>(
    py: Python<'py>,
    rows: &Bound<'py, PyArray2<f64>>,
) -> PyResult<Bound<'py, PyArray2<i64>>> {
    let ro = rows
        .try_readonly()
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let view = ro.as_array();
    let (n, k) = view.dim();
    let values: Vec<Vec<f64>> = view.rows().into_iter().map(|r| r.to_vec()).collect();
    let out = without_gil(py, || {
        Ok(values
            .iter()
            .flat_map(|r| joint::round_preserving_sum(r))
            .collect::<Vec<i64>>())
    })
    .map_err(|e| core_error(e, &Where::Flat))?;
    let out = ndarray::Array2::from_shape_vec((n, k), out)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(out.into_pyarray(py))
}

/// Per-token label quality scores (cleanlab's dtype) of flat tokens; ragged input (whose
/// errors name the sentence) goes through [`label_quality_scores_ragged`].
#[pyfunction]
#[pyo3(signature = (labels, pred_probs, method, adjust_pred_probs=false, *, numpy_layout=true, n_jobs=None))]
pub(super) fn label_quality_scores<'py>(
    py: Python<'py>,
    labels: &Bound<'py, PyArray1<i64>>,
    pred_probs: &Bound<'py, PyUntypedArray>,
    method: &str,
    adjust_pred_probs: bool,
    numpy_layout: bool,
    n_jobs: Option<i64>,
) -> PyResult<Bound<'py, PyAny>> {
    let sequential = numpy_layout && column_major_like(pred_probs);
    let method = Method::parse(method).ok_or_else(|| unchecked("method", method))?;
    let at = Where::Flat;
    let (ids, b) = flat_input(labels, pred_probs, &at)?;
    let probs = Probs::new(vec![block(&b)]).map_err(|e| core_error(e, &at))?;
    let (scores, narrow) = without_gil(py, || {
        measures::label_quality_scores(
            &ids,
            &probs,
            method,
            adjust_pred_probs,
            sequential,
            threads(n_jobs),
        )
    })
    .map_err(|e| core_error(e, &at))?;
    Ok(float_array(py, scores, narrow))
}

/// Per-token label quality scores of a ragged dataset (one label sequence and one (tokens, K)
/// array per sentence, read and checked as `find_label_issues_ragged` reads them), in the dtype
/// of their concatenation, and the sentence lengths. Errors name the sentence and token.
#[pyfunction]
#[pyo3(signature = (labels, pred_probs, method, *, n_jobs=None))]
#[allow(clippy::type_complexity)]
pub(super) fn label_quality_scores_ragged<'py>(
    py: Python<'py>,
    labels: &Bound<'py, PyAny>,
    pred_probs: &Bound<'py, PyAny>,
    method: &str,
    n_jobs: Option<i64>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyArray1<i64>>)> {
    let method = Method::parse(method).ok_or_else(|| unchecked("method", method))?;
    let mut ragged = Ragged::read(py, labels, pred_probs)?;
    let ids = ragged.ids();
    let at = Where::Sentences(&ragged.offsets);
    let ids = ids.map_err(|e| core_error(e, &at))?;
    let probs = ragged.probs().map_err(|e| core_error(e, &at))?;
    // The concatenation cleanlab scores is row-major: no sequential row sums.
    let (scores, narrow) = without_gil(py, || {
        measures::label_quality_scores(&ids, &probs, method, false, false, threads(n_jobs))
    })
    .map_err(|e| core_error(e, &at))?;
    let lengths: Vec<i64> = (0..ragged.offsets.num_sentences())
        .map(|s| {
            let (a, b) = ragged.offsets.bounds(s);
            (b - a) as i64
        })
        .collect();
    Ok((float_array(py, scores, narrow), lengths.into_pyarray(py)))
}

/// Sentence scores from per-token scores: "min", or "softmin" with a temperature.
#[pyfunction]
#[pyo3(signature = (scores, lengths, method="min", temperature=0.05))]
pub(super) fn sentence_scores<'py>(
    py: Python<'py>,
    scores: &Bound<'py, PyArray1<f64>>,
    lengths: &Bound<'py, PyArray1<i64>>,
    method: &str,
    temperature: f64,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let how = match method {
        "min" => SentenceScore::Min,
        "softmin" => SentenceScore::Softmin(temperature),
        other => return Err(unchecked("sentence_score_method", other)),
    };
    let scores = scores
        .try_readonly()
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let offsets =
        Offsets::from_lengths(clamped(lengths)?).map_err(|e| core_error(e, &Where::Flat))?;
    let x = scores.as_array();
    if offsets.num_tokens() != x.len() {
        return Err(PyValueError::new_err(format!(
            "{} token scores for sentences of {} tokens",
            x.len(),
            offsets.num_tokens()
        )));
    }
    let x: Vec<f64> = x.iter().copied().collect();
    let scores = without_gil(py, || Ok(measures::sentence_scores(&x, &offsets, how)))
        .map_err(|e| core_error(e, &Where::Flat))?;
    Ok(scores.into_pyarray(py))
}
