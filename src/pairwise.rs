//! numpy's pairwise summation, computed piecewise.
//!
//! numpy sums n values as a fixed tree: runs of at most 128 values ("leaves") are summed with
//! eight interleaved accumulators (fewer than 8 values: in order), and longer runs are split at
//! half their length rounded down to a multiple of 8. The tree depends only on n, so pieces of
//! the input held by different workers can each sum the leaves they hold whole, hand over the
//! raw values of leaves cut by their edges, and one place combines the leaves into the exact
//! result.

use crate::float::Float;

/// Sum of one leaf (at most 128 values), numpy's way.
pub fn leaf_sum<T: Float>(values: &[T]) -> T {
    let n = values.len();
    if n < 8 {
        let mut res = T::NEG_ZERO;
        for &v in values {
            res = res + v;
        }
        return res;
    }
    let mut r = [T::ZERO; 8];
    r.copy_from_slice(&values[..8]);
    let full = n - n % 8;
    let mut i = 8;
    while i < full {
        for (j, acc) in r.iter_mut().enumerate() {
            *acc = *acc + values[i + j];
        }
        i += 8;
    }
    let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for &v in &values[full..] {
        res = res + v;
    }
    res
}

/// numpy's pairwise sum of `values`, in order.
pub fn pairwise_sum<T: Float>(values: &[T]) -> T {
    if values.len() <= 128 {
        leaf_sum(values)
    } else {
        let half = split_point(values.len());
        pairwise_sum(&values[..half]) + pairwise_sum(&values[half..])
    }
}

#[inline]
fn split_point(n: usize) -> usize {
    let half = n / 2;
    half - half % 8
}

/// The leaves of the summation tree of n values, as start offsets (plus n at the end).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    bounds: Vec<usize>,
}

impl Plan {
    pub fn new(n: usize) -> Self {
        Self::walk(n, Vec::with_capacity(Self::capacity(n)))
    }

    /// [`Plan::new`] for an `n` that comes from outside (a chunk's share of a dataset): a plan
    /// takes about n/8 bytes, and a failed allocation is returned instead of aborting.
    pub fn try_new(n: usize) -> std::result::Result<Self, std::collections::TryReserveError> {
        let mut bounds = Vec::new();
        bounds.try_reserve_exact(Self::capacity(n))?;
        Ok(Self::walk(n, bounds))
    }

    /// Room for every leaf bound (leaves hold 64 values or more once n > 128).
    fn capacity(n: usize) -> usize {
        n / 64 + 2
    }

    fn walk(n: usize, mut bounds: Vec<usize>) -> Self {
        fn walk(lo: usize, n: usize, out: &mut Vec<usize>) {
            if n <= 128 {
                out.push(lo);
            } else {
                let half = split_point(n);
                walk(lo, half, out);
                walk(lo + half, n - half, out);
            }
        }
        walk(0, n, &mut bounds);
        bounds.push(n);
        Plan { bounds }
    }

    pub fn len(&self) -> usize {
        self.bounds.last().copied().unwrap_or(0)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn num_leaves(&self) -> usize {
        self.bounds.len() - 1
    }
    /// Index range of leaf `leaf`.
    pub fn leaf(&self, leaf: usize) -> (usize, usize) {
        (self.bounds[leaf], self.bounds[leaf + 1])
    }
    /// The leaf holding value `i < n`.
    pub fn leaf_of(&self, i: usize) -> usize {
        self.bounds.partition_point(|&b| b <= i) - 1
    }

    /// Combines per-leaf sums (in leaf order) into the total, along numpy's tree.
    pub fn combine<T: Float>(&self, leaf_sums: &[T]) -> T {
        fn rec<T: Float>(n: usize, sums: &[T], next: &mut usize) -> T {
            if n <= 128 {
                let s = sums[*next];
                *next += 1;
                s
            } else {
                let half = split_point(n);
                let a = rec(half, sums, next);
                let b = rec(n - half, sums, next);
                a + b
            }
        }
        let mut next = 0;
        rec(self.len(), leaf_sums, &mut next)
    }
}

/// What one worker learns about one summation from the consecutive values it holds.
#[derive(Clone, Debug, Default)]
pub struct Piece<T> {
    /// Leaves held whole: (leaf, sum).
    pub whole: Vec<(usize, T)>,
    /// Leaves cut by the piece's edges: (leaf, offset of the first value within the leaf, values).
    pub cut: Vec<(usize, usize, Vec<T>)>,
}

impl<T: Float> Piece<T> {
    /// Appends a portable encoding (little-endian; values widened to float64, which is exact).
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut word = |x: u64| out.extend_from_slice(&x.to_le_bytes());
        word(self.whole.len() as u64);
        for &(leaf, s) in &self.whole {
            word(leaf as u64);
            word(s.to_f64().to_bits());
        }
        word(self.cut.len() as u64);
        for (leaf, first, values) in &self.cut {
            word(*leaf as u64);
            word(*first as u64);
            word(values.len() as u64);
            for v in values {
                word(v.to_f64().to_bits());
            }
        }
    }

    /// Reads one piece written by [`Piece::encode`] from the front of `bytes`, advancing it;
    /// `None` if the bytes end early.
    pub fn decode(bytes: &mut &[u8]) -> Option<Self> {
        fn word(bytes: &mut &[u8]) -> Option<u64> {
            let (head, rest) = bytes.split_first_chunk::<8>()?;
            *bytes = rest;
            Some(u64::from_le_bytes(*head))
        }
        let value = |bytes: &mut &[u8]| word(bytes).map(|b| T::from_f64(f64::from_bits(b)));
        let n = word(bytes)? as usize;
        let mut whole = Vec::with_capacity(n.min(bytes.len() / 16));
        for _ in 0..n {
            let leaf = word(bytes)? as usize;
            whole.push((leaf, value(bytes)?));
        }
        let n = word(bytes)? as usize;
        let mut cut = Vec::with_capacity(n.min(bytes.len() / 24));
        for _ in 0..n {
            let leaf = word(bytes)? as usize;
            let first = word(bytes)? as usize;
            let len = word(bytes)? as usize;
            let mut values = Vec::with_capacity(len.min(bytes.len() / 8));
            for _ in 0..len {
                values.push(value(bytes)?);
            }
            cut.push((leaf, first, values));
        }
        Some(Piece { whole, cut })
    }
}

/// Feeds the values with indices `start, start + 1, ...` of a summation planned by `plan`.
#[derive(Clone, Debug)]
pub struct PieceBuilder<T> {
    piece: Piece<T>,
    leaf: usize,
    leaf_start: usize,
    /// Values still missing from the current leaf.
    left: usize,
    first: usize,
    /// The current leaf's values so far (a leaf holds at most 128).
    buf: [T; 128],
    len: usize,
}

impl<T: Float> PieceBuilder<T> {
    pub fn new(plan: &Plan, start: usize) -> Self {
        let (leaf, leaf_start, leaf_end) = if start < plan.len() {
            let leaf = plan.leaf_of(start);
            let (a, b) = plan.leaf(leaf);
            (leaf, a, b)
        } else {
            (plan.num_leaves(), plan.len(), plan.len())
        };
        PieceBuilder {
            piece: Piece {
                whole: Vec::new(),
                cut: Vec::new(),
            },
            leaf,
            leaf_start,
            left: leaf_end - start,
            first: start,
            buf: [T::ZERO; 128],
            len: 0,
        }
    }

    /// Adds the next value; `plan` must be the one given to `new`.
    #[inline]
    pub fn push(&mut self, plan: &Plan, v: T) {
        // A leaf never holds more than 128 values, so `len` stays in bounds.
        self.buf[self.len & 127] = v;
        self.len += 1;
        self.left = self.left.wrapping_sub(1);
        if self.left == 0 {
            self.flush(true);
            self.leaf += 1;
            if self.leaf < plan.num_leaves() {
                let (a, b) = plan.leaf(self.leaf);
                self.leaf_start = a;
                self.left = b - a;
                self.first = a;
            }
        }
    }

    fn flush(&mut self, complete: bool) {
        if self.len == 0 {
            return;
        }
        let values = &self.buf[..self.len];
        if self.first == self.leaf_start && complete {
            self.piece.whole.push((self.leaf, leaf_sum(values)));
        } else {
            self.piece
                .cut
                .push((self.leaf, self.first - self.leaf_start, values.to_vec()));
        }
        self.len = 0;
    }

    pub fn finish(mut self) -> Piece<T> {
        self.flush(false);
        self.piece
    }
}

/// Checks that `pieces` (in value order) cover the leaves of `plan` exactly once each: every
/// leaf held whole by one piece, or cut into parts that follow on from each other and fill it.
/// Pieces that came from elsewhere (another process, a chunk that changed between rounds) must
/// pass this before [`assemble`], which assumes it.
pub fn check_pieces<'a, T: 'a>(
    plan: &Plan,
    pieces: impl IntoIterator<Item = &'a Piece<T>>,
) -> Result<(), String> {
    let leaves = plan.num_leaves();
    let mut whole = vec![false; leaves];
    let mut filled = vec![0usize; leaves];
    let leaf_len = |leaf: usize| {
        let (a, b) = plan.leaf(leaf);
        b - a
    };
    for piece in pieces {
        for &(leaf, _) in &piece.whole {
            if leaf >= leaves || whole[leaf] || filled[leaf] > 0 {
                return Err(format!("leaf {leaf} is not a free leaf of {leaves}"));
            }
            whole[leaf] = true;
        }
        for (leaf, first, values) in &piece.cut {
            let leaf = *leaf;
            if leaf >= leaves || whole[leaf] || *first != filled[leaf] {
                return Err(format!("leaf {leaf} part at {first} does not follow on"));
            }
            filled[leaf] += values.len();
            if filled[leaf] > leaf_len(leaf) {
                return Err(format!("leaf {leaf} holds more values than its length"));
            }
        }
    }
    match (0..leaves).find(|&l| !whole[l] && filled[l] != leaf_len(l)) {
        Some(l) => Err(format!("leaf {l} is incomplete")),
        None => Ok(()),
    }
}

/// Completes a summation from the pieces of all workers, given in value order (see
/// [`check_pieces`]).
pub fn assemble<T: Float>(plan: &Plan, pieces: impl IntoIterator<Item = Piece<T>>) -> T {
    let mut sums: Vec<Option<T>> = vec![None; plan.num_leaves()];
    let mut parts: Vec<Vec<T>> = vec![Vec::new(); plan.num_leaves()];
    for piece in pieces {
        for (leaf, s) in piece.whole {
            sums[leaf] = Some(s);
        }
        for (leaf, _, values) in piece.cut {
            parts[leaf].extend(values);
        }
    }
    let leaf_sums: Vec<T> = sums
        .into_iter()
        .zip(&parts)
        .map(|(s, p)| s.unwrap_or_else(|| leaf_sum(p)))
        .collect();
    plan.combine(&leaf_sums)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut x = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((x >> 40) as f32) / 16_777_216.0 * if x & 1 == 0 { 1e3 } else { 1e-3 }
            })
            .collect()
    }

    #[test]
    fn short_sums_run_in_order_from_negative_zero() {
        assert_eq!(pairwise_sum(&[1.0f32, 1e8, -1e8]), 0.0);
        assert!(pairwise_sum::<f64>(&[]).is_sign_negative());
    }

    #[test]
    fn eight_accumulators_keep_what_a_running_sum_loses() {
        let mut v = vec![1.0f32; 9];
        v[0] = 16_777_216.0;
        assert_eq!(v.iter().fold(-0.0f32, |a, b| a + b), 16_777_216.0);
        assert_eq!(pairwise_sum(&v), 16_777_224.0);
    }

    #[test]
    fn plan_combine_equals_direct_sum() {
        for n in [0, 1, 7, 8, 127, 128, 129, 1000, 4097, 100_003] {
            let v = values(n, n as u64);
            let plan = Plan::new(n);
            let leaves: Vec<f32> = (0..plan.num_leaves())
                .map(|l| {
                    let (a, b) = plan.leaf(l);
                    leaf_sum(&v[a..b])
                })
                .collect();
            let direct = pairwise_sum(&v);
            if n == 0 {
                assert!(direct.is_sign_negative() && direct == 0.0);
                continue;
            }
            assert_eq!(plan.combine(&leaves).to_bits(), direct.to_bits(), "n = {n}");
        }
    }

    #[test]
    fn pieces_cut_anywhere_give_the_exact_sum() {
        for (n, step) in [
            (1000usize, 1usize),
            (1000, 7),
            (5000, 333),
            (100_003, 9_999),
            (300, 300),
        ] {
            let v = values(n, 42);
            let plan = Plan::new(n);
            let mut pieces = Vec::new();
            let mut start = 0;
            while start < n {
                let end = (start + step).min(n);
                let mut b = PieceBuilder::new(&plan, start);
                for &x in &v[start..end] {
                    b.push(&plan, x);
                }
                pieces.push(b.finish());
                start = end;
            }
            assert_eq!(
                assemble(&plan, pieces.clone()).to_bits(),
                pairwise_sum(&v).to_bits(),
                "n = {n}, step = {step}"
            );
            let mut bytes = Vec::new();
            for p in &pieces {
                p.encode(&mut bytes);
            }
            let mut rest = bytes.as_slice();
            let decoded: Vec<Piece<f32>> = (0..pieces.len())
                .map(|_| Piece::decode(&mut rest).unwrap())
                .collect();
            assert!(rest.is_empty() && Piece::<f32>::decode(&mut rest).is_none());
            assert_eq!(
                assemble(&plan, decoded).to_bits(),
                pairwise_sum(&v).to_bits()
            );
        }
    }
}
