//! Variation n-grams (Dickinson & Meurers, 2003): evidence that a token's tag is wrong from
//! the annotation alone. The same word n-gram seen elsewhere in the corpus with the token's
//! position tagged differently is suspect; the longer the shared context and the larger the
//! share of occurrences that disagree, the more suspect.
//!
//! For every n-gram (`n = 1..=max_n`, inside one sentence) occurring at least `min_count`
//! times, and every position `j` in it, the tags at `j` are counted over the occurrences. A
//! token covered by such an n-gram at position `j` where the tags vary gets the candidate score
//!
//! ```text
//! score = (occurrences - agreeing) / occurrences * n / max_n
//! ```
//!
//! (`agreeing`: occurrences tagged like this token at `j`, the token itself included). The
//! token keeps its best candidate: highest score, then longest n-gram, then most occurrences,
//! then leftmost start. Tokens without a varying n-gram score 0.
//!
//! With `boundaries` (the default), each sentence is framed by a start and an end marker that
//! count as words of the n-grams (and in n) but are never scored.
//!
//! Windows are grouped by a 64-bit hash of their words (sorted by hash); every group is
//! checked word by word, so a hash collision never merges different n-grams.

use crate::error::{Error, Result};
use std::cmp::Ordering;

/// A word id: any integer type whose equality means "the same word".
pub trait WordId: Copy + Ord + Send + Sync {
    fn bits(self) -> u64;
}

impl WordId for u64 {
    #[inline(always)]
    fn bits(self) -> u64 {
        self
    }
}

impl WordId for i64 {
    #[inline(always)]
    fn bits(self) -> u64 {
        self as u64
    }
}

impl WordId for u128 {
    #[inline(always)]
    fn bits(self) -> u64 {
        (self as u64) ^ ((self >> 64) as u64).rotate_left(29)
    }
}

impl WordId for u32 {
    #[inline(always)]
    fn bits(self) -> u64 {
        u64::from(self)
    }
}

/// Settings of [`variation_ngrams`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NgramOptions {
    /// Longest n-gram considered (at least 1).
    pub max_n: usize,
    /// Fewest occurrences an n-gram needs to count as evidence (values below 2 act as 2:
    /// variation needs two occurrences).
    pub min_count: usize,
    /// Whether the start and the end of a sentence count as context words (markers that are
    /// never tagged), so that "Leeds" opening a sentence is context of its own.
    pub boundaries: bool,
}

impl Default for NgramOptions {
    fn default() -> Self {
        NgramOptions {
            max_n: 6,
            min_count: 2,
            boundaries: true,
        }
    }
}

/// Per-token evidence, all of length N (tokens in sentence order).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Variation {
    /// In `[0, 1]`: see the module documentation; 0 when no n-gram varies at the token.
    pub score: Vec<f64>,
    /// Most frequent tag at the token's position in its best n-gram (ties: the token's own
    /// tag, then the smallest id); the token's own tag when it has no evidence.
    pub suggested: Vec<u32>,
    /// Occurrences of the best n-gram (0 without evidence).
    pub support: Vec<u32>,
    /// Of those, how many tag the position like this token (itself included).
    pub agree: Vec<u32>,
    /// Length n of the best n-gram (0 without evidence).
    pub length: Vec<u32>,
    /// Position of the token inside its best n-gram (0-based).
    pub offset: Vec<u32>,
}

/// The best candidate of a token so far.
#[derive(Clone, Copy, Default)]
struct Best {
    disagree: u32,
    support: u32,
    n: u32,
    start: usize,
    suggested: u32,
}

impl Best {
    /// Whether `self` beats `other` (which may be empty, support 0).
    fn beats(&self, other: &Best) -> bool {
        if other.support == 0 {
            return true;
        }
        // disagree/support * n, compared exactly by cross-multiplying.
        let a = u128::from(self.disagree) * u128::from(self.n) * u128::from(other.support);
        let b = u128::from(other.disagree) * u128::from(other.n) * u128::from(self.support);
        match a.cmp(&b) {
            Ordering::Greater => true,
            Ordering::Less => false,
            Ordering::Equal => (self.n, self.support, std::cmp::Reverse(self.start)).gt(&(
                other.n,
                other.support,
                std::cmp::Reverse(other.start),
            )),
        }
    }
}

#[inline(always)]
fn mix(mut x: u64) -> u64 {
    // splitmix64's finaliser
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Variation n-gram evidence for every token. `words` and `labels` hold one entry per token,
/// sentences concatenated; `lengths` the tokens of each sentence. N-grams never cross a
/// sentence boundary.
pub fn variation_ngrams<W: WordId>(
    words: &[W],
    labels: &[u32],
    lengths: &[usize],
    opts: &NgramOptions,
) -> Result<Variation> {
    variation_with(words, labels, lengths, opts, mix)
}

/// [`variation_ngrams`] with the word hash as a parameter (tests force collisions).
fn variation_with<W: WordId>(
    words: &[W],
    labels: &[u32],
    lengths: &[usize],
    opts: &NgramOptions,
    word_hash: impl Fn(u64) -> u64,
) -> Result<Variation> {
    let n_tok = words.len();
    if labels.len() != n_tok {
        return Err(Error::Invalid(format!(
            "{} labels for {n_tok} words; give one label per word",
            labels.len()
        )));
    }
    let total = lengths
        .iter()
        .try_fold(0usize, |acc, &l| acc.checked_add(l))
        .ok_or_else(|| Error::Invalid("sentence lengths overflow".into()))?;
    if total != n_tok {
        return Err(Error::Invalid(format!(
            "sentence lengths add up to {total} tokens but there are {n_tok} words"
        )));
    }
    if opts.max_n == 0 {
        return Err(Error::Invalid("max_n must be at least 1".into()));
    }
    if n_tok > u32::MAX as usize {
        return Err(Error::Invalid(format!(
            "{n_tok} tokens; at most {} are supported",
            u32::MAX
        )));
    }
    if !opts.boundaries {
        return scan(words, labels, lengths, opts, word_hash);
    }
    // Each sentence framed by a start and an end marker (words no id can equal; their tag
    // never varies, so they are never suspects themselves).
    const START: u128 = 1 << 64;
    const END: u128 = 2 << 64;
    let framed_len = n_tok + 2 * lengths.len();
    if framed_len > u32::MAX as usize {
        return Err(Error::Invalid(format!(
            "{n_tok} tokens in {} sentences; at most {} tokens and markers are supported",
            lengths.len(),
            u32::MAX
        )));
    }
    let mut framed_words: Vec<u128> = Vec::with_capacity(framed_len);
    let mut framed_labels: Vec<u32> = Vec::with_capacity(framed_len);
    let mut at = 0usize;
    for &len in lengths {
        framed_words.push(START);
        framed_labels.push(u32::MAX);
        framed_words.extend(words[at..at + len].iter().map(|w| u128::from(w.bits())));
        framed_labels.extend_from_slice(&labels[at..at + len]);
        framed_words.push(END);
        framed_labels.push(u32::MAX);
        at += len;
    }
    let framed_lengths: Vec<usize> = lengths.iter().map(|&l| l + 2).collect();
    let v = scan(
        &framed_words,
        &framed_labels,
        &framed_lengths,
        opts,
        word_hash,
    )?;
    // Back to the tokens: drop the markers.
    let mut keep = Vec::with_capacity(n_tok);
    let mut at = 0usize;
    for &len in lengths {
        keep.extend(at + 1..at + 1 + len);
        at += len + 2;
    }
    Ok(Variation {
        score: keep.iter().map(|&i| v.score[i]).collect(),
        suggested: keep.iter().map(|&i| v.suggested[i]).collect(),
        support: keep.iter().map(|&i| v.support[i]).collect(),
        agree: keep.iter().map(|&i| v.agree[i]).collect(),
        length: keep.iter().map(|&i| v.length[i]).collect(),
        offset: keep.iter().map(|&i| v.offset[i]).collect(),
    })
}

/// The scan itself, over validated input.
fn scan<W: WordId>(
    words: &[W],
    labels: &[u32],
    lengths: &[usize],
    opts: &NgramOptions,
    word_hash: impl Fn(u64) -> u64,
) -> Result<Variation> {
    let n_tok = words.len();
    let min_count = opts.min_count.max(2);
    // End (exclusive) of the sentence of each token.
    let mut sentence_end = vec![0u32; n_tok];
    let mut at = 0usize;
    for &len in lengths {
        sentence_end[at..at + len].fill((at + len) as u32);
        at += len;
    }

    let mut best = vec![Best::default(); n_tok];
    let mut hash: Vec<u64> = vec![0; n_tok];
    let mut windows: Vec<(u64, u32)> = Vec::with_capacity(n_tok);
    let mut scratch = Scratch {
        table: vec![0; DENSE],
        tally: Vec::new(),
        runs: Vec::new(),
    };
    // repeated[a]: the (n-1)-gram at a occurs at least min_count times. An n-gram can only
    // repeat if both its (n-1)-gram prefix and suffix do, so most windows drop out early.
    let mut repeated = vec![true; n_tok];
    let mut next = vec![false; n_tok];
    for n in 1..=opts.max_n {
        windows.clear();
        for a in 0..n_tok {
            let end = a + n;
            if end > sentence_end[a] as usize || !repeated[a] || (n > 1 && !repeated[a + 1]) {
                continue;
            }
            hash[a] = mix(hash[a] ^ word_hash(words[end - 1].bits()));
            windows.push((hash[a], a as u32));
        }
        if windows.len() < min_count {
            break; // longer n-grams are rarer still
        }
        windows.sort_unstable();
        next.fill(false);
        let mut lo = 0;
        while lo < windows.len() {
            let h = windows[lo].0;
            let mut hi = lo + 1;
            while hi < windows.len() && windows[hi].0 == h {
                hi += 1;
            }
            if hi - lo >= min_count {
                let group = &mut windows[lo..hi];
                let gram = |&(_, a): &(u64, u32)| &words[a as usize..a as usize + n];
                let first = gram(&group[0]);
                if group.iter().all(|w| gram(w) == first) {
                    score_group(group, n, labels, &mut scratch, &mut best, &mut next);
                } else {
                    // A hash collision: split the group by its words.
                    group.sort_unstable_by(|x, y| gram(x).cmp(gram(y)).then(x.1.cmp(&y.1)));
                    let mut s = 0;
                    while s < group.len() {
                        let mut e = s + 1;
                        while e < group.len() && gram(&group[e]) == gram(&group[s]) {
                            e += 1;
                        }
                        if e - s >= min_count {
                            let run = &group[s..e];
                            score_group(run, n, labels, &mut scratch, &mut best, &mut next);
                        }
                        s = e;
                    }
                }
            }
            lo = hi;
        }
        std::mem::swap(&mut repeated, &mut next);
    }

    let mut out = Variation {
        score: Vec::with_capacity(n_tok),
        suggested: Vec::with_capacity(n_tok),
        support: Vec::with_capacity(n_tok),
        agree: Vec::with_capacity(n_tok),
        length: Vec::with_capacity(n_tok),
        offset: Vec::with_capacity(n_tok),
    };
    let max_n = opts.max_n as f64;
    for (i, b) in best.iter().enumerate() {
        if b.support == 0 {
            out.score.push(0.0);
            out.suggested.push(labels[i]);
            out.support.push(0);
            out.agree.push(0);
            out.length.push(0);
            out.offset.push(0);
        } else {
            out.score
                .push(f64::from(b.disagree) * f64::from(b.n) / (f64::from(b.support) * max_n));
            out.suggested.push(b.suggested);
            out.support.push(b.support);
            out.agree.push(b.support - b.disagree);
            out.length.push(b.n);
            out.offset.push((i - b.start) as u32);
        }
    }
    Ok(out)
}

/// Class ids below this are counted in a table; larger ones by sorting.
const DENSE: usize = 1024;

/// Buffers reused across groups.
struct Scratch {
    /// Count per class id (zero between uses).
    table: Vec<u32>,
    /// The distinct tags seen (or, for large ids, all tags).
    tally: Vec<u32>,
    /// (tag, count), sorted by tag.
    runs: Vec<(u32, u32)>,
}

/// Occurrences of one n-gram (same words, at least `min_count`): marks them repeated and
/// updates the best candidate of every token where the tags vary.
fn score_group(
    group: &[(u64, u32)],
    n: usize,
    labels: &[u32],
    scratch: &mut Scratch,
    best: &mut [Best],
    repeated: &mut [bool],
) {
    let Scratch { table, tally, runs } = scratch;
    for &(_, a) in group {
        repeated[a as usize] = true;
    }
    let first = group[0].1 as usize;
    let tags_of = |a: u32| &labels[a as usize..a as usize + n];
    if group
        .iter()
        .all(|&(_, a)| tags_of(a) == &labels[first..first + n])
    {
        return; // the common case: every occurrence tagged alike
    }
    let support = group.len() as u32;
    for j in 0..n {
        let t0 = labels[first + j];
        if group.iter().all(|&(_, a)| labels[a as usize + j] == t0) {
            continue;
        }
        // Count the tags at j: a direct table for small class ids, else sorted runs.
        tally.clear();
        let mut dense = true;
        for &(_, a) in group {
            let t = labels[a as usize + j];
            let slot = t as usize;
            if slot >= DENSE {
                dense = false;
                break;
            }
            if table[slot] == 0 {
                tally.push(t);
            }
            table[slot] += 1;
        }
        if !dense {
            for &t in tally.iter() {
                table[t as usize] = 0;
            }
            tally.clear();
            tally.extend(group.iter().map(|&(_, a)| labels[a as usize + j]));
            tally.sort_unstable();
            runs.clear();
            for &t in tally.iter() {
                match runs.last_mut() {
                    Some((tag, c)) if *tag == t => *c += 1,
                    _ => runs.push((t, 1)),
                }
            }
        } else {
            tally.sort_unstable();
            runs.clear();
            runs.extend(tally.iter().map(|&t| (t, table[t as usize])));
            for &t in tally.iter() {
                table[t as usize] = 0;
            }
        }
        let top = runs.iter().map(|&(_, c)| c).max().unwrap_or(0);
        // Smallest tag with the top count (runs are sorted by tag).
        let smallest_top = runs.iter().find(|&&(_, c)| c == top).map_or(0, |&(t, _)| t);
        for &(_, a) in group {
            let i = a as usize + j;
            let own = labels[i];
            let agree = runs
                .binary_search_by_key(&own, |&(t, _)| t)
                .map_or(0, |k| runs[k].1);
            let cand = Best {
                disagree: support - agree,
                support,
                n: n as u32,
                start: a as usize,
                suggested: if agree == top { own } else { smallest_top },
            };
            if cand.beats(&best[i]) {
                best[i] = cand;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(words: &[u64], labels: &[u32], lengths: &[usize], max_n: usize) -> Variation {
        let opts = NgramOptions {
            max_n,
            min_count: 2,
            boundaries: false,
        };
        variation_ngrams(words, labels, lengths, &opts).expect("valid input")
    }

    #[test]
    fn unigram_minority_is_suspect() {
        // word 7 tagged 1, 1, 2: the token tagged 2 disagrees with 2 of 3 occurrences.
        let v = run(&[7, 7, 7], &[1, 1, 2], &[1, 1, 1], 3);
        assert_eq!(v.support, vec![3, 3, 3]);
        assert_eq!(v.agree, vec![2, 2, 1]);
        assert_eq!(v.suggested, vec![1, 1, 1]);
        assert_eq!(v.length, vec![1, 1, 1]);
        assert!((v.score[2] - 2.0 / 3.0 / 3.0).abs() < 1e-12);
        assert!((v.score[0] - 1.0 / 3.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn longer_context_wins_and_sentences_are_not_crossed() {
        // "a b" twice with b tagged 0 and 1; a third "b" alone (other sentence) tagged 0.
        let words = [1, 2, 1, 2, 2];
        let labels = [0, 0, 0, 1, 0];
        let v = run(&words, &labels, &[2, 2, 1], 2);
        // token 3: bigram "a b" (2 occurrences, 1 disagrees): 1/2 * 2/2 = 0.5 beats the
        // unigram "b" (3 occurrences, 2 disagree): 2/3 * 1/2.
        assert_eq!(v.length[3], 2);
        assert_eq!(v.offset[3], 1);
        assert_eq!((v.support[3], v.agree[3]), (2, 1));
        assert!((v.score[3] - 0.5).abs() < 1e-12);
        // The bigram "b a" across sentences 0 and 1 does not exist: token 0 ("a") never varies.
        assert_eq!(v.score[0], 0.0);
        assert_eq!(v.suggested[0], 0);
        // A tie between tags 0 and 1 suggests the token's own tag.
        assert_eq!(v.suggested[3], 1);
        assert_eq!(v.suggested[1], 0);
    }

    #[test]
    fn no_variation_no_evidence() {
        let v = run(&[1, 2, 1, 2], &[3, 4, 3, 4], &[2, 2], 4);
        assert!(v.score.iter().all(|&s| s == 0.0));
        assert_eq!(v.suggested, vec![3, 4, 3, 4]);
        assert!(v.support.iter().all(|&s| s == 0));
    }

    #[test]
    fn min_count_filters_rare_ngrams() {
        let opts = NgramOptions {
            max_n: 1,
            min_count: 4,
            boundaries: false,
        };
        let v = variation_ngrams(&[5u64, 5, 5], &[0, 1, 1], &[3], &opts).expect("valid");
        assert!(v.score.iter().all(|&s| s == 0.0));
    }

    #[test]
    fn signed_ids_and_empty_sentences() {
        let v = variation_ngrams(
            &[-1i64, -1],
            &[0, 1],
            &[0, 1, 0, 1],
            &NgramOptions::default(),
        )
        .expect("valid");
        assert_eq!(v.support, vec![2, 2]);
    }

    #[test]
    fn large_class_ids_count_like_small_ones() {
        let words: Vec<u64> = (0..200).map(|i| (i * 7 + i / 3) % 5).collect();
        let small: Vec<u32> = (0..200).map(|i| ((i * 13) % 11 % 3) as u32).collect();
        // A monotone relabelling keeps every tie-break, so the answers map one to one.
        let big: Vec<u32> = small.iter().map(|&t| 5000 + 1000 * t).collect();
        let a = run(&words, &small, &[120, 80], 3);
        let b = run(&words, &big, &[120, 80], 3);
        assert_eq!(a.score, b.score);
        assert_eq!(a.support, b.support);
        assert_eq!(a.agree, b.agree);
        let mapped: Vec<u32> = a.suggested.iter().map(|&t| 5000 + 1000 * t).collect();
        assert_eq!(mapped, b.suggested);
        assert!(a.score.iter().any(|&s| s > 0.0));
    }

    #[test]
    fn sentence_boundaries_are_context() {
        // "x" opens two sentences (tags 1 and 2) and ends a third (tag 1). With boundaries the
        // two openers share the bigram (start, x): 1/2 disagree, n = 2 of max_n = 2.
        let words = [9u64, 5, 9, 6, 5, 9];
        let labels = [1, 0, 2, 0, 0, 1];
        let lengths = [2, 2, 2];
        let framed = NgramOptions {
            max_n: 2,
            ..NgramOptions::default()
        };
        let v = variation_ngrams(&words, &labels, &lengths, &framed).expect("valid");
        assert_eq!(
            (v.length[0], v.offset[0], v.support[0], v.agree[0]),
            (2, 1, 2, 1)
        );
        assert!((v.score[0] - 0.5).abs() < 1e-12);
        // The unigram "x" (3 occurrences, 2 disagree) scores 2/3 * 1/2 for the last token.
        assert_eq!((v.length[5], v.support[5], v.agree[5]), (1, 3, 2));
        let plain = run(&words, &labels, &lengths, 2);
        assert_eq!((plain.length[0], plain.support[0]), (1, 3));
        // The markers never show up in the output.
        assert_eq!(v.score.len(), 6);
    }

    #[test]
    fn bad_input() {
        let opts = NgramOptions::default();
        assert!(variation_ngrams(&[1u64, 2], &[0], &[2], &opts).is_err());
        assert!(variation_ngrams(&[1u64, 2], &[0, 0], &[3], &opts).is_err());
        let zero = NgramOptions {
            max_n: 0,
            ..NgramOptions::default()
        };
        assert!(variation_ngrams(&[1u64], &[0], &[1], &zero).is_err());
        let empty = variation_ngrams::<u64>(&[], &[], &[], &opts).expect("empty is fine");
        assert!(empty.score.is_empty());
    }

    #[test]
    fn collisions_are_split_by_words() {
        // Every word hashes alike, so every window of a length collides: the answer must not
        // change.
        let words: Vec<u64> = (0..300).map(|i| (i * 7 + i / 5) % 11).collect();
        let labels: Vec<u32> = (0..300).map(|i| ((i * 13) % 17 % 3) as u32).collect();
        let lengths = [100, 50, 0, 150];
        let opts = NgramOptions {
            max_n: 4,
            ..NgramOptions::default()
        };
        let good = variation_ngrams(&words, &labels, &lengths, &opts).expect("valid");
        let bad = variation_with(&words, &labels, &lengths, &opts, |_| 42).expect("valid");
        assert_eq!(good, bad);
        assert!(good.score.iter().any(|&s| s > 0.0));
    }
}
