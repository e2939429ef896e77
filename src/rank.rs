//! Selection and ordering with ties broken by position, as a stable sort does.

use std::cmp::Ordering;

/// A score with its token position; orders by score (-0.0 equal to 0.0), then position.
#[derive(Clone, Copy, Debug)]
pub struct Keyed {
    pub key: f64,
    pub pos: usize,
}

impl Keyed {
    #[inline]
    pub fn new(key: f64, pos: usize) -> Self {
        // Adding +0.0 turns -0.0 into +0.0 and every NaN becomes the positive one, so
        // total_cmp orders like numpy's sort: -0.0 ties with 0.0, NaN last.
        Keyed {
            key: if key.is_nan() { f64::NAN } else { key + 0.0 },
            pos,
        }
    }
}

impl Keyed {
    /// One integer that orders as the `Keyed` does (key in total order, then position), for
    /// sorting with plain integer comparisons.
    #[inline]
    pub fn packed(&self) -> u128 {
        let b = self.key.to_bits() as i64;
        let ord = (b ^ ((((b >> 63) as u64) >> 1) as i64)) as u64 ^ (1 << 63);
        ((ord as u128) << 64) | self.pos as u128
    }

    /// The `Keyed` that [`Keyed::packed`] gave `p`.
    #[inline]
    pub fn unpacked(p: u128) -> Self {
        // The flip of the low 63 bits depends only on the sign, which the packing keeps.
        let x = ((p >> 64) as u64 ^ (1 << 63)) as i64;
        let b = x ^ ((((x >> 63) as u64) >> 1) as i64);
        Keyed {
            key: f64::from_bits(b as u64),
            pos: p as u64 as usize,
        }
    }
}

impl PartialEq for Keyed {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Keyed {}
impl PartialOrd for Keyed {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Keyed {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key
            .total_cmp(&other.key)
            .then(self.pos.cmp(&other.pos))
    }
}

/// Room beyond `2n` before a [`Smallest`] selects: small, since noise-rate pickers come by
/// the thousand.
const SPARE: usize = 16;

/// The `n` smallest items pushed, by (key, position): the first `n` of a stable ascending sort.
///
/// Items collect in a buffer, grown as needed up to `2n + SPARE`; when it fills, a linear-time
/// selection keeps the `n` best and their worst becomes a cut-off that later items must beat.
/// Linear time overall, memory proportional to `n`. Items are kept packed
/// ([`Keyed::packed`]): the selections then compare plain integers.
#[derive(Debug)]
pub struct Smallest {
    n: usize,
    buf: Vec<u128>,
    cutoff: Option<u128>,
    /// The cut-off's key (+inf until there is one): keys above it are rejected at once.
    limit: f64,
}

impl Smallest {
    pub fn new(n: usize) -> Self {
        Smallest {
            n,
            buf: Vec::new(),
            cutoff: None,
            limit: f64::INFINITY,
        }
    }

    /// Like [`Smallest::new`], but only items before `bound` are kept.
    pub fn below(n: usize, bound: Keyed) -> Self {
        Smallest {
            n,
            buf: Vec::new(),
            cutoff: Some(bound.packed()),
            limit: if bound.key.is_nan() {
                f64::INFINITY
            } else {
                bound.key
            },
        }
    }

    /// Also rejects every item from `bound` on (the tighter of the two bounds stays).
    pub fn tighten(&mut self, bound: Keyed) {
        let b = bound.packed();
        if self.cutoff.is_none_or(|c| b < c) {
            self.cutoff = Some(b);
        }
        if bound.key < self.limit {
            self.limit = bound.key;
        }
    }

    /// The largest key still accepted (+inf until the selection is full).
    pub fn limit(&self) -> f64 {
        self.limit
    }

    /// Pushes `key` at `pos`, rejecting most losers with one comparison.
    #[inline(always)]
    pub fn push_key(&mut self, key: f64, pos: usize) {
        if key > self.limit {
            return;
        }
        self.push(Keyed::new(key, pos));
    }

    #[inline]
    pub fn push(&mut self, item: Keyed) {
        let item = item.packed();
        if self.cutoff.is_some_and(|c| item >= c) || self.n == 0 {
            return;
        }
        if self.buf.len() == self.buf.capacity() {
            self.grow();
        }
        self.buf.push(item);
        if self.buf.len() >= self.full() {
            self.compact();
        }
    }

    /// Buffer length that triggers a selection.
    #[inline]
    fn full(&self) -> usize {
        self.n.saturating_mul(2).saturating_add(SPARE)
    }

    /// Doubles the buffer, never past [`Smallest::full`]: a picker of one token range often
    /// sees a small share of its `n`, so room for `2n` up front would be mostly idle (and
    /// pickers come by the thousand, times the ranges).
    #[cold]
    fn grow(&mut self) {
        let room = (2 * self.buf.capacity()).clamp(SPARE, self.full());
        self.buf.reserve_exact(room - self.buf.len());
    }

    fn compact(&mut self) {
        if self.n == 0 {
            self.buf.clear();
        } else if self.buf.len() > self.n {
            let (_, &mut nth, _) = self.buf.select_nth_unstable(self.n - 1);
            self.buf.truncate(self.n);
            self.cutoff = Some(nth);
            let key = Keyed::unpacked(nth).key;
            // A NaN cut-off (NaN sorts last) rejects nothing by key alone.
            self.limit = if key.is_nan() { f64::INFINITY } else { key };
        }
    }

    /// Adds everything `other` kept (the union's `n` best survive, whatever the order): one
    /// bulk append and at most one linear-time selection, not a push per item.
    pub fn absorb(&mut self, mut other: Smallest) {
        other.compact();
        self.buf.reserve_exact(other.buf.len());
        self.buf.append(&mut other.buf);
        if self.buf.len() >= self.full() {
            self.compact();
        }
    }

    /// The `n`-th smallest key pushed (the largest kept), or `None` while fewer than `n` are
    /// kept.
    pub fn nth_key(&mut self) -> Option<f64> {
        self.compact();
        (self.n > 0 && self.buf.len() >= self.n)
            .then(|| self.buf.iter().max().map(|&p| Keyed::unpacked(p).key))
            .flatten()
    }

    /// Positions of the kept items, in no particular order.
    pub fn positions(mut self) -> impl Iterator<Item = usize> {
        self.compact();
        self.buf.into_iter().map(|p| p as u64 as usize)
    }

    /// The kept items in ascending (key, position) order.
    pub fn into_sorted(mut self) -> Vec<Keyed> {
        self.compact();
        self.buf.sort_unstable();
        self.buf.into_iter().map(Keyed::unpacked).collect()
    }
}

/// Sorts by (key, position), i.e. a stable ascending argsort of the keys (the tests' reference).
#[cfg(test)]
pub fn rank(items: &mut [Keyed]) {
    items.sort_unstable();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tightened_picker_keeps_the_smallest_below_its_bound() {
        let keys = [0.3, -0.2, 0.0, -0.5, -0.0, -0.2, 0.1, -0.7, -1e-300];
        for n in 1..=keys.len() {
            for bound in [0.0, -0.2, 1.0] {
                let mut p = Smallest::new(n);
                p.tighten(Keyed::new(bound, 0));
                for (f, &k) in keys.iter().enumerate() {
                    p.push_key(k, f);
                }
                let mut want: Vec<Keyed> = keys
                    .iter()
                    .enumerate()
                    .map(|(f, &k)| Keyed::new(k, f))
                    .filter(|k| k.key < bound)
                    .collect();
                want.sort();
                want.truncate(n);
                let got: Vec<usize> = p.into_sorted().iter().map(|k| k.pos).collect();
                let want: Vec<usize> = want.iter().map(|k| k.pos).collect();
                assert_eq!(got, want, "n={n} bound={bound}");
            }
        }
    }

    #[test]
    fn smallest_breaks_ties_by_position() {
        let keys = [0.5, 0.1, 0.5, 0.1, 0.5];
        let mut s = Smallest::new(3);
        for (i, &k) in keys.iter().enumerate() {
            s.push(Keyed::new(k, i));
        }
        let got: Vec<usize> = s.into_sorted().iter().map(|k| k.pos).collect();
        assert_eq!(got, vec![1, 3, 0]);
    }

    #[test]
    fn negative_zero_ties_with_zero() {
        let mut v = vec![Keyed::new(0.0, 0), Keyed::new(-0.0, 1), Keyed::new(-1.0, 2)];
        rank(&mut v);
        assert_eq!(v.iter().map(|k| k.pos).collect::<Vec<_>>(), vec![2, 0, 1]);
    }

    #[test]
    fn many_pushes_keep_the_first_of_a_stable_sort() {
        let keys: Vec<f64> = (0..5000).map(|i| ((i * 7919) % 13) as f64).collect();
        let mut s = Smallest::new(300);
        for (i, &k) in keys.iter().enumerate() {
            s.push(Keyed::new(k, i));
        }
        let mut all: Vec<Keyed> = keys
            .iter()
            .enumerate()
            .map(|(i, &k)| Keyed::new(k, i))
            .collect();
        all.sort();
        let want: Vec<usize> = all[..300].iter().map(|k| k.pos).collect();
        let got: Vec<usize> = s.into_sorted().iter().map(|k| k.pos).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn nan_sorts_last_whatever_its_sign() {
        let neg_nan = -f64::NAN;
        let mut v = vec![
            Keyed::new(neg_nan, 0),
            Keyed::new(f64::INFINITY, 1),
            Keyed::new(0.5, 2),
        ];
        rank(&mut v);
        assert_eq!(v.iter().map(|k| k.pos).collect::<Vec<_>>(), vec![2, 1, 0]);
    }

    #[test]
    fn packed_keys_sort_like_keyed() {
        let keys = [
            0.5,
            -0.0,
            0.0,
            f64::NAN,
            -f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -1.5,
            1e-300,
            -1e-300,
            0.5,
            -1.5,
        ];
        let mut a: Vec<Keyed> = (0..60)
            .map(|i| Keyed::new(keys[(i * 7) % keys.len()], 100 - i))
            .collect();
        let mut b: Vec<u128> = a.iter().map(Keyed::packed).collect();
        a.sort();
        b.sort_unstable();
        for (k, &p) in a.iter().zip(&b) {
            let back = Keyed::unpacked(p);
            assert_eq!((back.key.to_bits(), back.pos), (k.key.to_bits(), k.pos));
        }
    }

    #[test]
    fn zero_capacity_keeps_nothing() {
        let mut s = Smallest::new(0);
        s.push(Keyed::new(1.0, 0));
        assert_eq!(s.positions().count(), 0);
    }
}
