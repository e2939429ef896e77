//! The job as map-reduce rounds over consecutive chunks of tokens, for engines that spread a
//! dataset over machines. Each `chunk_*` step reads one chunk and returns a small summary; each
//! `combine_*` step runs in one place on the summaries of every chunk, in chunk order. Together
//! they give exactly [`filter::find_label_issues`]'s answer, wherever the chunk edges fall.
//!
//! 1. [`class_ids`](filter::class_ids) and [`label_counts`]: label counts per class.
//! 2. [`chunk_thresholds`] → [`combine_thresholds`]: numpy's pairwise sums, completed across
//!    chunk edges (see [`crate::pairwise`]).
//! 3. [`chunk_scan`] → [`combine_scans`]: validation, joint counts, prune counts.
//! 4. [`chunk_candidates`] → [`combine_candidates`]: each chunk's best candidates per prune
//!    bucket (the global best `n` lie within the union of every chunk's best `n`).
//! 5. [`chunk_issues`] → [`combine_issues`]: the flagged tokens with their scores, ranked.

use crate::error::{Error, Result};
use crate::filter::{self, FilterBy, Options};
use crate::float::Float;
use crate::joint::{self, NEAR_LABEL, OFF_DIAGONAL, PREDICTED_NEQ_GIVEN};
use crate::pairwise::{check_pieces, Piece, Plan};
use crate::parallel::Workers;
use crate::prune;
use crate::ragged::by_dtype;
use crate::ragged::Probs;
use crate::rank::{Keyed, Smallest};
use crate::scores::{Method, Scorer};
use crate::thresholds::{label_counts, range_pieces, thresholds_from_pieces, Outside, Thresholds};

pub use crate::thresholds::label_counts as chunk_counts;

/// Round 2: the chunk's share of every class's threshold sum, encoded for transport.
/// `first[c]`: tokens of class c in earlier chunks; `counts`: tokens per class in the dataset.
/// Counts that cannot hold the chunk are refused, and counts too large to plan for give
/// [`Error::NoMemory`]: they come from the caller, and must not abort the process.
pub fn chunk_thresholds(
    labels: &[u32],
    probs: &Probs,
    first: &[usize],
    counts: &[usize],
    threads: usize,
) -> Result<Vec<u8>> {
    by_dtype!(probs, pieces_in(labels, probs, first, counts, threads))
}

fn pieces_in<T: Float>(
    labels: &[u32],
    probs: &Probs,
    first: &[usize],
    counts: &[usize],
    threads: usize,
) -> Result<Vec<u8>> {
    let k = probs.num_classes();
    if first.len() != k || counts.len() != k {
        return Err(Error::Invalid(format!(
            "first has {} values and counts {}; both need one per class (K={k})",
            first.len(),
            counts.len()
        )));
    }
    let w = Workers::new(threads);
    let ranges = w.ranges(labels.len());
    let per_range = w.map(&ranges, |r| label_counts(&labels[r.clone()], k));
    let mine = crate::thresholds::sum_counts(&per_range, k);
    for (c, ((&before, &here), &total)) in first.iter().zip(&mine).zip(counts).enumerate() {
        if before.checked_add(here).is_none_or(|end| end > total) {
            return Err(Error::Invalid(format!(
                "the chunk holds {here} tokens of class {c} after {before} in earlier chunks, \
                 but counts says the dataset holds {total}; do first and counts belong to this \
                 dataset?"
            )));
        }
    }
    let plans = plans_for(counts)?;
    let mut out = Vec::new();
    for pieces in range_pieces::<T>(labels, probs, first, &per_range, &plans, None, &w, &ranges) {
        for p in &pieces {
            p.encode(&mut out);
        }
    }
    Ok(out)
}

/// The summation plan of every class (about n/8 bytes for n tokens), or an error where the
/// counts are too large to plan for.
fn plans_for(counts: &[usize]) -> Result<Vec<Plan>> {
    total_count(counts)?;
    counts
        .iter()
        .map(|&n| {
            Plan::try_new(n).map_err(|_| {
                Error::NoMemory(format!(
                    "the label counts say a class holds {n} tokens, whose summation plan (about \
                     {} MB) cannot be allocated",
                    n / 8 / 1_000_000
                ))
            })
        })
        .collect()
}

/// The thresholds from every chunk's [`chunk_thresholds`], in chunk order.
pub fn combine_thresholds(
    encoded: &[&[u8]],
    counts: &[usize],
    f64_probs: bool,
) -> Result<Thresholds> {
    if f64_probs {
        thresholds_in::<f64>(encoded, counts)
    } else {
        thresholds_in::<f32>(encoded, counts)
    }
}

fn thresholds_in<T: Float>(encoded: &[&[u8]], counts: &[usize]) -> Result<Thresholds> {
    let mismatch = |why: &str| {
        Error::Invalid(format!(
            "the threshold summaries do not match the label counts ({why}); did a chunk \
             change between rounds?"
        ))
    };
    // An encoded value takes 8 bytes, a leaf of up to 128 values 16: more values than the bytes
    // could describe is a mismatch, refused before planning (plans take memory per value).
    let bytes: usize = encoded.iter().map(|b| b.len()).sum();
    let values = total_count(counts)?;
    if values / 8 > bytes {
        return Err(mismatch("too few bytes"));
    }
    let plans = plans_for(counts)?;
    let mut ranges = Vec::new();
    for bytes in encoded {
        let mut rest = *bytes;
        while !rest.is_empty() {
            let pieces = (0..counts.len())
                .map(|_| Piece::<T>::decode(&mut rest))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| mismatch("a summary ends early"))?;
            ranges.push(pieces);
        }
    }
    for (c, plan) in plans.iter().enumerate() {
        check_pieces(plan, ranges.iter().map(|r: &Vec<Piece<T>>| &r[c]))
            .map_err(|why| mismatch(&format!("class {c}: {why}")))?;
    }
    Ok(thresholds_from_pieces(counts, &plans, ranges))
}

/// Round 3's summary of one chunk.
#[derive(Clone, Debug, PartialEq)]
pub struct ScanSummary {
    /// K×K joint counts (row = given label), diagonal not clipped.
    pub joint: Vec<i64>,
    /// Tokens counted off the diagonal that the `+1e-6` unflag step keeps.
    pub off_diagonal_not_near: usize,
    /// The first probability outside [0, 1], with its dataset position.
    pub outside_unit: Outside,
}

/// Round 3: validates the chunk's probabilities and counts its confident joint. Errors name
/// dataset positions (`offset`: position of the chunk's first token).
pub fn chunk_scan(
    labels: &[u32],
    probs: &Probs,
    thresholds: &Thresholds,
    offset: usize,
    threads: usize,
) -> Result<ScanSummary> {
    let w = Workers::new(threads);
    let ranges = w.ranges(labels.len());
    let scan = if probs.is_f64() {
        joint::scan::<f64>(labels, probs, thresholds, &w, &ranges)
    } else {
        joint::scan::<f32>(labels, probs, thresholds, &w, &ranges)
    }
    .map_err(|e| shifted(e, offset))?;
    let off_diagonal_not_near = scan
        .flags
        .iter()
        .filter(|&&f| f & OFF_DIAGONAL != 0 && f & NEAR_LABEL == 0)
        .count();
    Ok(ScanSummary {
        joint: scan.joint,
        off_diagonal_not_near,
        outside_unit: scan.outside_unit.map(|(r, c, v)| (r + offset, c, v)),
    })
}

fn shifted(e: Error, offset: usize) -> Error {
    match e {
        Error::NotFinite { row, class, value } => Error::NotFinite {
            row: row + offset,
            class,
            value,
        },
        Error::OutOfRange { row, class, value } => Error::OutOfRange {
            row: row + offset,
            class,
            value,
        },
        other => other,
    }
}

/// What rounds 4 and 5 need to know of the whole dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct ScanTotals {
    /// Prune counts (row = guess, column = given label), for the pruning filters.
    pub prune_counts: Option<Vec<i64>>,
    /// How many lowest scores `low_self_confidence` and `low_normalized_margin` take.
    pub wanted: usize,
}

/// Combines every chunk's [`chunk_scan`] (in chunk order): the first invalid value of the
/// dataset is the error; otherwise the prune counts and the number of tokens to take.
pub fn combine_scans(
    scans: Vec<Result<ScanSummary>>,
    counts: &[usize],
    opts: &Options,
) -> Result<ScanTotals> {
    let k = counts.len();
    total_count(counts)?;
    let mut joint = vec![0i64; k * k];
    let mut wanted = 0;
    let mut outside = None;
    // Chunks come in order, so the first error is the one at the lowest position.
    for scan in scans {
        let scan = scan?;
        for (a, b) in joint.iter_mut().zip(&scan.joint) {
            *a += b;
        }
        wanted += scan.off_diagonal_not_near;
        outside = outside.or(scan.outside_unit);
    }
    if opts.rank_by == Some(Method::ConfidenceWeightedEntropy) {
        if let Some((row, class, value)) = outside {
            return Err(Error::EntropyDomain { row, class, value });
        }
    }
    let prune_counts =
        prunes(opts.filter_by).then(|| filter::prune_matrix(opts, &joint, counts, k));
    Ok(ScanTotals {
        prune_counts,
        wanted,
    })
}

fn prunes(filter_by: FilterBy) -> bool {
    matches!(
        filter_by,
        FilterBy::PruneByNoiseRate | FilterBy::PruneByClass | FilterBy::Both
    )
}

fn takes_lowest(filter_by: FilterBy) -> bool {
    matches!(
        filter_by,
        FilterBy::LowSelfConfidence | FilterBy::LowNormalizedMargin
    )
}

/// Candidates of one chunk: (bucket, key, dataset position). Buckets: `c * K + j` for the
/// tokens labelled c that class j prunes, `K * K + c` for `prune_by_class` on class c, and 0
/// for the lowest scores of the `low_*` filters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Candidates {
    pub bucket: Vec<u32>,
    pub key: Vec<f64>,
    pub pos: Vec<usize>,
}

impl Candidates {
    fn extend(&mut self, bucket: usize, items: Vec<Keyed>, offset: usize) {
        for item in items {
            self.bucket.push(bucket as u32);
            self.key.push(item.key);
            self.pos.push(item.pos + offset);
        }
    }
}

/// The number of tokens, from the label counts of the whole dataset (which a client may have
/// been sent from anywhere: refused if they overflow).
pub fn total_count(counts: &[usize]) -> Result<usize> {
    counts
        .iter()
        .try_fold(0usize, |a, &c| a.checked_add(c))
        .ok_or_else(|| Error::Invalid("the label counts add up to more than usize::MAX".into()))
}

/// The most classes the chunked rounds take: bucket ids (`K * K + K` of them) travel as u32.
pub const MAX_CLASSES: usize = 65_535;

/// Refuses a number of classes whose bucket ids would not fit u32.
pub fn check_num_classes(k: usize) -> Result<()> {
    if k > MAX_CLASSES {
        return Err(Error::Invalid(format!(
            "{k} classes; the chunked (Dask) path takes at most {MAX_CLASSES}, as its bucket ids \
             travel as 32-bit integers (the in-memory functions take any number)"
        )));
    }
    Ok(())
}

/// What each chunk sends per bucket (indexed as [`Candidates`] buckets): its best `n`,
/// restricted to items before the bound when there is one.
pub type Take = Vec<Option<(usize, Option<Keyed>)>>;

/// How many tokens the filter takes from each bucket.
fn bucket_sizes(totals: &ScanTotals, counts: &[usize], opts: &Options) -> Vec<Option<usize>> {
    let k = counts.len();
    let mut sizes = vec![None; k * k + k];
    if takes_lowest(opts.filter_by) {
        sizes[0] = Some(totals.wanted);
    } else if let Some(pcm) = &totals.prune_counts {
        let min = opts.min_examples_per_class;
        if opts.filter_by != FilterBy::PruneByNoiseRate {
            for (c, n) in prune::class_wanted(pcm, counts, min)
                .into_iter()
                .enumerate()
            {
                sizes[k * k + c] = n;
            }
        }
        if opts.filter_by != FilterBy::PruneByClass {
            for (c, per_class) in prune::noise_rate_wanted(pcm, counts, min)
                .iter()
                .enumerate()
            {
                for &(j, n) in per_class {
                    sizes[c * k + j] = Some(n);
                }
            }
        }
    }
    sizes
}

/// Picks the best `n` of every bucket from `candidates`.
fn pick(candidates: &Candidates, sizes: &[Option<usize>]) -> Result<Vec<Option<Smallest>>> {
    let c = candidates;
    if c.key.len() != c.bucket.len() || c.pos.len() != c.bucket.len() {
        return Err(Error::Invalid("candidate arrays differ in length".into()));
    }
    let mut pickers: Vec<Option<Smallest>> = sizes.iter().map(|n| n.map(Smallest::new)).collect();
    for ((&b, &key), &pos) in c.bucket.iter().zip(&c.key).zip(&c.pos) {
        match pickers.get_mut(b as usize) {
            Some(Some(p)) => p.push(Keyed::new(key, pos)),
            _ => return Err(Error::Invalid(format!("candidate of unknown bucket {b}"))),
        }
    }
    Ok(pickers)
}

/// Round 4 is two exchanges (a distributed top-n): first every chunk sends about twice its
/// share of each bucket's `n`; the `n`-th best of those bounds the true `n`-th from above, so
/// then every chunk sends only its best `n` before that bound. `first`: `None` plans the first
/// exchange, the candidates of the first plan the second.
pub fn plan_candidates(
    first: Option<&Candidates>,
    totals: &ScanTotals,
    counts: &[usize],
    opts: &Options,
    chunks: usize,
) -> Result<Take> {
    check_num_classes(counts.len())?;
    total_count(counts)?;
    let sizes = bucket_sizes(totals, counts, opts);
    let Some(first) = first else {
        let share = |n: usize| n.min((2 * n).div_ceil(chunks.max(1)) + 16);
        return Ok(sizes.iter().map(|n| n.map(|n| (share(n), None))).collect());
    };
    Ok(pick(first, &sizes)?
        .into_iter()
        .zip(&sizes)
        .map(|(p, n)| {
            let (p, n) = (p?, (*n)?);
            let best = p.into_sorted();
            let bound = (best.len() == n).then(|| best.last().copied()).flatten();
            // Everything up to and including the n-th item: positions are integers.
            Some((
                n,
                bound.map(|b| Keyed {
                    key: b.key,
                    pos: b.pos + 1,
                }),
            ))
        })
        .collect())
}

/// Round 4 on a chunk: its candidates of every bucket, as `take` asks.
pub fn chunk_candidates(
    labels: &[u32],
    probs: &Probs,
    take: &Take,
    opts: &Options,
    offset: usize,
) -> Result<Candidates> {
    check_num_classes(probs.num_classes())?;
    by_dtype!(probs, candidates_in(labels, probs, take, opts, offset))
}

fn candidates_in<T: Float>(
    labels: &[u32],
    probs: &Probs,
    take: &Take,
    opts: &Options,
    offset: usize,
) -> Result<Candidates> {
    let k = probs.num_classes();
    if take.len() != k * k + k {
        return Err(Error::Invalid(
            "the candidate plan does not match the classes".into(),
        ));
    }
    let w = Workers::new(opts.threads);
    let ranges = w.ranges(labels.len());
    let fresh = |b: usize| {
        take[b].map(|(n, bound)| match bound {
            Some(bound) => Smallest::below(n, bound),
            None => Smallest::new(n),
        })
    };
    let mut out = Candidates::default();
    if takes_lowest(opts.filter_by) {
        let scorer = Scorer::unadjusted(lowest_by(opts.filter_by));
        let make = || fresh(0).unwrap_or_else(|| Smallest::new(0));
        let picked = filter::lowest_scores_in::<T>(labels, probs, &scorer, make, &w, &ranges);
        out.extend(0, picked.into_sorted(), offset);
        return Ok(out);
    }
    if opts.filter_by != FilterBy::PruneByNoiseRate {
        let make = || (0..k).map(|c| fresh(k * k + c)).collect();
        for (c, p) in prune::class_pickers::<T>(labels, probs, make, None, &w, &ranges)
            .into_iter()
            .enumerate()
        {
            if let Some(p) = p {
                out.extend(k * k + c, p.into_sorted(), offset);
            }
        }
    }
    if opts.filter_by != FilterBy::PruneByClass {
        let make = || {
            (0..k)
                .map(|c| {
                    (0..k)
                        .filter_map(|j| fresh(c * k + j).map(|p| (j, p)))
                        .collect()
                })
                .collect()
        };
        for (c, per_class) in prune::rate_pickers::<T>(labels, probs, make, None, &w, &ranges)
            .into_iter()
            .enumerate()
        {
            for (j, p) in per_class {
                out.extend(c * k + j, p.into_sorted(), offset);
            }
        }
    }
    Ok(out)
}

fn lowest_by(filter_by: FilterBy) -> Method {
    if filter_by == FilterBy::LowSelfConfidence {
        Method::SelfConfidence
    } else {
        Method::NormalizedMargin
    }
}

/// The tokens the filter selects (dataset positions, ascending), from every chunk's
/// candidates of the second exchange. Not needed by `confident_learning` and
/// `predicted_neq_given`.
pub fn combine_candidates(
    candidates: &Candidates,
    totals: &ScanTotals,
    counts: &[usize],
    opts: &Options,
) -> Result<Vec<usize>> {
    let k = counts.len();
    check_num_classes(k)?;
    total_count(counts)?;
    let mut pickers = pick(candidates, &bucket_sizes(totals, counts, opts))?;
    let mut positions = |range: std::ops::Range<usize>| {
        let mut v: Vec<usize> = pickers[range]
            .iter_mut()
            .filter_map(Option::take)
            .flat_map(Smallest::positions)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    Ok(match opts.filter_by {
        FilterBy::PruneByClass => positions(k * k..k * k + k),
        FilterBy::Both => {
            let by_class = positions(k * k..k * k + k);
            let mut by_rate = positions(0..k * k);
            by_rate.retain(|f| by_class.binary_search(f).is_ok());
            by_rate
        }
        _ => positions(0..k * k),
    })
}

/// Round 5: the chunk's label issues with their ranking scores (0 when unranked), given the
/// dataset's thresholds and the tokens [`combine_candidates`] selected within the chunk
/// (positions relative to the chunk).
pub fn chunk_issues(
    labels: &[u32],
    probs: &Probs,
    thresholds: &Thresholds,
    selected: &[usize],
    opts: &Options,
    offset: usize,
) -> Result<Vec<Keyed>> {
    by_dtype!(
        probs,
        issues_in(labels, probs, thresholds, selected, opts, offset)
    )
}

fn issues_in<T: Float>(
    labels: &[u32],
    probs: &Probs,
    thresholds: &Thresholds,
    selected: &[usize],
    opts: &Options,
    offset: usize,
) -> Result<Vec<Keyed>> {
    let w = Workers::new(opts.threads);
    if let Some(&f) = selected.iter().find(|&&f| f >= labels.len()) {
        return Err(Error::Invalid(format!(
            "selected token {f} is not in the chunk"
        )));
    }
    let issues: Vec<usize> = match opts.filter_by {
        // Only these two need every row's flags; the others read the selected rows alone.
        FilterBy::ConfidentLearning | FilterBy::PredictedNeqGiven => {
            let ranges = w.ranges(labels.len());
            let mut flags = joint::scan::<T>(labels, probs, thresholds, &w, &ranges)
                .map_err(|e| shifted(e, offset))?
                .flags;
            let bit = if opts.filter_by == FilterBy::ConfidentLearning {
                OFF_DIAGONAL
            } else {
                PREDICTED_NEQ_GIVEN
            };
            filter::mark(&mut flags, bit);
            filter::collect(&flags, NEAR_LABEL, &w, &ranges)
        }
        _ if takes_lowest(opts.filter_by) => selected.to_vec(),
        _ => {
            let mut buf = vec![T::ZERO; probs.num_classes()];
            selected
                .iter()
                .copied()
                .filter(|&f| {
                    !joint::label_wins_with_slack(probs.row(f, &mut buf), labels[f] as usize)
                })
                .collect()
        }
    };
    Ok(match opts.rank_by {
        None => issues
            .into_iter()
            .map(|f| Keyed::new(0.0, f + offset))
            .collect(),
        Some(method) => {
            let adjust = opts.adjust_pred_probs.then_some(thresholds);
            let scorer = Scorer::new(method, adjust)?;
            let blank = Keyed::new(0.0, 0);
            filter::score_issues::<T, _>(
                labels,
                probs,
                &issues,
                &scorer,
                offset,
                &w,
                blank,
                Keyed::new,
            )
        }
    })
}

/// The dataset positions of the issues, ranked, from every chunk's [`chunk_issues`].
pub fn combine_issues(keyed: Vec<Keyed>, threads: usize) -> Vec<usize> {
    let packed = keyed.iter().map(Keyed::packed).collect();
    filter::ranked(
        packed,
        Vec::with_capacity(keyed.len()),
        &Workers::new(threads),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// Round 2 takes `first` and `counts` from the caller: counts that cannot hold the chunk,
    /// or too large to plan for, are errors (a failed allocation used to abort).
    #[test]
    fn round_2_refuses_counts_that_do_not_fit() {
        let p = Array2::from_elem((3, 2), 0.5);
        let probs = Probs::from_view_f64(p.view()).unwrap();
        let labels = [0, 1, 1];
        let run =
            |first: &[usize], counts: &[usize]| chunk_thresholds(&labels, &probs, first, counts, 1);
        assert!(run(&[0, 0], &[1, 2]).is_ok());
        assert!(matches!(run(&[0], &[1]), Err(Error::Invalid(_))));
        assert!(matches!(run(&[0, 0], &[1, 1]), Err(Error::Invalid(_))));
        assert!(matches!(
            run(&[0, usize::MAX], &[1, usize::MAX]),
            Err(Error::Invalid(_))
        ));
        assert!(matches!(
            run(&[0, 0], &[usize::MAX, 2]),
            Err(Error::Invalid(_))
        ));
        assert!(matches!(
            run(&[0, 0], &[1 << 62, 2]),
            Err(Error::NoMemory(_))
        ));
    }

    /// Runs every round over chunks cut at `cuts`, as a distributed engine would.
    fn chunked(
        labels: &[u32],
        p: &Array2<f64>,
        cuts: &[usize],
        opts: &Options,
    ) -> Result<Vec<usize>> {
        let k = p.ncols();
        let mut edges = vec![0];
        edges.extend(cuts.iter().copied());
        edges.push(labels.len());
        let chunks: Vec<(usize, usize)> = edges.windows(2).map(|w| (w[0], w[1])).collect();
        let views: Vec<Probs> = chunks
            .iter()
            .map(|&(a, b)| Probs::from_view_f64(p.slice(ndarray::s![a..b, ..])).unwrap())
            .collect();
        let per_chunk: Vec<Vec<usize>> = chunks
            .iter()
            .map(|&(a, b)| chunk_counts(&labels[a..b], k))
            .collect();
        let mut counts = vec![0; k];
        let mut firsts = Vec::new();
        for c in &per_chunk {
            firsts.push(counts.clone());
            for (t, n) in counts.iter_mut().zip(c) {
                *t += n;
            }
        }
        filter::check_options(filter::single_class(labels.iter().copied()), k, opts)?;
        let encoded: Vec<Vec<u8>> = chunks
            .iter()
            .zip(&views)
            .zip(&firsts)
            .map(|((&(a, b), v), first)| chunk_thresholds(&labels[a..b], v, first, &counts, 2))
            .collect::<Result<_>>()?;
        let slices: Vec<&[u8]> = encoded.iter().map(Vec::as_slice).collect();
        let t = combine_thresholds(&slices, &counts, true)?;
        let scans = chunks
            .iter()
            .zip(&views)
            .map(|(&(a, b), v)| chunk_scan(&labels[a..b], v, &t, a, 2))
            .collect();
        let plan = combine_scans(scans, &counts, opts)?;
        let mut all: Option<Candidates> = None;
        for _exchange in 0..2 {
            let take = plan_candidates(all.as_ref(), &plan, &counts, opts, chunks.len())?;
            let mut found = Candidates::default();
            for (&(a, b), v) in chunks.iter().zip(&views) {
                let c = chunk_candidates(&labels[a..b], v, &take, opts, a)?;
                found.bucket.extend(c.bucket);
                found.key.extend(c.key);
                found.pos.extend(c.pos);
            }
            all = Some(found);
        }
        let all = all.unwrap();
        let selected = combine_candidates(&all, &plan, &counts, opts)?;
        let mut keyed = Vec::new();
        for (&(a, b), v) in chunks.iter().zip(&views) {
            let mine: Vec<usize> = selected
                .iter()
                .filter(|&&f| a <= f && f < b)
                .map(|f| f - a)
                .collect();
            keyed.extend(chunk_issues(&labels[a..b], v, &t, &mine, opts, a)?);
        }
        Ok(combine_issues(keyed, 2))
    }

    fn data(n: usize, k: usize, seed: u64) -> (Vec<u32>, Array2<f64>) {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut p = Array2::from_shape_fn((n, k), |_| (next() % 1000) as f64 + 1.0);
        for mut row in p.rows_mut() {
            let s: f64 = row.sum();
            row.mapv_inplace(|v| v / s);
        }
        // Mostly the argmax, sometimes another class (a label error), class k-1 rare.
        let labels = (0..n)
            .map(|i| {
                let r = next();
                let top = joint::argmax(p.row(i).as_slice().unwrap()) as u32;
                if r % 10 == 0 {
                    (r / 10 % (k as u64 - 1)) as u32
                } else {
                    top
                }
            })
            .collect();
        (labels, p)
    }

    #[test]
    fn any_cut_gives_the_single_machine_answer() {
        let (labels, p) = data(3000, 5, 7);
        let probs = Probs::from_view_f64(p.view()).unwrap();
        for filter_by in FilterBy::NAMES {
            for rank_by in [
                None,
                Some(Method::SelfConfidence),
                Some(Method::NormalizedMargin),
            ] {
                let opts = Options {
                    filter_by: FilterBy::parse(filter_by).unwrap(),
                    rank_by,
                    ..Options::default()
                };
                let whole = filter::find_label_issues(&labels, &probs, &opts).unwrap();
                assert!(!whole.is_empty());
                for cuts in [vec![], vec![1], vec![129, 130, 1000], vec![7, 1500, 2999]] {
                    let got = chunked(&labels, &p, &cuts, &opts).unwrap();
                    assert_eq!(got, whole, "{filter_by} {rank_by:?} cut at {cuts:?}");
                }
            }
        }
    }

    #[test]
    fn chunks_holding_most_of_the_best_candidates_need_the_second_exchange() {
        // Rows sorted by the probability of the given label: the first chunks hold nearly
        // every token worth pruning, so the first exchange's bound is loose.
        let (labels, p) = data(4000, 4, 3);
        let mut order: Vec<usize> = (0..labels.len()).collect();
        order.sort_by(|&a, &b| p[[a, labels[a] as usize]].total_cmp(&p[[b, labels[b] as usize]]));
        let labels: Vec<u32> = order.iter().map(|&i| labels[i]).collect();
        let p = p.select(ndarray::Axis(0), &order);
        let probs = Probs::from_view_f64(p.view()).unwrap();
        let cuts: Vec<usize> = (1..16).map(|i| i * 250).collect();
        for filter_by in FilterBy::NAMES {
            let opts = Options {
                filter_by: FilterBy::parse(filter_by).unwrap(),
                ..Options::default()
            };
            let whole = filter::find_label_issues(&labels, &probs, &opts).unwrap();
            assert_eq!(
                chunked(&labels, &p, &cuts, &opts).unwrap(),
                whole,
                "{filter_by}"
            );
        }
    }

    #[test]
    fn the_first_invalid_value_of_the_dataset_is_reported() {
        let (labels, mut p) = data(500, 3, 1);
        p[[420, 1]] = f64::NAN;
        p[[90, 2]] = 1.5;
        let opts = Options::default();
        let err = chunked(&labels, &p, &[100, 300], &opts).unwrap_err();
        assert!(
            matches!(
                err,
                Error::OutOfRange {
                    row: 90,
                    class: 2,
                    ..
                }
            ),
            "{err:?}"
        );
    }
}
