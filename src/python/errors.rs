//! Core errors as Python exceptions, naming the sentence and token.

use crate::error::{bad_label_why, Error};
use crate::ragged::Offsets;
use pyo3::exceptions::{PyMemoryError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;

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
        Error::NoMemory(msg) => return PyMemoryError::new_err(msg),
        other => other.to_string(),
    };
    PyValueError::new_err(msg)
}
