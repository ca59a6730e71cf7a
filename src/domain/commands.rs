//! Commands decide: given the current annotation and what a user asks, they return the next
//! state or say why not. The caller turns the difference into events ([`super::derive_events`]).

use chrono::{DateTime, Utc};

use super::{
    Annotation, AnnotationId, Content, ContentLimits, DomainError, Reply, Status, UserName,
};

/// Everything needed to create an annotation.
#[derive(Clone, Debug)]
pub struct Create {
    pub id: AnnotationId,
    pub creator: UserName,
    pub now: DateTime<Utc>,
    pub content: Content,
    pub assignee: Option<UserName>,
    pub canonical: Option<String>,
    pub via: Option<String>,
}

/// A full replacement (W3C PUT): new content, and optionally a new status or assignee.
#[derive(Clone, Debug)]
pub struct Replace {
    pub content: Content,
    pub status: Option<Status>,
    /// `None` keeps the assignee; `Some(None)` clears it.
    pub assignee: Option<Option<UserName>>,
    pub canonical: Option<String>,
    pub via: Option<String>,
    pub now: DateTime<Utc>,
}

pub fn create(command: Create, limits: &ContentLimits) -> Result<Annotation, DomainError> {
    command.content.check(limits)?;
    check_claim_date(&command.content, None, command.now)?;
    let mut annotation = Annotation {
        id: command.id,
        kind: command.content.kind,
        body: String::new(),
        verdict: None,
        suggestion: None,
        edit_label: None,
        claim: None,
        sources: Vec::new(),
        status: Status::Open,
        assignee: command.assignee,
        tags: Vec::new(),
        targets: Vec::new(),
        creator: command.creator,
        created: command.now,
        modified: command.now,
        replies: Vec::new(),
        deleted: false,
        canonical: command.canonical,
        via: command.via,
    };
    annotation.set_content(command.content);
    Ok(annotation)
}

/// A claim date given or changed now is not later than `now`.
fn check_claim_date(
    content: &Content,
    current: Option<&Annotation>,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    match &content.claim {
        Some(claim) if current.is_none_or(|c| c.claim.as_ref() != Some(claim)) => {
            claim.check_not_after(now)
        }
        _ => Ok(()),
    }
}

fn alive(current: &Annotation) -> Result<(), DomainError> {
    if current.deleted {
        Err(DomainError::Deleted(current.id.clone()))
    } else {
        Ok(())
    }
}

fn transition(current: Status, next: Status) -> Result<(), DomainError> {
    if current == next || current.can_become(next) {
        Ok(())
    } else {
        Err(DomainError::invalid(
            "status",
            format!("an annotation that is {current} cannot become {next}; the workflow is open → in_review → resolved or rejected, and back to open"),
        ))
    }
}

pub fn replace(
    current: &Annotation,
    command: Replace,
    limits: &ContentLimits,
) -> Result<Annotation, DomainError> {
    alive(current)?;
    command.content.check(limits)?;
    check_claim_date(&command.content, Some(current), command.now)?;
    if current.canonical.is_some()
        && command.canonical.is_some()
        && command.canonical != current.canonical
    {
        return Err(DomainError::Immutable(
            "canonical: it was set when the annotation was created and cannot change",
        ));
    }
    if current.via.is_some() && command.via.is_some() && command.via != current.via {
        return Err(DomainError::Immutable(
            "via: it records where the annotation came from",
        ));
    }
    if command.content.targets[0].article != *current.home_article() {
        return Err(DomainError::Immutable(
            "the first target's article: an annotation stays with the article it was made on; create a new one instead",
        ));
    }
    let mut next = current.clone();
    next.set_content(command.content);
    if let Some(status) = command.status {
        transition(current.status, status)?;
        next.status = status;
    }
    if let Some(assignee) = command.assignee {
        next.assignee = assignee;
    }
    if command.canonical.is_some() {
        next.canonical = command.canonical;
    }
    if command.via.is_some() {
        next.via = command.via;
    }
    next.modified = command.now;
    Ok(next)
}

pub fn change_status(
    current: &Annotation,
    to: Status,
    now: DateTime<Utc>,
) -> Result<Annotation, DomainError> {
    alive(current)?;
    transition(current.status, to)?;
    let mut next = current.clone();
    next.status = to;
    next.modified = now;
    Ok(next)
}

pub fn assign(
    current: &Annotation,
    assignee: Option<UserName>,
    now: DateTime<Utc>,
) -> Result<Annotation, DomainError> {
    alive(current)?;
    let mut next = current.clone();
    next.assignee = assignee;
    next.modified = now;
    Ok(next)
}

pub fn add_reply(
    current: &Annotation,
    reply: Reply,
    limits: &ContentLimits,
) -> Result<Annotation, DomainError> {
    alive(current)?;
    if current.replies.iter().any(|r| r.id == reply.id) {
        return Err(DomainError::invalid(
            "reply",
            format!("reply {} is in this thread already", reply.id),
        ));
    }
    let mut next = current.clone();
    next.modified = reply.created;
    next.replies.push(reply);
    next.check(limits)?;
    Ok(next)
}

pub fn delete(current: &Annotation, now: DateTime<Utc>) -> Result<Annotation, DomainError> {
    alive(current)?;
    let mut next = current.clone();
    next.deleted = true;
    next.modified = now;
    Ok(next)
}
