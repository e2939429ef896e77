//! Selection and ordering with ties broken by position, as a stable sort does.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A score with its token position; orders by score (-0.0 equal to 0.0), then position.
#[derive(Clone, Copy, Debug)]
pub struct Keyed {
    pub key: f64,
    pub pos: usize,
}

impl Keyed {
    #[inline]
    pub fn new(key: f64, pos: usize) -> Self {
        // Adding +0.0 turns -0.0 into +0.0, so total_cmp orders like numpy's `<`.
        Keyed { key: key + 0.0, pos }
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

/// The `n` smallest items pushed, by (key, position): the first `n` of a stable ascending sort.
#[derive(Debug)]
pub struct Smallest {
    n: usize,
    heap: BinaryHeap<Keyed>,
}

impl Smallest {
    pub fn new(n: usize) -> Self {
        Smallest {
            n,
            heap: BinaryHeap::with_capacity(n.min(1 << 16)),
        }
    }

    #[inline]
    pub fn push(&mut self, item: Keyed) {
        if self.heap.len() < self.n {
            self.heap.push(item);
        } else if let Some(mut worst) = self.heap.peek_mut() {
            if item < *worst {
                *worst = item;
            }
        }
    }

    /// Positions of the kept items, in no particular order.
    pub fn positions(self) -> impl Iterator<Item = usize> {
        self.heap.into_iter().map(|k| k.pos)
    }

    /// The kept items in ascending (key, position) order.
    pub fn into_sorted(self) -> Vec<Keyed> {
        self.heap.into_sorted_vec()
    }
}

/// Sorts by (key, position), i.e. a stable ascending argsort of the keys.
pub fn rank(items: &mut [Keyed]) {
    items.sort_unstable();
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn zero_capacity_keeps_nothing() {
        let mut s = Smallest::new(0);
        s.push(Keyed::new(1.0, 0));
        assert_eq!(s.positions().count(), 0);
    }
}
