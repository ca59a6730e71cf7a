//! Re-anchoring: where a passage annotated on one version of an article is in a later one.
//!
//! Positions are first mapped through a character diff of the two versions. A passage the diff
//! left untouched keeps its text; it is `exact` where it was and `moved` elsewhere, however
//! often its quote occurs (copies both versions have are told apart by the diff, which keeps
//! them in order), unless the new version has a copy with context as good that the old one did
//! not have, which makes it `ambiguous` (a diff cannot tell which copy of a duplicated sentence
//! is the original). Otherwise the quote is searched for (with its prefix and suffix), then a
//! correction whose suggested text is now where its passage was is `resolved`, and last a fuzzy
//! search scores candidates on quote, prefix, suffix and distance from the mapped position. A
//! candidate is accepted only above a minimum score and with a clear margin over the next one;
//! else the passage is `ambiguous` or `orphaned`.
//! Nothing here guesses: a passage is never attached to a lookalike.

mod diff;
mod search;

use serde::{Deserialize, Serialize};
use similar::DiffOp;

use super::text::{IndexedText, TextPosition, TextQuote};
use search::Search;

pub use diff::DiffBudget;

/// Where an annotation's passage stands in one version of its article.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnchorStatus {
    /// The same text at the same place.
    Exact,
    /// The same text, elsewhere.
    Moved,
    /// Similar text, found by a scored search.
    Fuzzy,
    /// Several places fit about equally well; a person must choose.
    Ambiguous,
    /// Nowhere in this version.
    Orphaned,
    /// A correction whose suggested text is now where its passage was: the fix was applied.
    Resolved,
    /// Placed by a person.
    Reattached,
}

impl AnchorStatus {
    pub const ALL: [AnchorStatus; 7] = [
        AnchorStatus::Exact,
        AnchorStatus::Moved,
        AnchorStatus::Fuzzy,
        AnchorStatus::Ambiguous,
        AnchorStatus::Orphaned,
        AnchorStatus::Resolved,
        AnchorStatus::Reattached,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AnchorStatus::Exact => "exact",
            AnchorStatus::Moved => "moved",
            AnchorStatus::Fuzzy => "fuzzy",
            AnchorStatus::Ambiguous => "ambiguous",
            AnchorStatus::Orphaned => "orphaned",
            AnchorStatus::Resolved => "resolved",
            AnchorStatus::Reattached => "reattached",
        }
    }

    /// Whether the passage has a place in the version (and can be highlighted there).
    pub fn is_placed(self) -> bool {
        !matches!(self, AnchorStatus::Ambiguous | AnchorStatus::Orphaned)
    }

    /// Whether a person should look at it.
    pub fn needs_attention(self) -> bool {
        !self.is_placed()
    }
}

/// The result of anchoring one target in one version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Anchor {
    pub status: AnchorStatus,
    /// Where the passage is in this version (absent when ambiguous or orphaned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<TextPosition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<TextQuote>,
    /// The match score, 0..1, for fuzzy and ambiguous results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// The places that fit about equally well, when ambiguous.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<TextPosition>,
}

impl Anchor {
    fn placed(
        status: AnchorStatus,
        text: &IndexedText,
        at: TextPosition,
        score: Option<f64>,
    ) -> Self {
        Anchor {
            status,
            position: Some(at),
            quote: Some(text.describe(at)),
            score: score.map(round),
            candidates: Vec::new(),
        }
    }

    fn orphaned() -> Self {
        Anchor {
            status: AnchorStatus::Orphaned,
            position: None,
            quote: None,
            score: None,
            candidates: Vec::new(),
        }
    }
}

fn round(score: f64) -> f64 {
    (score * 1000.0).round() / 1000.0
}

/// Weights of a candidate's score (they sum to 1).
const QUOTE_WEIGHT: f64 = 0.5;
const PREFIX_WEIGHT: f64 = 0.2;
const SUFFIX_WEIGHT: f64 = 0.2;
const DISTANCE_WEIGHT: f64 = 0.1;
/// An exact occurrence of the quote needs some of its context (or the diff) to be accepted.
const MIN_EXACT_SCORE: f64 = 0.65;
/// A fuzzy candidate needs a quote this similar and a score this high.
const MIN_FUZZY_QUOTE: f64 = 0.75;
const MIN_FUZZY_SCORE: f64 = 0.7;
/// The best candidate must beat the next one by this much, or the result is ambiguous.
const MARGIN: f64 = 0.1;

/// The character diff between two versions of an article, for mapping positions.
pub struct VersionDiff {
    ops: Vec<DiffOp>,
    old_len: usize,
    new_len: usize,
}

impl VersionDiff {
    /// Diffs two versions with at most `budget` of work: where it runs out, what is left is
    /// treated as replaced, so the result depends on the texts and the budget only.
    pub fn new(old: &str, new: &str, budget: DiffBudget) -> Self {
        let old: Vec<char> = old.chars().collect();
        let new: Vec<char> = new.chars().collect();
        let ops = diff::diff_ops(&old, &new, budget);
        Self {
            ops,
            old_len: old.len(),
            new_len: new.len(),
        }
    }

    /// The op covering old character `pos` (ops with an empty old range never do).
    fn op_at(&self, pos: usize) -> Option<&DiffOp> {
        let i = self.ops.partition_point(|op| op.old_range().end <= pos);
        self.ops[i..]
            .iter()
            .find(|op| !op.old_range().is_empty())
            .filter(|op| op.old_range().contains(&pos))
    }

    /// Where a passage starting at old `pos` starts in the new text (after text inserted there).
    pub fn map_start(&self, pos: usize) -> usize {
        if pos >= self.old_len {
            return self.new_len;
        }
        match self.op_at(pos) {
            Some(DiffOp::Equal {
                old_index,
                new_index,
                ..
            }) => new_index + (pos - old_index),
            Some(op) => op.new_range().start,
            None => self.new_len,
        }
    }

    /// Where a passage ending at old `pos` (exclusive) ends in the new text (before text
    /// inserted there).
    pub fn map_end(&self, pos: usize) -> usize {
        if pos == 0 {
            return 0;
        }
        match self.op_at(pos - 1) {
            Some(DiffOp::Equal {
                old_index,
                new_index,
                ..
            }) => new_index + (pos - 1 - old_index) + 1,
            Some(op) => op.new_range().end,
            None => self.new_len,
        }
    }

    /// Whether the new range `start..end` is old text the diff carried over unchanged (the old
    /// version had it too, in the same order), rather than text an edit inserted or assembled.
    pub fn carried(&self, start: usize, end: usize) -> bool {
        let i = self.ops.partition_point(|op| op.new_range().end <= start);
        let Some(DiffOp::Equal {
            old_index,
            new_index,
            ..
        }) = self.ops.get(i)
        else {
            return false;
        };
        if start < *new_index {
            return false;
        }
        let old_start = old_index + (start - new_index);
        let old_end = old_start + (end - start);
        self.untouched(old_start, old_end)
            && self.map_start(old_start) == start
            && self.map_end(old_end) == end
    }

    /// Whether no edit touched the old range `start..end`: no character changed or removed,
    /// nothing inserted inside it.
    pub fn untouched(&self, start: usize, end: usize) -> bool {
        self.ops.iter().all(|op| {
            let old = op.old_range();
            match op {
                DiffOp::Equal { .. } => true,
                DiffOp::Insert { old_index, .. } => !(start < *old_index && *old_index < end),
                _ => old.end <= start || old.start >= end,
            }
        })
    }
}

/// Where a passage was: its selectors in the version it was last placed in.
#[derive(Clone, Debug)]
pub struct Base {
    pub quote: TextQuote,
    pub position: TextPosition,
    /// The passage was a correction already applied (so finding it again keeps it resolved).
    pub resolved: bool,
}

/// Anchors a passage in a new version. `diff` goes from the base's version to the new one;
/// `suggestion` is a correction's suggested text.
pub fn reanchor(
    diff: &VersionDiff,
    new: &IndexedText,
    base: &Base,
    suggestion: Option<&str>,
) -> Anchor {
    let search = Search::new(diff, new, base);
    search
        .untouched()
        .or_else(|| search.elsewhere())
        .or_else(|| search.corrected(suggestion))
        .unwrap_or_else(|| search.fuzzy())
}

fn ambiguous(score: f64, candidates: Vec<TextPosition>) -> Anchor {
    Anchor {
        status: AnchorStatus::Ambiguous,
        position: None,
        quote: None,
        score: Some(round(score)),
        candidates,
    }
}

fn overlaps(a: TextPosition, b: TextPosition) -> bool {
    a.start < b.end && b.start < a.end
}

/// Scores a candidate place for a quote on context and distance.
struct Scorer<'a, 'b> {
    text: &'a IndexedText<'b>,
    quote: &'a TextQuote,
    expected: u64,
}

impl Scorer<'_, '_> {
    fn score(&self, at: TextPosition, quote_sim: f64) -> f64 {
        let len = self.text.len();
        let prefix_len = self.quote.prefix.chars().count() as u64;
        let suffix_len = self.quote.suffix.chars().count() as u64;
        let prefix_sim = if prefix_len == 0 {
            if at.start == 0 {
                1.0
            } else {
                0.5
            }
        } else {
            similarity(
                self.text
                    .slice(at.start.saturating_sub(prefix_len), at.start),
                &self.quote.prefix,
            )
        };
        let suffix_sim = if suffix_len == 0 {
            if at.end >= len {
                1.0
            } else {
                0.5
            }
        } else {
            similarity(
                self.text.slice(at.end, at.end + suffix_len),
                &self.quote.suffix,
            )
        };
        let scale = (len / 4).max(64) as f64;
        let closeness = 1.0 - (at.start.abs_diff(self.expected) as f64 / scale).min(1.0);
        QUOTE_WEIGHT * quote_sim
            + PREFIX_WEIGHT * prefix_sim
            + SUFFIX_WEIGHT * suffix_sim
            + DISTANCE_WEIGHT * closeness
    }
}

/// Places where a reworded quote may be: where the diff put it, and around occurrences of its
/// first and last words.
fn fuzzy_windows(text: &IndexedText, quote: &TextQuote, mapped: TextPosition) -> Vec<TextPosition> {
    let exact: Vec<char> = quote.exact.chars().collect();
    let len = exact.len() as u64;
    if len == 0 {
        return Vec::new();
    }
    let mut windows = Vec::new();
    if mapped.end > mapped.start {
        windows.push(mapped);
    }
    let gram = (exact.len()).min(12);
    let head: String = exact[..gram].iter().collect();
    let tail: String = exact[exact.len() - gram..].iter().collect();
    const MAX_HITS: usize = 64;
    for start in text.occurrences(&head).into_iter().take(MAX_HITS) {
        windows.push(TextPosition {
            start,
            end: (start + len).min(text.len()),
        });
        if mapped.end > mapped.start
            && start < mapped.end
            && start >= mapped.start.saturating_sub(len)
        {
            windows.push(TextPosition {
                start,
                end: mapped.end.max(start + 1),
            });
        }
    }
    for hit in text.occurrences(&tail).into_iter().take(MAX_HITS) {
        let end = hit + gram as u64;
        windows.push(TextPosition {
            start: end.saturating_sub(len),
            end,
        });
        if mapped.end > mapped.start && end > mapped.start && end <= mapped.end + len {
            windows.push(TextPosition {
                start: mapped.start.min(end - 1),
                end,
            });
        }
    }
    // A quote reworded in its middle, wherever it is: from an occurrence of its first words to
    // one of its last, when the span is about as long as the quote (a quote from another copy
    // of the text, whose positions do not fit this one, has no mapped place to lean on).
    let heads: Vec<u64> = text.occurrences(&head).into_iter().take(MAX_HITS).collect();
    let tails: Vec<u64> = text.occurrences(&tail).into_iter().take(MAX_HITS).collect();
    for &start in &heads {
        for &hit in &tails {
            let end = hit + gram as u64;
            if end > start && (end - start).abs_diff(len) * 4 <= len {
                windows.push(TextPosition { start, end });
            }
        }
    }
    windows.sort_by_key(|p| (p.start, p.end));
    windows.dedup();
    windows
}

/// 1 − normalised edit distance, over code points.
pub fn similarity(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 1.0;
    }
    1.0 - levenshtein(&a, &b) as f64 / longest as f64
}

fn levenshtein(a: &[char], b: &[char]) -> usize {
    if a.is_empty() {
        return b.len();
    }
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const NATO: &str = include_str!("../../../seeds/articles/000_b8b91b8f13ffc2b9.txt");
    const FINALISED: &str = include_str!("../../../seeds/articles/001_e66dc6db878f3d90.txt");
    const CAPTION: &str = "France's President Emmanuel Macron greets Ukraine's President Volodymyr Zelenskyy upon his arrival to attend the Coalition of the Willing Summit, at The Elysee presidential Palace in Paris. AFP";

    /// Given an annotation on `quote` in `old`, when `new` is published, where is it?
    fn anchor(old: &str, new: &str, quote: &str, suggestion: Option<&str>) -> Anchor {
        anchor_occurrence(old, new, quote, 0, suggestion, DiffBudget::STANDARD).1
    }

    /// Given an annotation on the `nth` (from 0) occurrence of `quote` in `old`, when `new` is
    /// published, where is it?
    fn anchor_nth(old: &str, new: &str, quote: &str, nth: usize) -> (TextPosition, Anchor) {
        anchor_occurrence(old, new, quote, nth, None, DiffBudget::STANDARD)
    }

    fn anchor_occurrence(
        old: &str,
        new: &str,
        quote: &str,
        nth: usize,
        suggestion: Option<&str>,
        budget: DiffBudget,
    ) -> (TextPosition, Anchor) {
        let old_text = IndexedText::new(old);
        let start = *old_text
            .occurrences(quote)
            .get(nth)
            .expect("the quote is in the old text");
        let position = TextPosition {
            start,
            end: start + quote.chars().count() as u64,
        };
        let base = Base {
            quote: old_text.describe(position),
            position,
            resolved: false,
        };
        let anchor = reanchor(
            &VersionDiff::new(old, new, budget),
            &IndexedText::new(new),
            &base,
            suggestion,
        );
        (position, anchor)
    }

    fn at(text: &str, anchor: &Anchor) -> String {
        let p = anchor.position.expect("placed");
        IndexedText::new(text).slice(p.start, p.end).to_owned()
    }

    #[test]
    fn a_passage_the_edit_did_not_touch_stays_exact() {
        let new = NATO.replace("Speaking to reporters", "Speaking to journalists");
        let result = anchor(NATO, &new, "The United States is prepared", None);
        assert_eq!(result.status, AnchorStatus::Exact);
        assert_eq!(at(&new, &result), "The United States is prepared");
    }

    #[test]
    fn fixing_the_typo_resolves_the_correction() {
        let new = NATO.replace("remakrs", "remarks");
        let result = anchor(NATO, &new, "remakrs", Some("remarks"));
        assert_eq!(result.status, AnchorStatus::Resolved);
        assert_eq!(at(&new, &result), "remarks");
    }

    #[test]
    fn a_paragraph_inserted_before_moves_the_passage() {
        let inserted = "Editor’s Note: A paragraph on the Alaska summit was added.\n";
        let new = NATO.replacen(
            "Speaking to reporters",
            &format!("{inserted}Speaking to reporters"),
            1,
        );
        let result = anchor(NATO, &new, "after a the call", Some("after the call"));
        assert_eq!(result.status, AnchorStatus::Moved);
        assert_eq!(at(&new, &result), "after a the call");
        let shift = inserted.chars().count() as u64;
        let old_start = NATO[..NATO.find("after a the call").unwrap()]
            .chars()
            .count() as u64;
        assert_eq!(result.position.unwrap().start, old_start + shift);
    }

    #[test]
    fn a_light_rewording_is_found_fuzzily_with_its_score() {
        let quote = "The online talks come just two days before Trump is set to meet Russian President Vladimir Putin in Alaska on Aug. 15.";
        let reworded = "The online talks came just two days before Trump was due to meet Russian President Vladimir Putin in Alaska on Aug. 15.";
        let new = NATO.replace(quote, reworded);
        let result = anchor(NATO, &new, quote, None);
        assert_eq!(result.status, AnchorStatus::Fuzzy);
        assert_eq!(at(&new, &result), reworded);
        let score = result.score.unwrap();
        assert!(score > MIN_FUZZY_SCORE && score < 1.0, "score {score}");
    }

    #[test]
    fn a_reworded_quote_whose_position_is_from_another_copy_is_found_whole() {
        // A quote taken from the page as a browser showed it: its words drifted, and its
        // position counts text (a header, say) this copy does not have.
        let sentence = "The online talks come just two days before Trump is set to meet Russian President Vladimir Putin in Alaska on Aug. 15.";
        let drifted = "The online talks come two days before Trump was set to meet Russian President Vladimir Putin in Alaska on Aug. 15.";
        let text = IndexedText::new(NATO);
        let start = text.occurrences(sentence)[0];
        let context = text.describe(TextPosition {
            start,
            end: start + sentence.chars().count() as u64,
        });
        let base = Base {
            quote: TextQuote {
                exact: drifted.into(),
                ..context
            },
            position: TextPosition {
                start: start + 150,
                end: start + 150 + drifted.chars().count() as u64,
            },
            resolved: false,
        };
        let result = reanchor(
            &VersionDiff::new(NATO, NATO, DiffBudget::STANDARD),
            &text,
            &base,
            None,
        );
        assert_eq!(result.status, AnchorStatus::Fuzzy, "{result:?}");
        assert_eq!(at(NATO, &result), sentence);
    }

    #[test]
    fn a_duplicated_sentence_is_ambiguous_not_guessed() {
        let line =
            "“President Trump expressed this clearly in these terms,” Macron told the press.";
        let new = NATO.replace(line, &format!("{line}\n{line}"));
        let result = anchor(NATO, &new, line, None);
        assert_eq!(result.status, AnchorStatus::Ambiguous);
        assert_eq!(result.position, None);
        assert_eq!(result.candidates.len(), 2);
        for candidate in &result.candidates {
            assert_eq!(
                IndexedText::new(&new).slice(candidate.start, candidate.end),
                line
            );
        }
    }

    #[test]
    fn a_quote_repeated_in_both_versions_keeps_each_copy_where_the_edit_left_it() {
        // The photo caption runs four times at the top; the edit is further down.
        assert_eq!(FINALISED.matches(CAPTION).count(), 4);
        let new = FINALISED.replace("Nato", "NATO");
        for nth in 0..4 {
            let (was, result) = anchor_nth(FINALISED, &new, CAPTION, nth);
            assert_eq!(result.status, AnchorStatus::Exact, "copy {nth}: {result:?}");
            assert_eq!(result.position, Some(was), "copy {nth}");
        }
        // The same for a word inside the caption, whose context is the same in every copy.
        for nth in 0..4 {
            let (was, result) = anchor_nth(FINALISED, &new, "Zelenskyy", nth);
            assert_eq!(result.status, AnchorStatus::Exact, "word {nth}: {result:?}");
            assert_eq!(result.position, Some(was), "word {nth}");
        }
    }

    #[test]
    fn a_repeated_quote_moves_by_exactly_the_text_inserted_before_it() {
        let note = "Editor’s Note: This article was updated.\n";
        let shift = note.chars().count() as u64;
        let new = format!("{note}{FINALISED}");
        for nth in 0..4 {
            let (was, result) = anchor_nth(FINALISED, &new, CAPTION, nth);
            assert_eq!(result.status, AnchorStatus::Moved, "copy {nth}: {result:?}");
            let now = result.position.unwrap();
            assert_eq!((now.start, now.end), (was.start + shift, was.end + shift));
        }
    }

    #[test]
    fn a_new_copy_of_a_unique_passage_with_the_same_context_is_ambiguous() {
        // A quote that occurs once, copied with its context on both sides to the end.
        let quote = "The United States is prepared";
        assert_eq!(NATO.matches(quote).count(), 1);
        let byte = NATO.find(quote).unwrap();
        let copy_start = NATO[..byte].char_indices().rev().nth(39).unwrap().0;
        let copy_end = byte + quote.len() + 40;
        let new = format!("{NATO}\n{}", &NATO[copy_start..copy_end]);
        let (was, result) = anchor_nth(NATO, &new, quote, 0);
        assert_eq!(result.status, AnchorStatus::Ambiguous, "{result:?}");
        assert_eq!(result.position, None);
        assert_eq!(result.candidates.len(), 2);
        assert_eq!(result.candidates[0], was);
    }

    #[test]
    fn a_new_copy_of_a_repeated_passage_makes_it_ambiguous() {
        // The caption runs four times; the new version runs it seven times. Whichever copies
        // the diff calls new, one of them sits between two copies, as the second one did.
        let run = [CAPTION; 4].join("\n");
        let new = FINALISED.replacen(&run, &[CAPTION; 7].join("\n"), 1);
        assert_eq!(new.matches(CAPTION).count(), 7);
        let (was, result) = anchor_nth(FINALISED, &new, CAPTION, 1);
        assert_eq!(result.status, AnchorStatus::Ambiguous, "{result:?}");
        assert_eq!(result.position, None);
        assert!(result.candidates.len() >= 2, "{result:?}");
        assert!(result
            .candidates
            .iter()
            .all(|c| c.end - c.start == was.end - was.start));
    }

    #[test]
    fn a_deleted_paragraph_orphans_its_annotations() {
        let paragraph = "Zelensky has repeatedly said that NATO accession is the best possible security guarantee for postwar Ukraine. Kyiv officially applied for NATO membership in September 2022 after Russia illegally declared the annexation of four Ukrainian oblasts.\n";
        let new = NATO.replace(paragraph, "");
        assert_ne!(new, NATO);
        let sentence = anchor(
            NATO,
            &new,
            "Zelensky has repeatedly said that NATO accession is the best possible security guarantee for postwar Ukraine.",
            None,
        );
        assert_eq!(sentence.status, AnchorStatus::Orphaned);
        // A one-word quote does not jump to the same word elsewhere in the article.
        let word = anchor(NATO, &new, "Kyiv officially", None);
        assert_eq!(word.status, AnchorStatus::Orphaned);
    }

    #[test]
    fn a_short_quote_keeps_to_its_own_occurrence_when_the_text_around_changes() {
        // "Kyiv" occurs several times; the annotated one is followed by "officially applied".
        let new = NATO.replace("in September 2022", "in autumn 2022");
        let result = anchor(NATO, &new, "Kyiv officially applied", None);
        assert_eq!(result.status, AnchorStatus::Exact);
    }

    #[test]
    fn the_diff_budget_not_the_machine_decides_how_far_the_diff_sees() {
        // Edits at both ends put the four copies of the caption in the part that is searched.
        let note = "Editor’s Note: This article was updated.\n";
        let new = format!("{note}{}", FINALISED.replace("Nato", "NATO"));
        let shift = note.chars().count() as u64;
        let placed = |budget| anchor_occurrence(FINALISED, &new, CAPTION, 2, None, budget);
        let (was, enough) = placed(DiffBudget::STANDARD);
        assert_eq!(enough.status, AnchorStatus::Moved, "{enough:?}");
        assert_eq!(enough.position.unwrap().start, was.start + shift);
        // With no budget to tell the copies apart, the diff sees the middle as rewritten; the
        // verdict is the search's, and the same on every run.
        let (_, starved) = placed(DiffBudget::units(1));
        assert_ne!(starved, enough);
        for _ in 0..3 {
            assert_eq!(placed(DiffBudget::units(1)).1, starved);
        }
    }

    #[test]
    fn positions_map_through_the_diff() {
        let diff = VersionDiff::new("abcdef", "abXcdYYf", DiffBudget::STANDARD);
        assert_eq!(diff.map_start(2), 3); // "c" after the inserted X
        assert_eq!(diff.map_end(2), 2); // an end before the insertion stays before it
        assert_eq!(diff.map_start(4), 5); // "e" was replaced by YY
        assert_eq!(diff.map_end(5), 7);
        assert!(diff.untouched(0, 2));
        assert!(!diff.untouched(1, 3)); // X was inserted inside
        assert!(!diff.untouched(4, 5));
        // New ranges the old text had: "ab", "cd", "f"; not X, YY, or anything across them.
        assert!(diff.carried(0, 2) && diff.carried(3, 5) && diff.carried(7, 8));
        assert!(!diff.carried(2, 3) && !diff.carried(5, 7) && !diff.carried(1, 4));
    }

    #[test]
    fn similarity_is_one_minus_the_normalised_edit_distance() {
        assert_eq!(similarity("remarks", "remarks"), 1.0);
        assert!((similarity("remakrs", "remarks") - (1.0 - 2.0 / 7.0)).abs() < 1e-9);
        assert_eq!(similarity("", ""), 1.0);
    }
}
