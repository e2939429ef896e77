//! Ragged input: the probabilities of many sentences seen as one flat (N, K) matrix without
//! copying it. Each block is a borrowed 2-D view (any strides, float32 or float64).

/// `$f::<f64>(args)` or `$f::<f32>(args)`, by the dtype of the probabilities `$probs`.
macro_rules! by_dtype {
    ($probs:expr, $f:ident($($arg:expr),* $(,)?)) => {
        if $probs.is_f64() {
            $f::<f64>($($arg),*)
        } else {
            $f::<f32>($($arg),*)
        }
    };
}
pub(crate) use by_dtype;

use crate::error::{Error, Result};
pub use crate::float::Block;
use crate::float::Float;
use ndarray::ArrayView2;
use std::ops::Range;

/// A token position as lists of rows store it (u32 halves the memory when positions fit).
pub trait Position: Copy {
    fn at(self) -> usize;
}

impl Position for u32 {
    #[inline(always)]
    fn at(self) -> usize {
        self as usize
    }
}

impl Position for usize {
    #[inline(always)]
    fn at(self) -> usize {
        self
    }
}

/// The whole dataset's probabilities: blocks laid end to end, token `f` in sentence-then-token
/// order.
#[derive(Clone, Debug)]
pub struct Probs<'a> {
    blocks: Vec<Block<'a>>,
    /// `starts[b]` is the flat index of block `b`'s first row; one extra entry holds N.
    starts: Vec<usize>,
    k: usize,
}

impl<'a> Probs<'a> {
    /// Blocks with no rows may have any number of columns; the others must agree on K.
    pub fn new(blocks: Vec<Block<'a>>) -> Result<Self> {
        let mut k = None;
        let mut starts = Vec::with_capacity(blocks.len() + 1);
        let mut n = 0usize;
        for (b, block) in blocks.iter().enumerate() {
            starts.push(n);
            if block.nrows() == 0 {
                continue;
            }
            match k {
                None => k = Some(block.ncols()),
                Some(k0) if k0 != block.ncols() => {
                    return Err(Error::Invalid(format!(
                        "block {b} has {} classes, earlier blocks have {k0}",
                        block.ncols()
                    )))
                }
                _ => {}
            }
            n += block.nrows();
        }
        starts.push(n);
        let k = k.ok_or(Error::Empty)?;
        if k == 0 {
            return Err(Error::Invalid("probabilities have zero columns".into()));
        }
        Ok(Probs { blocks, starts, k })
    }

    pub fn from_view_f32(view: ArrayView2<'a, f32>) -> Result<Self> {
        Self::new(vec![Block::F32(view)])
    }

    pub fn from_view_f64(view: ArrayView2<'a, f64>) -> Result<Self> {
        Self::new(vec![Block::F64(view)])
    }

    pub fn len(&self) -> usize {
        self.starts.last().copied().unwrap_or(0)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn num_classes(&self) -> usize {
        self.k
    }
    /// numpy's promoted dtype of all blocks: float32 only when every block is float32.
    pub fn is_f64(&self) -> bool {
        self.blocks.iter().any(|b| matches!(b, Block::F64(_)))
    }

    /// Calls `f(flat_index, row)` for every token in order.
    pub fn for_each_row<T: Float>(&self, f: impl FnMut(usize, &[T])) {
        self.for_each_row_in(0..self.len(), f);
    }

    /// Calls `f(flat_index, row)` for the tokens in `range`, in order. C-contiguous blocks of
    /// the right dtype are walked as one slice; others row by row.
    #[inline(always)]
    pub fn for_each_row_in<T: Float>(&self, range: Range<usize>, mut f: impl FnMut(usize, &[T])) {
        let _ = self.try_for_each_row_in::<T, ()>(
            range,
            #[inline(always)]
            |i, r| {
                f(i, r);
                Ok(())
            },
        );
    }

    /// Like [`Probs::for_each_row_in`], stopping at the first error.
    #[inline(always)]
    pub fn try_for_each_row_in<T: Float, E>(
        &self,
        range: Range<usize>,
        mut f: impl FnMut(usize, &[T]) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        if range.is_empty() {
            return Ok(());
        }
        let k = self.k;
        let mut buf = vec![T::ZERO; k];
        let mut b = self.block_of(range.start);
        while b < self.blocks.len() && self.starts[b] < range.end {
            let start = self.starts[b];
            let block = &self.blocks[b];
            let lo = range.start.saturating_sub(start);
            let hi = (range.end - start).min(block.nrows());
            if lo < hi {
                let all = T::contiguous(block);
                for i in lo..hi {
                    // One call site, so the closure inlines into this loop.
                    let row = match all {
                        Some(all) => &all[i * k..(i + 1) * k],
                        None => T::read_row(block, i, &mut buf),
                    };
                    f(start + i, row)?;
                }
            }
            b += 1;
        }
        Ok(())
    }

    /// Whether every probability of the tokens in `range` lies in [0, 1] (false for NaN).
    /// Contiguous blocks are swept as flat slices, which vectorises.
    #[inline(always)]
    pub fn all_in_unit_interval<T: Float>(&self, range: Range<usize>) -> bool {
        if range.is_empty() {
            return true;
        }
        let k = self.k;
        let mut b = self.block_of(range.start);
        while b < self.blocks.len() && self.starts[b] < range.end {
            let start = self.starts[b];
            let block = &self.blocks[b];
            let lo = range.start.saturating_sub(start);
            let hi = (range.end - start).min(block.nrows());
            if lo < hi {
                let ok = match T::contiguous(block) {
                    Some(all) => all[lo * k..hi * k].chunks(1024).all(|c| {
                        c.iter()
                            .fold(true, |a, &v| a & (v >= T::ZERO) & (v <= T::ONE))
                    }),
                    None => {
                        let mut buf = vec![T::ZERO; k];
                        (lo..hi).all(|i| {
                            T::read_row(block, i, &mut buf)
                                .iter()
                                .all(|&v| v >= T::ZERO && v <= T::ONE)
                        })
                    }
                };
                if !ok {
                    return false;
                }
            }
            b += 1;
        }
        true
    }

    /// Like [`Probs::for_each_row`], stopping at the first error.
    pub fn try_for_each_row<T: Float>(
        &self,
        f: impl FnMut(usize, &[T]) -> Result<()>,
    ) -> Result<()> {
        self.try_for_each_row_in(0..self.len(), f)
    }

    /// The block holding flat row `f` (the last block whose start is <= f; empty blocks share
    /// their start with the next one).
    fn block_of(&self, f: usize) -> usize {
        self.starts[..self.blocks.len()]
            .partition_point(|&s| s <= f)
            .max(1)
            - 1
    }

    /// Calls `f(flat_index, row)` for the tokens listed in `rows` (ascending), fetching rows a
    /// few ahead into cache: scattered rows get no help from the hardware's sequential
    /// prefetching, and one cache miss at a time would dominate.
    #[inline(always)]
    pub fn for_each_listed_row<T: Float, P: Position>(
        &self,
        rows: &[P],
        mut f: impl FnMut(usize, &[T]),
    ) {
        const AHEAD: usize = 8;
        let Some(&first) = rows.first() else {
            return;
        };
        let mut buf = vec![T::ZERO; self.k];
        // Block cursors for the row read and the row fetched ahead; both only move forward.
        let mut b = self.block_of(first.at());
        let mut ahead = b;
        for (i, &r) in rows.iter().enumerate() {
            if let Some(&next) = rows.get(i + AHEAD) {
                ahead = self.block_from(ahead, next.at());
                self.prefetch_row::<T>(ahead, next.at());
            }
            let r = r.at();
            b = self.block_from(b, r);
            let block = &self.blocks[b];
            let at = r - self.starts[b];
            let row = match T::contiguous(block) {
                Some(all) => &all[at * self.k..(at + 1) * self.k],
                None => T::read_row(block, at, &mut buf),
            };
            f(r, row);
        }
    }

    /// The block holding token `f`, searching forward from block `b` (which starts at or
    /// before `f`); empty blocks are skipped.
    #[inline(always)]
    fn block_from(&self, mut b: usize, f: usize) -> usize {
        while self.starts[b] + self.blocks[b].nrows() <= f {
            b += 1;
        }
        b
    }

    /// Prefetches every cache line of row `f`, in block `b`, if that block is C-contiguous.
    #[inline(always)]
    fn prefetch_row<T: Float>(&self, b: usize, f: usize) {
        if let Some(all) = T::contiguous(&self.blocks[b]) {
            let i = f - self.starts[b];
            if let Some(row) = all.get(i * self.k..(i + 1) * self.k) {
                let base = row.as_ptr().cast::<u8>();
                let skew = base as usize & 63;
                let line = base.wrapping_sub(skew);
                let mut off = 0;
                while off < skew + std::mem::size_of_val(row) {
                    crate::simd::prefetch(line.wrapping_add(off));
                    off += 64;
                }
            }
        }
    }

    /// Row `f`, borrowed or copied into `buf` (length K).
    pub fn row<'b, T: Float>(&'b self, f: usize, buf: &'b mut [T]) -> &'b [T] {
        let b = self.block_of(f);
        T::read_row(&self.blocks[b], f - self.starts[b], buf)
    }
}

/// Sentence boundaries, for mapping flat token indices back to (sentence, token).
#[derive(Clone, Debug)]
pub struct Offsets {
    /// `starts[s]` is the flat index of sentence `s`'s first token; one extra entry holds N.
    starts: Vec<usize>,
}

impl Offsets {
    /// Fails if the lengths add up to more than `usize::MAX` (only made-up lengths can).
    pub fn from_lengths(lengths: impl IntoIterator<Item = usize>) -> Result<Self> {
        let mut starts = vec![0];
        let mut n = 0usize;
        for len in lengths {
            n = n.checked_add(len).ok_or_else(|| {
                Error::Invalid("sentence lengths add up to more tokens than memory can hold".into())
            })?;
            starts.push(n);
        }
        Ok(Offsets { starts })
    }
    pub fn num_tokens(&self) -> usize {
        self.starts.last().copied().unwrap_or(0)
    }
    pub fn num_sentences(&self) -> usize {
        self.starts.len() - 1
    }
    /// (sentence, token) of flat index `f < N`; empty sentences never hold it.
    pub fn locate(&self, f: usize) -> (usize, usize) {
        let s = self.starts.partition_point(|&x| x <= f) - 1;
        (s, f - self.starts[s])
    }
    /// Flat index range `[start, end)` of sentence `s`.
    pub fn bounds(&self, s: usize) -> (usize, usize) {
        (self.starts[s], self.starts[s + 1])
    }
    /// Maps many sorted-or-not flat indices at once.
    pub fn locate_all(&self, flat: &[usize]) -> Vec<(usize, usize)> {
        let n = self.num_tokens();
        if flat.len() < 1024 || n == 0 {
            return flat.iter().map(|&f| self.locate(f)).collect();
        }
        // The sentence holding token `c << SHIFT`, per chunk of tokens: a lookup and a short
        // walk instead of a binary search over every sentence.
        const SHIFT: u32 = 6;
        let chunks = (n - 1) >> SHIFT;
        let mut first = Vec::with_capacity(chunks + 1);
        let mut s = 0usize;
        for c in 0..=chunks {
            let f = c << SHIFT;
            while self.starts[s + 1] <= f {
                s += 1;
            }
            first.push(s);
        }
        flat.iter()
            .map(|&f| match first.get(f >> SHIFT) {
                Some(&start) => {
                    let mut s = start;
                    while self.starts[s + 1] <= f {
                        s += 1;
                    }
                    (s, f - self.starts[s])
                }
                None => self.locate(f),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array2};

    #[test]
    fn listed_rows_cross_blocks_and_skip_empty_ones() {
        let a = array![[0.1f32, 0.9], [0.2, 0.8]];
        let e = Array2::<f64>::zeros((0, 2));
        let b = array![[0.5f64, 0.5], [0.3, 0.7]];
        let fortran = array![[0.6f64, 0.4], [0.7, 0.3]].reversed_axes();
        let p = Probs::new(vec![
            Block::F32(a.view()),
            Block::F64(e.view()),
            Block::F64(b.view()),
            Block::F64(fortran.view()),
        ])
        .unwrap();
        let mut want = Vec::new();
        p.for_each_row::<f64>(|f, r| want.push((f, r.to_vec())));
        for rows in [vec![], vec![0u32, 1, 2, 3, 4, 5], vec![1, 2, 5], vec![3]] {
            let mut got = Vec::new();
            p.for_each_listed_row::<f64, _>(&rows, |f, r| got.push((f, r.to_vec())));
            let expect: Vec<_> = rows.iter().map(|&f| want[f as usize].clone()).collect();
            assert_eq!(got, expect);
        }
    }

    #[test]
    fn rows_cross_blocks_and_skip_empty_ones() {
        let a = array![[0.1f32, 0.9], [0.2, 0.8]];
        let e = Array2::<f64>::zeros((0, 5));
        let b = array![[0.5f64, 0.5]];
        let p = Probs::new(vec![
            Block::F32(a.view()),
            Block::F64(e.view()),
            Block::F64(b.view()),
        ])
        .expect("valid");
        assert_eq!(p.len(), 3);
        assert!(p.is_f64());
        let mut buf = [0.0f64; 2];
        assert_eq!(p.row::<f64>(2, &mut buf), &[0.5, 0.5]);
        assert_eq!(p.row::<f64>(1, &mut buf), &[0.2f32 as f64, 0.8f32 as f64]);
        let mut seen = vec![];
        p.for_each_row::<f64>(|f, r| seen.push((f, r[1])));
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[2], (2, 0.5));
    }

    #[test]
    fn strided_views_are_read_correctly() {
        let a = array![[0.1f64, 0.2], [0.3, 0.4], [0.5, 0.6]];
        let t = a.t(); // (2, 3), rows not contiguous
        let p = Probs::from_view_f64(t).expect("valid");
        let mut buf = [0.0; 3];
        assert_eq!(p.row::<f64>(1, &mut buf), &[0.2, 0.4, 0.6]);
    }

    #[test]
    fn mismatched_classes_and_empty_input_are_refused() {
        let a = array![[0.1f32, 0.9]];
        let b = array![[0.1f32, 0.8, 0.1]];
        assert!(Probs::new(vec![Block::F32(a.view()), Block::F32(b.view())]).is_err());
        assert_eq!(Probs::new(vec![]).unwrap_err(), Error::Empty);
    }

    #[test]
    fn offsets_locate_tokens_past_empty_sentences() {
        let o = Offsets::from_lengths([2, 0, 3]).unwrap();
        assert_eq!(o.locate(0), (0, 0));
        assert_eq!(o.locate(2), (2, 0));
        assert_eq!(o.locate(4), (2, 2));
        assert_eq!(o.num_sentences(), 3);
    }

    #[test]
    fn many_tokens_are_located_as_one_at_a_time() {
        let o = Offsets::from_lengths((0..3000).map(|i| (i * 7) % 13)).unwrap();
        let flat: Vec<usize> = (0..o.num_tokens()).rev().step_by(3).collect();
        let one: Vec<(usize, usize)> = flat.iter().map(|&f| o.locate(f)).collect();
        assert_eq!(o.locate_all(&flat), one);
    }
}
