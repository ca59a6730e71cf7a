//! Claims: one statement that fact-checks and passages across articles are about (the "26
//! nations" figure reported differently by two outlets, say). A claim groups annotations; its
//! appearances are their passages; the ClaimReview export reviews it once, with all of them.

use crate::domain::{
    AnnotationId, ClaimId, ClaimOrigin, Claimant, DomainError, DomainEvent, StreamId, UserName,
};
use crate::store::{ClaimRow, Expected};

use super::{now, Desk, DeskError};

/// Longest claim text: ClaimReview asks for a short summary.
pub const MAX_CLAIM_CHARS: usize = 300;

fn invalid(field: &'static str, message: impl Into<String>) -> DeskError {
    DeskError::Domain(DomainError::invalid(field, message))
}

impl Desk {
    pub fn claims(&self) -> Result<Vec<ClaimRow>, DeskError> {
        Ok(self.store.read_model.claims()?)
    }

    pub fn claim(&self, id: &ClaimId) -> Result<ClaimRow, DeskError> {
        self.store
            .read_model
            .claim(id)?
            .ok_or_else(|| DeskError::NotFound(format!("claim {id} does not exist")))
    }

    /// Creates a claim and links the given (live) annotations to it.
    pub async fn create_claim(
        &self,
        user: &UserName,
        id: ClaimId,
        text: &str,
        claimant: Option<Claimant>,
        date: Option<String>,
        annotations: &[AnnotationId],
    ) -> Result<ClaimRow, DeskError> {
        let text = check_claim(text, claimant.as_ref(), date.as_deref())?;
        for annotation in annotations {
            self.live_row(annotation)?;
        }
        let events = claim_events(&id, text, claimant, date, annotations);
        let committed = self
            .append(
                user,
                now(),
                &StreamId::Claim(id.clone()),
                Expected::NoStream,
                events,
            )
            .await
            .map_err(|e| match e {
                DeskError::Conflict(_) => DeskError::Conflict(format!("claim {id} already exists")),
                other => other,
            })?;
        self.store.read_model.wait_for(committed).await?;
        self.claim(&id)
    }

    /// Links an annotation to a claim (linking twice changes nothing).
    pub async fn link_claim(
        &self,
        user: &UserName,
        id: &ClaimId,
        annotation: &AnnotationId,
    ) -> Result<ClaimRow, DeskError> {
        let claim = self.claim(id)?;
        self.live_row(annotation)?;
        if claim.annotations.contains(annotation) {
            return Ok(claim);
        }
        self.claim_event(
            user,
            id,
            DomainEvent::ClaimLinked {
                claim: id.clone(),
                annotation: annotation.clone(),
            },
        )
        .await
    }

    /// Unlinks an annotation from a claim.
    pub async fn unlink_claim(
        &self,
        user: &UserName,
        id: &ClaimId,
        annotation: &AnnotationId,
    ) -> Result<ClaimRow, DeskError> {
        let claim = self.claim(id)?;
        if !claim.annotations.contains(annotation) {
            return Err(DeskError::NotFound(format!(
                "annotation {annotation} is not linked to claim {id}"
            )));
        }
        self.claim_event(
            user,
            id,
            DomainEvent::ClaimUnlinked {
                claim: id.clone(),
                annotation: annotation.clone(),
            },
        )
        .await
    }

    async fn claim_event(
        &self,
        user: &UserName,
        id: &ClaimId,
        event: DomainEvent,
    ) -> Result<ClaimRow, DeskError> {
        let stream = StreamId::Claim(id.clone());
        let version = self.store.log.stream_version(&stream)?;
        let committed = self
            .append(user, now(), &stream, Expected::Exact(version), vec![event])
            .await
            .map_err(|e| match e {
                DeskError::Stale { .. } | DeskError::Conflict(_) => {
                    DeskError::Conflict(format!("claim {id} changed at the same moment; try again"))
                }
                other => other,
            })?;
        self.store.read_model.wait_for(committed).await?;
        self.claim(id)
    }

    /// The claims an annotation is linked to.
    pub fn claims_of(&self, annotation: &AnnotationId) -> Result<Vec<ClaimRow>, DeskError> {
        Ok(self
            .store
            .read_model
            .claims()?
            .into_iter()
            .filter(|c| c.annotations.contains(annotation))
            .collect())
    }
}

/// A claim's text, trimmed, must say something in at most [`MAX_CLAIM_CHARS`] characters; a
/// claimant, if named, in at most 200, with an http(s) URL if any; a date must parse and not
/// be in the future (the rules of a fact-check's claim).
fn check_claim<'t>(
    text: &'t str,
    claimant: Option<&Claimant>,
    date: Option<&str>,
) -> Result<&'t str, DeskError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(invalid("text", "say what the claim is, in a sentence"));
    }
    if text.chars().count() > MAX_CLAIM_CHARS {
        return Err(invalid(
            "text",
            format!("a claim is a short summary of at most {MAX_CLAIM_CHARS} characters"),
        ));
    }
    if claimant.is_some_and(|c| c.name.trim().is_empty() || c.name.chars().count() > 200) {
        return Err(invalid(
            "claimant",
            "name who made the claim, in at most 200 characters",
        ));
    }
    let origin = ClaimOrigin {
        claimant: claimant.cloned(),
        date: date.map(str::to_owned),
        summary: None,
    };
    origin.check()?;
    origin.check_not_after(now())?;
    Ok(text)
}

/// The claim's creation, then one link per distinct annotation, in the order given.
fn claim_events(
    id: &ClaimId,
    text: &str,
    claimant: Option<Claimant>,
    date: Option<String>,
    annotations: &[AnnotationId],
) -> Vec<DomainEvent> {
    let mut events = vec![DomainEvent::ClaimCreated {
        claim: id.clone(),
        text: text.to_owned(),
        claimant,
        date,
    }];
    let mut seen = Vec::new();
    for annotation in annotations {
        if !seen.contains(annotation) {
            seen.push(annotation.clone());
            events.push(DomainEvent::ClaimLinked {
                claim: id.clone(),
                annotation: annotation.clone(),
            });
        }
    }
    events
}
