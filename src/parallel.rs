//! Thread pools and deterministic parallel maps.
//!
//! Work is cut into contiguous token ranges whose results are merged in range order, so the
//! answer never depends on the number of threads. At most two pools are kept: one of the
//! default size and the last one of another size (a sweep over `n_jobs` values must not leave
//! a pool per value alive). Pools are rebuilt after `fork()` (a child inherits a pool whose
//! threads do not exist).

use crate::simd;
use rayon::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};
use std::ops::Range;
use std::sync::{Arc, Mutex, OnceLock};

/// Below this many tokens a call runs on the calling thread: no pool start-up cost.
pub const SERIAL_BELOW: usize = 1 << 16;
/// Target tokens per task.
pub const CHUNK: usize = 1 << 15;

/// Most threads a call uses, however many it asks for (`n_jobs`, `TOKENCLEAN_NUM_THREADS`):
/// more only adds start-up cost, and results never depend on it.
pub const MAX_THREADS: usize = 256;

/// A pool, its size and the process that built it.
type Cached = (usize, u32, Arc<ThreadPool>);

#[derive(Default)]
struct Pools {
    default: Option<Cached>,
    last: Option<Cached>,
}

fn pools() -> &'static Mutex<Pools> {
    static POOLS: OnceLock<Mutex<Pools>> = OnceLock::new();
    POOLS.get_or_init(|| Mutex::new(Pools::default()))
}

/// Number of threads when the caller does not say: `TOKENCLEAN_NUM_THREADS`, else the
/// machine's available parallelism; at most [`MAX_THREADS`]. Read once, on the first call: the
/// binding makes that call at import, with the GIL held, since reading the environment races
/// with `os.environ` writes from other Python threads.
pub fn default_threads() -> usize {
    static THREADS: OnceLock<usize> = OnceLock::new();
    *THREADS.get_or_init(|| {
        std::env::var("TOKENCLEAN_NUM_THREADS")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .min(MAX_THREADS)
    })
}

fn pool(threads: usize) -> Option<Arc<ThreadPool>> {
    let pid = std::process::id();
    // A lock held by another thread when this process was forked stays locked forever in the
    // child. Never wait for it: after a short while run the work on the calling thread,
    // which gives the same answer.
    let mut map = {
        let mut tries = 0;
        loop {
            match pools().try_lock() {
                Ok(m) => break m,
                Err(std::sync::TryLockError::Poisoned(e)) => break e.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => {
                    tries += 1;
                    if tries > 2000 {
                        return None;
                    }
                    std::thread::sleep(std::time::Duration::from_micros(5));
                }
            }
        }
    };
    let slot = if threads == default_threads() {
        &mut map.default
    } else {
        &mut map.last
    };
    match slot.take() {
        Some((size, owner, p)) if owner == pid && size == threads => {
            *slot = Some((size, owner, Arc::clone(&p)));
            return Some(p);
        }
        // Inherited through fork: its threads are gone. Leak it rather than join dead threads.
        Some((_, owner, stale)) if owner != pid => std::mem::forget(stale),
        // Another size: dropping it ends its threads once running calls are done with it.
        _ => {}
    }
    let p = Arc::new(
        ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("tokenclean-{i}"))
            .build()
            .ok()?,
    );
    *slot = Some((threads, pid, Arc::clone(&p)));
    Some(p)
}

/// How a call spreads its work.
#[derive(Clone, Copy, Debug)]
pub struct Workers {
    threads: usize,
}

impl Workers {
    /// `threads == 0` means [`default_threads`]; more than [`MAX_THREADS`] means that many.
    pub fn new(threads: usize) -> Self {
        Workers {
            threads: if threads == 0 {
                default_threads()
            } else {
                threads.min(MAX_THREADS)
            },
        }
    }

    pub fn serial() -> Self {
        Workers { threads: 1 }
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// `0..n` cut into a few contiguous ranges per thread (one range when small or serial).
    /// Few ranges keep the merges of per-range selections cheap.
    pub fn ranges(&self, n: usize) -> Vec<Range<usize>> {
        if self.threads <= 1 || n < SERIAL_BELOW {
            return std::iter::once(0..n).collect();
        }
        let parts = (2 * self.threads).min(n.div_ceil(CHUNK));
        (0..parts)
            .map(|i| i * n / parts..(i + 1) * n / parts)
            .collect()
    }

    /// `ranges` (contiguous, in order) joined into at most one range per thread, for passes
    /// whose per-range state is large.
    pub fn per_thread(&self, ranges: &[Range<usize>]) -> Vec<Range<usize>> {
        let parts = self.threads.min(ranges.len());
        (0..parts)
            .map(|i| {
                let (lo, hi) = (i * ranges.len() / parts, (i + 1) * ranges.len() / parts);
                ranges[lo].start..ranges[hi - 1].end
            })
            .collect()
    }

    /// `f` over each item (usually a token range), results in item order.
    pub fn map<I: Sync, R: Send>(&self, items: &[I], f: impl Fn(&I) -> R + Sync + Send) -> Vec<R> {
        let f = |i: &I| {
            simd::wide(
                #[inline(always)]
                || f(i),
            )
        };
        if items.len() <= 1 || self.threads <= 1 {
            return items.iter().map(f).collect();
        }
        match pool(self.threads) {
            Some(p) => p.install(|| items.par_iter().map(f).collect()),
            None => items.iter().map(f).collect(),
        }
    }

    /// `f` over pairs of a range and its own mutable slice of `out` (`out` is indexed like
    /// the ranges' tokens).
    pub fn map_mut<O: Send, R: Send>(
        &self,
        ranges: &[Range<usize>],
        out: &mut [O],
        f: impl Fn(Range<usize>, &mut [O]) -> R + Sync + Send,
    ) -> Vec<R> {
        let mut slices = Vec::with_capacity(ranges.len());
        let mut rest = out;
        let mut at = 0;
        for r in ranges {
            let (head, tail) = rest.split_at_mut(r.end - at);
            slices.push((r.clone(), head));
            rest = tail;
            at = r.end;
        }
        let f = |(r, s): (Range<usize>, &mut [O])| {
            simd::wide(
                #[inline(always)]
                || f(r, s),
            )
        };
        if slices.len() <= 1 || self.threads <= 1 {
            return slices.into_iter().map(f).collect();
        }
        match pool(self.threads) {
            Some(p) => p.install(|| slices.into_par_iter().map(f).collect()),
            None => slices.into_iter().map(f).collect(),
        }
    }

    /// Sorts in parallel when worth it (the order is total, so the result is the same).
    pub fn sort<T: Ord + Send>(&self, v: &mut [T]) {
        if self.threads > 1 && v.len() >= SERIAL_BELOW {
            if let Some(p) = pool(self.threads) {
                p.install(|| v.par_sort_unstable());
                return;
            }
        }
        v.sort_unstable();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_everything_in_order() {
        let w = Workers::new(4);
        let r = w.ranges(1_000_003);
        assert_eq!(r.first().map(|r| r.start), Some(0));
        assert_eq!(r.last().map(|r| r.end), Some(1_000_003));
        assert!(r.windows(2).all(|p| p[0].end == p[1].start));
        assert_eq!(Workers::new(4).ranges(10).len(), 1);
    }

    #[test]
    fn per_thread_joins_neighbouring_ranges() {
        for threads in [1, 2, 3, 8] {
            let w = Workers::new(threads);
            let r = w.ranges(1_000_003);
            let joined = w.per_thread(&r);
            assert_eq!(joined.len(), threads.min(r.len()));
            assert_eq!(joined.first().map(|r| r.start), Some(0));
            assert_eq!(joined.last().map(|r| r.end), Some(1_000_003));
            assert!(joined.windows(2).all(|p| p[0].end == p[1].start));
        }
        assert!(Workers::new(2).per_thread(&[]).is_empty());
    }

    #[test]
    fn thread_counts_are_capped() {
        assert_eq!(Workers::new(MAX_THREADS + 1).threads(), MAX_THREADS);
        assert_eq!(Workers::new(usize::MAX).threads(), MAX_THREADS);
        assert!(default_threads() <= MAX_THREADS);
    }

    #[test]
    fn a_pool_of_another_size_replaces_the_last_one() {
        let (a, b) = (7, 9);
        if [a, b].contains(&default_threads()) {
            return;
        }
        let first = pool(a).expect("pool");
        assert_eq!(first.current_num_threads(), a);
        let second = pool(b).expect("pool");
        assert_eq!(second.current_num_threads(), b);
        // The cache no longer holds the first pool: this is the last reference.
        assert_eq!(Arc::strong_count(&first), 1);
    }

    #[test]
    fn map_keeps_range_order() {
        let w = Workers::new(3);
        let r = w.ranges(200_000);
        let starts = w.map(&r, |x| x.start);
        assert_eq!(w.map(&[1, 2, 3], |x| x * 2), vec![2, 4, 6]);
        assert_eq!(starts, r.iter().map(|x| x.start).collect::<Vec<_>>());
        let mut out = vec![0usize; 200_000];
        w.map_mut(&r, &mut out, |range, s| {
            for (i, v) in s.iter_mut().enumerate() {
                *v = range.start + i;
            }
        });
        assert!(out.iter().enumerate().all(|(i, &v)| i == v));
    }
}
