//! The desk's house style: a term list whose variants are flagged, wherever they occur in an
//! article version, as `tag` annotations by the server (tags `house-style` and the rule's id).
//! A new version re-checks its article: occurrences without a tag in that version get one, and
//! tags whose word was fixed (their passage is gone from the version) are resolved. Existing
//! tags are seen where re-anchoring put them in the version, so each occurrence keeps one tag
//! however many versions are published.

use serde::Serialize;

use crate::domain::{
    AnnotationId, ArticleId, DomainError, DomainEvent, IndexedText, Kind, Status, StreamId,
    StyleRule, TextPosition, UserName,
};
use crate::store::Expected;

use super::{Desk, DeskError, Draft, Placement, TargetDraft};

/// The tag every house-style annotation carries.
pub const HOUSE_STYLE: &str = "house-style";

/// The term list a new desk starts with.
pub fn default_rules() -> Vec<StyleRule> {
    let rule = |id: &str, preferred: &str, variants: &[&str]| StyleRule {
        id: id.into(),
        preferred: preferred.into(),
        variants: variants.iter().map(|v| v.to_string()).collect(),
    };
    vec![
        rule("zelensky", "Zelensky", &["Zelenskyy", "Zelenskiy"]),
        rule("kyiv", "Kyiv", &["Kiev"]),
        rule("nato", "NATO", &["Nato"]),
    ]
}

/// What one style check did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StyleReport {
    /// New tag annotations, one per occurrence.
    pub flagged: usize,
    /// Tags resolved because their word is gone from the version.
    pub resolved: usize,
}

impl StyleReport {
    fn add(&mut self, other: StyleReport) {
        self.flagged += other.flagged;
        self.resolved += other.resolved;
    }
}

fn invalid(message: String) -> DeskError {
    DeskError::Domain(DomainError::invalid("rules", message))
}

/// Checks a term list: slugs for ids, words for variants, no variant that is a house spelling.
pub fn validate(rules: &[StyleRule]) -> Result<(), DeskError> {
    if rules.len() > 200 {
        return Err(invalid(format!("{} rules; at most 200", rules.len())));
    }
    let mut ids = Vec::new();
    for rule in rules {
        crate::domain::ArticleId::parse(&rule.id).map_err(|e| {
            invalid(format!("rule id {:?}: {e}", rule.id).replace("article id", "rule id"))
        })?;
        if ids.contains(&rule.id) {
            return Err(invalid(format!("rule id {:?} is used twice", rule.id)));
        }
        ids.push(rule.id.clone());
        let word = |w: &str| !w.trim().is_empty() && w.trim() == w && w.chars().count() <= 64;
        if !word(&rule.preferred) {
            return Err(invalid(format!(
                "rule {:?}: `preferred` must be a word or phrase of 1 to 64 characters without surrounding spaces",
                rule.id
            )));
        }
        if rule.variants.is_empty() {
            return Err(invalid(format!("rule {:?} has no variants", rule.id)));
        }
        for variant in &rule.variants {
            if !word(variant) {
                return Err(invalid(format!(
                    "rule {:?}: variant {variant:?} must be a word or phrase of 1 to 64 characters without surrounding spaces",
                    rule.id
                )));
            }
            if variant == &rule.preferred {
                return Err(invalid(format!(
                    "rule {:?}: {variant:?} is the house spelling itself",
                    rule.id
                )));
            }
        }
    }
    Ok(())
}

/// Which occurrences already have a tag in the version, so that a check flags each occurrence
/// once however many versions it runs on. A tag placed over an occurrence (a person's, or one
/// the server made on an earlier version and re-anchored since) has it. A tag that re-anchoring
/// found `ambiguous` is on one of its candidates, only no one knows which: it has one of them,
/// matched so that as many occurrences as possible have a tag, and the rest are flagged.
fn tagged_occurrences(occurrences: &[TextPosition], tags: &[&Placement]) -> Vec<bool> {
    let overlaps = |a: TextPosition, b: TextPosition| a.start < b.end && b.start < a.end;
    let mut tagged: Vec<bool> = occurrences
        .iter()
        .map(|&at| {
            tags.iter()
                .any(|p| p.position.is_some_and(|q| overlaps(q, at)))
        })
        .collect();
    // Each ambiguous tag, by index: the untagged occurrences among its candidates.
    let options: Vec<Vec<usize>> = tags
        .iter()
        .filter(|p| p.position.is_none() && !p.candidates.is_empty())
        .map(|p| {
            (0..occurrences.len())
                .filter(|&i| !tagged[i])
                .filter(|&i| p.candidates.iter().any(|&c| overlaps(c, occurrences[i])))
                .collect()
        })
        .collect();
    let mut holder: Vec<Option<usize>> = vec![None; occurrences.len()];
    for tag in 0..options.len() {
        let mut seen = vec![false; occurrences.len()];
        claim(tag, &options, &mut holder, &mut seen);
    }
    for (i, held) in holder.iter().enumerate() {
        tagged[i] |= held.is_some();
    }
    tagged
}

/// Finds `tag` an occurrence of its own, moving other tags to their other options where that
/// frees one (an augmenting path of a bipartite matching).
fn claim(
    tag: usize,
    options: &[Vec<usize>],
    holder: &mut [Option<usize>],
    seen: &mut [bool],
) -> bool {
    for &i in &options[tag] {
        if seen[i] {
            continue;
        }
        seen[i] = true;
        if holder[i].is_none_or(|other| claim(other, options, holder, seen)) {
            holder[i] = Some(tag);
            return true;
        }
    }
    false
}

/// Whole-word occurrences of `word` (case-sensitive), in code points.
fn occurrences(text: &IndexedText, raw: &str, word: &str) -> Vec<TextPosition> {
    let len = word.chars().count() as u64;
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(i) = raw[from..].find(word) {
        let byte = from + i;
        let end = byte + word.len();
        let before = raw[..byte].chars().next_back();
        let after = raw[end..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
        if boundary(before) && boundary(after) {
            let start = text.char_offset(byte);
            found.push(TextPosition {
                start,
                end: start + len,
            });
        }
        from = end;
    }
    found
}

/// Every occurrence of a rule's variant in the text that no tag in this version covers yet,
/// with the rule and the variant found.
fn untagged_occurrences<'r>(
    rules: &'r [StyleRule],
    text: &IndexedText,
    raw: &str,
    placements: &[Placement],
) -> Vec<(&'r StyleRule, &'r String, TextPosition)> {
    let tags: Vec<&Placement> = placements.iter().filter(|p| p.kind == Kind::Tag).collect();
    let found: Vec<(&StyleRule, &String, TextPosition)> = rules
        .iter()
        .flat_map(|rule| rule.variants.iter().map(move |v| (rule, v)))
        .flat_map(|(rule, v)| {
            occurrences(text, raw, v)
                .into_iter()
                .map(move |at| (rule, v, at))
        })
        .collect();
    let places: Vec<TextPosition> = found.iter().map(|(_, _, at)| *at).collect();
    let tagged = tagged_occurrences(&places, &tags);
    found
        .into_iter()
        .zip(tagged)
        .filter(|(_, tagged)| !tagged)
        .map(|(occurrence, _)| occurrence)
        .collect()
}

/// The server's tag annotation on one occurrence of a variant: it names the preferred form
/// and carries the `house-style` tag and the rule's id.
fn house_style_tag(
    rule: &StyleRule,
    variant: &str,
    article: &ArticleId,
    version: u32,
    text: &IndexedText,
    at: TextPosition,
) -> Draft {
    Draft {
        kind: Kind::Tag,
        body: format!("House style: “{}”, not “{variant}”.", rule.preferred),
        verdict: None,
        suggestion: None,
        edit_label: None,
        claim: None,
        sources: Vec::new(),
        tags: vec![HOUSE_STYLE.into(), rule.id.clone()],
        targets: vec![TargetDraft {
            article: article.clone(),
            version: Some(version),
            quote: text.describe(at),
            position: Some(at),
        }],
        status: None,
        assignee: None,
        canonical: None,
        via: None,
    }
}

impl Desk {
    /// The desk's term list (empty until one is set).
    pub fn style_rules(&self) -> Result<Vec<StyleRule>, DeskError> {
        Ok(self.store.read_model.style_rules()?.unwrap_or_default())
    }

    /// Replaces the term list and checks every article's latest version against it.
    pub async fn set_style_rules(
        &self,
        user: &UserName,
        rules: Vec<StyleRule>,
    ) -> Result<StyleReport, DeskError> {
        validate(&rules)?;
        let committed = self
            .append(
                user,
                super::now(),
                &StreamId::Style,
                Expected::Any,
                vec![DomainEvent::StyleRulesSet { rules }],
            )
            .await?;
        self.store.read_model.wait_for(committed).await?;
        let mut report = StyleReport::default();
        for article in self.articles()? {
            if let Some(latest) = article.latest() {
                report.add(self.check_style(&article.id, latest.number).await?);
            }
        }
        Ok(report)
    }

    /// Sets the default term list on a desk that never had one.
    pub async fn ensure_style_rules(&self) -> Result<(), DeskError> {
        if self.store.read_model.style_rules()?.is_none() {
            self.set_style_rules(&UserName::system(), default_rules())
                .await?;
        }
        Ok(())
    }

    /// Flags the variants in one version of an article, and resolves house-style tags whose
    /// word is gone from it. Occurrences that already have a tag in this version are left
    /// alone (see `tagged_occurrences`), so a check can run again, on any version.
    pub async fn check_style(
        &self,
        article: &ArticleId,
        version: u32,
    ) -> Result<StyleReport, DeskError> {
        let rules = self.style_rules()?;
        let raw = self.article_text(article, version)?;
        let text = IndexedText::new(&raw);
        let (_, placements) = self.placements(article, Some(version))?;
        let system = UserName::system();
        let mut report = StyleReport::default();
        for (rule, variant, at) in untagged_occurrences(&rules, &text, &raw, &placements) {
            let draft = house_style_tag(rule, variant, article, version, &text, at);
            self.create(&system, draft, None).await?;
            report.flagged += 1;
        }
        for placement in placements
            .iter()
            .filter(|p| p.kind == Kind::Tag && p.annotation_status == Status::Open)
        {
            if let Some(rule) = self.fixed_rule(placement, &rules, &text)? {
                self.resolve_fixed(&placement.annotation, rule, version)
                    .await?;
                report.resolved += 1;
            }
        }
        Ok(report)
    }

    /// The rule whose word an open tag annotation flagged, if that word was fixed in this
    /// version: its passage is gone (orphaned) or is no longer one of the rule's variants where
    /// it is (a fuzzy match on the corrected spelling). `None` for tags that are not house
    /// style, or whose word is still there.
    fn fixed_rule<'r>(
        &self,
        placement: &Placement,
        rules: &'r [StyleRule],
        text: &IndexedText,
    ) -> Result<Option<&'r StyleRule>, DeskError> {
        let row = self.live_row(&placement.annotation)?;
        let tags = &row.annotation.tags;
        if !tags.iter().any(|t| t == HOUSE_STYLE) {
            return Ok(None);
        }
        let Some(rule) = rules.iter().find(|r| tags.contains(&r.id)) else {
            return Ok(None);
        };
        let fixed = match placement.position {
            None => placement.status == "orphaned",
            Some(at) => !rule
                .variants
                .iter()
                .any(|v| v == text.slice(at.start, at.end)),
        };
        Ok(fixed.then_some(rule))
    }

    /// Resolves a house-style tag whose word was fixed, through review, with a reply that
    /// says in which version.
    async fn resolve_fixed(
        &self,
        id: &AnnotationId,
        rule: &StyleRule,
        version: u32,
    ) -> Result<(), DeskError> {
        let system = UserName::system();
        self.set_status(&system, id, Status::InReview, None).await?;
        self.set_status(&system, id, Status::Resolved, None).await?;
        self.reply(
            &system,
            id,
            format!(
                "Fixed in version {version}: the text now follows the house style (“{}”).",
                rule.preferred
            ),
            None,
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_match_whole_words_only_and_by_case() {
        let raw = "Kiev, Kievan Rus and KIEV; NATO or Nato. “Kiev”";
        let text = IndexedText::new(raw);
        let found: Vec<&str> = occurrences(&text, raw, "Kiev")
            .iter()
            .map(|p| text.slice(p.start, p.end))
            .collect();
        assert_eq!(found, ["Kiev", "Kiev"]);
        assert_eq!(occurrences(&text, raw, "Nato").len(), 1);
    }

    #[test]
    fn a_term_list_is_checked_before_it_is_stored() {
        assert!(validate(&default_rules()).is_ok());
        let mut rules = default_rules();
        rules[0].variants.push("Zelensky".into());
        assert!(validate(&rules).is_err());
        let mut rules = default_rules();
        rules[1].id = "Kyiv Rule".into();
        assert!(validate(&rules).is_err());
        let mut rules = default_rules();
        rules.push(rules[0].clone());
        assert!(validate(&rules).is_err());
        let mut rules = default_rules();
        rules[2].variants = vec![" Nato".into()];
        assert!(validate(&rules).is_err());
    }
}
