//! The whole job: which tokens are label issues, ranked.

use crate::error::{Error, Result};
use crate::float::Float;
use crate::joint::{self, argmax, NEAR_LABEL, OFF_DIAGONAL, PREDICTED_NEQ_GIVEN};
use crate::prune;
use crate::ragged::Probs;
use crate::rank::{self, Keyed, Smallest};
use crate::scores::{check_entropy_domain, Method, Scorer};
use crate::thresholds::{batched_thresholds, confident_thresholds, SLACK};

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
        matches!(self, FilterBy::PruneByNoiseRate | FilterBy::PruneByClass | FilterBy::Both)
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
        }
    }
}

/// cleanlab's `low_memory` batch size.
pub const LOW_MEMORY_BATCH: usize = 10_000;

/// Flat indices of the label issues, ranked by `opts.rank_by` (ascending score, ties by
/// position) or in position order.
pub fn find_label_issues(labels: &[u32], probs: &Probs, opts: &Options) -> Result<Vec<usize>> {
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
    if let Some((f, &l)) = labels.iter().enumerate().find(|(_, &l)| l as usize >= k) {
        return Err(Error::BadLabel { row: f, label: l as i64, num_classes: k });
    }
    check_options(labels, k, opts)?;
    if probs.is_f64() {
        run::<f64>(labels, probs, opts)
    } else {
        run::<f32>(labels, probs, opts)
    }
}

fn check_options(labels: &[u32], k: usize, opts: &Options) -> Result<()> {
    let first = labels[0];
    if labels.iter().all(|&l| l == first) && !(opts.allow_one_class && first == 0) {
        return Err(Error::Invalid(format!(
            "every label is class {first}; labels must contain at least 2 classes"
        )));
    }
    // cleanlab re-validates labels without its one-class allowance on these paths.
    let revalidated = matches!(
        opts.filter_by,
        FilterBy::LowSelfConfidence | FilterBy::LowNormalizedMargin | FilterBy::PredictedNeqGiven
    );
    if revalidated && !opts.low_memory && labels.iter().all(|&l| l == first) {
        return Err(Error::Invalid(format!(
            "filter_by='{}' needs labels of at least 2 classes",
            FilterBy::NAMES[opts.filter_by as usize]
        )));
    }
    if opts.adjust_pred_probs && opts.rank_by == Some(Method::ConfidenceWeightedEntropy) {
        return Err(Error::Invalid(
            "adjust_pred_probs is not supported with confidence_weighted_entropy".into(),
        ));
    }
    if k < 2 && opts.rank_by == Some(Method::NormalizedMargin) {
        return Err(Error::Invalid("normalized_margin needs at least 2 classes".into()));
    }
    if !opts.frac_noise.is_finite() || !opts.min_examples_per_class.is_finite() {
        return Err(Error::Invalid("frac_noise and min_examples_per_class must be finite".into()));
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

/// Rejects NaN, infinities and probabilities outside `[-1e-6, 1 + 1e-6]` (bounds in the dtype).
pub fn check_probabilities<T: Float>(probs: &Probs) -> Result<()> {
    let lo = T::from_f64(-SLACK);
    let hi = T::from_f64(1.0 + SLACK);
    probs.try_for_each_row::<T>(|f, row| {
        for (j, &v) in row.iter().enumerate() {
            let x = v.to_f64();
            if !x.is_finite() {
                return Err(Error::NotFinite { row: f, class: j, value: x });
            }
            if v < lo || v > hi {
                return Err(Error::OutOfRange { row: f, class: j, value: x });
            }
        }
        Ok(())
    })
}

fn run<T: Float>(labels: &[u32], probs: &Probs, opts: &Options) -> Result<Vec<usize>> {
    check_probabilities::<T>(probs)?;
    if opts.rank_by == Some(Method::ConfidenceWeightedEntropy) {
        check_entropy_domain::<T>(probs)?;
    }
    if opts.low_memory {
        return run_low_memory::<T>(labels, probs, opts);
    }
    let k = probs.num_classes();
    let thresholds = confident_thresholds::<T>(labels, probs);
    let scan = joint::scan::<T>(labels, probs, &thresholds.cuts());
    let mut counts = vec![0usize; k];
    for &l in labels {
        counts[l as usize] += 1;
    }

    let mut unflag = true;
    let mask: Vec<bool> = match opts.filter_by {
        FilterBy::ConfidentLearning => scan.flags.iter().map(|&f| f & OFF_DIAGONAL != 0).collect(),
        FilterBy::PredictedNeqGiven => {
            scan.flags.iter().map(|&f| f & PREDICTED_NEQ_GIVEN != 0).collect()
        }
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
            lowest_scores::<T>(labels, probs, method, wanted)
        }
        FilterBy::PruneByNoiseRate | FilterBy::PruneByClass | FilterBy::Both => {
            let cj: Vec<f64> = match &opts.confident_joint {
                Some(cj) => cj.clone(),
                None => {
                    let mut raw = scan.joint.clone();
                    joint::clip_diagonal(&mut raw, k);
                    joint::calibrate(&raw, &counts, k).iter().map(|&x| x as f64).collect()
                }
            };
            let mut pcm =
                prune::prune_count_matrix(&cj, k, opts.min_examples_per_class, opts.frac_noise);
            if let Some(r) = &opts.num_to_remove_per_class {
                pcm = prune::rescale_to_removals(&pcm, k, r, &counts);
            }
            let min = opts.min_examples_per_class;
            match opts.filter_by {
                FilterBy::PruneByClass => prune::flag_by_class::<T>(labels, probs, &pcm, &counts, min),
                FilterBy::PruneByNoiseRate => {
                    prune::flag_by_noise_rate::<T>(labels, probs, &pcm, &counts, min)
                }
                _ => {
                    let a = prune::flag_by_class::<T>(labels, probs, &pcm, &counts, min);
                    let b = prune::flag_by_noise_rate::<T>(labels, probs, &pcm, &counts, min);
                    a.iter().zip(&b).map(|(&x, &y)| x && y).collect()
                }
            }
        }
    };
    let issues: Vec<usize> = mask
        .iter()
        .zip(&scan.flags)
        .enumerate()
        .filter(|(_, (&m, &f))| m && !(unflag && f & NEAR_LABEL != 0))
        .map(|(i, _)| i)
        .collect();
    match opts.rank_by {
        None => Ok(issues),
        Some(method) => {
            let adjust = opts.adjust_pred_probs.then_some(&thresholds);
            rank_issues::<T>(labels, probs, &issues, &Scorer::new(method, adjust)?)
        }
    }
}

/// Positions of the `wanted` lowest scores (stable), as a mask.
fn lowest_scores<T: Float>(labels: &[u32], probs: &Probs, method: Method, wanted: usize) -> Vec<bool> {
    let scorer = Scorer::unadjusted(method);
    let mut pick = Smallest::new(wanted);
    probs.for_each_row::<T>(|f, row| pick.push(Keyed::new(scorer.score(row, labels[f] as usize), f)));
    let mut mask = vec![false; labels.len()];
    for f in pick.positions() {
        mask[f] = true;
    }
    mask
}

/// Sorts `issues` by score, ties by position.
fn rank_issues<T: Float>(
    labels: &[u32],
    probs: &Probs,
    issues: &[usize],
    scorer: &Scorer,
) -> Result<Vec<usize>> {
    let mut buf = vec![T::ZERO; probs.num_classes()];
    let mut keyed: Vec<Keyed> = issues
        .iter()
        .map(|&f| Keyed::new(scorer.score(probs.row(f, &mut buf), labels[f] as usize), f))
        .collect();
    rank::rank(&mut keyed);
    Ok(keyed.into_iter().map(|k| k.pos).collect())
}

/// cleanlab's `low_memory=True`: batched thresholds, a count of confidently mispredicted tokens,
/// that many lowest scores, then the unflag step. Ranked by the same score (or position order).
fn run_low_memory<T: Float>(labels: &[u32], probs: &Probs, opts: &Options) -> Result<Vec<usize>> {
    let thresholds = batched_thresholds::<T>(labels, probs, LOW_MEMORY_BATCH);
    let cuts: Vec<f64> = thresholds.iter().map(|t| t - SLACK).collect();
    let method = opts.rank_by.unwrap_or(Method::SelfConfidence);
    let scorer = Scorer::unadjusted(method);
    let mut wanted = 0usize;
    probs.for_each_row::<T>(|f, row| {
        let top = argmax(row);
        if top != labels[f] as usize && row[top].to_f64() >= cuts[top] {
            wanted += 1;
        }
    });
    let mut pick = Smallest::new(wanted);
    let mut near = vec![false; labels.len()];
    probs.for_each_row::<T>(|f, row| {
        let label = labels[f] as usize;
        near[f] = joint::label_wins_with_slack(row, label);
        pick.push(Keyed::new(scorer.score(row, label), f));
    });
    let mut kept: Vec<Keyed> = pick.into_sorted().into_iter().filter(|k| !near[k.pos]).collect();
    if opts.rank_by.is_none() {
        kept.sort_by_key(|k| k.pos);
    }
    Ok(kept.into_iter().map(|k| k.pos).collect())
}
