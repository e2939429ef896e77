//! tokenclean's engine: confident learning for token classification, exact to cleanlab 2.9.0
//! with ties broken by position.
//!
//! The core takes plain slices and borrowed ndarray views and returns `Result<_, Error>`; the
//! Python binding (feature `python`) is a thin layer on top.

pub mod chunks;
pub mod error;
pub mod filter;
pub mod float;
pub mod joint;
pub mod lanes;
pub mod measures;
pub mod ngrams;
pub mod pairwise;
pub mod parallel;
pub mod prune;
pub mod ragged;
pub mod rank;
pub mod scores;
pub mod simd;
pub mod spans;
pub mod thresholds;

pub use error::{Error, Result};
pub use filter::{find_label_issues, FilterBy, Options};
pub use ragged::{Block, Offsets, Probs};
pub use scores::Method;

#[cfg(feature = "python")]
mod python;
