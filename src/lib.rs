//! tokenclean's engine: confident learning for token classification, exact to cleanlab 2.9.0
//! with ties broken by position.
//!
//! The core takes plain slices and borrowed ndarray views and returns `Result<_, Error>`; the
//! Python binding (feature `python`) is a thin layer on top.

pub mod chunks;
pub(crate) mod error;
pub(crate) mod filter;
pub(crate) mod float;
pub(crate) mod joint;
pub(crate) mod lanes;
pub mod measures;
pub mod ngrams;
pub(crate) mod pairwise;
pub(crate) mod parallel;
pub(crate) mod prune;
pub(crate) mod ragged;
pub(crate) mod rank;
pub(crate) mod scores;
pub(crate) mod simd;
pub mod spans;
pub(crate) mod thresholds;

// The public API, visible at a glance: the single-machine call, its input checks and types,
// cleanlab's count and rank measures (`measures`), the chunked rounds (`chunks`, for a
// distributed engine), and the pieces of numpy's pairwise sums and the
// worker pool that the property tests and examples drive directly.
pub use error::{Error, Result};
pub use filter::{check_class_ids, class_ids, class_ids_of, find_label_issues, FilterBy, Options};
pub use pairwise::{assemble, check_pieces, pairwise_sum, Piece, PieceBuilder, Plan};
pub use parallel::Workers;
pub use ragged::{Block, Offsets, Probs};
pub use rank::Keyed;
pub use scores::Method;
pub use thresholds::Thresholds;

/// The engine's phases one by one, for the timing example (`examples/core_timing.rs`); not a
/// stable API.
#[doc(hidden)]
pub mod phases {
    pub use crate::float::Float;
    pub use crate::joint::scan;
    pub use crate::thresholds::confident_thresholds;
}

#[cfg(feature = "python")]
mod python;
