//! Binding of the chunked rounds ([`crate::chunks`]) for `tokenclean.dask`: workers call the
//! `chunk_*` functions on their blocks, the client calls the `combine_*` functions on the
//! summaries, in chunk order. Summaries are tuples of numpy arrays, numbers and bytes, which
//! any engine can ship. An invalid value a worker finds travels back as data (a "flaw") so the
//! client reports the first of the whole dataset, naming its sentence and token.

use super::arrays::{block, borrow, sentence_offsets};
use super::errors::{core_error, Where};
use super::options::options;
use super::threads::without_gil;
use crate::chunks::{self, Candidates, ScanSummary, ScanTotals};
use crate::error::Error;
use crate::filter::{self, Options};
use crate::ragged::{Offsets, Probs};
use crate::rank::Keyed;
use crate::thresholds::Thresholds;
use ndarray::Array2;
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

/// An invalid value: (kind, dataset position, class or label, value or K).
type Flaw = (String, usize, i64, f64);

fn flaw(e: Error) -> PyResult<Flaw> {
    Ok(match e {
        Error::BadLabel {
            row,
            label,
            num_classes,
        } => ("label".into(), row, label, num_classes as f64),
        Error::NotFinite { row, class, value } => ("not_finite".into(), row, class as i64, value),
        Error::OutOfRange { row, class, value } => {
            ("out_of_range".into(), row, class as i64, value)
        }
        other => return Err(core_error(other, &Where::Flat)),
    })
}

fn unflaw((kind, row, a, value): Flaw) -> Error {
    match kind.as_str() {
        "label" => Error::BadLabel {
            row,
            label: a,
            num_classes: value as usize,
        },
        "not_finite" => Error::NotFinite {
            row,
            class: a as usize,
            value,
        },
        "out_of_range" => Error::OutOfRange {
            row,
            class: a as usize,
            value,
        },
        _ => Error::Internal(format!("unknown flaw {kind:?}")),
    }
}

fn vec_of(a: &PyReadonlyArray1<'_, i64>, what: &str) -> PyResult<Vec<usize>> {
    a.as_array()
        .iter()
        .map(|&x| {
            usize::try_from(x).map_err(|_| PyValueError::new_err(format!("{what} holds {x}")))
        })
        .collect()
}

fn to_i64(v: &[usize]) -> Vec<i64> {
    v.iter().map(|&x| x as i64).collect()
}

/// Labels of a chunk as class ids (checked by round 1 already).
fn chunk_ids(labels: &Bound<'_, PyArray1<i64>>, k: usize, offset: usize) -> PyResult<Vec<u32>> {
    let ro = labels
        .try_readonly()
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    filter::class_ids(ro.as_array().iter().copied(), k, offset)
        .map_err(|e| core_error(e, &Where::Flat))
}

/// Calls `f` with a chunk's class ids and probabilities, without the GIL.
fn with_chunk<R: Send>(
    labels: &Bound<'_, PyArray1<i64>>,
    pred_probs: &Bound<'_, PyUntypedArray>,
    offset: usize,
    f: impl FnOnce(&[u32], &Probs) -> Result<R, Error> + Send,
) -> PyResult<R> {
    let b = borrow(pred_probs)?;
    let probs = Probs::new(vec![block(&b)]).map_err(|e| core_error(e, &Where::Flat))?;
    let ids = chunk_ids(labels, probs.num_classes(), offset)?;
    if ids.len() != probs.len() {
        return Err(PyValueError::new_err(format!(
            "a chunk has {} labels but {} rows of pred_probs",
            ids.len(),
            probs.len()
        )));
    }
    without_gil(labels.py(), || f(&ids, &probs)).map_err(|e| core_error(e, &Where::Flat))
}

fn thresholds_of(values: &PyReadonlyArray1<'_, f64>, wide: bool) -> Thresholds {
    Thresholds {
        values: values.as_array().to_vec(),
        wide,
    }
}

fn totals(prune_counts: Option<PyReadonlyArray1<'_, i64>>, wanted: usize) -> ScanTotals {
    ScanTotals {
        prune_counts: prune_counts.map(|p| p.as_array().to_vec()),
        wanted,
    }
}

type CountsPart<'py> = (Option<Bound<'py, PyArray1<i64>>>, Option<Flaw>);

/// Round 1 on a worker: label counts per class, or the chunk's first bad label.
#[pyfunction]
fn chunk_counts<'py>(
    py: Python<'py>,
    labels: &Bound<'py, PyArray1<i64>>,
    k: usize,
    offset: usize,
) -> PyResult<CountsPart<'py>> {
    let ro = labels
        .try_readonly()
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    match filter::class_ids(ro.as_array().iter().copied(), k, offset) {
        Ok(ids) => Ok((
            Some(to_i64(&chunks::chunk_counts(&ids, k)).into_pyarray(py)),
            None,
        )),
        Err(e) => Ok((None, Some(flaw(e)?))),
    }
}

/// Round 1 on the client: the dataset's label counts, after the checks of
/// `find_label_issues_flat` (lengths, labels, options).
#[pyfunction]
#[pyo3(signature = (parts, lengths, n, k, **options))]
fn combine_counts<'py>(
    py: Python<'py>,
    parts: Vec<(Option<PyReadonlyArray1<'py, i64>>, Option<Flaw>)>,
    lengths: &Bound<'py, PyArray1<i64>>,
    n: usize,
    k: usize,
    options: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let mut opts = self::options(options)?;
    chunks::check_num_classes(k).map_err(|e| core_error(e, &Where::Flat))?;
    let offsets = sentence_offsets(lengths, n)?;
    let at = Where::Sentences(&offsets);
    if n == 0 {
        return Err(PyValueError::new_err("the dataset is empty: no token"));
    }
    let mut counts = vec![0usize; k];
    for (part, flaw) in parts {
        if let Some(f) = flaw {
            return Err(core_error(unflaw(f), &at));
        }
        let part = part.ok_or_else(|| PyValueError::new_err("a chunk summary has no counts"))?;
        for (t, c) in counts.iter_mut().zip(vec_of(&part, "counts")?) {
            *t = t
                .checked_add(c)
                .ok_or_else(|| PyValueError::new_err("the chunks' label counts overflow"))?;
        }
    }
    let mut present = (0..k).filter(|&c| counts[c] > 0);
    let single = match (present.next(), present.next()) {
        (Some(c), None) => Some(c as u32),
        _ => None,
    };
    opts.allow_one_class = opts.allow_one_class && single == Some(0);
    filter::check_options(single, k, &opts).map_err(|e| core_error(e, &at))?;
    Ok(to_i64(&counts).into_pyarray(py))
}

/// Round 2 on a worker: the chunk's share of the threshold sums (`first`: tokens of each class
/// in earlier chunks; `counts`: of the dataset).
#[pyfunction]
#[pyo3(signature = (labels, pred_probs, first, counts, n_jobs=None))]
fn chunk_thresholds<'py>(
    py: Python<'py>,
    labels: &Bound<'py, PyArray1<i64>>,
    pred_probs: &Bound<'py, PyUntypedArray>,
    first: PyReadonlyArray1<'py, i64>,
    counts: PyReadonlyArray1<'py, i64>,
    n_jobs: Option<usize>,
) -> PyResult<Bound<'py, PyBytes>> {
    let first = vec_of(&first, "first")?;
    let counts = vec_of(&counts, "counts")?;
    let bytes = with_chunk(labels, pred_probs, 0, |ids, probs| {
        chunks::chunk_thresholds(ids, probs, &first, &counts, n_jobs.unwrap_or(0))
    })?;
    Ok(PyBytes::new(py, &bytes))
}

/// Round 2 on the client: the thresholds (float64 values, and whether numpy holds them as
/// float64).
#[pyfunction]
fn combine_thresholds<'py>(
    py: Python<'py>,
    parts: Vec<Vec<u8>>,
    counts: PyReadonlyArray1<'py, i64>,
    float64: bool,
) -> PyResult<(Bound<'py, PyArray1<f64>>, bool)> {
    let counts = vec_of(&counts, "counts")?;
    let slices: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    let t = without_gil(py, || chunks::combine_thresholds(&slices, &counts, float64))
        .map_err(|e| core_error(e, &Where::Flat))?;
    Ok((t.values.into_pyarray(py), t.wide))
}

type ScanPart<'py> = (
    Option<Bound<'py, PyArray1<i64>>>,
    usize,
    Option<(usize, usize, f64)>,
    Option<Flaw>,
);

type ScanInput<'py> = (
    Option<PyReadonlyArray1<'py, i64>>,
    usize,
    Option<(usize, usize, f64)>,
    Option<Flaw>,
);

/// Round 3 on a worker: joint counts, unflagged off-diagonal count, first value outside
/// [0, 1]; or the chunk's first invalid value.
#[pyfunction]
#[pyo3(signature = (labels, pred_probs, thresholds, wide, offset, n_jobs=None))]
fn chunk_scan<'py>(
    py: Python<'py>,
    labels: &Bound<'py, PyArray1<i64>>,
    pred_probs: &Bound<'py, PyUntypedArray>,
    thresholds: PyReadonlyArray1<'py, f64>,
    wide: bool,
    offset: usize,
    n_jobs: Option<usize>,
) -> PyResult<ScanPart<'py>> {
    let t = thresholds_of(&thresholds, wide);
    let scan = with_chunk(labels, pred_probs, offset, |ids, probs| {
        Ok(chunks::chunk_scan(
            ids,
            probs,
            &t,
            offset,
            n_jobs.unwrap_or(0),
        ))
    })?;
    Ok(match scan {
        Ok(s) => (
            Some(s.joint.into_pyarray(py)),
            s.off_diagonal_not_near,
            s.outside_unit,
            None,
        ),
        Err(e) => (None, 0, None, Some(flaw(e)?)),
    })
}

/// Round 3 on the client: the prune counts (K×K flattened, row = guess; `None` unless the
/// filter prunes) and how many tokens the `low_*` filters take.
#[pyfunction]
#[pyo3(signature = (parts, counts, lengths, **options))]
fn combine_scans<'py>(
    py: Python<'py>,
    parts: Vec<ScanInput<'py>>,
    counts: PyReadonlyArray1<'py, i64>,
    lengths: &Bound<'py, PyArray1<i64>>,
    options: Option<&Bound<'py, PyDict>>,
) -> PyResult<(Option<Bound<'py, PyArray1<i64>>>, usize)> {
    let opts = self::options(options)?;
    let counts = vec_of(&counts, "counts")?;
    let n = chunks::total_count(&counts).map_err(|e| core_error(e, &Where::Flat))?;
    let offsets = sentence_offsets(lengths, n)?;
    let scans = parts
        .into_iter()
        .map(
            |(joint, off_diagonal_not_near, outside_unit, flaw)| match flaw {
                Some(f) => Ok(Err(unflaw(f))),
                None => {
                    let joint = joint.ok_or_else(|| {
                        PyValueError::new_err("a chunk summary has no joint counts")
                    })?;
                    Ok(Ok(ScanSummary {
                        joint: joint.as_array().to_vec(),
                        off_diagonal_not_near,
                        outside_unit,
                    }))
                }
            },
        )
        .collect::<PyResult<Vec<_>>>()?;
    let t = without_gil(py, || chunks::combine_scans(scans, &counts, &opts))
        .map_err(|e| core_error(e, &Where::Sentences(&offsets)))?;
    Ok((t.prune_counts.map(|p| p.into_pyarray(py)), t.wanted))
}

type CandidateArrays<'py> = (
    Bound<'py, PyArray1<u32>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<i64>>,
);

/// A candidate plan: (bucket, how many, bound key, bound position or -1).
type TakeArrays<'py> = (
    Bound<'py, PyArray1<u32>>,
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<i64>>,
);

type TakeInput<'py> = (
    PyReadonlyArray1<'py, u32>,
    PyReadonlyArray1<'py, i64>,
    PyReadonlyArray1<'py, f64>,
    PyReadonlyArray1<'py, i64>,
);

fn candidates_of(
    bucket: PyReadonlyArray1<'_, u32>,
    key: PyReadonlyArray1<'_, f64>,
    pos: PyReadonlyArray1<'_, i64>,
) -> PyResult<Candidates> {
    Ok(Candidates {
        bucket: bucket.as_array().to_vec(),
        key: key.as_array().to_vec(),
        pos: vec_of(&pos, "positions")?,
    })
}

/// Round 4 on the client: what every chunk sends in the first exchange (no candidates yet) or
/// in the second (given the first's candidates, the chunks' arrays concatenated).
#[pyfunction]
#[pyo3(signature = (candidates, prune_counts, wanted, counts, chunks, **options))]
fn plan_candidates<'py>(
    py: Python<'py>,
    candidates: Option<CandidateInput<'py>>,
    prune_counts: Option<PyReadonlyArray1<'py, i64>>,
    wanted: usize,
    counts: PyReadonlyArray1<'py, i64>,
    chunks: usize,
    options: Option<&Bound<'py, PyDict>>,
) -> PyResult<TakeArrays<'py>> {
    let opts = self::options(options)?;
    let counts = vec_of(&counts, "counts")?;
    let t = totals(prune_counts, wanted);
    let first = candidates
        .map(|(b, k, p)| candidates_of(b, k, p))
        .transpose()?;
    let take = without_gil(py, || {
        chunks::plan_candidates(first.as_ref(), &t, &counts, &opts, chunks)
    })
    .map_err(|e| core_error(e, &Where::Flat))?;
    let (mut bucket, mut size, mut key, mut pos) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (b, t) in take.iter().enumerate() {
        if let Some((n, bound)) = t {
            bucket.push(b as u32);
            size.push(*n as i64);
            key.push(bound.map_or(f64::NAN, |k| k.key));
            pos.push(bound.map_or(-1, |k| k.pos as i64));
        }
    }
    Ok((
        bucket.into_pyarray(py),
        size.into_pyarray(py),
        key.into_pyarray(py),
        pos.into_pyarray(py),
    ))
}

type CandidateInput<'py> = (
    PyReadonlyArray1<'py, u32>,
    PyReadonlyArray1<'py, f64>,
    PyReadonlyArray1<'py, i64>,
);

/// Round 4 on a worker: the chunk's candidates per bucket, as (bucket, key, position), as the
/// plan asks.
#[pyfunction]
#[pyo3(signature = (labels, pred_probs, take, offset, **options))]
fn chunk_candidates<'py>(
    py: Python<'py>,
    labels: &Bound<'py, PyArray1<i64>>,
    pred_probs: &Bound<'py, PyUntypedArray>,
    take: TakeInput<'py>,
    offset: usize,
    options: Option<&Bound<'py, PyDict>>,
) -> PyResult<CandidateArrays<'py>> {
    let opts = self::options(options)?;
    let k = pred_probs.shape().get(1).copied().unwrap_or(0);
    chunks::check_num_classes(k).map_err(|e| core_error(e, &Where::Flat))?;
    let mut plan: chunks::Take = vec![None; k * k + k];
    let (bucket, size, key, pos) = take;
    let (bucket, size, key, pos) = (
        bucket.as_array(),
        size.as_array(),
        key.as_array(),
        pos.as_array(),
    );
    for i in 0..bucket.len() {
        let slot = plan.get_mut(bucket[i] as usize).ok_or_else(|| {
            PyValueError::new_err("the candidate plan does not match the classes")
        })?;
        let n = usize::try_from(size[i]).map_err(|_| PyValueError::new_err("bad plan size"))?;
        let bound = usize::try_from(pos[i]).ok().map(|p| Keyed {
            key: key[i],
            pos: p,
        });
        *slot = Some((n, bound));
    }
    let c = with_chunk(labels, pred_probs, offset, |ids, probs| {
        chunks::chunk_candidates(ids, probs, &plan, &opts, offset)
    })?;
    Ok((
        c.bucket.into_pyarray(py),
        c.key.into_pyarray(py),
        to_i64(&c.pos).into_pyarray(py),
    ))
}

/// Round 4 on the client: the selected tokens (dataset positions, ascending) from the second
/// exchange's candidates (the chunks' arrays concatenated).
#[pyfunction]
#[pyo3(signature = (bucket, key, pos, prune_counts, wanted, counts, **options))]
#[allow(clippy::too_many_arguments)]
fn combine_candidates<'py>(
    py: Python<'py>,
    bucket: PyReadonlyArray1<'py, u32>,
    key: PyReadonlyArray1<'py, f64>,
    pos: PyReadonlyArray1<'py, i64>,
    prune_counts: Option<PyReadonlyArray1<'py, i64>>,
    wanted: usize,
    counts: PyReadonlyArray1<'py, i64>,
    options: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let opts = self::options(options)?;
    let counts = vec_of(&counts, "counts")?;
    let t = totals(prune_counts, wanted);
    let c = candidates_of(bucket, key, pos)?;
    let selected = without_gil(py, || chunks::combine_candidates(&c, &t, &counts, &opts))
        .map_err(|e| core_error(e, &Where::Flat))?;
    Ok(to_i64(&selected).into_pyarray(py))
}

type KeyedArrays<'py> = (Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<i64>>);

/// Round 5 on a worker: the chunk's issues (dataset positions) with their ranking scores.
#[pyfunction]
#[pyo3(signature = (labels, pred_probs, thresholds, wide, selected, offset, **options))]
#[allow(clippy::too_many_arguments)]
fn chunk_issues<'py>(
    py: Python<'py>,
    labels: &Bound<'py, PyArray1<i64>>,
    pred_probs: &Bound<'py, PyUntypedArray>,
    thresholds: PyReadonlyArray1<'py, f64>,
    wide: bool,
    selected: PyReadonlyArray1<'py, i64>,
    offset: usize,
    options: Option<&Bound<'py, PyDict>>,
) -> PyResult<KeyedArrays<'py>> {
    let opts = self::options(options)?;
    let t = thresholds_of(&thresholds, wide);
    let selected = vec_of(&selected, "selected")?;
    let keyed = with_chunk(labels, pred_probs, offset, |ids, probs| {
        chunks::chunk_issues(ids, probs, &t, &selected, &opts, offset)
    })?;
    let keys: Vec<f64> = keyed.iter().map(|k| k.key).collect();
    let pos: Vec<i64> = keyed.iter().map(|k| k.pos as i64).collect();
    Ok((keys.into_pyarray(py), pos.into_pyarray(py)))
}

/// Round 5 on the client: the ranked issues as an (M, 2) array of (sentence, token).
#[pyfunction]
#[pyo3(signature = (key, pos, lengths, n, **options))]
fn combine_issues<'py>(
    py: Python<'py>,
    key: PyReadonlyArray1<'py, f64>,
    pos: PyReadonlyArray1<'py, i64>,
    lengths: &Bound<'py, PyArray1<i64>>,
    n: usize,
    options: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyArray2<i64>>> {
    let opts: Options = self::options(options)?;
    let pos = vec_of(&pos, "positions")?;
    let keyed: Vec<Keyed> = key
        .as_array()
        .iter()
        .zip(&pos)
        .map(|(&k, &p)| Keyed::new(k, p))
        .collect();
    let ranked = without_gil(py, || Ok(chunks::combine_issues(keyed, opts.threads)))
        .map_err(|e| core_error(e, &Where::Flat))?;
    let offsets: Offsets = sentence_offsets(lengths, n)?;
    if let Some(&f) = ranked.iter().find(|&&f| f >= n) {
        return Err(PyValueError::new_err(format!(
            "issue at token {f} lies beyond the dataset's {n} tokens"
        )));
    }
    let mut out = Array2::<i64>::zeros((ranked.len(), 2));
    for (mut row, &f) in out.rows_mut().into_iter().zip(&ranked) {
        let (s, t) = offsets.locate(f);
        row[0] = s as i64;
        row[1] = t as i64;
    }
    Ok(out.into_pyarray(py))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(chunk_counts, m)?)?;
    m.add_function(wrap_pyfunction!(combine_counts, m)?)?;
    m.add_function(wrap_pyfunction!(chunk_thresholds, m)?)?;
    m.add_function(wrap_pyfunction!(combine_thresholds, m)?)?;
    m.add_function(wrap_pyfunction!(chunk_scan, m)?)?;
    m.add_function(wrap_pyfunction!(combine_scans, m)?)?;
    m.add_function(wrap_pyfunction!(plan_candidates, m)?)?;
    m.add_function(wrap_pyfunction!(chunk_candidates, m)?)?;
    m.add_function(wrap_pyfunction!(combine_candidates, m)?)?;
    m.add_function(wrap_pyfunction!(chunk_issues, m)?)?;
    m.add_function(wrap_pyfunction!(combine_issues, m)?)?;
    Ok(())
}
