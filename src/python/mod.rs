//! The Python binding: borrows numpy arrays, validates what only Python can see (types,
//! shapes, sentence structure), releases the GIL around the core and maps its errors to
//! `ValueError`/`TypeError` naming the sentence and token.

mod chunks;
use crate::error::{bad_label_why, Error};
use crate::filter::{self, FilterBy, Options};
use crate::joint;
use crate::measures::{self, SentenceScore};
use crate::ragged::{Block, Offsets, Probs};
use crate::scores::Method;
use crate::thresholds::Thresholds;
use ndarray::{Array2, ArrayView2, ArrayViewD};
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods,
    PyReadonlyArray2, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

/// How to name a token in messages: "sentence 3, token 2" or "token 7".
pub(crate) enum Where<'a> {
    Sentences(&'a Offsets),
    Flat,
}

impl Where<'_> {
    fn token(&self, f: usize) -> String {
        match self {
            Where::Sentences(o) => {
                let (s, t) = o.locate(f);
                format!("sentence {s}, token {t}")
            }
            Where::Flat => format!("token {f}"),
        }
    }
}

pub(crate) fn core_error(err: Error, at: &Where) -> PyErr {
    let msg = match err {
        Error::NotFinite { row, class, value } => format!(
            "pred_probs at {} holds {value} for class {class}; probabilities must be finite",
            at.token(row)
        ),
        Error::OutOfRange { row, class, value } => format!(
            "pred_probs at {} holds {value} for class {class}; probabilities must lie in [0, 1]",
            at.token(row)
        ),
        Error::BadLabel {
            row,
            label,
            num_classes,
        } => format!(
            "label {label} at {} {}",
            at.token(row),
            bad_label_why(label, num_classes)
        ),
        Error::EntropyDomain { row, class, value } => format!(
            "confidence_weighted_entropy needs probabilities in [0, 1], but pred_probs at {} \
             holds {value} for class {class}",
            at.token(row)
        ),
        Error::Internal(_) => return PyRuntimeError::new_err(err.to_string()),
        other => other.to_string(),
    };
    PyValueError::new_err(msg)
}

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
    let filter_by = FilterBy::parse(filter_by).ok_or_else(|| {
        PyValueError::new_err(format!(
            "filter_by={filter_by:?} is not one of {}",
            FilterBy::NAMES.join(", ")
        ))
    })?;
    let rank_by = match rank_by {
        None => None,
        Some(name) => Some(Method::parse(name).ok_or_else(|| {
            PyValueError::new_err(format!(
                "return_indices_ranked_by={name:?} is not one of self_confidence, \
                 normalized_margin, confidence_weighted_entropy (or None)"
            ))
        })?),
    };
    if let Some(n) = n_jobs {
        if n < 1 {
            return Err(PyValueError::new_err(format!(
                "n_jobs={n}; it must be at least 1"
            )));
        }
    }
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
                return Err(PyValueError::new_err(format!(
                    "confident_joint has shape {:?}; it must be K x K",
                    view.shape()
                )));
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
        threads: n_jobs.map_or(0, |n| n as usize),
        joint_column_major,
        // Resolved against the array's layout by the flat entry point.
        sequential_row_sums: numpy_layout,
    })
}

fn shape_of(arr: &Bound<'_, PyUntypedArray>) -> String {
    let dims: Vec<String> = arr.shape().iter().map(|d| d.to_string()).collect();
    if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    }
}

/// One sentence's probabilities as an array we can borrow: float32/float64 in native byte
/// order are used as they are; lists become float64 arrays; other byte orders are converted.
fn sentence_probs<'py>(
    np: &Bound<'py, PyModule>,
    item: &Bound<'py, PyAny>,
    s: usize,
) -> PyResult<Bound<'py, PyUntypedArray>> {
    let arr = if let Ok(arr) = item.cast::<PyUntypedArray>() {
        let dtype = arr.dtype();
        match (dtype.kind(), dtype.itemsize()) {
            (b'f', 4) | (b'f', 8) => {
                if dtype.is_native_byteorder() == Some(false) {
                    let native = dtype.call_method1("newbyteorder", ("=",))?;
                    arr.call_method1("astype", (native,))?
                        .cast_into::<PyUntypedArray>()?
                } else {
                    arr.clone()
                }
            }
            (kind, size) => {
                let what = match kind {
                    b'f' => format!("float{}", size * 8),
                    _ => dtype.str()?.to_string(),
                };
                return Err(PyTypeError::new_err(format!(
                    "pred_probs[{s}] has dtype {what}; probabilities must be float32 or float64"
                )));
            }
        }
    } else if item.is_instance_of::<PyList>() || item.is_instance_of::<PyTuple>() {
        np.call_method1("asarray", (item, "float64"))
            .map_err(|e| {
                PyValueError::new_err(format!(
                    "pred_probs[{s}] cannot be read as a (tokens, classes) float array: {e}"
                ))
            })?
            .cast_into::<PyUntypedArray>()?
    } else {
        return Err(PyTypeError::new_err(format!(
            "pred_probs[{s}] is a {}; each sentence's probabilities must be a numpy array",
            item.get_type().name()?
        )));
    };
    Ok(arr)
}

/// Labels of one sentence, appended to `out`. Returns whether they were all Python ints.
fn sentence_labels(
    np_integer: &Bound<'_, PyAny>,
    item: &Bound<'_, PyAny>,
    s: usize,
    out: &mut Labels,
    seen: &mut IntCache,
) -> PyResult<bool> {
    if item.is_instance_of::<PyString>() || item.is_instance_of::<PyBytes>() {
        return Err(PyTypeError::new_err(format!(
            "labels[{s}] is a string; each sentence's labels must be a sequence of integer class ids"
        )));
    }
    if let Ok(arr) = item.cast::<PyUntypedArray>() {
        // astype may run Python code (array subclasses), which could free ints seen.
        seen.forget();
        if arr.len() == 0 && arr.ndim() <= 1 {
            return Ok(true); // an empty sentence (np.array([]) is float64): no label to check
        }
        if arr.ndim() != 1 {
            return Err(PyValueError::new_err(format!(
                "labels[{s}] has shape {}; each sentence's labels must be 1-D",
                shape_of(arr)
            )));
        }
        let kind = arr.dtype().kind();
        if kind == b'u' && arr.dtype().itemsize() == 8 {
            let as_u = arr
                .call_method1("astype", ("uint64",))?
                .cast_into::<PyArray1<u64>>()?;
            let ro = as_u
                .try_readonly()
                .map_err(|e| PyValueError::new_err(e.to_string()))?;
            for (t, &v) in ro.as_array().iter().enumerate() {
                match i64::try_from(v) {
                    Ok(v) => out.push(v),
                    Err(_) => {
                        return Err(PyValueError::new_err(format!(
                        "label {v} at sentence {s}, token {t} is not below the number of classes"
                    )))
                    }
                }
            }
            return Ok(false);
        }
        if kind == b'i' || kind == b'u' {
            let as64 = match arr.cast::<PyArray1<i64>>() {
                Ok(a) => a.clone(),
                Err(_) => arr
                    .call_method1("astype", ("int64",))?
                    .cast_into::<PyArray1<i64>>()?,
            };
            let ro = as64
                .try_readonly()
                .map_err(|e| PyValueError::new_err(e.to_string()))?;
            out.reserve(arr.len());
            for &v in ro.as_array() {
                out.push(v);
            }
            return Ok(false);
        }
        if kind != b'O' {
            return Err(PyTypeError::new_err(format!(
                "labels[{s}] has dtype {}; labels must be integer class ids",
                arr.dtype().str()?
            )));
        }
    }
    if let Ok(list) = item.cast::<PyList>() {
        if exact_ints(list, out, seen) {
            return Ok(true);
        }
    }
    // What follows may run Python code, which could free the ints remembered.
    seen.forget();
    let mut all_int = true;
    let mut push = |t: usize, x: &Bound<'_, PyAny>| -> PyResult<()> {
        if x.is_instance_of::<PyBool>() {
            return Err(PyTypeError::new_err(format!(
                "labels[{s}][{t}] is a bool; labels must be integer class ids"
            )));
        }
        let is_int = x.is_instance_of::<PyInt>();
        if !is_int && !x.is_instance(np_integer)? {
            let msg = if x.is_instance_of::<PyFloat>() || x.hasattr("is_integer")? {
                format!(
                    "labels[{s}][{t}] is {} (a float); labels must be integer class ids",
                    x.repr()?
                )
            } else if x.is_instance_of::<PyList>()
                || x.is_instance_of::<PyTuple>()
                || x.cast::<PyUntypedArray>().is_ok()
            {
                return Err(PyValueError::new_err(format!(
                    "labels[{s}][{t}] is a sequence; labels must be nested exactly two deep \
                     (sentences, then one integer class id per token)"
                )));
            } else {
                format!(
                    "labels[{s}][{t}] is {} of type {}; labels must be integer class ids",
                    x.repr()?,
                    x.get_type().name()?
                )
            };
            return Err(PyTypeError::new_err(msg));
        }
        all_int &= is_int;
        let v: i64 = x.extract().map_err(|_| {
            PyValueError::new_err(format!("labels[{s}][{t}] is too large to be a class id"))
        })?;
        out.push(v);
        Ok(())
    };
    if let Ok(list) = item.cast::<PyList>() {
        for (t, x) in list.iter().enumerate() {
            push(t, &x)?;
        }
    } else if let Ok(tuple) = item.cast::<PyTuple>() {
        for (t, x) in tuple.iter().enumerate() {
            push(t, &x)?;
        }
    } else {
        let iter = item.try_iter().map_err(|_| {
            PyTypeError::new_err(format!(
                "labels[{s}] is a {}; each sentence's labels must be a sequence of integer class ids",
                item.get_type().name().map(|n| n.to_string()).unwrap_or_default()
            ))
        })?;
        for (t, x) in iter.enumerate() {
            push(t, &x?)?;
        }
    }
    Ok(all_int)
}

/// Values of recently seen int objects, by address. Labels are mostly a few shared objects
/// (CPython caches small ints, 32 bytes apart: 256 slots hold every class id below 256).
/// Measured gain (issue 21 review, list input, 1M tokens, K=9 float32, one thread): 15-20%.
/// Valid for one call: an int cannot change value, and the caller's lists keep every object
/// seen alive; `forget` (one increment) drops everything when Python code may have run.
struct IntCache {
    slots: Box<[(*mut pyo3::ffi::PyObject, i64, u32); 256]>,
    era: u32,
}

impl IntCache {
    fn new() -> Self {
        IntCache {
            slots: Box::new([(std::ptr::null_mut(), 0, 0); 256]),
            era: 1,
        }
    }

    #[inline]
    fn slot(
        &mut self,
        item: *mut pyo3::ffi::PyObject,
    ) -> &mut (*mut pyo3::ffi::PyObject, i64, u32) {
        &mut self.slots[(item as usize >> 5) & 255]
    }

    fn forget(&mut self) {
        self.era = self.era.wrapping_add(1);
        if self.era == 0 {
            *self = IntCache::new();
        }
    }
}

/// Labels as class ids before the number of classes is known. A value that does not fit u32
/// is kept as `u32::MAX` (past any class) and the first is remembered, for the error to
/// quote: half the memory of i64 labels, and no second copy.
struct Labels {
    ids: Vec<u32>,
    /// Position and value of the first label that did not fit.
    wide: Option<(usize, i64)>,
}

impl Labels {
    fn with_capacity(n: usize) -> Self {
        Labels {
            ids: Vec::with_capacity(n),
            wide: None,
        }
    }

    #[inline(always)]
    fn push(&mut self, v: i64) {
        let id = u32::try_from(v).unwrap_or_else(|_| {
            self.wide.get_or_insert((self.ids.len(), v));
            u32::MAX
        });
        self.ids.push(id);
    }

    fn len(&self) -> usize {
        self.ids.len()
    }

    fn reserve(&mut self, n: usize) {
        self.ids.reserve(n);
    }

    fn truncate(&mut self, len: usize) {
        self.ids.truncate(len);
        if self.wide.is_some_and(|(f, _)| f >= len) {
            self.wide = None;
        }
    }

    /// The class ids, once every label is checked against `k`.
    fn checked(self, k: usize) -> Result<Vec<u32>, Error> {
        filter::check_class_ids(&self.ids, k, self.wide)?;
        Ok(self.ids)
    }
}

/// Fast path for the common case, a list of plain Python ints: appends them to `out` and
/// returns true, or leaves `out` as it was and returns false (anything else: the careful path
/// decides and names the culprit).
#[allow(unsafe_code)]
fn exact_ints(list: &Bound<'_, PyList>, out: &mut Labels, seen: &mut IntCache) -> bool {
    let start = out.len();
    let n = list.len();
    out.reserve(n);
    for i in 0..n {
        // SAFETY: the GIL is held and `list` is alive, so items 0..len are valid borrowed
        // references for the duration of this loop (nothing here runs Python code that could
        // shrink the list: PyLong_AsLong on an exact int does not call back into Python).
        let v = unsafe {
            let item = pyo3::ffi::PyList_GET_ITEM(list.as_ptr(), i as pyo3::ffi::Py_ssize_t);
            let era = seen.era;
            let slot = seen.slot(item);
            if slot.0 == item && slot.2 == era {
                slot.1
            } else {
                if pyo3::ffi::PyLong_CheckExact(item) == 0 {
                    out.truncate(start);
                    return false;
                }
                let v = pyo3::ffi::PyLong_AsLong(item);
                if v == -1 && !pyo3::ffi::PyErr_Occurred().is_null() {
                    pyo3::ffi::PyErr_Clear();
                    out.truncate(start);
                    return false;
                }
                *slot = (item, v as i64, era);
                v as i64
            }
        };
        out.push(v);
    }
    true
}

fn sequence_items<'py>(obj: &Bound<'py, PyAny>, name: &str) -> PyResult<Vec<Bound<'py, PyAny>>> {
    if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>() {
        return Err(PyTypeError::new_err(format!(
            "{name} must be a list of sentences, not a string"
        )));
    }
    if let Ok(list) = obj.cast::<PyList>() {
        return Ok(list.iter().collect());
    }
    let iter = obj.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "{name} must be a list of sentences, not {}",
            obj.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    iter.collect()
}

/// Checks labels against K and turns them into class ids, naming the first bad one.
fn class_ids(raw: impl ExactSizeIterator<Item = i64>, k: usize, at: &Where) -> PyResult<Vec<u32>> {
    filter::class_ids(raw, k, 0).map_err(|e| core_error(e, at))
}

/// Holds borrowed arrays of either dtype.
pub(crate) enum Borrowed<'py> {
    F32(PyReadonlyArray2<'py, f32>),
    F64(PyReadonlyArray2<'py, f64>),
}

fn typed<'py>(arr: &Bound<'py, PyUntypedArray>) -> PyResult<Typed<'py>> {
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

/// A sentence's array, typed but not registered with rust-numpy's borrow tracker.
enum Typed<'py> {
    F32(Bound<'py, PyArray2<f32>>),
    F64(Bound<'py, PyArray2<f64>>),
}

/// A read-only view of a sentence's array.
///
/// rust-numpy's `PyReadonlyArray` registers every borrow and checks it against all live
/// borrows of the same base array; the sentences of a dataset are usually views of one base
/// (`np.split`), which makes those checks quadratic in the number of sentences (seconds for
/// 40k sentences). The views made here are only read, and this crate never creates a mutable
/// numpy borrow. Skipping the tracker does lose one check: a mutable borrow held at the same
/// time by another extension built on rust-numpy (which shares the tracker) goes unnoticed.
/// Neither the tracker nor this path excludes writes from other Python threads while the GIL
/// is released: the README tells callers not to modify the arrays during a call.
#[allow(unsafe_code)]
fn untracked_block<'a>(t: &'a Typed<'_>) -> Block<'a> {
    // SAFETY: the arrays outlive the views (`t` is borrowed for 'a); nothing in this crate
    // writes to numpy arrays, so no Rust code here aliases them mutably. Concurrent writes by
    // other threads are the caller's contract (README), as for every borrowed view.
    unsafe {
        match t {
            Typed::F32(a) => Block::F32(a.as_array()),
            Typed::F64(a) => Block::F64(a.as_array()),
        }
    }
}

/// Sentences that are consecutive rows of one C-contiguous array (as `np.split` makes them):
/// that array, read as one block of `n` rows from element `offset`. Measured gain (issue 21
/// review, 1M tokens, K=9 float32, one thread): about 10%.
enum Run<'py> {
    F32(Bound<'py, PyArrayDyn<f32>>, usize, usize, usize),
    F64(Bound<'py, PyArrayDyn<f64>>, usize, usize, usize),
}

impl Run<'_> {
    #[allow(unsafe_code)]
    fn block(&self) -> Option<Block<'_>> {
        fn rows<T>(
            a: ArrayViewD<'_, T>,
            at: usize,
            n: usize,
            k: usize,
        ) -> Option<ArrayView2<'_, T>> {
            let flat = a.to_slice()?.get(at..at.checked_add(n.checked_mul(k)?)?)?;
            ArrayView2::from_shape((n, k), flat).ok()
        }
        // SAFETY: as in `untracked_block`: the array outlives the view and nothing in this
        // crate writes to numpy arrays.
        Some(match self {
            Run::F32(a, at, n, k) => Block::F32(rows(unsafe { a.as_array() }, *at, *n, *k)?),
            Run::F64(a, at, n, k) => Block::F64(rows(unsafe { a.as_array() }, *at, *n, *k)?),
        })
    }
}

/// Reads a live array's data address and base object (two struct fields).
#[allow(unsafe_code)]
fn data_and_base(a: &Bound<'_, PyUntypedArray>) -> (usize, *mut pyo3::ffi::PyObject) {
    // SAFETY: `a` is a live numpy array and the GIL is held.
    unsafe {
        let o = &*a.as_array_ptr();
        (o.data as usize, o.base)
    }
}

/// The one-block view of `arrays` (non-empty sentences, in order, native float32/float64 of
/// K columns) when they are consecutive rows of one C-contiguous array; else `None`.
fn consecutive_rows<'py>(
    arrays: &[Bound<'py, PyUntypedArray>],
    k: usize,
    n: usize,
) -> Option<Run<'py>> {
    let first = arrays.first()?;
    let item = first.dtype().itemsize();
    let (start, base_ptr) = data_and_base(first);
    if base_ptr.is_null() {
        return None;
    }
    let mut next = start;
    for a in arrays {
        let (data, base) = data_and_base(a);
        if base != base_ptr || data != next || !a.is_c_contiguous() || a.dtype().itemsize() != item
        {
            return None;
        }
        next = data + a.shape().first()? * k * item;
    }
    let base = first
        .getattr("base")
        .ok()?
        .cast_into::<PyUntypedArray>()
        .ok()?;
    let dtype = base.dtype();
    if base.as_ptr() != base_ptr
        || !base.is_c_contiguous()
        || dtype.kind() != b'f'
        || dtype.itemsize() != item
        || dtype.is_native_byteorder() == Some(false)
    {
        return None;
    }
    let bytes = start.checked_sub(data_and_base(&base).0)?;
    let at = bytes / item;
    if bytes % item != 0 || at + n * k > base.len() {
        return None;
    }
    Some(match item {
        4 => Run::F32(base.cast_into::<PyArrayDyn<f32>>().ok()?, at, n, k),
        _ => Run::F64(base.cast_into::<PyArrayDyn<f64>>().ok()?, at, n, k),
    })
}

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
fn run(
    py: Python<'_>,
    labels: &[u32],
    probs: &Probs<'_>,
    opts: &Options,
) -> Result<Vec<usize>, Error> {
    without_gil(py, || filter::find_label_issues(labels, probs, opts))
}

/// Token-level issues of a ragged dataset: `labels[s][t]` and `pred_probs[s]` of shape
/// (tokens, K). Returns (sentence, token) tuples.
#[pyfunction]
#[pyo3(signature = (labels, pred_probs, **options))]
fn find_label_issues_ragged<'py>(
    py: Python<'py>,
    labels: &Bound<'py, PyAny>,
    pred_probs: &Bound<'py, PyAny>,
    options: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyList>> {
    let mut opts = self::options(options)?;
    opts.sequential_row_sums = false; // cleanlab's token function flattens to row-major
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
        arrays.push(arr);
    }
    let Some((k, _)) = k else {
        return Err(PyValueError::new_err(
            "the dataset is empty: every sentence has zero tokens",
        ));
    };
    let offsets = Offsets::from_lengths(lengths).map_err(|e| core_error(e, &Where::Flat))?;
    let at = Where::Sentences(&offsets);
    let ids = raw.checked(k).map_err(|e| core_error(e, &at))?;
    opts.allow_one_class = all_python_ints && ids.iter().all(|&l| l == 0);
    let whole = consecutive_rows(&arrays, k, offsets.num_tokens());
    let whole = whole.as_ref().and_then(Run::block);
    let typed_arrays = match whole {
        Some(_) => Vec::new(),
        None => arrays.iter().map(typed).collect::<PyResult<Vec<_>>>()?,
    };
    let blocks = match whole {
        Some(b) => vec![b],
        None => typed_arrays.iter().map(untracked_block).collect(),
    };
    let probs = Probs::new(blocks).map_err(|e| core_error(e, &at))?;
    let flat = run(py, &ids, &probs, &opts).map_err(|e| core_error(e, &at))?;
    drop(ids);
    let pairs = offsets.locate_all(&flat);
    drop(flat);
    pair_list(py, &pairs)
}

/// `pairs` as a list of 2-tuples of ints, left untracked by the cyclic garbage collector (as
/// CPython's own collector leaves tuples of ints once it has seen them): a caller holding the
/// result then pays no collection that walks every tuple.
#[allow(unsafe_code)]
fn pair_list<'py>(py: Python<'py>, pairs: &[(usize, usize)]) -> PyResult<Bound<'py, PyList>> {
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
fn find_label_issues_flat<'py>(
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
fn flat_input<'py>(
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
fn column_major_like(arr: &Bound<'_, PyUntypedArray>) -> bool {
    let (shape, strides) = (arr.shape(), arr.strides());
    shape.len() == 2 && shape[0] > 1 && shape[1] > 1 && strides[0].abs() < strides[1].abs()
}

fn threads(n_jobs: Option<i64>) -> usize {
    n_jobs.map_or(0, |n| n.max(1) as usize)
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

/// cleanlab's `get_confident_thresholds`: float32 for float32 input with every class present.
#[pyfunction]
#[pyo3(signature = (labels, pred_probs, *, n_jobs=None))]
fn confident_thresholds<'py>(
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
fn confident_joint<'py>(
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
fn calibrate_confident_joint<'py>(
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
        return Err(PyValueError::new_err(format!(
            "confident_joint has shape {:?}; it must be K x K",
            cj.shape()
        )));
    }
    let counts = label_counts
        .try_readonly()
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let counts: Vec<usize> = counts
        .as_array()
        .iter()
        .map(|&c| c.max(0) as usize)
        .collect();
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

/// Per-token label quality scores (cleanlab's dtype). With sentence `lengths`, errors name the
/// sentence and token.
#[pyfunction]
#[pyo3(signature = (labels, pred_probs, method, adjust_pred_probs=false, *, numpy_layout=true, n_jobs=None, lengths=None))]
#[allow(clippy::too_many_arguments)]
fn label_quality_scores<'py>(
    py: Python<'py>,
    labels: &Bound<'py, PyArray1<i64>>,
    pred_probs: &Bound<'py, PyUntypedArray>,
    method: &str,
    adjust_pred_probs: bool,
    numpy_layout: bool,
    n_jobs: Option<i64>,
    lengths: Option<&Bound<'py, PyArray1<i64>>>,
) -> PyResult<Bound<'py, PyAny>> {
    let sequential = numpy_layout && column_major_like(pred_probs);
    let method = Method::parse(method).ok_or_else(|| {
        PyValueError::new_err(format!(
            "method={method:?} is not one of self_confidence, normalized_margin, \
             confidence_weighted_entropy"
        ))
    })?;
    let rows = pred_probs.shape().first().copied().unwrap_or(0);
    let offsets = lengths.map(|l| sentence_offsets(l, rows)).transpose()?;
    let at = match &offsets {
        Some(o) => Where::Sentences(o),
        None => Where::Flat,
    };
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

/// Sentence scores from per-token scores: "min", or "softmin" with a temperature.
#[pyfunction]
#[pyo3(signature = (scores, lengths, method="min", temperature=0.05))]
fn sentence_scores<'py>(
    py: Python<'py>,
    scores: &Bound<'py, PyArray1<f64>>,
    lengths: &Bound<'py, PyArray1<i64>>,
    method: &str,
    temperature: f64,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let how = match method {
        "min" => SentenceScore::Min,
        "softmin" => SentenceScore::Softmin(temperature),
        other => {
            return Err(PyValueError::new_err(format!(
                "sentence_score_method={other:?} is not one of min, softmin"
            )))
        }
    };
    let scores = scores
        .try_readonly()
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let lengths = lengths
        .try_readonly()
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let lens: Vec<usize> = lengths
        .as_array()
        .iter()
        .map(|&l| l.max(0) as usize)
        .collect();
    let offsets = Offsets::from_lengths(lens).map_err(|e| core_error(e, &Where::Flat))?;
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

/// Which build of the row kernels runs: "avx2" or "baseline" (see `TOKENCLEAN_SIMD`).
#[pyfunction]
fn kernels() -> &'static str {
    if crate::simd::avx2_enabled() {
        "avx2"
    } else {
        "baseline"
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
    crate::simd::avx2_enabled();
    m.add_function(wrap_pyfunction!(find_label_issues_ragged, m)?)?;
    m.add_function(wrap_pyfunction!(find_label_issues_flat, m)?)?;
    m.add_function(wrap_pyfunction!(confident_thresholds, m)?)?;
    m.add_function(wrap_pyfunction!(confident_joint, m)?)?;
    m.add_function(wrap_pyfunction!(calibrate_confident_joint, m)?)?;
    m.add_function(wrap_pyfunction!(label_quality_scores, m)?)?;
    m.add_function(wrap_pyfunction!(sentence_scores, m)?)?;
    m.add_function(wrap_pyfunction!(kernels, m)?)?;
    chunks::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
