//! Parsing ragged input: one list of labels and one probability array per sentence, read
//! without copies where the layout allows.

use super::arrays::shape_of;
use crate::error::Error;
use crate::filter;
use crate::ragged::Block;
use ndarray::{ArrayView2, ArrayViewD};
use numpy::{
    PyArray1, PyArray2, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyFloat, PyInt, PyList, PyString, PyTuple};

/// One sentence's probabilities as an array we can borrow: float32/float64 in native byte
/// order are used as they are; lists become float64 arrays; other byte orders are converted.
pub(super) fn sentence_probs<'py>(
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
pub(super) fn sentence_labels(
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
/// Gains on list input (`benches/engine_parts.py`, 2026-12-07; 1M tokens, one thread): +19%
/// at K=9 float32, +7% at K=37 float64, +16% at K=7 float64.
/// Valid for one call: an int cannot change value, and the caller's lists keep every object
/// seen alive; `forget` (one increment) drops everything when Python code may have run.
pub(super) struct IntCache {
    slots: Box<[(*mut pyo3::ffi::PyObject, i64, u32); 256]>,
    era: u32,
    enabled: bool,
}

impl IntCache {
    pub(super) fn new() -> Self {
        IntCache {
            slots: Box::new([(std::ptr::null_mut(), 0, 0); 256]),
            era: 1,
            enabled: !bench_switches().no_int_cache,
        }
    }

    #[inline]
    fn slot(
        &mut self,
        item: *mut pyo3::ffi::PyObject,
    ) -> &mut (*mut pyo3::ffi::PyObject, i64, u32) {
        &mut self.slots[(item as usize >> 5) & 255]
    }

    pub(super) fn forget(&mut self) {
        self.era = self.era.wrapping_add(1);
        if self.era == 0 {
            *self = IntCache {
                enabled: self.enabled,
                ..IntCache::new()
            };
        }
    }
}

/// Labels as class ids before the number of classes is known. A value that does not fit u32
/// is kept as `u32::MAX` (past any class) and the first is remembered, for the error to
/// quote: half the memory of i64 labels, and no second copy.
pub(super) struct Labels {
    ids: Vec<u32>,
    /// Position and value of the first label that did not fit.
    wide: Option<(usize, i64)>,
}

impl Labels {
    pub(super) fn with_capacity(n: usize) -> Self {
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

    pub(super) fn len(&self) -> usize {
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
    pub(super) fn checked(self, k: usize) -> Result<Vec<u32>, Error> {
        filter::check_class_ids(&self.ids, k, self.wide)?;
        Ok(self.ids)
    }
}

/// Fast path for the common case, a list of plain Python ints: appends them to `out` and
/// returns true, or leaves `out` as it was and returns false (anything else: the careful path
/// decides and names the culprit).
///
/// `PyList_GET_ITEM` is a macro outside the limited API (abi3). Its function-call version
/// measured 3-5% slower on list input (1M tokens, K=9 float32, one thread; issue 21), above
/// the 3% that would have justified one abi3 wheel: the wheels stay per CPython version.
pub(super) fn exact_ints(list: &Bound<'_, PyList>, out: &mut Labels, seen: &mut IntCache) -> bool {
    if seen.enabled {
        exact_ints_in::<true>(list, out, seen)
    } else {
        exact_ints_in::<false>(list, out, seen)
    }
}

#[allow(unsafe_code)]
#[inline(always)]
fn exact_ints_in<const CACHE: bool>(
    list: &Bound<'_, PyList>,
    out: &mut Labels,
    seen: &mut IntCache,
) -> bool {
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
            if CACHE && slot.0 == item && slot.2 == era {
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
                if CACHE {
                    *slot = (item, v as i64, era);
                }
                v as i64
            }
        };
        out.push(v);
    }
    true
}

pub(super) fn sequence_items<'py>(
    obj: &Bound<'py, PyAny>,
    name: &str,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
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

/// A sentence's array, typed but not registered with rust-numpy's borrow tracker.
pub(super) enum Typed<'py> {
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
pub(super) fn untracked_block<'a>(t: &'a Typed<'_>) -> Block<'a> {
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
/// that array, read as one block of `n` rows from element `offset`. Gains on list input
/// (`benches/engine_parts.py`, 2026-12-07; 1M tokens, one thread): +10% at K=9 float32, +4%
/// at K=37 float64, +9% at K=7 float64.
pub(super) enum Run<'py> {
    F32(Bound<'py, PyArrayDyn<f32>>, usize, usize, usize),
    F64(Bound<'py, PyArrayDyn<f64>>, usize, usize, usize),
}

impl Run<'_> {
    #[allow(unsafe_code)]
    pub(super) fn block(&self) -> Option<Block<'_>> {
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

/// Parts of the list path that the benchmarking switch `TOKENCLEAN_BENCH_OFF` turns off
/// (comma-separated `int-cache`, `one-block`), for `benches/engine_parts.py` to measure what
/// each gains. Read once, at import.
#[derive(Clone, Copy, Default)]
pub(super) struct BenchSwitches {
    pub(super) no_int_cache: bool,
    pub(super) no_one_block: bool,
}

pub(super) fn bench_switches() -> BenchSwitches {
    static SWITCHES: std::sync::OnceLock<BenchSwitches> = std::sync::OnceLock::new();
    *SWITCHES.get_or_init(|| {
        let var = std::env::var("TOKENCLEAN_BENCH_OFF").unwrap_or_default();
        let off = |part| var.split(',').any(|p| p.trim() == part);
        BenchSwitches {
            no_int_cache: off("int-cache"),
            no_one_block: off("one-block"),
        }
    })
}

/// Reads a live array's data address and base object (two struct fields).
#[allow(unsafe_code)]
pub(super) fn data_and_base(a: &Bound<'_, PyUntypedArray>) -> (usize, *mut pyo3::ffi::PyObject) {
    // SAFETY: `a` is a live numpy array and the GIL is held.
    unsafe {
        let o = &*a.as_array_ptr();
        (o.data as usize, o.base)
    }
}

/// The checks of [`consecutive_rows`] that look at each sentence's array, made as the array
/// is read, while it is in cache (a second walk over tens of thousands of arrays misses the
/// cache on each). Measured (issue 19; list input, 1M tokens, 44k sentences, K=9 float32,
/// one thread, medians of alternating runs): reading the input 4.42 -> 4.07 ms.
pub(super) struct Consecutive {
    /// Data address of the first array, and its base object; null before the first.
    start: usize,
    base: *mut pyo3::ffi::PyObject,
    /// Where the next array's rows must start.
    next: usize,
    item: usize,
    broken: bool,
}

impl Consecutive {
    pub(super) fn new() -> Self {
        Consecutive {
            start: 0,
            base: std::ptr::null_mut(),
            next: 0,
            item: 0,
            broken: false,
        }
    }

    /// The next non-empty sentence's array, of `k` columns.
    pub(super) fn push(&mut self, a: &Bound<'_, PyUntypedArray>, k: usize) {
        if self.broken {
            return;
        }
        let (data, base) = data_and_base(a);
        let item = a.dtype().itemsize();
        if self.base.is_null() {
            if base.is_null() {
                self.broken = true;
                return;
            }
            (self.start, self.base, self.next, self.item) = (data, base, data, item);
        }
        if base != self.base || data != self.next || !a.is_c_contiguous() || item != self.item {
            self.broken = true;
            return;
        }
        match a.shape().first() {
            Some(&rows) => self.next = data + rows * k * item,
            None => self.broken = true,
        }
    }
}

/// The one-block view of the sentences whose arrays `check` saw (non-empty sentences, in
/// order, native float32/float64 of K columns; `first` the first of them) when they are
/// consecutive rows of one C-contiguous array; else `None`.
pub(super) fn consecutive_rows<'py>(
    first: Option<&Bound<'py, PyUntypedArray>>,
    check: &Consecutive,
    k: usize,
    n: usize,
) -> Option<Run<'py>> {
    if bench_switches().no_one_block {
        return None;
    }
    let first = first?;
    if check.broken || check.base.is_null() {
        return None;
    }
    let (item, start, base_ptr) = (check.item, check.start, check.base);
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
