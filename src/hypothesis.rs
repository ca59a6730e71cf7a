//! The Hypothesis API's annotation format, read for `glossa import hypothesis` and
//! `POST /api/import/hypothesis`: a search result (`{"rows": [...], "total": N}`) or a bare
//! array of rows, each with its quote and position selectors, tags, `references` (ancestors,
//! root first), `user` (`acct:name@host`) and times. Pure: parsing, the key an address is
//! matched by, and what an account becomes on the desk. What the desk does with the rows is
//! `desk::import`.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::domain::{normalise, AnnotationId, ReplyId, TextPosition, TextQuote, UserName};

/// One annotation as Hypothesis returns it (only what the import reads).
#[derive(Clone, Debug, Deserialize)]
pub struct Row {
    pub id: String,
    #[serde(default)]
    pub uri: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub target: Vec<RowTarget>,
    /// The ancestors of a reply, root first; empty on a top-level annotation.
    #[serde(default)]
    pub references: Vec<String>,
    /// `acct:name@host`.
    pub user: String,
    pub created: DateTime<Utc>,
    #[serde(default)]
    pub links: Option<Links>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct RowTarget {
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub selector: Vec<Value>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct Links {
    #[serde(default)]
    pub html: Option<String>,
    #[serde(default)]
    pub incontext: Option<String>,
}

/// The passage a row's selectors describe, in the article text's normal form.
#[derive(Clone, Debug, PartialEq)]
pub struct Passage {
    pub quote: TextQuote,
    pub position: Option<TextPosition>,
}

/// Parses a file or request body: a search result or an array of rows. The error says what
/// is wrong and where, for a 400 or a command's message; nothing is read half.
pub fn parse(bytes: &[u8]) -> Result<Vec<Row>, String> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("the Hypothesis file is not valid JSON: {e}"))?;
    let rows = match value {
        Value::Array(rows) => rows,
        // With `_separate_replies=true` the search puts replies apart, under `replies`.
        Value::Object(mut map) => match map.remove("rows") {
            Some(Value::Array(mut rows)) => {
                match map.remove("replies") {
                    Some(Value::Array(replies)) => rows.extend(replies),
                    None | Some(Value::Null) => {}
                    Some(_) => return Err("\"replies\" is not an array".into()),
                }
                rows
            }
            _ => return Err(
                "expected the Hypothesis API's search result ({\"rows\": [...], \"total\": N}) \
                     or an array of annotations; this object has no \"rows\" array"
                    .into(),
            ),
        },
        _ => {
            return Err(
                "expected the Hypothesis API's search result ({\"rows\": [...], \"total\": N}) \
                 or an array of annotations"
                    .into(),
            )
        }
    };
    let rows = rows
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            let id = row["id"].as_str().map(str::to_owned);
            serde_json::from_value::<Row>(row).map_err(|e| match id {
                Some(id) => format!("rows[{i}] (id {id}): {e}"),
                None => format!("rows[{i}]: {e}"),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(row) = rows.iter().find(|r| r.id.trim().is_empty()) {
        return Err(format!("a row has an empty id (uri {:?})", row.uri));
    }
    Ok(rows)
}

impl Row {
    /// The page the row is about: its `uri`, else its first target's `source`.
    pub fn address(&self) -> Option<&str> {
        self.uri
            .as_deref()
            .or_else(|| self.target.first().and_then(|t| t.source.as_deref()))
    }

    pub fn is_reply(&self) -> bool {
        !self.references.is_empty()
    }

    /// The quote and position of its first target, if it has a quote (a page note has none).
    pub fn passage(&self) -> Option<Passage> {
        let selectors = &self.target.first()?.selector;
        let mut quote = None;
        let mut position = None;
        for selector in selectors {
            match selector["type"].as_str() {
                Some("TextQuoteSelector") => {
                    let exact = normalise(selector["exact"].as_str().unwrap_or_default());
                    if !exact.is_empty() {
                        quote = Some(TextQuote {
                            exact,
                            prefix: context(selector["prefix"].as_str().unwrap_or_default()),
                            suffix: context(selector["suffix"].as_str().unwrap_or_default()),
                        });
                    }
                }
                Some("TextPositionSelector") => {
                    if let (Some(start), Some(end)) =
                        (selector["start"].as_u64(), selector["end"].as_u64())
                    {
                        if start < end {
                            position = Some(TextPosition { start, end });
                        }
                    }
                }
                _ => {}
            }
        }
        quote.map(|quote| Passage { quote, position })
    }

    /// Where the annotation is on Hypothesis: its `links.html`, else its public address.
    pub fn link(&self) -> String {
        self.links
            .as_ref()
            .and_then(|l| l.html.clone())
            .unwrap_or_else(|| format!("https://hypothes.is/a/{}", self.id))
    }

    /// The note's text, trimmed; empty when it has none.
    pub fn text(&self) -> &str {
        self.text.as_deref().unwrap_or_default().trim()
    }

    /// Its tags, trimmed, without empty ones or repeats.
    pub fn tags(&self) -> Vec<String> {
        let mut tags: Vec<String> = Vec::new();
        for tag in &self.tags {
            let tag = tag.trim();
            if !tag.is_empty() && !tags.iter().any(|t| t == tag) {
                tags.push(tag.to_owned());
            }
        }
        tags
    }
}

/// Prefix and suffix in the text's normal form, keeping a space at either end (normalising
/// would drop it, and the space is part of the context).
fn context(raw: &str) -> String {
    let mut out = String::new();
    let mut blank = false;
    let mut newline = false;
    for c in raw.chars() {
        if c.is_whitespace() {
            blank = true;
            newline |= c == '\n' || c == '\r';
            continue;
        }
        if blank {
            out.push(if newline { '\n' } else { ' ' });
        }
        blank = false;
        newline = false;
        out.push(c);
    }
    if blank {
        out.push(if newline { '\n' } else { ' ' });
    }
    out
}

/// The desk's id of an imported annotation or reply: `hyp-` and a hash of the Hypothesis id, so
/// importing the same row again names the same annotation (Hypothesis ids mix cases, which
/// ids on the desk do not).
pub fn derived_id(hypothesis_id: &str) -> String {
    let digest = Sha256::digest(hypothesis_id.as_bytes());
    format!("hyp-{}", hex::encode(&digest[..16]))
}

pub fn annotation_id(row: &Row) -> AnnotationId {
    annotation_id_of(&row.id)
}

pub fn annotation_id_of(hypothesis_id: &str) -> AnnotationId {
    AnnotationId::parse(&derived_id(hypothesis_id)).expect("a derived id is a valid slug")
}

pub fn reply_id(hypothesis_id: &str) -> ReplyId {
    ReplyId::parse(&derived_id(hypothesis_id)).expect("a derived id is a valid slug")
}

/// The user name an account gets on the desk: `h.` and the account's name, lower-cased, with
/// anything a user name cannot hold made `-` (at most 32 characters). The prefix keeps an
/// imported author apart from a desk user of the same name; the account itself is kept in
/// the note (see `desk::import`). Imported authors are not desk users: they cannot sign in.
pub fn author(account: &str) -> UserName {
    let name = account.strip_prefix("acct:").unwrap_or(account);
    let name = name.split('@').next().unwrap_or_default();
    if name.is_empty() {
        return UserName::parse("h.unknown").expect("valid");
    }
    let mut slug = String::from("h.");
    for c in name.chars().flat_map(char::to_lowercase) {
        slug.push(
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.' {
                c
            } else {
                '-'
            },
        );
    }
    let slug: String = slug.chars().take(32).collect();
    UserName::parse(&slug).unwrap_or_else(|_| UserName::parse("h.unknown").expect("valid"))
}

/// The key two addresses of the same page share: no scheme (`http` and `https` alike), the host
/// lower-cased, no fragment, no tracking parameters (`utm_*`, `WT.*`, `fbclid`, `gclid`; as
/// Hypothesis's own `h.util.uri.normalize` drops them), the others
/// sorted, and no trailing slash.
pub fn page_key(address: &str) -> String {
    let address = address.trim();
    let rest = match address.find("://") {
        Some(i) => &address[i + 3..],
        None => address,
    };
    let rest = rest.split('#').next().unwrap_or_default().trim_end();
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    };
    let (host, path) = match path.find('/') {
        Some(i) => (&path[..i], &path[i..]),
        None => (path, ""),
    };
    let host = host.to_ascii_lowercase();
    let host = host
        .strip_suffix(":80")
        .or_else(|| host.strip_suffix(":443"))
        .unwrap_or(&host);
    let mut key = format!("{host}{}", path.trim_end_matches('/'));
    let mut params: Vec<&str> = query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let name = p.split('=').next().unwrap_or_default().to_ascii_lowercase();
            !(name.starts_with("utm_")
                || name.starts_with("wt.")
                || name == "fbclid"
                || name == "gclid")
        })
        .collect();
    params.sort_unstable();
    if !params.is_empty() {
        key.push('?');
        key.push_str(&params.join("&"));
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_of_one_page_share_a_key() {
        let key = page_key("https://news.example/a/story");
        for same in [
            "http://news.example/a/story",
            "https://NEWS.example/a/story/",
            "https://news.example/a/story#p3",
            "https://news.example/a/story?utm_source=x&utm_medium=y",
            "https://news.example:443/a/story?fbclid=1#top",
        ] {
            assert_eq!(page_key(same), key, "{same}");
        }
        assert_ne!(page_key("https://news.example/a/other"), key);
        assert_eq!(
            page_key("https://news.example/a?id=2&utm_source=x"),
            "news.example/a?id=2"
        );
    }

    #[test]
    fn accounts_become_prefixed_names() {
        assert_eq!(author("acct:Jane_Doe@hypothes.is").as_str(), "h.jane_doe");
        assert_eq!(author("acct:a b@lms.example").as_str(), "h.a-b");
        assert_eq!(author("acct:@x").as_str(), "h.unknown");
        assert!(author(&format!("acct:{}@h", "x".repeat(40))).as_str().len() <= 32);
    }

    #[test]
    fn search_results_and_bare_arrays_parse_and_bad_shapes_say_why() {
        let row = r#"{"id":"A1","uri":"https://x/a","user":"acct:j@hypothes.is",
            "created":"2025-09-05T10:00:00.000000+00:00",
            "target":[{"source":"https://x/a","selector":[
              {"type":"TextQuoteSelector","exact":" two\n words ","prefix":"one  ","suffix":" three"},
              {"type":"TextPositionSelector","start":4,"end":13}]}]}"#;
        let rows = parse(format!(r#"{{"rows":[{row}],"total":1}}"#).as_bytes()).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(parse(format!("[{row}]").as_bytes()).unwrap().len(), 1);
        let apart = format!(r#"{{"rows":[{row}],"replies":[{row}],"total":1}}"#);
        assert_eq!(parse(apart.as_bytes()).unwrap().len(), 2);
        let passage = rows[0].passage().unwrap();
        assert_eq!(passage.quote.exact, "two\nwords");
        assert_eq!(passage.quote.prefix, "one ");
        assert_eq!(passage.position, Some(TextPosition { start: 4, end: 13 }));
        assert!(parse(b"{").unwrap_err().contains("not valid JSON"));
        assert!(parse(br#"{"total":1}"#).unwrap_err().contains("rows"));
        assert!(parse(br#"[{"id":"x"}]"#)
            .unwrap_err()
            .contains("rows[0] (id x)"));
    }
}
