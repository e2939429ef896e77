//! Times the core on synthetic data, with the heap's peak per token above the input:
//! `cargo run --release --example core_timing -- N K threads`.

use ndarray::Array2;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Instant;
use tokenclean::{find_label_issues, FilterBy, Options, Probs};

/// Counts live heap bytes and their peak, for the per-call peak printed beside each timing.
struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
        PEAK.fetch_max(now, Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(1_000_000);
    let k = args.get(1).copied().unwrap_or(9);
    let threads = args.get(2).copied().unwrap_or(0);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut labels = vec![0u32; n];
    let wide = std::env::args().any(|a| a == "f64");
    let mut p = Array2::<f64>::zeros((n, k));
    for i in 0..n {
        let truth = if next() < 0.5 {
            0
        } else {
            1 + (next() * (k - 1) as f64) as usize % (k - 1)
        };
        let mut row: Vec<f64> = (0..k).map(|_| next() * 2.0).collect();
        row[truth] += 0.5 + 4.5 * next();
        let total: f64 = row.iter().map(|x| x.exp()).sum();
        for j in 0..k {
            let v = row[j].exp() / total;
            p[[i, j]] = if wide { v } else { v as f32 as f64 };
        }
        labels[i] = if next() < 0.05 {
            ((truth + 1 + (next() * (k - 1) as f64) as usize) % k) as u32
        } else {
            truth as u32
        };
    }
    let narrow: Array2<f32> = p.mapv(|v| v as f32);
    let probs = if wide {
        Probs::from_view_f64(p.view()).expect("valid")
    } else {
        Probs::from_view_f32(narrow.view()).expect("valid")
    };
    if std::env::args().any(|a| a == "phases") {
        if wide {
            phases::<f64>(&labels, &probs, threads);
        } else {
            phases::<f32>(&labels, &probs, threads);
        }
        return;
    }
    for (name, filter_by, rank) in [
        (
            "confident_learning, unranked",
            FilterBy::ConfidentLearning,
            false,
        ),
        ("prune_by_class, unranked", FilterBy::PruneByClass, false),
        (
            "prune_by_noise_rate, unranked",
            FilterBy::PruneByNoiseRate,
            false,
        ),
        (
            "prune_by_noise_rate, ranked",
            FilterBy::PruneByNoiseRate,
            true,
        ),
    ] {
        let opts = Options {
            filter_by,
            rank_by: if rank {
                Some(tokenclean::Method::SelfConfidence)
            } else {
                None
            },
            threads,
            ..Options::default()
        };
        let mut best = f64::MAX;
        let mut count = 0;
        PEAK.store(LIVE.load(Relaxed), Relaxed);
        let base = LIVE.load(Relaxed);
        for _ in 0..5 {
            let t = Instant::now();
            count = find_label_issues(&labels, &probs, &opts)
                .expect("runs")
                .len();
            best = best.min(t.elapsed().as_secs_f64());
        }
        let peak = (PEAK.load(Relaxed) - base) as f64 / n as f64;
        println!(
            "{name:32} {:8.2} ms  {count} issues  heap peak {peak:.1} B/token",
            best * 1e3
        );
    }
}

/// Phase timings (best of ten): `cargo run --release --example core_timing -- N K threads phases [f64]`.
pub fn phases<T: tokenclean::phases::Float>(labels: &[u32], probs: &Probs, threads: usize) {
    use tokenclean::Workers;
    let w = Workers::new(threads);
    let ranges = w.ranges(labels.len());
    let best = |f: &mut dyn FnMut()| {
        (0..10)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e3
            })
            .fold(f64::MAX, f64::min)
    };
    let (th, _) = tokenclean::phases::confident_thresholds::<T>(labels, probs, &w, &ranges);
    let t = best(&mut || {
        tokenclean::phases::confident_thresholds::<T>(labels, probs, &w, &ranges);
    });
    println!("thresholds    {t:.2} ms");
    let t = best(&mut || {
        tokenclean::phases::scan::<T>(labels, probs, &th, &w, &ranges).expect("valid");
    });
    println!("scan          {t:.2} ms");
    for (name, filter_by) in [
        ("confident_learning", FilterBy::ConfidentLearning),
        ("noise_rate", FilterBy::PruneByNoiseRate),
    ] {
        let opts = Options {
            filter_by,
            rank_by: None,
            threads,
            ..Options::default()
        };
        let t = best(&mut || {
            find_label_issues(labels, probs, &opts).expect("runs");
        });
        println!("{name:13} {t:.2} ms (whole, unranked)");
    }
    let mut s = 0.0f64;
    let t = best(&mut || probs.for_each_row::<T>(|_, r| s += r[0].to_f64()));
    println!("bare row walk {t:.2} ms ({s})");
}
