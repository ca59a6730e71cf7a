//! Article versions and where annotations are in them: re-anchoring every document that holds
//! an annotation on the article when a version arrives, the per-version placements the API and
//! the reader show, and re-attachment by a person.

use serde::Serialize;

use crate::documents::{Reanchored, Reattachment, Written};
use crate::domain::anchoring::AnchorStatus;
use crate::domain::{
    Annotation, AnnotationId, ArticleId, EventType, Kind, Status, StreamId, TextPosition,
    TextQuote, UserName,
};
use crate::store::{AnchorRow, Filter};

use super::{now, Desk, DeskError};

/// What re-anchoring one version did, across documents.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AnchoringReport {
    pub version: u32,
    /// Annotations that got an anchor for the version.
    pub annotations: usize,
    /// Targets by result.
    pub targets: std::collections::BTreeMap<&'static str, usize>,
}

impl AnchoringReport {
    fn add(&mut self, done: &Reanchored) {
        self.annotations += done.annotations;
        for (status, n) in &done.by_status {
            *self.targets.entry(status.as_str()).or_default() += n;
        }
    }
}

/// Where one target of one annotation is in one version of an article.
#[derive(Clone, Debug, Serialize)]
pub struct Placement {
    pub annotation: AnnotationId,
    pub kind: Kind,
    /// The annotation's workflow status.
    pub annotation_status: Status,
    pub target: usize,
    /// The version the target's selectors were made on.
    pub made_on: u32,
    /// The anchor's status when the version has one for the target (an import with no place
    /// has one on the version it was made on); else `original` on the version the target was
    /// made on and `pending` on a later one, before the server has anchored it there.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<TextPosition>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quote: Option<TextQuote>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<TextPosition>,
    /// Who placed it (the server, or the person who re-attached it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<UserName>,
    /// The server closed the annotation itself (the house-style check resolves a tag whose
    /// word was fixed), so where its passage went is no one's work.
    #[serde(skip)]
    pub closed_by_server: bool,
}

impl Placement {
    /// Whether the target has no place in the version.
    fn unplaced(&self) -> bool {
        self.status == AnchorStatus::Orphaned.as_str()
            || self.status == AnchorStatus::Ambiguous.as_str()
    }

    /// Whether a person should re-attach it.
    pub fn needs_attention(&self) -> bool {
        self.unplaced() && !self.closed_by_server
    }
}

impl Desk {
    /// Anchors every live annotation with a target on `article` in its version `version`: the
    /// article's own document and every other document holding one (contradictions).
    pub async fn reanchor(
        &self,
        article: &ArticleId,
        version: u32,
    ) -> Result<AnchoringReport, DeskError> {
        let mut documents = vec![article.clone()];
        for row in self.list(&Filter {
            article: Some(article.clone()),
            ..Filter::default()
        })? {
            let home = row.annotation.home_article();
            if !documents.contains(home) {
                documents.push(home.clone());
            }
        }
        let mut report = AnchoringReport {
            version,
            ..AnchoringReport::default()
        };
        for document in &documents {
            let done = self
                .docs
                .reanchor(document, article, version, now())
                .await?;
            report.add(&done);
        }
        self.store
            .read_model
            .wait_for(self.store.log.head())
            .await?;
        Ok(report)
    }

    /// An annotation written on an older version of an article (from a page opened before the
    /// latest version arrived) is anchored in the latest at once; the answer then carries the
    /// version that includes the anchors.
    pub(super) async fn anchor_if_behind(&self, written: Written) -> Result<Written, DeskError> {
        let mut behind: Vec<(ArticleId, u32)> = Vec::new();
        for target in &written.annotation.targets {
            let latest = self
                .article(&target.article)?
                .latest()
                .map_or(1, |v| v.number);
            if target.version < latest && !behind.iter().any(|(a, _)| a == &target.article) {
                behind.push((target.article.clone(), latest));
            }
        }
        if behind.is_empty() {
            return Ok(written);
        }
        for (article, latest) in &behind {
            self.reanchor(article, *latest).await?;
        }
        let row = self.row(&written.annotation.id)?;
        Ok(Written {
            version: row.version,
            seq: row.last_seq,
            annotation: written.annotation,
        })
    }

    /// Finishes re-anchoring that a crash interrupted: an article's latest version with a live
    /// annotation that has no anchor there. Found from the read models alone, so a start-up
    /// with nothing to finish loads no document.
    pub async fn reanchor_missing(&self) -> Result<(), DeskError> {
        for article in self.articles()? {
            let Some(latest) = article.latest().filter(|v| v.number > 1) else {
                continue;
            };
            if self.anchoring_incomplete(&article.id, latest.number)? {
                self.reanchor(&article.id, latest.number).await?;
            }
        }
        Ok(())
    }

    fn anchoring_incomplete(&self, article: &ArticleId, version: u32) -> Result<bool, DeskError> {
        for row in self.list(&Filter {
            article: Some(article.clone()),
            ..Filter::default()
        })? {
            let older = row
                .annotation
                .targets
                .iter()
                .any(|t| &t.article == article && t.version < version);
            if older
                && !self
                    .store
                    .read_model
                    .anchors(&row.annotation.id)?
                    .iter()
                    .any(|r| &r.article == article && r.version == version)
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Where each live annotation's targets on `article` are in `version` (the latest when
    /// `None`), in the order of the passages.
    pub fn placements(
        &self,
        article: &ArticleId,
        version: Option<u32>,
    ) -> Result<(u32, Vec<Placement>), DeskError> {
        let row = self.article(article)?;
        let latest = row.latest().map_or(1, |v| v.number);
        let version = version.unwrap_or(latest);
        if !row.versions.iter().any(|v| v.number == version) {
            return Err(DeskError::NotFound(format!(
                "article {article} has no version {version}"
            )));
        }
        let mut placements = Vec::new();
        for annotation_row in self.list(&Filter {
            article: Some(article.clone()),
            ..Filter::default()
        })? {
            let a = &annotation_row.annotation;
            let anchors = self.store.read_model.anchors(&a.id)?;
            for (index, target) in a.targets.iter().enumerate() {
                if &target.article != article || target.version > version {
                    continue;
                }
                let placement = placement_in(a, index, version, &anchors);
                let closed_by_server = placement.unplaced()
                    && a.status == Status::Resolved
                    && self.closed_by_server(&a.id)?;
                placements.push(Placement {
                    closed_by_server,
                    ..placement
                });
            }
        }
        placements.sort_by_key(|p| p.position.map_or(u64::MAX, |p| p.start));
        Ok((version, placements))
    }

    /// Whether the annotation's last status change was the server's own.
    fn closed_by_server(&self, id: &AnnotationId) -> Result<bool, DeskError> {
        let events = self
            .store
            .log
            .read_stream(&StreamId::Annotation(id.clone()), 0)?;
        let status_changed = EventType::AnnotationStatusChanged.as_str();
        Ok(events
            .iter()
            .rev()
            .find(|e| e.event_type == status_changed)
            .is_some_and(|e| e.actor == UserName::system()))
    }

    /// A person places target `target` (the first on `article` when `None`) of an annotation
    /// in `article`'s version `version` (the latest when `None`).
    pub async fn reattach(
        &self,
        user: &UserName,
        id: &AnnotationId,
        article: Option<ArticleId>,
        target: Option<usize>,
        version: Option<u32>,
        position: TextPosition,
    ) -> Result<Placement, DeskError> {
        let row = self.live_row(id)?;
        let annotation = &row.annotation;
        let (article, target, version) = self.placement_of(annotation, article, target, version)?;
        let seq = self
            .docs
            .reattach(
                annotation.home_article(),
                user,
                Reattachment {
                    id: id.clone(),
                    article: article.clone(),
                    version,
                    target,
                    position,
                    receipt: self.receipt(),
                },
                now(),
            )
            .await?;
        self.receipt_logged();
        self.store.read_model.wait_for(seq).await?;
        self.placement(id, Some(article), Some(target), Some(version))
    }

    /// Where target `target` (the first on `article` when `None`) of an annotation is in
    /// `article`'s version `version` (the latest when `None`): what a re-attachment answers.
    pub fn placement(
        &self,
        id: &AnnotationId,
        article: Option<ArticleId>,
        target: Option<usize>,
        version: Option<u32>,
    ) -> Result<Placement, DeskError> {
        let row = self.row(id)?;
        let (article, target, version) =
            self.placement_of(&row.annotation, article, target, version)?;
        let (_, placements) = self.placements(&article, Some(version))?;
        placements
            .into_iter()
            .find(|p| &p.annotation == id && p.target == target)
            .ok_or_else(|| DeskError::internal("the re-attached target is not listed"))
    }

    /// The defaults of a placement: the annotation's home article, its first target there, the
    /// article's latest version.
    fn placement_of(
        &self,
        annotation: &crate::domain::Annotation,
        article: Option<ArticleId>,
        target: Option<usize>,
        version: Option<u32>,
    ) -> Result<(ArticleId, usize, u32), DeskError> {
        let article = article.unwrap_or_else(|| annotation.home_article().clone());
        let target = match target {
            Some(index) => index,
            None => annotation
                .targets
                .iter()
                .position(|t| t.article == article)
                .ok_or_else(|| {
                    DeskError::Domain(crate::domain::DomainError::invalid(
                        "article",
                        format!("{} has no target on article {article}", annotation.id),
                    ))
                })?,
        };
        let latest = self.article(&article)?.latest().map_or(1, |v| v.number);
        Ok((article, target, version.unwrap_or(latest)))
    }
}

/// Where target `index` of an annotation (made on this version or an earlier one) is in
/// `version`: where re-anchoring or a person placed it, once that is recorded (on the version
/// it was made on too: an import with no place has its `orphaned` or `ambiguous` anchor there,
/// ADR 0016); else where it was made, on the version it was made on, and `pending` on a later
/// version.
fn placement_in(a: &Annotation, index: usize, version: u32, anchors: &[AnchorRow]) -> Placement {
    let target = &a.targets[index];
    let base = Placement {
        annotation: a.id.clone(),
        kind: a.kind,
        annotation_status: a.status,
        target: index,
        made_on: target.version,
        status: "original".into(),
        position: Some(target.position),
        quote: Some(target.quote.clone()),
        score: None,
        candidates: Vec::new(),
        by: None,
        closed_by_server: false,
    };
    let anchored = anchors
        .iter()
        .find(|r| r.article == target.article && r.version == version)
        .and_then(|r| r.anchors.iter().find(|x| x.target == index).map(|x| (r, x)));
    match anchored {
        Some((row, found)) => Placement {
            status: found.anchor.status.as_str().into(),
            position: found.anchor.position,
            quote: found.anchor.quote.clone(),
            score: found.anchor.score,
            candidates: found.anchor.candidates.clone(),
            by: Some(row.by.clone()),
            ..base
        },
        None if target.version == version => base,
        None => Placement {
            status: "pending".into(),
            position: None,
            quote: None,
            ..base
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ContentLimits;
    use crate::store::Store;

    /// A version with no text is a version the article does not have: not found, not a
    /// damaged store.
    #[tokio::test]
    async fn anchoring_on_a_version_the_article_does_not_have_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let desk = Desk::new(Store::open(dir.path()).unwrap(), ContentLimits::default());
        crate::seeds::load(&desk).await.unwrap();
        let article = ArticleId::parse("twenty-six-nations-pledge").unwrap();
        match desk.reanchor(&article, 99).await.map(|_| ()) {
            Err(DeskError::NotFound(message)) => {
                assert_eq!(message, format!("article {article} has no version 99"))
            }
            other => panic!("expected not found, got {other:?}"),
        }
        desk.documents().shutdown().await;
    }
}
