//! The entry points of `find_label_issues`: ragged (lists of sentences) and flat.

use super::arrays::{
    block, borrow, class_ids, column_major_like, sentence_offsets, shape_of, typed,
};
use super::errors::{core_error, Where};
use super::options::options;
use super::ragged::{
    consecutive_rows, sentence_labels, sentence_probs, sequence_items, untracked_block,
    Consecutive, IntCache, Labels, Run, Typed,
};
use super::threads::run;
use crate::error::Error;
use crate::filter;
use crate::ragged::{Offsets, Probs};
use ndarray::Array2;
use numpy::{IntoPyArray, PyArray1, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// Token-level issues of a ragged dataset: `labels[s][t]` and `pred_probs[s]` of shape
/// (tokens, K). Returns (sentence, token) tuples.
#[pyfunction]
#[pyo3(signature = (labels, pred_probs, **options))]
pub(super) fn find_label_issues_ragged<'py>(
    py: Python<'py>,
    labels: &Bound<'py, PyAny>,
    pred_probs: &Bound<'py, PyAny>,
    options: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyList>> {
    let mut opts = self::options(options)?;
    opts.sequential_row_sums = false; // cleanlab's token function flattens to row-major
    let mut ragged = Ragged::read(py, labels, pred_probs)?;
    let ids = ragged.ids();
    let at = Where::Sentences(&ragged.offsets);
    let ids = ids.map_err(|e| core_error(e, &at))?;
    opts.allow_one_class = ragged.all_python_ints && ids.iter().all(|&l| l == 0);
    let probs = ragged.probs().map_err(|e| core_error(e, &at))?;
    let flat = run(py, &ids, &probs, &opts).map_err(|e| core_error(e, &at))?;
    drop(ids);
    let pairs = ragged.offsets.locate_all(&flat);
    drop(flat);
    pair_list(py, &pairs)
}

/// A ragged dataset as read from Python: every sentence's labels (appended in order) and
/// probability array, checked for shape, dtype and a common K.
pub(super) struct Ragged<'py> {
    labels: Labels,
    pub(super) offsets: Offsets,
    pub(super) k: usize,
    pub(super) all_python_ints: bool,
    /// The sentences lie end to end in one buffer: read through one view.
    whole: Option<Run<'py>>,
    /// Otherwise, every sentence's array.
    typed: Vec<Typed<'py>>,
}

impl<'py> Ragged<'py> {
    pub(super) fn read(
        py: Python<'py>,
        labels: &Bound<'py, PyAny>,
        pred_probs: &Bound<'py, PyAny>,
    ) -> PyResult<Self> {
        let label_items = sequence_items(labels, "labels")?;
        let prob_items = sequence_items(pred_probs, "pred_probs")?;
        if label_items.len() != prob_items.len() {
            return Err(PyValueError::new_err(format!(
                "labels has {} sentences but pred_probs has {}",
                label_items.len(),
                prob_items.len()
            )));
        }
        if label_items.is_empty() {
            return Err(PyValueError::new_err("the dataset is empty: no sentence"));
        }
        let np = py.import("numpy")?;
        let np_integer = np.getattr("integer")?;
        // Sized up front: growing by doubling would copy, and hold up to three times the labels.
        let total: usize = label_items
            .iter()
            .map(|l| match (l.cast::<PyList>(), l.cast::<PyUntypedArray>()) {
                (Ok(list), _) => list.len(),
                (_, Ok(arr)) => arr.len(),
                _ => 0,
            })
            .sum();
        let mut raw = Labels::with_capacity(total);
        let mut lengths = Vec::with_capacity(label_items.len());
        let mut all_python_ints = true;
        let mut seen = IntCache::new();
        let mut arrays = Vec::with_capacity(prob_items.len());
        let mut consecutive = Consecutive::new();
        let mut k: Option<(usize, usize)> = None;
        for (s, (lab, pp)) in label_items.iter().zip(&prob_items).enumerate() {
            let before = raw.len();
            all_python_ints &= sentence_labels(&np_integer, lab, s, &mut raw, &mut seen)?;
            let len = raw.len() - before;
            lengths.push(len);
            let arr = sentence_probs(&np, pp, s)?;
            if !arr.is(pp) {
                // Converted (np.asarray, astype): Python code may have run and freed ints seen.
                seen.forget();
            }
            let shape = arr.shape();
            let (ndim, rows, cols) = (
                shape.len(),
                shape.first().copied().unwrap_or(0),
                shape.get(1).copied().unwrap_or(0),
            );
            if len == 0 && rows == 0 && ndim != 0 {
                continue; // an empty sentence: any empty array will do
            }
            if ndim != 2 {
                return Err(PyValueError::new_err(format!(
                    "pred_probs[{s}] has shape {}; each sentence needs a 2-D (tokens, classes) array",
                    shape_of(&arr)
                )));
            }
            if rows != len {
                return Err(PyValueError::new_err(format!(
                    "sentence {s} has {len} labels but {rows} rows of pred_probs"
                )));
            }
            match k {
                None => k = Some((cols, s)),
                Some((k0, s0)) if k0 != cols => {
                    return Err(PyValueError::new_err(format!(
                        "pred_probs[{s}] has {} columns but pred_probs[{s0}] has {k0}; every \
                         sentence needs the same number of classes",
                        cols
                    )))
                }
                _ => {}
            }
            consecutive.push(&arr, cols);
            arrays.push(arr);
        }
        let Some((k, _)) = k else {
            return Err(PyValueError::new_err(
                "the dataset is empty: every sentence has zero tokens",
            ));
        };
        let offsets = Offsets::from_lengths(lengths).map_err(|e| core_error(e, &Where::Flat))?;
        let whole = consecutive_rows(arrays.first(), &consecutive, k, offsets.num_tokens());
        let (whole, typed) = match whole {
            Some(run) if run.block().is_some() => (Some(run), Vec::new()),
            _ => (None, arrays.iter().map(typed).collect::<PyResult<_>>()?),
        };
        Ok(Ragged {
            labels: raw,
            offsets,
            k,
            all_python_ints,
            whole,
            typed,
        })
    }

    /// The labels checked against K (taken: a second call sees none).
    pub(super) fn ids(&mut self) -> Result<Vec<u32>, Error> {
        std::mem::replace(&mut self.labels, Labels::with_capacity(0)).checked(self.k)
    }

    /// All tokens' probabilities: one view of the shared buffer, or one block per sentence.
    pub(super) fn probs(&self) -> Result<Probs<'_>, Error> {
        let blocks = match self.whole.as_ref().and_then(Run::block) {
            Some(b) => vec![b],
            None => self.typed.iter().map(untracked_block).collect(),
        };
        Probs::new(blocks)
    }
}

/// `pairs` as a list of 2-tuples of ints, left untracked by the cyclic garbage collector (as
/// CPython's own collector leaves tuples of ints once it has seen them): a caller holding the
/// result then pays no collection that walks every tuple.
#[allow(unsafe_code)]
pub(super) fn pair_list<'py>(
    py: Python<'py>,
    pairs: &[(usize, usize)],
) -> PyResult<Bound<'py, PyList>> {
    use pyo3::ffi;
    let len = |n: usize| ffi::Py_ssize_t::try_from(n).unwrap_or(ffi::Py_ssize_t::MAX);
    // SAFETY: the GIL is held. Every object is owned by its container as soon as it exists, so
    // an early return frees all of them (lists and tuples skip empty slots when freed), and a
    // tuple is untracked only once it holds its two ints, which cannot form cycles.
    unsafe {
        let list = Bound::from_owned_ptr_or_err(py, ffi::PyList_New(len(pairs.len())))?;
        for (i, &(a, b)) in pairs.iter().enumerate() {
            let tuple = ffi::PyTuple_New(2);
            if tuple.is_null() {
                return Err(PyErr::fetch(py));
            }
            ffi::PyList_SET_ITEM(list.as_ptr(), len(i), tuple);
            for (at, v) in [(0, a), (1, b)] {
                let int = ffi::PyLong_FromSize_t(v);
                if int.is_null() {
                    return Err(PyErr::fetch(py));
                }
                ffi::PyTuple_SET_ITEM(tuple, at, int);
            }
            ffi::PyObject_GC_UnTrack(tuple.cast());
        }
        Ok(list.cast_into_unchecked())
    }
}

/// Token-level issues of a flat dataset: `labels` (N,) int64, `pred_probs` (N, K) and
/// optional sentence `lengths` (int64). Returns an (M, 2) int64 array of (sentence, token)
/// with lengths, else the (M,) flat token indices.
#[pyfunction]
#[pyo3(signature = (labels, pred_probs, lengths=None, **options))]
pub(super) fn find_label_issues_flat<'py>(
    py: Python<'py>,
    labels: &Bound<'py, PyArray1<i64>>,
    pred_probs: &Bound<'py, PyUntypedArray>,
    lengths: Option<&Bound<'py, PyArray1<i64>>>,
    options: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let mut opts = self::options(options)?;
    if pred_probs.ndim() != 2 {
        return Err(PyValueError::new_err(format!(
            "pred_probs has shape {}; it must be 2-D (tokens, classes)",
            shape_of(pred_probs)
        )));
    }
    let n = pred_probs.shape()[0];
    let k = pred_probs.shape()[1];
    let labels_ro = labels
        .try_readonly()
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let raw = labels_ro.as_array();
    if raw.len() != n {
        return Err(PyValueError::new_err(format!(
            "labels has {} entries but pred_probs has {n} rows",
            raw.len()
        )));
    }
    let offsets = lengths.map(|l| sentence_offsets(l, n)).transpose()?;
    let at = match &offsets {
        Some(o) => Where::Sentences(o),
        None => Where::Flat,
    };
    if n == 0 {
        return Err(PyValueError::new_err("the dataset is empty: no token"));
    }
    let ids = match raw.as_slice() {
        Some(raw) => filter::class_ids_of(raw, k, 0).map_err(|e| core_error(e, &at))?,
        None => class_ids(raw.iter().copied(), k, &at)?,
    };
    opts.allow_one_class = opts.allow_one_class && ids.iter().all(|&l| l == 0);
    opts.sequential_row_sums = opts.sequential_row_sums && column_major_like(pred_probs);
    let borrowed = borrow(pred_probs)?;
    let probs = Probs::new(vec![block(&borrowed)]).map_err(|e| core_error(e, &at))?;
    let flat = run(py, &ids, &probs, &opts).map_err(|e| core_error(e, &at))?;
    match &offsets {
        Some(o) => {
            let pairs: Vec<i64> = o
                .locate_all(&flat)
                .into_iter()
                .flat_map(|(s, t)| [s as i64, t as i64])
                .collect();
            let out = Array2::from_shape_vec((flat.len(), 2), pairs)
                .map_err(|e| PyValueError::new_err(e.to_string()))?;
            Ok(out.into_pyarray(py).into_any())
        }
        None => {
            let v: Vec<i64> = flat.iter().map(|&f| f as i64).collect();
            Ok(v.into_pyarray(py).into_any())
        }
    }
}
