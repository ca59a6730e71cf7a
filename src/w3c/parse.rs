//! Reading a client's Web Annotation into a [`Draft`].
//!
//! The parser is strict where a mistake would silently lose meaning (an unknown motivation or
//! selector, a body with an unknown purpose, wrong JSON types) and lenient where the W3C model
//! allows variety (single values or arrays, `bodyValue` or `body`, server-managed properties
//! such as `created` are ignored). Every error names the property and says what to send.

use serde_json::{Map, Value};

use crate::desk::{Draft, TargetDraft};
use crate::domain::{
    ArticleId, ClaimOrigin, Claimant, ClaimantType, EditLabel, Kind, Source, Status, TextPosition,
    TextQuote, UserName, Verdict,
};

use super::render::ANNO_CONTEXT;

/// The JSON is not an annotation Glossa can accept (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

fn err<T>(message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(message.into()))
}

/// A property that may be one value or an array of values.
fn many(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

fn string<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, ParseError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => err(format!("`{key}` must be a string, not {}", kind_of(other))),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn has_type(obj: &Map<String, Value>, wanted: &str) -> bool {
    obj.get("type")
        .is_some_and(|t| many(t).iter().any(|v| v.as_str() == Some(wanted)))
}

/// Parses an annotation. `base` is the server's base IRI: target sources must name one of its
/// articles, as `<base>/articles/<id>` (latest version), `<base>/articles/<id>/versions/<n>`, or
/// the same paths relative to the server.
pub fn parse_annotation(json: &Value, base: &str) -> Result<Draft, ParseError> {
    let Value::Object(obj) = json else {
        return err(format!(
            "an annotation must be a JSON object, not {}",
            kind_of(json)
        ));
    };
    check_is_annotation(obj)?;
    let kind = read_kind(obj)?;
    let mut bodies = read_bodies(obj)?;
    let targets = read_targets(obj, base)?;
    read_sources(obj, &mut bodies.sources)?;
    let verdict = string(obj, "verdict")?
        .map(Verdict::parse)
        .transpose()
        .map_err(|e| ParseError(e.to_string()))?;
    let edit_label = string(obj, "editLabel")?
        .map(EditLabel::parse)
        .transpose()
        .map_err(|e| ParseError(e.to_string()))?;
    let status = string(obj, "status")?
        .map(Status::parse)
        .transpose()
        .map_err(|e| ParseError(e.to_string()))?;
    let assignee = read_assignee(obj)?;
    let claim = read_claim(obj)?;
    let (canonical, via) = read_links(obj, base)?;
    Ok(Draft {
        kind,
        body: bodies.note.unwrap_or_default(),
        verdict,
        suggestion: bodies.suggestion,
        edit_label,
        claim,
        sources: bodies.sources,
        tags: bodies.tags,
        targets,
        status,
        assignee,
        canonical,
        via,
    })
}

/// Refuses JSON that does not declare itself a Web Annotation: the `@context` must include
/// the annotation context and the `type` must include `Annotation`.
fn check_is_annotation(obj: &Map<String, Value>) -> Result<(), ParseError> {
    match obj.get("@context") {
        Some(context)
            if many(context)
                .iter()
                .any(|c| c.as_str() == Some(ANNO_CONTEXT)) => {}
        Some(_) => return err(format!("`@context` must include \"{ANNO_CONTEXT}\"")),
        None => return err(format!("`@context` is missing; use \"{ANNO_CONTEXT}\"")),
    }
    if !has_type(obj, "Annotation") {
        return err("`type` must be \"Annotation\"");
    }
    Ok(())
}

/// The kind of annotation, decided by its single `motivation`; a `kind` the client also sends
/// must agree with it.
fn read_kind(obj: &Map<String, Value>) -> Result<Kind, ParseError> {
    let motivation = match obj.get("motivation") {
        None | Some(Value::Null) => return err(
            "`motivation` is missing; use assessing (fact-check), editing (correction), linking (contradiction), commenting, questioning or tagging",
        ),
        Some(value) => {
            let values = many(value);
            let [Value::String(m)] = values.as_slice() else {
                return err("`motivation` must be a single string");
            };
            m.clone()
        }
    };
    let kind = Kind::from_motivation(&motivation).map_err(|e| ParseError(e.to_string()))?;
    if let Some(declared) = string(obj, "kind")? {
        let declared = Kind::parse(declared).map_err(|e| ParseError(e.to_string()))?;
        if declared != kind {
            return err(format!(
                "`kind` {declared} does not match the motivation {motivation:?}, which means {kind}"
            ));
        }
    }
    Ok(kind)
}

/// What an annotation's bodies say, sorted by purpose.
#[derive(Default)]
struct Bodies {
    /// The one textual body that is the note (commenting, describing, …).
    note: Option<String>,
    /// The one textual body with purpose `editing`: the suggested text.
    suggestion: Option<String>,
    tags: Vec<String>,
    /// Bodies given as IRIs: linked evidence.
    sources: Vec<Source>,
}

/// Reads `bodyValue` (the note alone) or `body` (one body or many), never both.
fn read_bodies(obj: &Map<String, Value>) -> Result<Bodies, ParseError> {
    let mut bodies = Bodies::default();
    match (obj.get("body"), obj.get("bodyValue")) {
        (Some(_), Some(_)) => return err("send either `body` or `bodyValue`, not both"),
        (None, Some(value)) => match value {
            Value::String(text) => bodies.note = Some(text.clone()),
            other => {
                return err(format!(
                    "`bodyValue` must be a string, not {}",
                    kind_of(other)
                ))
            }
        },
        (Some(value), None) => {
            for (i, item) in many(value).into_iter().enumerate() {
                bodies.read_body(item, i)?;
            }
        }
        (None, None) => {}
    }
    Ok(bodies)
}

impl Bodies {
    /// Reads `body[i]`: an IRI or an object with an `id` but no `value` is linked evidence; an
    /// object with a `value` is a plain-text TextualBody filed by its purpose.
    fn read_body(&mut self, item: &Value, i: usize) -> Result<(), ParseError> {
        let obj = match item {
            // A body given as an IRI is an external resource: evidence.
            Value::String(iri) => {
                self.link(iri);
                return Ok(());
            }
            Value::Object(obj) => obj,
            other => {
                return err(format!(
                    "`body[{i}]` must be an object or an IRI, not {}",
                    kind_of(other)
                ))
            }
        };
        let Some(value) = string(obj, "value")? else {
            if let Some(iri) = string(obj, "id")? {
                self.link(iri);
                return Ok(());
            }
            return err(format!(
                "`body[{i}]` needs a `value` (a TextualBody) or an `id` (a linked resource)"
            ));
        };
        check_textual(obj, i)?;
        let purpose = match obj.get("purpose") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) => Some(p.as_str()),
            Some(_) => return err(format!("`body[{i}].purpose` must be a single string")),
        };
        self.file(value, purpose, i)
    }

    fn link(&mut self, iri: &str) {
        self.sources.push(Source {
            url: iri.to_owned(),
            title: None,
            archived: None,
        });
    }

    /// Files a textual body by purpose: no purpose or a note-like one makes it the note,
    /// `editing` the suggestion, `tagging` a tag. Only one note and one suggestion are allowed,
    /// and a purpose Glossa does not use is refused rather than dropped.
    fn file(&mut self, value: &str, purpose: Option<&str>, i: usize) -> Result<(), ParseError> {
        match purpose {
            None | Some("commenting" | "describing" | "assessing" | "questioning" | "linking") => {
                if self.note.is_some() {
                    return err("only one body may be the note; give other bodies a purpose such as \"tagging\" or \"editing\"");
                }
                self.note = Some(value.to_owned());
            }
            Some("editing") => {
                if self.suggestion.is_some() {
                    return err("only one body may carry the suggested text (purpose \"editing\")");
                }
                self.suggestion = Some(value.to_owned());
            }
            Some("tagging" | "classifying" | "identifying") => self.tags.push(value.to_owned()),
            Some(other) => {
                return err(format!(
                    "`body[{i}].purpose` {other:?} is not used by Glossa; use commenting (the note), editing (a suggested text) or tagging (a tag)"
                ))
            }
        }
        Ok(())
    }
}

/// A body with a `value` must be a TextualBody (if typed) in plain text (if a format is given).
fn check_textual(obj: &Map<String, Value>, i: usize) -> Result<(), ParseError> {
    if obj.contains_key("type") && !has_type(obj, "TextualBody") {
        return err(format!(
            "`body[{i}]` has a `value`, so its type must be \"TextualBody\""
        ));
    }
    if let Some(format) = string(obj, "format")? {
        if format != "text/plain" {
            return err(format!(
                "`body[{i}].format` {format:?} is not supported; Glossa notes are text/plain"
            ));
        }
    }
    Ok(())
}

/// Reads `target`: one target or many, at least one.
fn read_targets(obj: &Map<String, Value>, base: &str) -> Result<Vec<TargetDraft>, ParseError> {
    let targets = match obj.get("target") {
        None | Some(Value::Null) => {
            return err("`target` is missing: say which passage you annotate")
        }
        Some(value) => many(value)
            .into_iter()
            .enumerate()
            .map(|(i, t)| read_target(t, i, base))
            .collect::<Result<Vec<_>, _>>()?,
    };
    if targets.is_empty() {
        return err("`target` is empty: say which passage you annotate");
    }
    Ok(targets)
}

/// Appends the evidence listed in `sources` (an array of `{url, title?, archived?}`) to what
/// the bodies already linked.
fn read_sources(obj: &Map<String, Value>, sources: &mut Vec<Source>) -> Result<(), ParseError> {
    let Some(value) = obj.get("sources") else {
        return Ok(());
    };
    let Value::Array(items) = value else {
        return err("`sources` must be an array of {url, title?, archived?}");
    };
    for (i, item) in items.iter().enumerate() {
        let Value::Object(source) = item else {
            return err(format!("`sources[{i}]` must be an object with a `url`"));
        };
        let Some(url) = string(source, "url")? else {
            return err(format!("`sources[{i}].url` is missing"));
        };
        sources.push(Source {
            url: url.to_owned(),
            title: string(source, "title")?.map(str::to_owned),
            archived: string(source, "archived")?.map(str::to_owned),
        });
    }
    Ok(())
}

/// Reads a fact-check's claim: `claimant` (`{name, url?, type?}` with type `Person` or
/// `Organization`, or just the name as a string), `claimDate` and `claimSummary`. Only the
/// shapes are checked here; the domain checks the values (422).
fn read_claim(obj: &Map<String, Value>) -> Result<Option<ClaimOrigin>, ParseError> {
    let claimant = match obj.get("claimant") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(Claimant {
            name: name.clone(),
            url: None,
            kind: None,
        }),
        Some(Value::Object(c)) => {
            if let Some(key) = c
                .keys()
                .find(|k| !matches!(k.as_str(), "name" | "url" | "type" | "id"))
            {
                return err(format!(
                    "`claimant.{key}` is not understood: a claimant is {{name, url?, type?}}"
                ));
            }
            let Some(name) = string(c, "name")? else {
                return err("`claimant.name` is missing: who made the claim?");
            };
            // `url`, or the `id` a JSON-LD client may give the claimant's page as.
            let url = match string(c, "url")? {
                Some(url) => Some(url.to_owned()),
                None => string(c, "id")?.map(str::to_owned),
            };
            let kind = match c.get("type") {
                None | Some(Value::Null) => None,
                Some(Value::String(t)) => Some(
                    ClaimantType::parse(t).map_err(|_| {
                        ParseError(format!(
                            "`claimant.type` {t:?} is not a claimant type: use \"Person\" or \"Organization\""
                        ))
                    })?,
                ),
                Some(other) => {
                    return err(format!(
                        "`claimant.type` must be \"Person\" or \"Organization\", not {}",
                        kind_of(other)
                    ))
                }
            };
            Some(Claimant {
                name: name.to_owned(),
                url,
                kind,
            })
        }
        Some(other) => {
            return err(format!(
                "`claimant` must be an object {{name, url?, type?}} or a name, not {}",
                kind_of(other)
            ))
        }
    };
    Ok(ClaimOrigin {
        claimant,
        date: string(obj, "claimDate")?.map(str::to_owned),
        summary: string(obj, "claimSummary")?.map(str::to_owned),
    }
    .or_none())
}

/// Reads `assignee`: absent leaves it unsaid (`None`), `null` asks for nobody (`Some(None)`),
/// a string names a user.
fn read_assignee(obj: &Map<String, Value>) -> Result<Option<Option<UserName>>, ParseError> {
    match obj.get("assignee") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(name)) => Ok(Some(Some(
            UserName::parse(name).map_err(|e| ParseError(format!("`assignee`: {e}")))?,
        ))),
        Some(other) => err(format!(
            "`assignee` must be a user name, not {}",
            kind_of(other)
        )),
    }
}

/// Reads `canonical` and `via`, which must be IRIs. A client's own `id` (one not under this
/// server's annotations) is kept as `via`, as the W3C protocol suggests; the server assigns `id`.
fn read_links(
    obj: &Map<String, Value>,
    base: &str,
) -> Result<(Option<String>, Option<String>), ParseError> {
    let canonical = string(obj, "canonical")?.map(str::to_owned);
    let via = match string(obj, "via")? {
        Some(via) => Some(via.to_owned()),
        None => string(obj, "id")?
            .filter(|id| !id.starts_with(&format!("{base}/annotations/")))
            .map(str::to_owned),
    };
    for iri in [&canonical, &via].into_iter().flatten() {
        if iri.is_empty() || iri.chars().any(char::is_whitespace) || !iri.contains(':') {
            return err(format!(
                "{iri:?} is not an IRI (`canonical` and `via` must be IRIs)"
            ));
        }
    }
    Ok((canonical, via))
}

/// Reads `<base>/articles/<id>[/versions/<n>]` (or the path alone).
fn read_source(source: &str, base: &str, i: usize) -> Result<(ArticleId, Option<u32>), ParseError> {
    let path = source
        .strip_prefix(base.trim_end_matches('/'))
        .or_else(|| source.starts_with('/').then_some(source));
    let bad = || {
        ParseError(format!(
            "`target[{i}].source` {source:?} is not an article of this desk; use {base}/articles/<id> or {base}/articles/<id>/versions/<n>"
        ))
    };
    let path = path.ok_or_else(bad)?;
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["articles", id] => Ok((ArticleId::parse(id).map_err(|_| bad())?, None)),
        ["articles", id, "versions", n] => {
            let version = n.parse::<u32>().ok().filter(|v| *v > 0).ok_or_else(bad)?;
            Ok((ArticleId::parse(id).map_err(|_| bad())?, Some(version)))
        }
        _ => Err(bad()),
    }
}

/// Reads `target[i]`: a SpecificResource naming an article (and perhaps a version) with a
/// TextQuoteSelector and an optional TextPositionSelector.
fn read_target(item: &Value, i: usize, base: &str) -> Result<TargetDraft, ParseError> {
    let Value::Object(obj) = item else {
        return err(format!(
            "`target[{i}]` must be a SpecificResource with a `source` and a TextQuoteSelector, not {}",
            kind_of(item)
        ));
    };
    let Some(source) = string(obj, "source")? else {
        return err(format!("`target[{i}].source` is missing: name the article"));
    };
    let (article, version) = read_source(source, base, i)?;
    let Some(selectors) = obj.get("selector") else {
        return err(format!(
            "`target[{i}].selector` is missing: give a TextQuoteSelector (and a TextPositionSelector)"
        ));
    };
    let mut quote = None;
    let mut position = None;
    for selector in many(selectors) {
        let Value::Object(sel) = selector else {
            return err(format!(
                "`target[{i}].selector` must be an object or an array of objects"
            ));
        };
        if has_type(sel, "TextQuoteSelector") {
            quote = Some(read_quote(sel, i)?);
        } else if has_type(sel, "TextPositionSelector") {
            position = Some(read_position(sel, i)?);
        } else {
            let name = sel
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("(no type)");
            return err(format!(
                "`target[{i}]`: the selector type {name:?} is not supported; use TextQuoteSelector and TextPositionSelector"
            ));
        }
    }
    let Some(quote) = quote else {
        return err(format!(
            "`target[{i}]` needs a TextQuoteSelector quoting the passage"
        ));
    };
    Ok(TargetDraft {
        article,
        version,
        quote,
        position,
    })
}

/// A TextQuoteSelector: `exact` is required, `prefix` and `suffix` default to empty.
fn read_quote(sel: &Map<String, Value>, i: usize) -> Result<TextQuote, ParseError> {
    let Some(exact) = string(sel, "exact")? else {
        return err(format!("`target[{i}]` TextQuoteSelector needs `exact`"));
    };
    Ok(TextQuote {
        exact: exact.to_owned(),
        prefix: string(sel, "prefix")?.unwrap_or_default().to_owned(),
        suffix: string(sel, "suffix")?.unwrap_or_default().to_owned(),
    })
}

/// A TextPositionSelector: `start` and `end` are non-negative integers, `start` not after `end`.
fn read_position(sel: &Map<String, Value>, i: usize) -> Result<TextPosition, ParseError> {
    let (start, end) = (
        position_number(sel, i, "start")?,
        position_number(sel, i, "end")?,
    );
    if start > end {
        return err(format!(
            "`target[{i}]` TextPositionSelector: start {start} is after end {end}"
        ));
    }
    Ok(TextPosition { start, end })
}

fn position_number(sel: &Map<String, Value>, i: usize, key: &str) -> Result<u64, ParseError> {
    match sel.get(key) {
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| {
            ParseError(format!(
                "`target[{i}]` TextPositionSelector `{key}` must be a non-negative integer, not {n}"
            ))
        }),
        Some(other) => err(format!(
            "`target[{i}]` TextPositionSelector `{key}` must be a non-negative integer, not {}",
            kind_of(other)
        )),
        None => err(format!("`target[{i}]` TextPositionSelector needs `{key}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const BASE: &str = "http://desk.test";

    fn fact_check() -> Value {
        json!({
            "@context": ANNO_CONTEXT,
            "type": "Annotation",
            "motivation": "assessing",
            "bodyValue": "Moscow denied it.",
            "verdict": "false",
            "target": {
                "type": "SpecificResource",
                "source": "http://desk.test/articles/pledge/versions/2",
                "selector": [
                    {"type": "TextQuoteSelector", "exact": "agreement", "prefix": "Putin’s "},
                    {"type": "TextPositionSelector", "start": 4, "end": 13}
                ]
            }
        })
    }

    #[test]
    fn a_fact_check_parses() {
        let draft = parse_annotation(&fact_check(), BASE).unwrap();
        assert_eq!(draft.kind, Kind::FactCheck);
        assert_eq!(draft.verdict, Some(Verdict::False));
        assert_eq!(draft.targets[0].version, Some(2));
        assert_eq!(
            draft.targets[0].position,
            Some(TextPosition { start: 4, end: 13 })
        );
    }

    #[test]
    fn errors_name_the_property() {
        let mut json = fact_check();
        json["motivation"] = "reviewing".into();
        assert!(parse_annotation(&json, BASE)
            .unwrap_err()
            .0
            .contains("motivation"));
        let mut json = fact_check();
        json["target"]["selector"][1]["start"] = json!(-1);
        assert!(parse_annotation(&json, BASE)
            .unwrap_err()
            .0
            .contains("non-negative"));
        let mut json = fact_check();
        json["target"]["source"] = "https://elsewhere.example/articles/pledge".into();
        assert!(parse_annotation(&json, BASE)
            .unwrap_err()
            .0
            .contains("not an article of this desk"));
        let mut json = fact_check();
        json["body"] = json!("x");
        assert!(parse_annotation(&json, BASE)
            .unwrap_err()
            .0
            .contains("not both"));
    }
}
