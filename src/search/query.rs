//! What a person types, read into a query: words (each must match, in any text field, exactly,
//! with a small misspelling, or, for the last word, as the start of a word) and quoted phrases
//! (their words in that order), combined with the filters.

use std::ops::Bound;

use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, PhraseQuery, Query, RangeQuery,
    TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::Term;

use super::fields::{analyzer, Fields, ANNOTATION};
use super::SearchFilters;

/// The query text, analysed: what the index is asked and what a snippet highlights.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Terms {
    /// Single words, each of which must match.
    pub words: Vec<Word>,
    /// Quoted phrases (and words that analyse to several terms), each as its terms in order.
    pub phrases: Vec<Vec<String>>,
}

/// One word of the query.
#[derive(Clone, Debug, PartialEq)]
pub struct Word {
    pub term: String,
    /// Edits allowed (0 for short words and numbers).
    pub fuzz: u8,
    /// Whether words that start with it match (the last word, being typed).
    pub prefix: bool,
}

impl Terms {
    /// Reads `q`. The last word is taken as a prefix unless the text ends with a space.
    pub fn parse(q: &str) -> Terms {
        let mut terms = Terms::default();
        let mut segments: Vec<(String, bool)> = Vec::new();
        let mut rest = q;
        while let Some(open) = rest.find('"') {
            segments.extend(
                rest[..open]
                    .split_whitespace()
                    .map(|w| (w.to_owned(), false)),
            );
            let after = &rest[open + 1..];
            match after.find('"') {
                Some(close) => {
                    segments.push((after[..close].to_owned(), true));
                    rest = &after[close + 1..];
                }
                None => {
                    segments.push((after.to_owned(), true));
                    rest = "";
                }
            }
        }
        segments.extend(rest.split_whitespace().map(|w| (w.to_owned(), false)));
        let typing = !q.ends_with(char::is_whitespace) && !q.ends_with('"');
        let last_word = segments.iter().rposition(|(_, quoted)| !quoted);
        for (i, (segment, quoted)) in segments.iter().enumerate() {
            let tokens = tokens(segment);
            match tokens.len() {
                0 => {}
                1 => {
                    let term = tokens.into_iter().next().expect("one token");
                    terms.words.push(Word {
                        fuzz: fuzz_for(&term),
                        prefix: typing && !quoted && Some(i) == last_word,
                        term,
                    });
                }
                _ => terms.phrases.push(tokens),
            }
        }
        terms
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty() && self.phrases.is_empty()
    }
}

/// How many edits a word may be away: none for short words and numbers (too many lookalikes),
/// one from five letters, two from nine.
fn fuzz_for(term: &str) -> u8 {
    let letters = term.chars().count();
    if term.chars().any(|c| c.is_ascii_digit()) || letters < 5 {
        0
    } else if letters < 9 {
        1
    } else {
        2
    }
}

/// The analysed terms of a piece of text, in order.
pub fn tokens(text: &str) -> Vec<String> {
    let mut analyzer = analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

/// The whole query: the text's words and phrases, each required, and every filter given.
pub fn build(fields: &Fields, terms: &Terms, filters: &SearchFilters) -> Box<dyn Query> {
    let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for word in &terms.words {
        must.push((Occur::Must, word_query(fields, word)));
    }
    for phrase in &terms.phrases {
        must.push((Occur::Must, phrase_query(fields, phrase)));
    }
    let exact = |field: Field, value: &str| -> (Occur, Box<dyn Query>) {
        (
            Occur::Must,
            Box::new(TermQuery::new(
                Term::from_field_text(field, value),
                IndexRecordOption::Basic,
            )),
        )
    };
    if filters.only_annotations() {
        must.push(exact(fields.kind_of_hit, ANNOTATION));
    } else if let Some(kind_of_hit) = filters.hit {
        must.push(exact(fields.kind_of_hit, kind_of_hit.as_str()));
    }
    if let Some(article) = &filters.article {
        must.push(exact(fields.article, article.as_str()));
    }
    if let Some(kind) = filters.kind {
        must.push(exact(fields.kind, kind.as_str()));
    }
    if let Some(status) = filters.status {
        must.push(exact(fields.status, status.as_str()));
    }
    if let Some(verdict) = filters.verdict {
        must.push(exact(fields.verdict, verdict.as_str()));
    }
    if let Some(assignee) = &filters.assignee {
        must.push(exact(fields.assignee, assignee.as_str()));
    }
    if let Some(author) = &filters.author {
        must.push(exact(fields.author, author.as_str()));
    }
    if let Some(tag) = &filters.tag {
        must.push(exact(fields.tag, &tag.to_lowercase()));
    }
    if filters.from.is_some() || filters.to.is_some() {
        let bound = |at: Option<i64>, inclusive: bool| match at {
            None => Bound::Unbounded,
            Some(ms) if inclusive => Bound::Included(Term::from_field_i64(fields.created, ms)),
            Some(ms) => Bound::Excluded(Term::from_field_i64(fields.created, ms)),
        };
        must.push((
            Occur::Must,
            Box::new(RangeQuery::new(
                bound(filters.from.map(|t| t.timestamp_millis()), true),
                bound(filters.to.map(|t| t.timestamp_millis()), false),
            )),
        ));
    }
    if must.is_empty() {
        return Box::new(AllQuery);
    }
    if terms.is_empty() {
        // Filters alone: every document passing them, the rest of the ranking is by date.
        must.push((Occur::Must, Box::new(AllQuery)));
    }
    Box::new(BooleanQuery::new(must))
}

/// One word in any text field: exact matches count most, a misspelling or a word it starts
/// less.
fn word_query(fields: &Fields, word: &Word) -> Box<dyn Query> {
    let mut any: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for (which, field) in fields.texts() {
        let term = Term::from_field_text(field, &word.term);
        any.push((
            Occur::Should,
            Box::new(BoostQuery::new(
                Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs)),
                2.0 * which.weight(),
            )),
        ));
        if word.fuzz > 0 {
            any.push((
                Occur::Should,
                Box::new(BoostQuery::new(
                    Box::new(FuzzyTermQuery::new(term.clone(), word.fuzz, true)),
                    0.5 * which.weight(),
                )),
            ));
        }
        if word.prefix {
            any.push((
                Occur::Should,
                Box::new(BoostQuery::new(
                    Box::new(FuzzyTermQuery::new_prefix(term, 0, true)),
                    0.8 * which.weight(),
                )),
            ));
        }
    }
    Box::new(BooleanQuery::new(any))
}

/// A phrase in any text field, its words in order and next to each other.
fn phrase_query(fields: &Fields, phrase: &[String]) -> Box<dyn Query> {
    let any = fields
        .texts()
        .map(|(which, field)| {
            let terms = phrase
                .iter()
                .map(|t| Term::from_field_text(field, t))
                .collect();
            let query: Box<dyn Query> = Box::new(BoostQuery::new(
                Box::new(PhraseQuery::new(terms)),
                3.0 * which.weight(),
            ));
            (Occur::Should, query)
        })
        .collect();
    Box::new(BooleanQuery::new(any))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_phrases_and_the_word_being_typed() {
        let terms = Terms::parse("Zelenskiy \"26 nations\" secur");
        assert_eq!(
            terms.words,
            vec![
                Word {
                    term: "zelenskiy".into(),
                    fuzz: 2,
                    prefix: false
                },
                Word {
                    term: "secur".into(),
                    fuzz: 1,
                    prefix: true
                },
            ]
        );
        assert_eq!(terms.phrases, vec![vec!["26".to_owned(), "nations".into()]]);
        // A trailing space ends the word: it is no longer a prefix.
        assert!(!Terms::parse("secur ").words[0].prefix);
    }

    #[test]
    fn accents_and_case_are_folded_and_joined_words_become_a_phrase() {
        let terms = Terms::parse("Élysée post-war ");
        assert_eq!(terms.words[0].term, "elysee");
        assert_eq!(terms.phrases, vec![vec!["post".to_owned(), "war".into()]]);
        // An unclosed quote is a phrase to the end.
        assert_eq!(Terms::parse("\"no problem").phrases.len(), 1);
        assert!(Terms::parse("  \"\" ").is_empty());
    }
}
