//! Errors the core reports. Positions are flat token indices; the binding layer turns them into
//! (sentence, token) pairs for the user.

use std::fmt;

/// Why a call was refused.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// No token at all.
    Empty,
    /// A probability is NaN or infinite.
    NotFinite {
        row: usize,
        class: usize,
        value: f64,
    },
    /// A probability lies outside `[-1e-6, 1 + 1e-6]`.
    OutOfRange {
        row: usize,
        class: usize,
        value: f64,
    },
    /// A label is not a class index in `0..K`.
    BadLabel {
        row: usize,
        label: i64,
        num_classes: usize,
    },
    /// Probabilities outside `[0, 1]` cannot be scored by `confidence_weighted_entropy`.
    EntropyDomain {
        row: usize,
        class: usize,
        value: f64,
    },
    /// A well-typed argument with a value we cannot use.
    Invalid(String),
    /// Memory for the work could not be allocated (sizes that come from the caller).
    NoMemory(String),
    /// A bug: the engine panicked.
    Internal(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Empty => write!(f, "the dataset holds no token"),
            Error::NotFinite { row, class, value } => {
                write!(f, "probability of class {class} at token {row} is {value}; probabilities must be finite")
            }
            Error::OutOfRange { row, class, value } => write!(
                f,
                "probability of class {class} at token {row} is {value}; probabilities must lie in [0, 1]"
            ),
            Error::BadLabel { row, label, num_classes } => {
                write!(f, "label {label} at token {row} {}", bad_label_why(*label, *num_classes))
            }
            Error::EntropyDomain { row, class, value } => write!(
                f,
                "confidence_weighted_entropy needs probabilities in [0, 1], but class {class} at token {row} is {value}"
            ),
            Error::Invalid(msg) | Error::NoMemory(msg) => f.write_str(msg),
            Error::Internal(msg) => write!(
                f,
                "internal error in tokenclean (please report it): {msg}"
            ),
        }
    }
}

impl std::error::Error for Error {}

/// Why `label` is not a class index.
pub fn bad_label_why(label: i64, num_classes: usize) -> String {
    if label < 0 {
        "is negative".to_string()
    } else {
        format!("is not below the number of classes K={num_classes} (columns of pred_probs)")
    }
}

pub type Result<T> = std::result::Result<T, Error>;
