//! Property test ("local fuzzer") of the core's public API: `tokenclean::find_label_issues`
//! on random small inputs, valid and not.
//!
//! `cargo fuzz` needs a nightly Rust toolchain (for `-Z sanitizer`), which this project's
//! machines cannot fetch, so this deterministic property test is the runnable fuzzer instead.
//! It needs no extra crate: inputs come from a tiny xorshift generator, so every failure
//! prints a seed that reproduces it.
//!
//! * `cargo test --test core_properties` runs a few thousand cases in a few seconds;
//! * `TOKENCLEAN_FUZZ_ITERS=1000000 cargo test --release --test core_properties` fuzzes longer;
//! * `TOKENCLEAN_FUZZ_SEED=<seed> cargo test --test core_properties -- --nocapture` replays
//!   one case (the seed printed by a failure) and prints it.
//!
//! Properties, for every input: the call returns `Ok` or `Err` and never panics (a panic is
//! caught with `catch_unwind` and reported with its seed); the result does not depend on the
//! number of threads; returned indices are unique, below N, and in position order when there
//! is no ranking; inputs that are certainly invalid (labels not below K, label count differing
//! from the rows, NaN/infinite or clearly out-of-range probabilities, a confident joint that
//! is not K x K or not finite, `num_to_remove_per_class` of the wrong length with a prune
//! filter) are refused with `Err`.

use ndarray::{s, Array2, ArrayView2, ShapeBuilder};
use std::panic::{catch_unwind, AssertUnwindSafe};
use tokenclean::{find_label_issues, Block, FilterBy, Method, Offsets, Options, Probs};

/// xorshift64* (Vigna): tiny, deterministic, good enough to pick test inputs.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // splitmix64 of the seed, so that nearby seeds give unrelated streams (never 0)
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn range(&mut self, lo: usize, hi_inclusive: usize) -> usize {
        lo + self.below(hi_inclusive - lo + 1)
    }
    /// True with probability 1/n.
    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

const FILTERS: [FilterBy; 7] = [
    FilterBy::PruneByNoiseRate,
    FilterBy::PruneByClass,
    FilterBy::Both,
    FilterBy::ConfidentLearning,
    FilterBy::PredictedNeqGiven,
    FilterBy::LowSelfConfidence,
    FilterBy::LowNormalizedMargin,
];
const METHODS: [Method; 3] = [
    Method::SelfConfidence,
    Method::NormalizedMargin,
    Method::ConfidenceWeightedEntropy,
];
/// Probabilities that must be refused (NaN, infinite, clearly outside [-1e-6, 1 + 1e-6]).
const REFUSED: [f64; 8] = [
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    1e308,
    -1e308,
    -1e-3,
    1.0 + 1e-5,
    2.0,
];
/// Probabilities on the edges of the valid range (accepted).
const EDGES: [f64; 7] = [0.0, -0.0, 1.0, 5e-324, 1e-30, -5e-7, 1.0 + 5e-7];

/// How one block is stored.
#[derive(Clone, Copy, Debug)]
enum Layout {
    RowMajor,
    ColumnMajor,
    Strided,
    Reversed,
}
const LAYOUTS: [Layout; 4] = [
    Layout::RowMajor,
    Layout::ColumnMajor,
    Layout::Strided,
    Layout::Reversed,
];

/// A block's storage, owned, and how to view it as (rows, K).
struct Stored {
    f64: bool,
    layout: Layout,
    data64: Array2<f64>,
    data32: Array2<f32>,
}

impl Stored {
    fn new(values: &Array2<f64>, f64: bool, layout: Layout) -> Self {
        let (r, k) = values.dim();
        let storage: Array2<f64> = match layout {
            Layout::RowMajor => values.clone(),
            Layout::ColumnMajor => {
                let mut a = Array2::<f64>::zeros((r, k).f());
                a.assign(values);
                a
            }
            Layout::Strided => {
                // every other row and every third column of a bigger array
                let mut a = Array2::<f64>::from_elem((2 * r, 3 * k), 0.25);
                a.slice_mut(s![..;2, ..;3]).assign(values);
                a
            }
            Layout::Reversed => {
                // rows stored bottom-up: viewed with a negative row stride
                let mut a = values.clone();
                a.slice_mut(s![..;-1, ..]).assign(values);
                a
            }
        };
        Stored {
            f64,
            layout,
            data32: storage.mapv(|v| v as f32),
            data64: storage,
        }
    }

    fn view64(&self) -> ArrayView2<'_, f64> {
        view(&self.data64, self.layout)
    }
    fn view32(&self) -> ArrayView2<'_, f32> {
        view(&self.data32, self.layout)
    }
    fn block(&self) -> Block<'_> {
        if self.f64 {
            Block::F64(self.view64())
        } else {
            Block::F32(self.view32())
        }
    }
    /// The values the core sees, widened to f64.
    fn values(&self) -> Vec<f64> {
        if self.f64 {
            self.view64().iter().copied().collect()
        } else {
            self.view32().iter().map(|&v| v as f64).collect()
        }
    }
}

fn view<T>(a: &Array2<T>, layout: Layout) -> ArrayView2<'_, T> {
    match layout {
        Layout::RowMajor | Layout::ColumnMajor => a.view(),
        Layout::Strided => a.slice(s![..;2, ..;3]),
        Layout::Reversed => a.slice(s![..;-1, ..]),
    }
}

/// One random input.
struct Case {
    blocks: Vec<Stored>,
    labels: Vec<u32>,
    opts: Options,
    /// Why the input must be refused, if it must.
    must_fail: Option<String>,
    k: usize,
    n: usize,
}

fn probability_rows(rng: &mut Rng, rows: usize, k: usize, labels: &[u32]) -> Array2<f64> {
    let style = rng.below(4);
    let decimals = rng.pick(&[0u32, 0, 1, 2, 3]);
    let mut a = Array2::<f64>::zeros((rows, k));
    for (i, mut row) in a.rows_mut().into_iter().enumerate() {
        for v in row.iter_mut() {
            *v = match style {
                0 => rng.unit(),
                1 => rng.unit().powi(4),
                2 => rng.pick(&[0.0, 0.1, 0.25, 0.5, 1.0]),
                _ => rng.unit() * 0.2,
            };
        }
        if let Some(&l) = labels.get(i) {
            if (l as usize) < k && !rng.one_in(4) {
                // the model mostly agrees with the label
                if style == 2 {
                    row[l as usize] = row[l as usize].max(0.5);
                } else {
                    row[l as usize] += 1.0;
                }
            }
        }
        if style != 2 {
            let total: f64 = row.sum();
            if total > 0.0 {
                row.mapv_inplace(|v| v / total);
            }
        }
        if decimals > 0 {
            let scale = 10f64.powi(decimals as i32);
            row.mapv_inplace(|v| (v * scale).round() / scale);
        }
    }
    a
}

/// Seeds with the top bit set may draw large inputs (above the serial threshold).
const BIG: u64 = 1 << 63;

fn random_case(seed: u64) -> Case {
    let mut rng = Rng::new(seed);
    let k = if rng.one_in(10) {
        rng.range(1, 12)
    } else {
        rng.range(2, 5)
    };
    let big_roll = rng.one_in(4);
    let big = seed & BIG != 0 && big_roll;
    let n_blocks = if big {
        rng.range(1, 3)
    } else {
        rng.range(1, 6)
    };
    let mut must_fail: Option<String> = None;
    let mut fail = |why: String| {
        if must_fail.is_none() {
            must_fail = Some(why);
        }
    };

    // block sizes, some empty (which may have any number of columns)
    let mut sizes: Vec<usize> = (0..n_blocks)
        .map(|_| {
            if big {
                rng.range(24_000, 34_000)
            } else if rng.one_in(5) {
                0
            } else {
                rng.range(1, 9)
            }
        })
        .collect();
    if sizes.iter().sum::<usize>() == 0 && !rng.one_in(20) {
        sizes[0] = rng.range(2, 6);
    }
    let n: usize = sizes.iter().sum();

    // labels: a few classes present, some flipped
    let present = if rng.one_in(10) {
        1
    } else {
        rng.range(2.min(k), k)
    };
    let mut labels: Vec<u32> = (0..n).map(|_| rng.below(present) as u32).collect();
    if n >= 2 && rng.one_in(2) {
        labels[0] = rng.below(k) as u32;
        labels[1] = rng.below(k) as u32;
    }
    if rng.one_in(8) && n > 0 {
        let c = rng.below(k) as u32;
        labels.iter_mut().for_each(|l| *l = c); // one class
    }

    let mut blocks = Vec::with_capacity(n_blocks);
    let mut at = 0;
    for &rows in &sizes {
        let cols = if rows == 0 && rng.one_in(3) {
            rng.range(0, 7)
        } else if rows > 0 && rng.one_in(60) {
            k + 1 // refused if another block with rows has K columns (checked below)
        } else {
            k
        };
        let mut values = probability_rows(&mut rng, rows, cols, &labels[at..at + rows]);
        if rows > 0 && cols > 0 {
            for _ in 0..rng.pick(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2]) {
                let (i, j) = (rng.below(rows), rng.below(cols));
                if rng.one_in(3) {
                    values[[i, j]] = rng.pick(&REFUSED);
                } else {
                    values[[i, j]] = rng.pick(&EDGES);
                }
            }
        }
        let f64 = !rng.one_in(3);
        let layout = rng.pick(&LAYOUTS);
        blocks.push(Stored::new(&values, f64, layout));
        at += rows;
    }
    if n == 0 {
        fail("no token".into());
    }
    let mut widths: Vec<usize> = blocks
        .iter()
        .filter(|b| b.view64().nrows() > 0)
        .map(|b| b.view64().ncols())
        .collect();
    widths.dedup();
    if widths.len() > 1 {
        fail(format!(
            "blocks with different numbers of classes: {widths:?}"
        ));
    }
    // The number of classes the core sees (a lone block may have K + 1 columns).
    let k = if widths.len() == 1 { widths[0] } else { k };
    for b in &blocks {
        if b.data64.nrows() == 0 {
            continue;
        }
        for v in b.values() {
            if !v.is_finite() || !(-1e-6..=1.0 + 1e-6).contains(&v) {
                fail(format!("probability {v}"));
            }
        }
    }

    // labels out of range or of the wrong count
    if n > 0 && rng.one_in(12) {
        let i = rng.below(n);
        labels[i] = rng.pick(&[k as u32, k as u32 + 5, u32::MAX, 1 << 31]);
        fail(format!("label {} with K = {k}", labels[i]));
    }
    if rng.one_in(25) {
        if rng.one_in(2) || labels.is_empty() {
            labels.push(0);
        } else {
            labels.pop();
        }
        fail("labels and rows differ in number".into());
    }

    let filter_by = rng.pick(&FILTERS);
    let prunes = matches!(
        filter_by,
        FilterBy::PruneByNoiseRate | FilterBy::PruneByClass | FilterBy::Both
    );
    let low_memory = rng.one_in(10);
    let mut opts = Options {
        filter_by,
        rank_by: if rng.one_in(4) {
            None
        } else {
            Some(rng.pick(&METHODS))
        },
        adjust_pred_probs: rng.one_in(5),
        frac_noise: if rng.one_in(3) {
            rng.pick(&[
                1.0,
                0.0,
                0.5,
                0.9,
                -1.0,
                2.0,
                1e308,
                0.25,
                0.75,
                f64::NAN,
                f64::INFINITY,
            ])
        } else {
            1.0
        },
        num_to_remove_per_class: None,
        min_examples_per_class: if rng.one_in(3) {
            rng.pick(&[
                1.0,
                0.0,
                2.0,
                5.0,
                -1.0,
                1.5,
                1e308,
                -1e308,
                3.0,
                10.0,
                f64::NAN,
            ])
        } else {
            1.0
        },
        confident_joint: None,
        low_memory,
        allow_one_class: rng.one_in(3),
        threads: 1,
        joint_column_major: rng.one_in(4),
        sequential_row_sums: rng.one_in(4),
    };
    if (prunes && rng.one_in(3)) || rng.one_in(20) {
        let len = if rng.one_in(5) {
            rng.pick(&[0, k.saturating_sub(1), k + 1])
        } else {
            k
        };
        let r: Vec<i64> = (0..len)
            .map(|_| {
                if rng.one_in(6) {
                    rng.pick(&[i64::MAX, i64::MIN, 1 << 62, -(1 << 62), -1])
                } else {
                    rng.range(0, 12) as i64 - 2
                }
            })
            .collect();
        if len != k && prunes && !low_memory {
            fail(format!("num_to_remove_per_class of length {len}, K = {k}"));
        }
        opts.num_to_remove_per_class = Some(r);
    }
    if rng.one_in(4) {
        let len = if rng.one_in(6) {
            rng.pick(&[0, k * k - 1, (k + 1) * (k + 1)])
        } else {
            k * k
        };
        let mut cj: Vec<f64> = (0..len).map(|_| rng.range(0, 30) as f64).collect();
        if len > 0 && rng.one_in(4) {
            let i = rng.below(len);
            cj[i] = rng.pick(&[f64::NAN, f64::INFINITY, -1.0, 1e308, -1e308, 0.5, 1e18]);
        }
        if prunes && !low_memory && !matches!(filter_by, FilterBy::ConfidentLearning) {
            if len != k * k {
                fail(format!("confident_joint with {len} entries, K = {k}"));
            } else if cj.iter().any(|v| !v.is_finite()) {
                fail("confident_joint not finite".into());
            }
        }
        opts.confident_joint = Some(cj);
    }
    Case {
        blocks,
        labels,
        opts,
        must_fail,
        k,
        n,
    }
}

fn describe(case: &Case) -> String {
    let blocks: Vec<String> = case
        .blocks
        .iter()
        .map(|b| {
            format!(
                "{}x{} {} {:?} {:?}",
                b.data64.nrows()
                    / if matches!(b.layout, Layout::Strided) {
                        2
                    } else {
                        1
                    },
                b.view64().ncols(),
                if b.f64 { "f64" } else { "f32" },
                b.layout,
                b.values()
            )
        })
        .collect();
    format!(
        "K={} N={} labels={:?}\nblocks:\n  {}\noptions: {:?}\nmust fail: {:?}",
        case.k,
        case.n,
        if case.labels.len() > 200 {
            case.labels[..200].to_vec()
        } else {
            case.labels.clone()
        },
        if case.n > 200 {
            "(large; omitted)".to_string()
        } else {
            blocks.join("\n  ")
        },
        case.opts,
        case.must_fail
    )
}

type Outcome = Result<Vec<usize>, tokenclean::Error>;

/// Runs the core on the case with `threads`; a panic becomes `Err(message)`.
fn run(case: &Case, threads: usize) -> Result<Outcome, String> {
    let blocks: Vec<Block<'_>> = case.blocks.iter().map(Stored::block).collect();
    let mut opts = case.opts.clone();
    opts.threads = threads;
    catch_unwind(AssertUnwindSafe(|| {
        let probs = Probs::new(blocks)?;
        find_label_issues(&case.labels, &probs, &opts)
    }))
    .map_err(|payload| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "(non-string panic payload)".into())
    })
}

/// Checks every property for one seed; returns a description of the first violation.
fn check(seed: u64) -> Result<(), String> {
    let case = random_case(seed);
    let fail = |what: String| Err(format!("seed {seed}: {what}\n{}", describe(&case)));
    let serial = match run(&case, 1) {
        Ok(o) => o,
        Err(panic) => return fail(format!("panicked with threads=1: {panic}")),
    };
    let mut rng = Rng::new(seed ^ 0xA5A5);
    for threads in [rng.range(2, 4), 0] {
        match run(&case, threads) {
            Err(panic) => return fail(format!("panicked with threads={threads}: {panic}")),
            Ok(other) if format!("{other:?}") != format!("{serial:?}") => {
                return fail(format!(
                    "threads={threads} gives {other:?}, threads=1 gives {serial:?}"
                ))
            }
            Ok(_) => {}
        }
    }
    match (&serial, &case.must_fail) {
        (Ok(v), Some(why)) => return fail(format!("accepted invalid input ({why}): {v:?}")),
        (Ok(v), None) => {
            let mut seen = vec![false; case.n];
            for &f in v {
                if f >= case.n {
                    return fail(format!("index {f} >= N = {}", case.n));
                }
                if std::mem::replace(&mut seen[f], true) {
                    return fail(format!("index {f} returned twice: {v:?}"));
                }
            }
            if case.opts.rank_by.is_none() && v.windows(2).any(|w| w[0] >= w[1]) {
                return fail(format!("unranked result not in position order: {v:?}"));
            }
            // every index maps back to a real (sentence, token)
            let sizes: Vec<usize> = case.blocks.iter().map(|b| b.view64().nrows()).collect();
            let offsets =
                Offsets::from_lengths(sizes.iter().copied()).map_err(|e| e.to_string())?;
            for (f, (s, t)) in v.iter().zip(offsets.locate_all(v)) {
                if t >= sizes[s] || offsets.bounds(s).0 + t != *f {
                    return fail(format!("index {f} located at ({s}, {t})"));
                }
            }
        }
        (Err(e), _) => {
            if e.to_string().trim().is_empty() {
                return fail(format!("error with an empty message: {e:?}"));
            }
        }
    }
    Ok(())
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

#[test]
fn random_inputs_never_panic_and_never_depend_on_threads() {
    let quiet = std::panic::take_hook();
    // The panic message is reported with its seed below; keep the default hook's output too.
    std::panic::set_hook(quiet);
    if let Some(seed) = env_u64("TOKENCLEAN_FUZZ_SEED") {
        let case = random_case(seed);
        println!("{}", describe(&case));
        println!("threads=1: {:?}", run(&case, 1));
        if let Err(msg) = check(seed) {
            panic!("{msg}");
        }
        return;
    }
    let iters = env_u64("TOKENCLEAN_FUZZ_ITERS").unwrap_or(3_000);
    let base = env_u64("TOKENCLEAN_FUZZ_BASE").unwrap_or(0x70C3_C1EA);
    let mut failures = Vec::new();
    for i in 0..iters {
        let seed = base.wrapping_add(i);
        if let Err(msg) = check(seed & !BIG) {
            failures.push(msg);
            if failures.len() >= 5 {
                break;
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing case(s); replay one with TOKENCLEAN_FUZZ_SEED=<seed>:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Inputs above the core's serial threshold (65,536 tokens), where threads really split the
/// work: the answer must still not depend on them.
#[test]
fn large_random_inputs_do_not_depend_on_threads() {
    let iters = env_u64("TOKENCLEAN_FUZZ_ITERS").map_or(3, |n| (n / 1000).max(3));
    let mut done = 0;
    let mut seed = BIG | 0xB16_0000;
    while done < iters {
        seed += 1;
        let case = random_case(seed);
        if case.n < 66_000 {
            continue;
        }
        done += 1;
        if let Err(msg) = check(seed) {
            panic!("{msg}");
        }
    }
}

#[test]
fn the_generator_covers_valid_and_invalid_inputs() {
    let (mut ok, mut err, mut must_fail, mut unranked_ok) = (0, 0, 0, 0);
    for seed in 0..600 {
        let case = random_case(seed);
        must_fail += case.must_fail.is_some() as usize;
        match run(&case, 1) {
            Ok(Ok(v)) => {
                ok += 1;
                unranked_ok += (case.opts.rank_by.is_none() && !v.is_empty()) as usize;
            }
            Ok(Err(_)) => err += 1,
            Err(_) => {}
        }
    }
    assert!(ok > 150 && err > 100, "ok={ok} err={err}");
    assert!(
        must_fail > 60 && unranked_ok > 10,
        "{must_fail} {unranked_ok}"
    );
}

/// Found by the test above: `num_to_remove_per_class` near the i64 limits overflows an i64
/// subtraction in `prune::select_by_class` (a panic with overflow checks, as in `cargo test`;
/// silent wrapping in release builds). The core must not panic on any `Options`.
#[test]
fn removals_near_the_i64_limits_do_not_overflow() {
    let p = ndarray::array![
        [0.9, 0.1],
        [0.8, 0.2],
        [0.3, 0.7],
        [0.6, 0.4],
        [0.2, 0.8],
        [0.1, 0.9]
    ];
    let labels = [0u32, 0, 0, 1, 1, 1];
    let mut panics = Vec::new();
    for filter_by in [
        FilterBy::PruneByClass,
        FilterBy::Both,
        FilterBy::PruneByNoiseRate,
    ] {
        for removals in [[i64::MAX, 1], [1, i64::MAX], [i64::MIN, 1], [-1, i64::MIN]] {
            let opts = Options {
                filter_by,
                num_to_remove_per_class: Some(removals.to_vec()),
                ..Options::default()
            };
            let probs = Probs::from_view_f64(p.view()).expect("valid");
            if catch_unwind(AssertUnwindSafe(|| {
                find_label_issues(&labels, &probs, &opts)
            }))
            .is_err()
            {
                panics.push(format!("{filter_by:?} {removals:?}"));
            }
        }
    }
    assert!(panics.is_empty(), "panicked for: {panics:?}");
}

/// Random bytes, and real summaries cut anywhere and then damaged: `Piece::decode` never
/// panics; pieces that pass `check_pieces` assemble without panicking, to numpy's sum when
/// undamaged.
#[test]
fn pieces_decode_check_and_assemble_without_panicking() {
    use tokenclean::{assemble, check_pieces, pairwise_sum, Piece, PieceBuilder, Plan};
    let iters = env_u64("TOKENCLEAN_FUZZ_ITERS").map_or(2_000, |n| n / 2);
    for seed in 0..iters {
        let mut rng = Rng::new(seed ^ 0xDEC0DE);
        // arbitrary bytes
        let junk: Vec<u8> = (0..rng.below(200)).map(|_| rng.next() as u8).collect();
        let mut rest = junk.as_slice();
        while let Some(p) = Piece::<f32>::decode(&mut rest) {
            let plan = Plan::new(rng.below(1000));
            let pieces = vec![p];
            if check_pieces(&plan, &pieces).is_ok() {
                assemble(&plan, pieces);
            }
        }
        // a real summation cut into pieces
        let n = rng.below(1500);
        let values: Vec<f64> = (0..n).map(|_| rng.unit()).collect();
        let plan = Plan::new(n);
        let mut cuts: Vec<usize> = (0..rng.below(5)).map(|_| rng.below(n + 1)).collect();
        cuts.extend([0, n]);
        cuts.sort_unstable();
        let mut bytes = Vec::new();
        for w in cuts.windows(2) {
            let mut b = PieceBuilder::new(&plan, w[0]);
            for &v in &values[w[0]..w[1]] {
                b.push(&plan, v);
            }
            b.finish().encode(&mut bytes);
        }
        let damaged = rng.one_in(2) && !bytes.is_empty();
        if damaged {
            match rng.below(3) {
                0 => {
                    let i = rng.below(bytes.len());
                    bytes[i] ^= 1 << rng.below(8);
                }
                1 => bytes.truncate(rng.below(bytes.len())),
                _ => {
                    let i = rng.below(bytes.len());
                    bytes.insert(i, rng.next() as u8);
                }
            }
        }
        let mut rest = bytes.as_slice();
        let mut pieces = Vec::new();
        while let Some(p) = Piece::<f64>::decode(&mut rest) {
            pieces.push(p);
        }
        let plan_n = if rng.one_in(4) { rng.below(1500) } else { n };
        let plan = Plan::new(plan_n);
        match check_pieces(&plan, &pieces) {
            Ok(()) => {
                let sum = assemble(&plan, pieces);
                if !damaged && plan_n == n {
                    assert_eq!(
                        sum.to_bits(),
                        pairwise_sum(&values).to_bits(),
                        "seed {seed}"
                    );
                }
            }
            Err(_) => assert!(damaged || plan_n != n, "seed {seed}: valid pieces refused"),
        }
    }
}

/// The chunk combiners on summaries that no chunk could have sent: `Ok` or `Err`, never a
/// panic.
#[test]
fn chunk_combiners_never_panic() {
    use tokenclean::chunks::{self, Candidates, ScanSummary, ScanTotals};
    let iters = env_u64("TOKENCLEAN_FUZZ_ITERS").map_or(3_000, |n| n);
    for seed in 0..iters {
        let mut rng = Rng::new(seed ^ 0xC0B1);
        let k = rng.range(1, 4);
        let counts: Vec<usize> = (0..k)
            .map(|_| {
                if rng.one_in(20) {
                    rng.next() as usize
                } else {
                    rng.below(40)
                }
            })
            .collect();
        let opts = Options {
            filter_by: FilterBy::parse(rng.pick(&FilterBy::NAMES)).unwrap(),
            min_examples_per_class: rng.pick(&[0.0, 1.0, 5.0]),
            frac_noise: rng.pick(&[0.0, 0.5, 1.0]),
            ..Options::default()
        };
        let bytes: Vec<u8> = (0..rng.below(300)).map(|_| rng.next() as u8).collect();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let _ = chunks::combine_thresholds(&[&bytes], &counts, rng.one_in(2));
            let scans = (0..rng.below(3))
                .map(|_| {
                    Ok(ScanSummary {
                        joint: (0..rng.below(2 * k * k + 1))
                            .map(|_| rng.below(50) as i64 - 5)
                            .collect(),
                        off_diagonal_not_near: rng.below(100),
                        outside_unit: None,
                    })
                })
                .collect();
            let totals = chunks::combine_scans(scans, &counts, &opts).unwrap_or(ScanTotals {
                prune_counts: rng.one_in(2).then(|| {
                    (0..rng.below(2 * k * k + 1))
                        .map(|_| rng.below(30) as i64)
                        .collect()
                }),
                wanted: rng.below(100),
            });
            let m = rng.below(20);
            let candidates = Candidates {
                bucket: (0..m).map(|_| rng.below(k * k + k + 2) as u32).collect(),
                key: (0..m).map(|_| rng.unit()).collect(),
                pos: (0..m + usize::from(rng.one_in(5)))
                    .map(|_| rng.below(200))
                    .collect(),
            };
            let _ = chunks::plan_candidates(None, &totals, &counts, &opts, rng.below(4));
            let _ = chunks::plan_candidates(Some(&candidates), &totals, &counts, &opts, 2);
            let _ = chunks::combine_candidates(&candidates, &totals, &counts, &opts);
        }));
        assert!(outcome.is_ok(), "seed {seed}: a combiner panicked");
    }
}
