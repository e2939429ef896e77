//! Entity spans of tagged sentences: grouping tags into spans under a tagging scheme, a
//! decode of probabilities restricted to the scheme's valid sequences, and the comparison of
//! two span sets into entity-level disagreements.
//!
//! Tags are read as the CoNLL evaluation script (`conlleval`) reads them, whatever the scheme:
//! a span starts at a non-O tag whose prefix is B or S, or whose previous tag is O, E or S or
//! of another type; it ends before O or before the start of another span. That reading is the
//! usual repair of malformed sequences (an I- without B- starts a span, a B- of BIOES left
//! open ends where its tokens end). Positions the scheme forbids are reported separately.

use crate::error::{Error, Result};
use crate::float::Float;
use crate::parallel::Workers;
use crate::ragged::{by_dtype, Offsets, Probs};
use std::ops::Range;

/// The prefix of a tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prefix {
    /// `O`: no entity.
    Outside,
    /// `B-`: begins a span (IOB1: only right after a span of the same type).
    Begin,
    /// `I-`: inside a span.
    Inside,
    /// `E-` / `L-`: last token of a span (BIOES).
    End,
    /// `S-` / `U-`: a one-token span (BIOES).
    Single,
    /// A tag without prefix (`PER`): read as `I-PER`, valid only in the IO scheme.
    Bare,
}

impl Prefix {
    /// The codes the binding passes: 0 O, 1 B, 2 I, 3 E, 4 S, 5 bare.
    pub fn from_code(code: u8) -> Option<Prefix> {
        Some(match code {
            0 => Prefix::Outside,
            1 => Prefix::Begin,
            2 => Prefix::Inside,
            3 => Prefix::End,
            4 => Prefix::Single,
            5 => Prefix::Bare,
            _ => return None,
        })
    }

    /// B-/I-/E-/S- as conlleval knows them (bare tags continue like I-).
    fn read(self) -> Prefix {
        if self == Prefix::Bare {
            Prefix::Inside
        } else {
            self
        }
    }
}

/// A tagging scheme: which prefixes it has and which sequences it allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// B- only between adjacent spans of the same type; spans start with I-.
    Iob1,
    /// BIO: every span starts with B-.
    Iob2,
    /// BIOES / BILOU: B- I-* E- for spans of two tokens or more, S- for one token.
    Bioes,
    /// Tags without B-: every maximal run of one type is a span.
    Io,
}

impl Scheme {
    pub fn from_code(code: u8) -> Option<Scheme> {
        Some(match code {
            0 => Scheme::Iob1,
            1 => Scheme::Iob2,
            2 => Scheme::Bioes,
            3 => Scheme::Io,
            _ => return None,
        })
    }

    /// Whether tags with prefix `p` belong to the scheme.
    pub fn has(self, p: Prefix) -> bool {
        match (self, p) {
            (_, Prefix::Outside) => true,
            (Scheme::Io, Prefix::Inside | Prefix::Bare) => true,
            (Scheme::Io, _) => false,
            (_, Prefix::Bare) => false,
            (Scheme::Iob1 | Scheme::Iob2, Prefix::Begin | Prefix::Inside) => true,
            (Scheme::Iob1 | Scheme::Iob2, _) => false,
            (Scheme::Bioes, _) => true,
        }
    }
}

/// The classes of a dataset: each class's prefix and entity type, under a scheme.
#[derive(Clone, Debug)]
pub struct Tagset {
    pub scheme: Scheme,
    pub prefix: Vec<Prefix>,
    /// Entity type id of each class (ignored for O).
    pub types: Vec<u32>,
}

/// A tag seen by the grouping: prefix and type; sentence edges look like O.
#[derive(Clone, Copy)]
struct Tag {
    p: Prefix,
    t: u32,
}

const EDGE: Tag = Tag {
    p: Prefix::Outside,
    t: 0,
};

impl Tagset {
    pub fn new(scheme: Scheme, prefix: Vec<Prefix>, types: Vec<u32>) -> Result<Self> {
        if prefix.len() != types.len() {
            return Err(Error::Invalid(format!(
                "{} prefixes but {} types",
                prefix.len(),
                types.len()
            )));
        }
        if prefix.is_empty() {
            return Err(Error::Invalid("no class".into()));
        }
        Ok(Tagset {
            scheme,
            prefix,
            types,
        })
    }

    pub fn num_classes(&self) -> usize {
        self.prefix.len()
    }

    fn tag(&self, class: u32) -> Tag {
        let c = class as usize;
        Tag {
            p: self.prefix[c].read(),
            t: self.types[c],
        }
    }

    /// Whether a span starts at `cur` after `prev` (conlleval's reading).
    fn starts(prev: Tag, cur: Tag) -> bool {
        use Prefix::*;
        cur.p != Outside
            && (matches!(cur.p, Begin | Single)
                || matches!(prev.p, Outside | End | Single)
                || prev.t != cur.t)
    }

    /// Whether the scheme allows `cur` after `prev` (edges are O). Only ordered pairs are
    /// judged here; a class outside the scheme is refused by [`Scheme::has`].
    fn allowed(&self, prev: Tag, cur: Tag) -> bool {
        self.opens_well(prev, cur) && self.closes_well(prev, cur)
    }

    /// Whether `cur` may follow `prev` as far as `cur`'s own prefix goes (a continuation tag
    /// needs a span of its type before it; an IOB1 B- too).
    fn opens_well(&self, prev: Tag, cur: Tag) -> bool {
        use Prefix::*;
        let continues = matches!(prev.p, Begin | Inside) && prev.t == cur.t;
        match self.scheme {
            Scheme::Iob1 => cur.p != Begin || continues,
            Scheme::Iob2 => cur.p != Inside || continues,
            Scheme::Io => true,
            Scheme::Bioes => !matches!(cur.p, Inside | End) || continues,
        }
    }

    /// Whether `cur` closes what `prev` left open (BIOES: B-/I- need an I-/E- of their type).
    fn closes_well(&self, prev: Tag, cur: Tag) -> bool {
        use Prefix::*;
        self.scheme != Scheme::Bioes
            || !matches!(prev.p, Begin | Inside)
            || (matches!(cur.p, Inside | End) && prev.t == cur.t)
    }

    /// Whether class `c` is in the scheme.
    fn in_scheme(&self, c: usize) -> bool {
        self.scheme.has(self.prefix[c])
    }
}

/// Entity spans, in order; `start..end` are flat token indices within one sentence.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Spans {
    pub sentence: Vec<usize>,
    pub start: Vec<usize>,
    pub end: Vec<usize>,
    pub types: Vec<u32>,
}

impl Spans {
    pub fn len(&self) -> usize {
        self.start.len()
    }
    pub fn is_empty(&self) -> bool {
        self.start.is_empty()
    }
    fn push(&mut self, s: usize, start: usize, end: usize, t: u32) {
        self.sentence.push(s);
        self.start.push(start);
        self.end.push(end);
        self.types.push(t);
    }
}

/// Class ids of `labels`, checked against the tag set.
fn check_labels(labels: &[u32], offsets: &Offsets, tags: &Tagset) -> Result<()> {
    if labels.len() != offsets.num_tokens() {
        return Err(Error::Invalid(format!(
            "{} labels but the sentence lengths add up to {}",
            labels.len(),
            offsets.num_tokens()
        )));
    }
    let k = tags.num_classes();
    match labels.iter().position(|&c| c as usize >= k) {
        Some(row) => Err(Error::BadLabel {
            row,
            label: labels[row] as i64,
            num_classes: k,
        }),
        None => Ok(()),
    }
}

/// The spans of `labels` (conlleval's reading) and the positions the scheme forbids, sorted:
/// a tag outside the scheme, an IOB2 I- that starts a span, an IOB1 B- that does not follow
/// its own type, a BIOES I-/E- that does not continue a span or a B-/I- that is not closed.
pub fn group(labels: &[u32], offsets: &Offsets, tags: &Tagset) -> Result<(Spans, Vec<usize>)> {
    check_labels(labels, offsets, tags)?;
    let mut spans = Spans::default();
    let mut malformed = Vec::new();
    for s in 0..offsets.num_sentences() {
        let (lo, hi) = offsets.bounds(s);
        let mut open: Option<(usize, u32)> = None;
        let mut prev = EDGE;
        for f in lo..hi {
            let cur = tags.tag(labels[f]);
            let next = if f + 1 < hi {
                tags.tag(labels[f + 1])
            } else {
                EDGE
            };
            if !tags.in_scheme(labels[f] as usize)
                || !tags.opens_well(prev, cur)
                || !tags.closes_well(cur, next)
            {
                malformed.push(f);
            }
            if cur.p == Prefix::Outside || Tagset::starts(prev, cur) {
                if let Some((a, t)) = open.take() {
                    spans.push(s, a, f, t);
                }
            }
            if cur.p != Prefix::Outside && open.is_none() {
                open = Some((f, cur.t));
            }
            prev = cur;
        }
        if let Some((a, t)) = open {
            spans.push(s, a, hi, t);
        }
    }
    Ok((spans, malformed))
}

/// Transition tables of the scheme over classes: `start[c]` (first tag), `step[a * K + b]`,
/// `stop[c]` (last tag). Classes outside the scheme are never allowed.
pub struct Transitions {
    pub start: Vec<bool>,
    pub step: Vec<bool>,
    pub stop: Vec<bool>,
}

pub fn transitions(tags: &Tagset) -> Transitions {
    let k = tags.num_classes();
    let ok = |c: usize| tags.in_scheme(c);
    let tag = |c: usize| tags.tag(c as u32);
    Transitions {
        start: (0..k)
            .map(|c| ok(c) && tags.allowed(EDGE, tag(c)))
            .collect(),
        step: (0..k * k)
            .map(|i| {
                let (a, b) = (i / k, i % k);
                ok(a) && ok(b) && tags.allowed(tag(a), tag(b))
            })
            .collect(),
        stop: (0..k)
            .map(|c| ok(c) && tags.allowed(tag(c), EDGE))
            .collect(),
    }
}

/// Smallest probability a log is taken of (a zero would forbid a tag outright).
const FLOOR: f64 = 1e-12;

/// The most probable valid tag sequence of each sentence, scoring a sequence by the sum of its
/// tokens' log probabilities, with the scheme's transitions as hard constraints. Every entity
/// class's probability is multiplied by `entity_weight` first (a prior shift: a token reads as
/// an entity once `w * P(entity) > P(O)`). A sentence with no valid sequence (no class of the
/// scheme allowed) keeps its argmax. Ties go to the lower class id.
pub fn viterbi(
    probs: &Probs,
    offsets: &Offsets,
    tags: &Tagset,
    entity_weight: f64,
    threads: usize,
) -> Result<Vec<u32>> {
    if !(entity_weight.is_finite() && entity_weight > 0.0) {
        return Err(Error::Invalid(format!(
            "entity_weight is {entity_weight}; it must be a positive number"
        )));
    }
    let bias: Vec<f64> = tags
        .prefix
        .iter()
        .map(|&p| {
            if p == Prefix::Outside {
                0.0
            } else {
                entity_weight.ln()
            }
        })
        .collect();
    let k = probs.num_classes();
    if k != tags.num_classes() {
        return Err(Error::Invalid(format!(
            "pred_probs has {k} columns but there are {} class names",
            tags.num_classes()
        )));
    }
    if probs.len() != offsets.num_tokens() {
        return Err(Error::Invalid(format!(
            "pred_probs has {} rows but the sentence lengths add up to {}",
            probs.len(),
            offsets.num_tokens()
        )));
    }
    let tr = transitions(tags);
    let w = Workers::new(threads);
    let n = offsets.num_tokens();
    let ns = offsets.num_sentences();
    // Token ranges cut at sentence starts: sentence `locate(cut)` begins the next part.
    let mut cuts: Vec<usize> = w
        .ranges(n)
        .iter()
        .map(|r| {
            if r.start == 0 {
                0
            } else {
                offsets.locate(r.start).0
            }
        })
        .collect();
    cuts.push(ns);
    cuts.dedup();
    let parts: Vec<Range<usize>> = cuts.windows(2).map(|c| c[0]..c[1]).collect();
    let decoded = w.map(&parts, |sentences| {
        let tokens = if sentences.is_empty() {
            0..0
        } else {
            offsets.bounds(sentences.start).0..offsets.bounds(sentences.end - 1).1
        };
        let mut out = vec![0u32; tokens.len()];
        by_dtype!(
            probs,
            decode_range(
                probs,
                offsets,
                &tr,
                &bias,
                sentences.clone(),
                tokens.start,
                &mut out
            )
        );
        out
    });
    Ok(decoded.concat())
}

/// Decodes sentences `sentences` into `out` (whose first element is flat token `base`).
fn decode_range<T: Float>(
    probs: &Probs,
    offsets: &Offsets,
    tr: &Transitions,
    bias: &[f64],
    sentences: Range<usize>,
    base: usize,
    out: &mut [u32],
) {
    let k = probs.num_classes();
    let mut buf = vec![T::ZERO; k];
    let mut score = vec![0f64; k];
    let mut next = vec![0f64; k];
    let mut back: Vec<u32> = Vec::new();
    let mut logs = vec![0f64; k];
    // The allowed predecessors of each class, ascending (ties go to the lower id).
    let preds: Vec<Vec<u32>> = (0..k)
        .map(|b| {
            (0..k as u32)
                .filter(|&a| tr.step[a as usize * k + b])
                .collect()
        })
        .collect();
    for s in sentences {
        let (lo, hi) = offsets.bounds(s);
        if lo == hi {
            continue;
        }
        back.clear();
        back.resize((hi - lo) * k, 0);
        for f in lo..hi {
            let row = probs.row::<T>(f, &mut buf);
            for ((l, &p), &b) in logs.iter_mut().zip(row).zip(bias) {
                *l = p.to_f64().max(FLOOR).ln() + b;
            }
            if f == lo {
                for c in 0..k {
                    score[c] = if tr.start[c] {
                        logs[c]
                    } else {
                        f64::NEG_INFINITY
                    };
                }
                continue;
            }
            let bp = &mut back[(f - lo) * k..(f - lo + 1) * k];
            for (b, from) in preds.iter().enumerate() {
                let (mut best, mut arg) = (f64::NEG_INFINITY, 0u32);
                for &a in from {
                    if score[a as usize] > best {
                        best = score[a as usize];
                        arg = a;
                    }
                }
                next[b] = best + logs[b];
                bp[b] = arg;
            }
            std::mem::swap(&mut score, &mut next);
        }
        let (mut best, mut arg) = (f64::NEG_INFINITY, None);
        for (c, (&ok, &sc)) in tr.stop.iter().zip(&score).enumerate() {
            if ok && sc > best {
                best = sc;
                arg = Some(c);
            }
        }
        let o = &mut out[lo - base..hi - base];
        match arg {
            Some(mut c) => {
                for i in (0..hi - lo).rev() {
                    o[i] = c as u32;
                    c = back[i * k + c] as usize;
                }
            }
            None => {
                for (i, f) in (lo..hi).enumerate() {
                    let row = probs.row::<T>(f, &mut buf);
                    let (mut m, mut best) = (0, f64::NEG_INFINITY);
                    for (c, (&p, &b)) in row.iter().zip(bias).enumerate() {
                        let v = p.to_f64().max(FLOOR).ln() + b;
                        if v > best {
                            (m, best) = (c, v);
                        }
                    }
                    o[i] = m as u32;
                }
            }
        }
    }
}

/// What a disagreement between the given and the predicted spans is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Same tokens, another type.
    WrongType = 0,
    /// Other boundaries (one given and one predicted span, or several on either side).
    WrongSpan = 1,
    /// A given span the prediction has no span overlapping.
    Spurious = 2,
    /// A predicted span no given span overlaps.
    Missing = 3,
    /// A given span the prediction agrees with, but read through a repair.
    Malformed = 4,
}

/// Disagreements between given and predicted spans: each is a maximal group of spans linked
/// by shared tokens, so no token belongs to two of them. Groups where one given span and one
/// predicted span coincide exactly are left out unless they hold a malformed position.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Disagreements {
    pub kind: Vec<Kind>,
    pub sentence: Vec<usize>,
    /// Flat token range of the group.
    pub start: Vec<usize>,
    pub end: Vec<usize>,
    /// First given / predicted span of the group and how many there are.
    pub given: Vec<Range<usize>>,
    pub predicted: Vec<Range<usize>>,
    pub malformed: Vec<bool>,
}

/// Compares two span sets of the same sentences (each in order, as [`group`] makes them).
/// `malformed` holds sorted flat positions.
pub fn compare(given: &Spans, predicted: &Spans, malformed: &[usize]) -> Disagreements {
    let mut d = Disagreements::default();
    let (mut i, mut j, mut m) = (0, 0, 0);
    while i < given.len() || j < predicted.len() {
        let take_given =
            j >= predicted.len() || (i < given.len() && given.start[i] <= predicted.start[j]);
        let (lo, mut hi, s) = if take_given {
            (given.start[i], given.end[i], given.sentence[i])
        } else {
            (predicted.start[j], predicted.end[j], predicted.sentence[j])
        };
        let (gi, pj) = (i, j);
        loop {
            if i < given.len() && given.start[i] < hi {
                hi = hi.max(given.end[i]);
                i += 1;
            } else if j < predicted.len() && predicted.start[j] < hi {
                hi = hi.max(predicted.end[j]);
                j += 1;
            } else {
                break;
            }
        }
        while m < malformed.len() && malformed[m] < lo {
            m += 1;
        }
        let bad = m < malformed.len() && malformed[m] < hi;
        let (ng, np) = (i - gi, j - pj);
        let kind = match (ng, np) {
            (0, _) => Kind::Missing,
            (_, 0) => Kind::Spurious,
            (1, 1)
                if given.start[gi] == predicted.start[pj] && given.end[gi] == predicted.end[pj] =>
            {
                if given.types[gi] != predicted.types[pj] {
                    Kind::WrongType
                } else if bad {
                    Kind::Malformed
                } else {
                    continue;
                }
            }
            _ => Kind::WrongSpan,
        };
        d.kind.push(kind);
        d.sentence.push(s);
        d.start.push(lo);
        d.end.push(hi);
        d.given.push(gi..i);
        d.predicted.push(pj..j);
        d.malformed.push(bad);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    // Classes: O, B-PER, I-PER, B-LOC, I-LOC, E-PER, S-PER, E-LOC, S-LOC
    fn tagset(scheme: Scheme) -> Tagset {
        use Prefix::*;
        Tagset::new(
            scheme,
            vec![
                Outside, Begin, Inside, Begin, Inside, End, Single, End, Single,
            ],
            vec![0, 0, 0, 1, 1, 0, 0, 1, 1],
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn spans_of(labels: &[u32], scheme: Scheme) -> (Vec<(usize, usize, u32)>, Vec<usize>) {
        let offsets = Offsets::from_lengths([labels.len()]).unwrap();
        let (s, m) = group(labels, &offsets, &tagset(scheme)).unwrap_or_else(|e| panic!("{e}"));
        (
            (0..s.len())
                .map(|i| (s.start[i], s.end[i], s.types[i]))
                .collect(),
            m,
        )
    }

    #[test]
    fn iob2_repairs_a_lone_inside() {
        // O I-PER I-PER O B-LOC I-LOC B-LOC
        let (s, m) = spans_of(&[0, 2, 2, 0, 3, 4, 3], Scheme::Iob2);
        assert_eq!(s, vec![(1, 3, 0), (4, 6, 1), (6, 7, 1)]);
        assert_eq!(m, vec![1]);
    }

    #[test]
    fn iob1_b_separates_same_type() {
        // I-PER I-PER B-PER O B-LOC
        let (s, m) = spans_of(&[2, 2, 1, 0, 3], Scheme::Iob1);
        assert_eq!(s, vec![(0, 2, 0), (2, 3, 0), (4, 5, 1)]);
        assert_eq!(m, vec![4]);
    }

    #[test]
    fn bioes_flags_open_and_orphan_tags() {
        // B-PER E-PER S-LOC B-PER O E-LOC
        let (s, m) = spans_of(&[1, 5, 8, 1, 0, 7], Scheme::Bioes);
        assert_eq!(s, vec![(0, 2, 0), (2, 3, 1), (3, 4, 0), (5, 6, 1)]);
        assert_eq!(m, vec![3, 5]);
    }

    #[test]
    fn tags_outside_the_scheme_are_flagged_and_read() {
        // S-PER in IOB2
        let (s, m) = spans_of(&[0, 6, 0], Scheme::Iob2);
        assert_eq!(s, vec![(1, 2, 0)]);
        assert_eq!(m, vec![1]);
    }

    #[test]
    fn spans_stop_at_sentence_ends() {
        let offsets = Offsets::from_lengths([2, 0, 2]).unwrap();
        let (s, _) =
            group(&[0, 1, 2, 2], &offsets, &tagset(Scheme::Iob2)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.sentence, vec![0, 2]);
        assert_eq!(s.start, vec![1, 2]);
        assert_eq!(s.end, vec![2, 4]);
    }

    #[test]
    fn bad_labels_are_errors() {
        let offsets = Offsets::from_lengths([2]).unwrap();
        assert!(matches!(
            group(&[0, 9], &offsets, &tagset(Scheme::Iob2)),
            Err(Error::BadLabel { row: 1, .. })
        ));
        assert!(group(&[0], &offsets, &tagset(Scheme::Iob2)).is_err());
    }

    #[test]
    fn viterbi_respects_the_scheme() {
        // argmax would be O I-PER; IOB2 forces B-PER or O at the start of a span.
        let p = ndarray::array![
            [0.9, 0.02, 0.02, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01],
            [0.3, 0.25, 0.35, 0.02, 0.02, 0.02, 0.02, 0.01, 0.01],
        ];
        let probs = Probs::from_view_f64(p.view()).unwrap_or_else(|e| panic!("{e}"));
        let offsets = Offsets::from_lengths([2]).unwrap();
        let path = viterbi(&probs, &offsets, &tagset(Scheme::Iob2), 1.0, 1)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(path, vec![0, 0]);
        let path = viterbi(&probs, &offsets, &tagset(Scheme::Iob1), 1.0, 1)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(path, vec![0, 2]);
        // weighing entities 3x turns the second token into B-PER under IOB2
        let path = viterbi(&probs, &offsets, &tagset(Scheme::Iob2), 3.0, 1)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(path, vec![0, 1]);
        assert!(viterbi(&probs, &offsets, &tagset(Scheme::Iob2), 0.0, 1).is_err());
    }

    #[test]
    fn compare_names_each_kind() {
        let offsets = Offsets::from_lengths([12]).unwrap();
        let t = tagset(Scheme::Iob2);
        // given:     B-PER O B-LOC I-LOC O   O     B-PER B-LOC O I-PER O O
        // predicted: B-LOC O B-LOC O     O   B-PER B-PER I-PER O B-PER O O
        let given = [1, 0, 3, 4, 0, 0, 1, 3, 0, 2, 0, 0];
        let pred = [3, 0, 3, 0, 0, 1, 1, 2, 0, 1, 0, 0];
        let (g, m) = group(&given, &offsets, &t).unwrap_or_else(|e| panic!("{e}"));
        let (p, _) = group(&pred, &offsets, &t).unwrap_or_else(|e| panic!("{e}"));
        let d = compare(&g, &p, &m);
        assert_eq!(
            d.kind,
            vec![
                Kind::WrongType,
                Kind::WrongSpan,
                Kind::Missing,
                Kind::WrongSpan,
                Kind::Malformed
            ]
        );
        assert_eq!(d.start, vec![0, 2, 5, 6, 9]);
        assert_eq!(d.end, vec![1, 4, 6, 8, 10]);
        assert_eq!(d.given[3], 2..4);
        assert_eq!(d.predicted[3], 3..4);
        let d = compare(&g, &Spans::default(), &[]);
        assert!(d.kind.iter().all(|&k| k == Kind::Spurious));
    }
}
