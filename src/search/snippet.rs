//! Highlighted snippets: the passage of a hit's text where the query's words are, with each
//! matching word marked.
//!
//! Computed from the text itself with the index's analyzer, so a match found through a
//! misspelling, a prefix or folded accents is marked just as an exact one is.

use serde::Serialize;

use super::fields::{analyzer, TextField};
use super::query::Terms;

/// How many characters a snippet shows around its first match, at most.
const WINDOW: usize = 200;
/// How many characters before the first match a snippet starts, when it must be cut.
const LEAD: usize = 60;

/// A piece of a hit's text with the query's words marked.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Snippet {
    /// The field the text comes from (`note`, `quote`, `replies`, `tags`, `text`, …).
    pub field: &'static str,
    pub text: String,
    /// Marked ranges of `text`, in code points, end exclusive.
    pub highlights: Vec<[usize; 2]>,
    /// `text` as HTML, escaped, with each marked range in `<mark>`.
    pub html: String,
}

/// The snippet of the candidate text with the most matching words (the first on a tie), or of
/// the first text when none matches.
pub fn best(texts: &[(TextField, String)], terms: &Terms) -> Option<Snippet> {
    let mut best: Option<(usize, usize)> = None;
    let mut marks_of_best = Vec::new();
    for (i, (_, text)) in texts.iter().enumerate() {
        let marks = matches(text, terms);
        if best.is_none_or(|(_, count)| marks.len() > count) {
            best = Some((i, marks.len()));
            marks_of_best = marks;
        }
    }
    let (i, _) = best?;
    let (field, text) = &texts[i];
    Some(cut(*field, text, &marks_of_best))
}

/// Byte ranges of the words of `text` that match a query word or phrase word.
fn matches(text: &str, terms: &Terms) -> Vec<(usize, usize)> {
    let mut analyzer = analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut marks = Vec::new();
    while stream.advance() {
        let token = stream.token();
        if matches_word(&token.text, terms) {
            marks.push((token.offset_from, token.offset_to));
        }
    }
    marks
}

fn matches_word(token: &str, terms: &Terms) -> bool {
    terms.words.iter().any(|word| {
        token == word.term
            || (word.prefix && token.starts_with(word.term.as_str()))
            || (word.fuzz > 0 && within(token, &word.term, word.fuzz as usize))
    }) || terms.phrases.iter().flatten().any(|t| t == token)
}

/// Whether `a` is at most `limit` edits (insertions, deletions, substitutions, transpositions of
/// neighbours) from `b`.
fn within(a: &str, b: &str, limit: usize) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > limit {
        return false;
    }
    // Optimal string alignment distance, row by row.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            current[j] = d;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()] <= limit
}

/// The window of `text` around its first mark, with the marks inside it.
fn cut(field: TextField, text: &str, marks: &[(usize, usize)]) -> Snippet {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let char_at = |byte: usize| chars.partition_point(|(b, _)| *b < byte);
    let total = chars.len();
    let first = marks.first().map_or(0, |(from, _)| char_at(*from));
    let (mut start, mut end) = if total <= WINDOW {
        (0, total)
    } else {
        let start = first.saturating_sub(LEAD).min(total - WINDOW);
        (start, start + WINDOW)
    };
    // Start and end on word boundaries where the window cuts the text.
    if start > 0 {
        while start < first && !chars[start - 1].1.is_whitespace() {
            start += 1;
        }
    }
    if end < total {
        while end > first + 1 && !chars[end].1.is_whitespace() {
            end -= 1;
        }
    }
    let byte = |c: usize| chars.get(c).map_or(text.len(), |(b, _)| *b);
    let (from, to) = (byte(start), byte(end));
    let lead = if start > 0 { "…" } else { "" };
    let tail = if end < total { "…" } else { "" };
    let shown = format!("{lead}{}{tail}", &text[from..to]);
    let offset = lead.chars().count();
    let highlights: Vec<[usize; 2]> = marks
        .iter()
        .filter(|(f, t)| *f >= from && *t <= to)
        .map(|(f, t)| [char_at(*f) - start + offset, char_at(*t) - start + offset])
        .collect();
    let html = html(&shown, &highlights);
    Snippet {
        field: field.name(),
        text: shown,
        highlights,
        html,
    }
}

/// `text` escaped for HTML, with the highlighted ranges in `<mark>`.
fn html(text: &str, highlights: &[[usize; 2]]) -> String {
    let mut out = String::with_capacity(text.len() + highlights.len() * 13);
    let mut marks = highlights.iter().peekable();
    for (i, c) in text.chars().enumerate() {
        if marks.peek().is_some_and(|[from, _]| *from == i) {
            out.push_str("<mark>");
        }
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
        if marks.peek().is_some_and(|[_, to]| *to == i + 1) {
            out.push_str("</mark>");
            marks.next();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snippet(text: &str, q: &str) -> Snippet {
        best(&[(TextField::Note, text.to_owned())], &Terms::parse(q)).expect("a snippet")
    }

    fn marked(s: &Snippet) -> Vec<String> {
        let chars: Vec<char> = s.text.chars().collect();
        s.highlights
            .iter()
            .map(|[f, t]| chars[*f..*t].iter().collect())
            .collect()
    }

    #[test]
    fn marks_exact_folded_misspelled_and_prefix_matches() {
        let s = snippet(
            "Zelenskyy met Macron at the Élysée; security talks.",
            "zelenskiy elysee secu",
        );
        assert_eq!(marked(&s), vec!["Zelenskyy", "Élysée", "security"]);
        assert_eq!(
            s.html,
            "<mark>Zelenskyy</mark> met Macron at the <mark>Élysée</mark>; <mark>security</mark> talks."
        );
    }

    #[test]
    fn a_long_text_is_cut_around_the_first_match_and_escaped() {
        let text = format!(
            "{} <b>26 nations</b> pledged {}",
            "word ".repeat(100),
            "more ".repeat(100)
        );
        let s = snippet(&text, "\"26 nations\"");
        assert!(
            s.text.starts_with('…') && s.text.ends_with('…'),
            "{}",
            s.text
        );
        assert!(s.text.chars().count() <= WINDOW + 2);
        assert_eq!(marked(&s), vec!["26", "nations"]);
        assert!(
            s.html
                .contains("&lt;b&gt;<mark>26</mark> <mark>nations</mark>&lt;/b&gt;"),
            "{}",
            s.html
        );
    }

    #[test]
    fn the_text_with_most_matches_is_chosen() {
        let texts = vec![
            (TextField::Note, "Nothing here.".to_owned()),
            (TextField::Quote, "he has no problem with it".to_owned()),
        ];
        let s = best(&texts, &Terms::parse("\"no problem\"")).unwrap();
        assert_eq!(s.field, "quote");
    }

    #[test]
    fn edit_distance_counts_transpositions_as_one() {
        assert!(within("zelenskiy", "zelenskyy", 1));
        assert!(within("nato", "naot", 1));
        assert!(!within("kyiv", "kiev", 1));
        assert!(within("kyiv", "kiev", 2));
    }
}
