//! Article text and the selectors that point into it.
//!
//! W3C selectors count Unicode code points over normalised text, so article text is normalised
//! once on ingestion (NFC, one space between words, one newline between paragraphs) and every
//! offset in Glossa is a code-point offset into that stored text.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

use super::DomainError;

/// How much context a server-computed TextQuoteSelector carries on each side, in code points.
pub const CONTEXT_CHARS: usize = 32;

/// Normalises article text: NFC; any line break becomes `\n`; within a line every run of
/// whitespace becomes one space and the line is trimmed; empty lines are dropped.
pub fn normalise(raw: &str) -> String {
    let nfc: String = raw.nfc().collect();
    let unified = nfc.replace("\r\n", "\n").replace('\r', "\n");
    unified
        .split('\n')
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The hex SHA-256 of a text, as published with each article version.
pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// `exact`, with the text just before and after it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextQuote {
    pub exact: String,
    #[serde(default)]
    pub prefix: String,
    #[serde(default)]
    pub suffix: String,
}

/// Code-point offsets into the normalised text, end exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextPosition {
    pub start: u64,
    pub end: u64,
}

/// Why a selector does not fit the article text; the message names the selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectorMismatch(pub String);

/// A text indexed by code point, so selectors can be checked without rescanning.
pub struct IndexedText<'a> {
    text: &'a str,
    /// Byte offset of each code point, plus the text length at the end.
    offsets: Vec<usize>,
}

impl<'a> IndexedText<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut offsets: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        offsets.push(text.len());
        Self { text, offsets }
    }

    /// Length in code points.
    pub fn len(&self) -> u64 {
        (self.offsets.len() - 1) as u64
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text between two code-point offsets (clamped to the text).
    pub fn slice(&self, start: u64, end: u64) -> &'a str {
        let len = self.len();
        let (start, end) = (start.min(len) as usize, end.min(len) as usize);
        &self.text[self.offsets[start]..self.offsets[end.max(start)]]
    }

    pub(crate) fn char_offset(&self, byte: usize) -> u64 {
        self.offsets.partition_point(|&b| b < byte) as u64
    }

    /// Every code-point offset at which `exact` occurs (overlapping occurrences included).
    pub(crate) fn occurrences(&self, exact: &str) -> Vec<u64> {
        let mut found = Vec::new();
        let mut from = 0;
        while let Some(i) = self.text[from..].find(exact) {
            let byte = from + i;
            found.push(self.char_offset(byte));
            from = byte + self.text[byte..].chars().next().map_or(1, char::len_utf8);
            if from > self.text.len() {
                break;
            }
        }
        found
    }

    /// Whether the quote's prefix and suffix fit around an occurrence at `start`.
    fn context_fits(&self, quote: &TextQuote, start: u64) -> bool {
        let end = start + quote.exact.chars().count() as u64;
        self.text[..self.offsets[start as usize]].ends_with(&quote.prefix)
            && self.text[self.offsets[end as usize]..].starts_with(&quote.suffix)
    }

    /// The quote selector for a span, with up to [`CONTEXT_CHARS`] of context on each side.
    pub fn describe(&self, position: TextPosition) -> TextQuote {
        let before = position.start.saturating_sub(CONTEXT_CHARS as u64);
        let after = (position.end + CONTEXT_CHARS as u64).min(self.len());
        TextQuote {
            exact: self.slice(position.start, position.end).to_owned(),
            prefix: self.slice(before, position.start).to_owned(),
            suffix: self.slice(position.end, after).to_owned(),
        }
    }

    /// Checks a TextQuoteSelector, and the TextPositionSelector if given, against this text and
    /// returns the position they agree on. Without a position the quote (with its prefix and
    /// suffix) must pick out exactly one passage.
    pub fn locate(
        &self,
        quote: &TextQuote,
        position: Option<TextPosition>,
    ) -> Result<TextPosition, SelectorMismatch> {
        if quote.exact.is_empty() {
            return Err(SelectorMismatch(
                "TextQuoteSelector: `exact` is empty; quote the passage you annotate".into(),
            ));
        }
        let occurrences = self.occurrences(&quote.exact);
        if occurrences.is_empty() {
            return Err(SelectorMismatch(format!(
                "TextQuoteSelector: the quote {:?} does not occur in this version of the article",
                abbreviate(&quote.exact)
            )));
        }
        match position {
            Some(position) => self.confirm(quote, position),
            None => self.the_one_fitting(quote, occurrences),
        }
    }

    /// A given position must lie within the text, read exactly the quote, and have the
    /// quote's prefix and suffix around it.
    fn confirm(
        &self,
        quote: &TextQuote,
        position: TextPosition,
    ) -> Result<TextPosition, SelectorMismatch> {
        if position.start > position.end {
            return Err(SelectorMismatch(format!(
                "TextPositionSelector: start {} is after end {}",
                position.start, position.end
            )));
        }
        if position.end > self.len() {
            return Err(SelectorMismatch(format!(
                "TextPositionSelector: end {} is past the end of the article ({} characters)",
                position.end,
                self.len()
            )));
        }
        let selected = self.slice(position.start, position.end);
        if selected != quote.exact {
            return Err(SelectorMismatch(format!(
                "TextPositionSelector: characters {}..{} read {:?}, not the quoted {:?}",
                position.start,
                position.end,
                abbreviate(selected),
                abbreviate(&quote.exact)
            )));
        }
        if !self.context_fits(quote, position.start) {
            return Err(SelectorMismatch(format!(
                "TextQuoteSelector: the prefix or suffix does not match the text around characters {}..{}",
                position.start, position.end
            )));
        }
        Ok(position)
    }

    /// Without a position, exactly one occurrence of the quote must fit its prefix and
    /// suffix; none, or several, is refused with what to send instead.
    fn the_one_fitting(
        &self,
        quote: &TextQuote,
        occurrences: Vec<u64>,
    ) -> Result<TextPosition, SelectorMismatch> {
        let quote_len = quote.exact.chars().count() as u64;
        let fitting: Vec<u64> = occurrences
            .into_iter()
            .filter(|&start| self.context_fits(quote, start))
            .collect();
        match fitting.as_slice() {
            [start] => Ok(TextPosition {
                start: *start,
                end: start + quote_len,
            }),
            [] => Err(SelectorMismatch(format!(
                "TextQuoteSelector: the quote {:?} occurs, but never with the given prefix and suffix",
                abbreviate(&quote.exact)
            ))),
            many => Err(SelectorMismatch(format!(
                "TextQuoteSelector: the quote {:?} occurs {} times with this prefix and suffix; add a TextPositionSelector or more context",
                abbreviate(&quote.exact),
                many.len()
            ))),
        }
    }
}

fn abbreviate(text: &str) -> String {
    const MAX: usize = 60;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    }
}

/// Refuses text that normalises to nothing.
pub fn require_text(raw: &str) -> Result<String, DomainError> {
    let text = normalise(raw);
    if text.is_empty() {
        return Err(DomainError::invalid(
            "text",
            "the article text is empty after normalisation",
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "Macron’s remakrs followed — a call.\nThe call “ended” after a the call.";

    #[test]
    fn normalisation_collapses_space_and_blank_lines() {
        assert_eq!(normalise("  a \t b \r\n\r\n\n c  "), "a b\nc");
        // NFC composes a combining accent.
        assert_eq!(normalise("e\u{301}"), "\u{e9}");
    }

    #[test]
    fn positions_count_code_points_not_bytes() {
        let text = IndexedText::new(TEXT);
        let quote = TextQuote {
            exact: "remakrs".into(),
            prefix: "Macron’s ".into(),
            suffix: " followed".into(),
        };
        let found = text.locate(&quote, None).unwrap();
        assert_eq!(found, TextPosition { start: 9, end: 16 });
        assert_eq!(text.locate(&quote, Some(found)).unwrap(), found);
    }

    #[test]
    fn a_quote_that_does_not_occur_is_refused() {
        let text = IndexedText::new(TEXT);
        let quote = TextQuote {
            exact: "remarks".into(),
            prefix: String::new(),
            suffix: String::new(),
        };
        let err = text.locate(&quote, None).unwrap_err();
        assert!(err.0.contains("does not occur"), "{}", err.0);
    }

    #[test]
    fn a_position_that_disagrees_with_the_quote_is_refused() {
        let text = IndexedText::new(TEXT);
        let quote = TextQuote {
            exact: "call".into(),
            prefix: String::new(),
            suffix: String::new(),
        };
        let err = text
            .locate(&quote, Some(TextPosition { start: 0, end: 4 }))
            .unwrap_err();
        assert!(err.0.starts_with("TextPositionSelector"), "{}", err.0);
    }

    #[test]
    fn an_ambiguous_quote_without_position_is_refused() {
        let text = IndexedText::new(TEXT);
        let quote = TextQuote {
            exact: "call".into(),
            prefix: String::new(),
            suffix: String::new(),
        };
        let err = text.locate(&quote, None).unwrap_err();
        assert!(err.0.contains("3 times"), "{}", err.0);
    }

    #[test]
    fn describe_gives_a_quote_that_locates_back() {
        let text = IndexedText::new(TEXT);
        let position = TextPosition { start: 48, end: 55 };
        let quote = text.describe(position);
        assert_eq!(text.locate(&quote, None).unwrap(), position);
    }
}
