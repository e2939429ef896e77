//! The whole job: which tokens are label issues, ranked.

use crate::error::{Error, Result};
use crate::float::Float;
use crate::joint::{
    self, argmax, NEAR_LABEL, OFF_DIAGONAL, PREDICTED_NEQ_GIVEN, SELECTED, SELECTED_BY_CLASS,
};
use crate::parallel::{self, Workers};
use crate::prune;
use crate::ragged::by_dtype;
use crate::ragged::Probs;
use crate::rank::{Keyed, Smallest};
use crate::scores::{Method, Scorer};
use crate::thresholds::{
    batched_thresholds, check_row, confident_thresholds, confident_thresholds_given, Outside, SLACK,
};
use std::ops::Range;

/// Which tokens count as issues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterBy {
    PruneByNoiseRate,
    PruneByClass,
    Both,
    ConfidentLearning,
    PredictedNeqGiven,
    LowSelfConfidence,
    LowNormalizedMargin,
}

impl FilterBy {
    pub const NAMES: [&'static str; 7] = [
        "prune_by_noise_rate",
        "prune_by_class",
        "both",
        "confident_learning",
        "predicted_neq_given",
        "low_self_confidence",
        "low_normalized_margin",
    ];

    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "prune_by_noise_rate" => FilterBy::PruneByNoiseRate,
            "prune_by_class" => FilterBy::PruneByClass,
            "both" => FilterBy::Both,
            "confident_learning" => FilterBy::ConfidentLearning,
            "predicted_neq_given" => FilterBy::PredictedNeqGiven,
            "low_self_confidence" => FilterBy::LowSelfConfidence,
            "low_normalized_margin" => FilterBy::LowNormalizedMargin,
            _ => return None,
        })
    }

    fn prunes(self) -> bool {
        matches!(
            self,
            FilterBy::PruneByNoiseRate | FilterBy::PruneByClass | FilterBy::Both
        )
    }
}

/// Everything `find_label_issues` can be asked, with cleanlab's defaults.
#[derive(Clone, Debug)]
pub struct Options {
    pub filter_by: FilterBy,
    /// `None`: issues in position order.
    pub rank_by: Option<Method>,
    pub adjust_pred_probs: bool,
    pub frac_noise: f64,
    pub num_to_remove_per_class: Option<Vec<i64>>,
    pub min_examples_per_class: f64,
    /// Row = given label, column = guess, K×K row-major.
    pub confident_joint: Option<Vec<f64>>,
    pub low_memory: bool,
    /// A dataset whose labels are all class 0 is accepted (cleanlab allows it for Python ints).
    pub allow_one_class: bool,
    /// Worker threads; 0 = `TOKENCLEAN_NUM_THREADS` or all cores. Never changes the answer.
    pub threads: usize,
    /// The supplied `confident_joint` was column-major (numpy then sums differently).
    pub joint_column_major: bool,
    /// Row sums (entropy, `adjust_pred_probs`) run across columns one at a time, as numpy does
    /// for probabilities stored column-major. cleanlab's token function always flattens to
    /// row-major, so only the multi-class entry point sets this.
    pub sequential_row_sums: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            filter_by: FilterBy::PruneByNoiseRate,
            rank_by: Some(Method::SelfConfidence),
            adjust_pred_probs: false,
            frac_noise: 1.0,
            num_to_remove_per_class: None,
            min_examples_per_class: 1.0,
            confident_joint: None,
            low_memory: false,
            allow_one_class: false,
            threads: 0,
            joint_column_major: false,
            sequential_row_sums: false,
        }
    }
}

/// cleanlab's `low_memory` batch size.
pub const LOW_MEMORY_BATCH: usize = 10_000;

/// Flat indices of the label issues, ranked by `opts.rank_by` (ascending score, ties by
/// position) or in position order.
pub fn find_label_issues(labels: &[u32], probs: &Probs, opts: &Options) -> Result<Vec<usize>> {
    let k = probs.num_classes();
    check_labels(labels, probs)?;
    check_options(single_class(labels.iter().copied()), k, opts)?;
    by_dtype!(probs, run(labels, probs, opts))
}

/// Class ids from raw integer labels, refusing the first outside `0..k`; `offset` is the
/// dataset position of the first label (errors name dataset positions).
pub fn class_ids(
    raw: impl ExactSizeIterator<Item = i64>,
    k: usize,
    offset: usize,
) -> Result<Vec<u32>> {
    let mut ids = Vec::with_capacity(raw.len());
    for (f, l) in raw.enumerate() {
        if l < 0 || l as u64 >= k as u64 {
            return Err(Error::BadLabel {
                row: f + offset,
                label: l,
                num_classes: k,
            });
        }
        ids.push(l as u32);
    }
    Ok(ids)
}

/// [`class_ids`] of a slice: one vector sweep checks them all, the first bad one is then
/// looked for only if there is one.
pub fn class_ids_of(raw: &[i64], k: usize, offset: usize) -> Result<Vec<u32>> {
    if raw.iter().fold(true, |ok, &l| ok & ((l as u64) < k as u64)) {
        Ok(raw.iter().map(|&l| l as u32).collect())
    } else {
        class_ids(raw.iter().copied(), k, offset)
    }
}

/// Refuses the first class id at or above `k`. `wide`: the position and value of the first
/// label that did not fit u32 (its id is `u32::MAX`), quoted if it is the one refused.
pub fn check_class_ids(ids: &[u32], k: usize, wide: Option<(usize, i64)>) -> Result<()> {
    if wide.is_none() && ids.iter().fold(true, |ok, &l| ok & ((l as usize) < k)) {
        return Ok(());
    }
    let bad = ids
        .iter()
        .enumerate()
        .find(|&(f, &l)| l as usize >= k || wide.is_some_and(|(w, _)| w == f));
    match bad {
        Some((f, &l)) => Err(Error::BadLabel {
            row: f,
            label: wide.filter(|&(w, _)| w == f).map_or(l as i64, |(_, v)| v),
            num_classes: k,
        }),
        None => Ok(()),
    }
}

/// Same number of labels and rows, at least one, every label a class index.
pub fn check_labels(labels: &[u32], probs: &Probs) -> Result<()> {
    let k = probs.num_classes();
    if labels.is_empty() || probs.is_empty() {
        return Err(Error::Empty);
    }
    if labels.len() != probs.len() {
        return Err(Error::Invalid(format!(
            "{} labels but {} rows of probabilities",
            labels.len(),
            probs.len()
        )));
    }
    match labels.iter().enumerate().find(|(_, &l)| l as usize >= k) {
        Some((f, &l)) => Err(Error::BadLabel {
            row: f,
            label: l as i64,
            num_classes: k,
        }),
        None => Ok(()),
    }
}

/// The class of every label, if they are all the same.
pub(crate) fn single_class(mut labels: impl Iterator<Item = u32>) -> Option<u32> {
    let first = labels.next()?;
    labels.all(|l| l == first).then_some(first)
}

/// Checks the options against K and the labels (`single_class`: see [`single_class`]).
pub(crate) fn check_options(single_class: Option<u32>, k: usize, opts: &Options) -> Result<()> {
    if let Some(first) = single_class {
        if !(opts.allow_one_class && first == 0) {
            return Err(Error::Invalid(format!(
                "every label is class {first}; labels must contain at least 2 classes"
            )));
        }
    }
    // cleanlab re-validates labels without its one-class allowance on these paths.
    let revalidated = matches!(
        opts.filter_by,
        FilterBy::LowSelfConfidence | FilterBy::LowNormalizedMargin | FilterBy::PredictedNeqGiven
    );
    if revalidated && !opts.low_memory && single_class.is_some() {
        return Err(Error::Invalid(format!(
            "filter_by='{}' needs labels of at least 2 classes",
            FilterBy::NAMES[opts.filter_by as usize]
        )));
    }
    if opts.adjust_pred_probs && opts.rank_by == Some(Method::ConfidenceWeightedEntropy) {
        return Err(Error::Invalid(crate::scores::ADJUSTED_ENTROPY.into()));
    }
    if k < 2 && opts.rank_by == Some(Method::NormalizedMargin) {
        return Err(Error::Invalid(
            "normalized_margin needs at least 2 classes".into(),
        ));
    }
    if !opts.frac_noise.is_finite() || !opts.min_examples_per_class.is_finite() {
        return Err(Error::Invalid(
            "frac_noise and min_examples_per_class must be finite".into(),
        ));
    }
    if let Some(r) = &opts.num_to_remove_per_class {
        if !opts.filter_by.prunes() {
            return Err(Error::Invalid(format!(
                "num_to_remove_per_class only works with filter_by 'prune_by_noise_rate', \
                 'prune_by_class' or 'both', not '{}'",
                FilterBy::NAMES[opts.filter_by as usize]
            )));
        }
        if r.len() != k {
            return Err(Error::Invalid(format!(
                "num_to_remove_per_class has {} entries; it needs one per class ({k})",
                r.len()
            )));
        }
    }
    if let Some(cj) = &opts.confident_joint {
        prune::check_joint(cj, k)?;
    }
    Ok(())
}

fn run<T: Float>(labels: &[u32], probs: &Probs, opts: &Options) -> Result<Vec<usize>> {
    let n = labels.len();
    let w = Workers::new(opts.threads);
    let ranges = w.ranges(n);
    if opts.low_memory {
        return run_low_memory::<T>(labels, probs, opts, &w, &ranges);
    }
    let k = probs.num_classes();
    // Given-class probabilities, kept from the thresholds pass when a selection scores every
    // token by them: a dense read instead of another pass over the rows. Ranking reads only
    // the issues' rows, which costs less than keeping a value per token.
    let plain_self = opts.rank_by == Some(Method::SelfConfidence) && !opts.adjust_pred_probs;
    let by_given = matches!(
        opts.filter_by,
        FilterBy::PruneByClass | FilterBy::Both | FilterBy::LowSelfConfidence
    );
    let (thresholds, counts, given) = if by_given {
        let (t, c, g) = confident_thresholds_given::<T>(labels, probs, &w, &ranges);
        (t, c, Some(g))
    } else {
        let (t, c) = confident_thresholds::<T>(labels, probs, &w, &ranges);
        (t, c, None)
    };
    let given = given.as_deref();
    let mut scan = joint::scan::<T>(labels, probs, &thresholds, &w, &ranges)?;
    if opts.rank_by == Some(Method::ConfidenceWeightedEntropy) {
        if let Some((row, class, value)) = scan.outside_unit {
            return Err(Error::EntropyDomain { row, class, value });
        }
    }

    let mut unflag = true;
    match opts.filter_by {
        FilterBy::ConfidentLearning => mark(&mut scan.flags, OFF_DIAGONAL),
        FilterBy::PredictedNeqGiven => mark(&mut scan.flags, PREDICTED_NEQ_GIVEN),
        FilterBy::LowSelfConfidence | FilterBy::LowNormalizedMargin => {
            unflag = false;
            let method = if opts.filter_by == FilterBy::LowSelfConfidence {
                Method::SelfConfidence
            } else {
                Method::NormalizedMargin
            };
            let wanted = scan
                .flags
                .iter()
                .filter(|&&f| f & OFF_DIAGONAL != 0 && f & NEAR_LABEL == 0)
                .count();
            let picked = match given.filter(|_| method == Method::SelfConfidence) {
                Some(given) => lowest_given(given, wanted, &w, &ranges),
                None => {
                    let scorer = Scorer::unadjusted(method);
                    lowest_scores::<T>(labels, probs, &scorer, wanted, &w, &ranges)
                }
            };
            for f in picked.positions() {
                scan.flags[f] |= SELECTED;
            }
        }
        FilterBy::PruneByNoiseRate | FilterBy::PruneByClass | FilterBy::Both => {
            let pcm = prune_matrix(opts, &scan.joint, &counts, k);
            let min = opts.min_examples_per_class;
            if opts.filter_by != FilterBy::PruneByNoiseRate {
                let bit = if opts.filter_by == FilterBy::Both {
                    SELECTED_BY_CLASS
                } else {
                    SELECTED
                };
                for f in prune::select_by_class::<T>(
                    labels, probs, &pcm, &counts, min, given, &w, &ranges,
                ) {
                    scan.flags[f] |= bit;
                }
            }
            if opts.filter_by != FilterBy::PruneByClass {
                let both = opts.filter_by == FilterBy::Both;
                // Tokens topped by their label have no negative margin: most pickers never
                // need them, so only the others are read first. Listed as u32 (half the
                // memory of usize) when every position fits.
                let not_top = positions_fit_u32(n).then(|| {
                    positions(&scan.flags, PREDICTED_NEQ_GIVEN, 0, &w, &ranges, |f| {
                        f as u32
                    })
                });
                let picked = prune::select_by_noise_rate::<T>(
                    labels,
                    probs,
                    &pcm,
                    &counts,
                    min,
                    not_top.as_deref(),
                    &w,
                    &ranges,
                );
                for f in picked {
                    if !both || scan.flags[f] & SELECTED_BY_CLASS != 0 {
                        scan.flags[f] |= SELECTED;
                    }
                }
            }
        }
    }
    let drop_near = if unflag { NEAR_LABEL } else { 0 };
    let issues = collect(&scan.flags, drop_near, &w, &ranges);
    match (opts.rank_by, given) {
        (None, _) => Ok(issues),
        (Some(_), Some(given)) if plain_self => {
            let packed: Vec<u128> = issues
                .iter()
                .map(|&f| Keyed::new(given[f].to_f64(), f).packed())
                .collect();
            Ok(ranked(packed, issues, &w))
        }
        (Some(method), _) => {
            let adjust = opts.adjust_pred_probs.then_some(&thresholds);
            Ok(rank_issues::<T>(
                labels,
                probs,
                issues,
                &Scorer::new(method, adjust)?.sequential_row_sums(opts.sequential_row_sums),
                &w,
            ))
        }
    }
}

/// The prune counts (row = guess, column = given label, K×K) from the scan's joint counts, or
/// from the user's confident joint.
pub(crate) fn prune_matrix(opts: &Options, joint: &[i64], counts: &[usize], k: usize) -> Vec<i64> {
    let cj: Vec<f64> = match &opts.confident_joint {
        Some(cj) => cj.clone(),
        None => {
            let mut raw = joint.to_vec();
            joint::clip_diagonal(&mut raw, k);
            let raw: Vec<f64> = raw.iter().map(|&x| x as f64).collect();
            joint::calibrate(&raw, counts, k, true)
                .iter()
                .map(|&x| x as f64)
                .collect()
        }
    };
    let pcm = prune::prune_count_matrix(
        &cj,
        k,
        opts.min_examples_per_class,
        opts.frac_noise,
        opts.confident_joint.is_none() || !opts.joint_column_major,
    );
    match &opts.num_to_remove_per_class {
        Some(r) => prune::rescale_to_removals(&pcm, k, r, counts),
        None => pcm,
    }
}

/// Selects every token with `bit` set.
pub(crate) fn mark(flags: &mut [u8], bit: u8) {
    for f in flags.iter_mut() {
        if *f & bit != 0 {
            *f |= SELECTED;
        }
    }
}

/// Positions of selected tokens without any of `drop` bits, in order.
pub(crate) fn collect(flags: &[u8], drop: u8, w: &Workers, ranges: &[Range<usize>]) -> Vec<usize> {
    positions(flags, SELECTED, drop, w, ranges, |f| f)
}

/// Positions (as `at` gives them) of tokens with a `want` bit and none of the `drop` bits, in
/// order.
fn positions<I: Send + Copy>(
    flags: &[u8],
    want: u8,
    drop: u8,
    w: &Workers,
    ranges: &[Range<usize>],
    at: impl Fn(usize) -> I + Sync,
) -> Vec<I> {
    let parts = w.map(ranges, |r| {
        let mut out = Vec::new();
        // A bit mask per 64 tokens (one vector sweep), then only the set bits are visited.
        for (b, block) in flags[r.clone()].chunks(64).enumerate() {
            let mut mask = block.iter().enumerate().fold(0u64, |m, (i, &f)| {
                m | ((((f & want) != 0) & ((f & drop) == 0)) as u64) << i
            });
            while mask != 0 {
                out.push(at(r.start + 64 * b + mask.trailing_zeros() as usize));
                mask &= mask - 1;
            }
        }
        out
    });
    parts.concat()
}

/// The `wanted` lowest scores (stable).
pub(crate) fn lowest_scores<T: Float>(
    labels: &[u32],
    probs: &Probs,
    scorer: &Scorer,
    wanted: usize,
    w: &Workers,
    ranges: &[Range<usize>],
) -> Smallest {
    lowest_scores_in::<T>(labels, probs, scorer, || Smallest::new(wanted), w, ranges)
}

/// The lowest scores a picker from `make` keeps, over the rows of `ranges`.
pub(crate) fn lowest_scores_in<T: Float>(
    labels: &[u32],
    probs: &Probs,
    scorer: &Scorer,
    make: impl Fn() -> Smallest + Sync,
    w: &Workers,
    ranges: &[Range<usize>],
) -> Smallest {
    let parts = w.map(ranges, |r| {
        let mut pick = make();
        probs.for_each_row_in::<T>(
            r.clone(),
            #[inline(always)]
            |f, row| {
                pick.push(Keyed::new(scorer.score(row, labels[f] as usize), f));
            },
        );
        pick
    });
    let mut all = make();
    for p in parts {
        all.absorb(p);
    }
    all
}

/// The `wanted` lowest of the given-class probabilities `given` (stable).
fn lowest_given<T: Float>(
    given: &[T],
    wanted: usize,
    w: &Workers,
    ranges: &[Range<usize>],
) -> Smallest {
    let parts = w.map(ranges, |r| {
        let mut pick = Smallest::new(wanted);
        for f in r.clone() {
            pick.push_key(given[f].to_f64(), f);
        }
        pick
    });
    let mut all = Smallest::new(wanted);
    for p in parts {
        all.absorb(p);
    }
    all
}

/// Sorts `issues` by score, ties by position.
fn rank_issues<T: Float>(
    labels: &[u32],
    probs: &Probs,
    issues: Vec<usize>,
    scorer: &Scorer,
    w: &Workers,
) -> Vec<usize> {
    let packed = score_issues::<T, _>(labels, probs, &issues, scorer, 0, w, 0, |score, f| {
        Keyed::new(score, f).packed()
    });
    ranked(packed, issues, w)
}

/// The positions in `packed` ([`Keyed::packed`]) in (score, position) order, written over
/// `out`, whose buffer is reused: it is usually the issues just scored.
pub(crate) fn ranked(mut packed: Vec<u128>, mut out: Vec<usize>, w: &Workers) -> Vec<usize> {
    // Sorting packed integers is faster than comparing (f64, usize) pairs.
    w.sort(&mut packed);
    out.clear();
    out.extend(packed.iter().map(|&k| k as u64 as usize));
    out
}

/// `item(score, position + offset)` for every token in `issues` (positions in `labels`), in
/// their order, written in place (no per-thread parts to join); `blank` fills the buffer first.
#[allow(clippy::too_many_arguments)]
pub(crate) fn score_issues<T: Float, K: Copy + Send + Sync>(
    labels: &[u32],
    probs: &Probs,
    issues: &[usize],
    scorer: &Scorer,
    offset: usize,
    w: &Workers,
    blank: K,
    item: impl Fn(f64, usize) -> K + Sync + Send,
) -> Vec<K> {
    let step = parallel::CHUNK / 4;
    let parts: Vec<Range<usize>> = (0..issues.len())
        .step_by(step)
        .map(|a| a..(a + step).min(issues.len()))
        .collect();
    let ascending = issues.is_sorted();
    let mut out = vec![blank; issues.len()];
    w.map_mut(&parts, &mut out, |part, slots| {
        let chunk = &issues[part];
        let mut next = slots.iter_mut();
        let mut score = |f: usize, row: &[T]| {
            if let Some(slot) = next.next() {
                *slot = item(scorer.score(row, labels[f] as usize), f + offset);
            }
        };
        if ascending {
            probs.for_each_listed_row::<T, _>(chunk, &mut score);
        } else {
            let mut buf = vec![T::ZERO; probs.num_classes()];
            for &f in chunk {
                score(f, probs.row(f, &mut buf));
            }
        }
    });
    out
}

/// cleanlab's `low_memory=True`: batched thresholds, a count of confidently mispredicted tokens,
/// that many lowest scores, then the unflag step. Ranked by the same score (or position order).
fn run_low_memory<T: Float>(
    labels: &[u32],
    probs: &Probs,
    opts: &Options,
    w: &Workers,
    ranges: &[Range<usize>],
) -> Result<Vec<usize>> {
    let thresholds = batched_thresholds::<T>(labels, probs, LOW_MEMORY_BATCH, w);
    let cuts: Vec<f64> = thresholds.iter().map(|t| t - SLACK).collect();
    let counts = w.map(ranges, |r| -> Result<(usize, Outside)> {
        let mut wanted = 0usize;
        let mut outside = None;
        probs.try_for_each_row_in::<T, Error>(
            r.clone(),
            #[inline(always)]
            |f, row| {
                if let Some(o) = check_row(f, row)? {
                    outside.get_or_insert(o);
                }
                let top = argmax(row);
                if top != labels[f] as usize && row[top].to_f64() >= cuts[top] {
                    wanted += 1;
                }
                Ok(())
            },
        )?;
        Ok((wanted, outside))
    });
    // Invalid values first, wherever they are: the answer must not depend on the ranges.
    let counts = counts.into_iter().collect::<Result<Vec<_>>>()?;
    let wanted = counts.iter().map(|c| c.0).sum();
    if opts.rank_by == Some(Method::ConfidenceWeightedEntropy) {
        if let Some((row, class, value)) = counts.iter().find_map(|c| c.1) {
            return Err(Error::EntropyDomain { row, class, value });
        }
    }
    let scorer = Scorer::unadjusted(opts.rank_by.unwrap_or(Method::SelfConfidence));
    let picked = lowest_scores::<T>(labels, probs, &scorer, wanted, w, ranges);
    let mut buf = vec![T::ZERO; probs.num_classes()];
    let mut kept: Vec<Keyed> = picked
        .into_sorted()
        .into_iter()
        .filter(|k| {
            !joint::label_wins_with_slack(probs.row(k.pos, &mut buf), labels[k.pos] as usize)
        })
        .collect();
    if opts.rank_by.is_none() {
        kept.sort_by_key(|k| k.pos);
    }
    Ok(kept.into_iter().map(|k| k.pos).collect())
}

#[cfg(test)]
thread_local! {
    /// Set by a test to take the path of datasets of more than 4G tokens on small data.
    static AS_IF_HUGE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether every token position fits u32 (else the noise-rate pass reads all tokens).
fn positions_fit_u32(n: usize) -> bool {
    #[cfg(test)]
    if AS_IF_HUGE.with(|c| c.get()) {
        return false;
    }
    u32::try_from(n).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The path of more than 4G tokens (no list of not-top tokens, `not_top = None`) gives the
    /// answer of the usual path (`Some`), on data where the list matters.
    #[test]
    fn the_path_beyond_4g_tokens_gives_the_same_answer() {
        let (n, k) = (70_000, 5);
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut p = ndarray::Array2::<f64>::zeros((n, k));
        let mut labels = vec![0u32; n];
        for f in 0..n {
            let top = (next() % k as u64) as usize;
            for j in 0..k {
                p[[f, j]] = (next() % 100) as f64 + if j == top { 150.0 } else { 0.0 };
            }
            let total: f64 = p.row(f).sum();
            p.row_mut(f).mapv_inplace(|v| v / total);
            labels[f] = if next() % 5 == 0 {
                (next() % k as u64) as u32
            } else {
                top as u32
            };
        }
        let probs = Probs::from_view_f64(p.view()).unwrap();
        for filter_by in ["prune_by_noise_rate", "both"] {
            for threads in [1, 3] {
                let opts = Options {
                    filter_by: FilterBy::parse(filter_by).unwrap(),
                    threads,
                    ..Options::default()
                };
                let usual = find_label_issues(&labels, &probs, &opts).unwrap();
                AS_IF_HUGE.with(|c| c.set(true));
                let huge = find_label_issues(&labels, &probs, &opts);
                AS_IF_HUGE.with(|c| c.set(false));
                assert!(usual.len() > 1000, "{filter_by}: {} issues", usual.len());
                assert_eq!(huge.unwrap(), usual, "{filter_by}, {threads} threads");
            }
        }
    }

    #[test]
    fn class_ids_of_a_slice_agree_with_the_general_conversion() {
        let good: Vec<i64> = (0..1000).map(|i| i % 7).collect();
        assert_eq!(
            class_ids_of(&good, 7, 0).ok(),
            class_ids(good.iter().copied(), 7, 0).ok()
        );
        for bad in [-1i64, 7, i64::MIN, i64::MAX] {
            let mut v = good.clone();
            v[500] = bad;
            v[900] = -3;
            let err = class_ids_of(&v, 7, 10).err().map(|e| e.to_string());
            assert_eq!(
                err,
                class_ids(v.iter().copied(), 7, 10)
                    .err()
                    .map(|e| e.to_string())
            );
            assert!(
                err.is_some_and(|e| e.contains("510")),
                "first bad label, at 500 + 10"
            );
        }
    }

    #[test]
    fn checked_ids_refuse_the_first_bad_label_with_its_own_value() {
        let bad = |ids: &[u32], wide| match check_class_ids(ids, 7, wide) {
            Err(Error::BadLabel { row, label, .. }) => Some((row, label)),
            _ => None,
        };
        let mut ids: Vec<u32> = (0..1000).map(|i| i % 7).collect();
        assert!(check_class_ids(&ids, 7, None).is_ok());
        ids[600] = u32::MAX; // stands for a label that did not fit u32
        assert_eq!(bad(&ids, Some((600, -5))), Some((600, -5)));
        ids[300] = 7;
        assert_eq!(bad(&ids, Some((600, -5))), Some((300, 7)));
        // Ids too large for K on a 64-bit machine but valid u32 values keep their value.
        ids[300] = u32::MAX - 1;
        assert_eq!(bad(&ids, None), Some((300, (u32::MAX - 1) as i64)));
    }

    #[test]
    fn collect_finds_exactly_the_selected_tokens_without_dropped_bits() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let flags: Vec<u8> = (0..100_003)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 59) as u8 // five random bits: SELECTED and NEAR_LABEL among them
            })
            .collect();
        for threads in [1, 3] {
            let w = Workers::new(threads);
            for drop in [0, NEAR_LABEL] {
                let want: Vec<usize> = (0..flags.len())
                    .filter(|&f| flags[f] & SELECTED != 0 && flags[f] & drop == 0)
                    .collect();
                assert!(want.len() > 1000);
                assert_eq!(collect(&flags, drop, &w, &w.ranges(flags.len())), want);
            }
        }
    }
}
