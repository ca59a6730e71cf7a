//! The steps of [`reanchor`](super::reanchor), from the surest to the loosest: the passage the
//! diff left alone, its quote elsewhere, a correction's applied fix, and a scored search for
//! similar text. Each step either decides the anchor or hands over to the next.

use super::{
    ambiguous, fuzzy_windows, overlaps, similarity, Anchor, AnchorStatus, Base, Scorer,
    VersionDiff, MARGIN, MIN_EXACT_SCORE, MIN_FUZZY_QUOTE, MIN_FUZZY_SCORE,
};
use crate::domain::text::{IndexedText, TextPosition};

/// One passage being looked for in a new version, with what every step needs.
pub(super) struct Search<'a, 'b> {
    diff: &'a VersionDiff,
    new: &'a IndexedText<'b>,
    base: &'a Base,
    scorer: Scorer<'a, 'b>,
    /// The passage's range in the base version, in characters.
    start: usize,
    end: usize,
    /// Length of the quote, in characters.
    exact_len: u64,
    /// Where the diff puts the passage in the new version (never a reversed range).
    mapped: TextPosition,
    /// Exact occurrences of the quote in the new version with their scores, best first.
    occurrences: Vec<(TextPosition, f64)>,
}

impl<'a, 'b> Search<'a, 'b> {
    pub(super) fn new(diff: &'a VersionDiff, new: &'a IndexedText<'b>, base: &'a Base) -> Self {
        let (start, end) = (base.position.start as usize, base.position.end as usize);
        let expected = diff.map_start(start) as u64;
        let scorer = Scorer {
            text: new,
            quote: &base.quote,
            expected,
        };
        let exact_len = base.quote.exact.chars().count() as u64;
        let mut occurrences: Vec<(TextPosition, f64)> = new
            .occurrences(&base.quote.exact)
            .into_iter()
            .map(|s| {
                let at = TextPosition {
                    start: s,
                    end: s + exact_len,
                };
                (at, scorer.score(at, 1.0))
            })
            .collect();
        occurrences.sort_by(|a, b| b.1.total_cmp(&a.1));
        let mapped = TextPosition {
            start: expected,
            end: (diff.map_end(end) as u64).max(expected),
        };
        Self {
            diff,
            new,
            base,
            scorer,
            start,
            end,
            exact_len,
            mapped,
            occurrences,
        }
    }

    /// The anchor of a passage found at `at`: a correction already applied stays resolved
    /// wherever its passage is found, unless only fuzzily.
    fn found(&self, status: AnchorStatus, at: TextPosition, score: Option<f64>) -> Anchor {
        let status = if self.base.resolved && status != AnchorStatus::Fuzzy {
            AnchorStatus::Resolved
        } else {
            status
        };
        Anchor::placed(status, self.new, at, score)
    }

    /// `exact` where the passage was, `moved` anywhere else.
    fn here(&self, at: TextPosition) -> AnchorStatus {
        if at == self.base.position {
            AnchorStatus::Exact
        } else {
            AnchorStatus::Moved
        }
    }

    /// Step 1: the diff left the passage alone, so it is where the diff maps it, unless the
    /// edit brought in another copy of the quote with context as good.
    pub(super) fn untouched(&self) -> Option<Anchor> {
        if !self.diff.untouched(self.start, self.end) || self.base.quote.exact.is_empty() {
            return None;
        }
        let at = TextPosition {
            start: self.diff.map_start(self.start) as u64,
            end: self.diff.map_end(self.end) as u64,
        };
        if self.new.slice(at.start, at.end) != self.base.quote.exact {
            return None;
        }
        // Other copies of the quote that the old version had too are told apart by the diff,
        // which keeps each where it was; only a copy the edit brought in (inserted, or
        // assembled from changed text) may be the passage as well as this one.
        let mine = self.scorer.score(at, 1.0);
        let rivals: Vec<&(TextPosition, f64)> = self
            .occurrences
            .iter()
            .filter(|(p, s)| *p != at && *s >= MIN_EXACT_SCORE && mine - s < MARGIN)
            .filter(|(p, _)| !self.diff.carried(p.start as usize, p.end as usize))
            .collect();
        if rivals.is_empty() {
            return Some(self.found(self.here(at), at, None));
        }
        let mut candidates: Vec<TextPosition> = rivals.iter().map(|(p, _)| *p).collect();
        candidates.push(at);
        candidates.sort_by_key(|p| p.start);
        Some(ambiguous(mine, candidates))
    }

    /// Step 2: the quote itself elsewhere, when its best occurrence scores high enough and
    /// clearly beats the others.
    pub(super) fn elsewhere(&self) -> Option<Anchor> {
        let &(best, score) = self.occurrences.first()?;
        if score < MIN_EXACT_SCORE {
            return None;
        }
        let close: Vec<TextPosition> = self
            .occurrences
            .iter()
            .skip(1)
            .filter(|(_, s)| *s >= MIN_EXACT_SCORE && score - s < MARGIN)
            .map(|(p, _)| *p)
            .collect();
        if close.is_empty() {
            return Some(self.found(self.here(best), best, None));
        }
        let mut candidates = close;
        candidates.push(best);
        candidates.sort_by_key(|p| p.start);
        Some(ambiguous(score, candidates))
    }

    /// Step 3: a correction whose suggested text is now where its passage was, or the nearest
    /// copy of it within the quote's length and a little more.
    pub(super) fn corrected(&self, suggestion: Option<&str>) -> Option<Anchor> {
        let suggestion = suggestion.filter(|s| !s.is_empty())?;
        let mapped = self.mapped;
        if self.new.slice(mapped.start, mapped.end) == suggestion {
            return Some(Anchor::placed(
                AnchorStatus::Resolved,
                self.new,
                mapped,
                None,
            ));
        }
        let reach = self.exact_len + 32;
        let suggestion_len = suggestion.chars().count() as u64;
        let s = self
            .new
            .occurrences(suggestion)
            .into_iter()
            .filter(|s| s.abs_diff(mapped.start) <= reach)
            .min_by_key(|s| s.abs_diff(mapped.start))?;
        let at = TextPosition {
            start: s,
            end: s + suggestion_len,
        };
        Some(Anchor::placed(AnchorStatus::Resolved, self.new, at, None))
    }

    /// Step 4: a scored search for similar text; the best candidate must be similar enough,
    /// score high enough and beat every candidate elsewhere by the margin.
    pub(super) fn fuzzy(&self) -> Anchor {
        let quote = &self.base.quote;
        let mut candidates: Vec<(TextPosition, f64, f64)> =
            fuzzy_windows(self.new, quote, self.mapped)
                .into_iter()
                .map(|at| {
                    let quote_sim = similarity(self.new.slice(at.start, at.end), &quote.exact);
                    (at, quote_sim, self.scorer.score(at, quote_sim))
                })
                .filter(|(_, quote_sim, score)| {
                    *quote_sim >= MIN_FUZZY_QUOTE && *score >= MIN_FUZZY_SCORE
                })
                .collect();
        candidates.sort_by(|a, b| b.2.total_cmp(&a.2));
        let Some(&(best, _, score)) = candidates.first() else {
            return Anchor::orphaned();
        };
        // Rivals are candidates elsewhere (overlapping windows are the same place, re-cut).
        let rivals: Vec<TextPosition> = candidates
            .iter()
            .filter(|(p, _, s)| !overlaps(*p, best) && score - s < MARGIN)
            .map(|(p, _, _)| *p)
            .collect();
        if rivals.is_empty() {
            return self.found(AnchorStatus::Fuzzy, best, Some(score));
        }
        let mut all = rivals;
        all.push(best);
        all.sort_by_key(|p| p.start);
        ambiguous(score, all)
    }
}
