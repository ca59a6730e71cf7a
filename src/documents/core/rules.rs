//! The rules a sync peer's version of an annotation must keep, beyond the domain's own: what
//! REST refuses with a 4xx, a sync change gets compensated for.

use crate::domain::{Annotation, IndexedText, Target, UserName};

use super::DocumentCore;
use crate::domain::ContentLimits;
use crate::identity::Users;

/// What every document's changes are checked against.
#[derive(Clone)]
pub struct Rules {
    pub limits: ContentLimits,
    /// The desk's users, for the rules that name a person (an assignee); without them (tests,
    /// benchmarks) any well-formed name passes.
    pub people: Option<Users>,
}

impl DocumentCore {
    /// Why `after` may not follow `before` when `user` wrote it, if it may not.
    pub(super) fn validate(
        &self,
        user: &UserName,
        before: Option<&Annotation>,
        after: &Annotation,
    ) -> Result<(), String> {
        after.check(&self.rules.limits).map_err(|e| e.to_string())?;
        let targets_changed = match before {
            None => {
                self.check_new(user, after)?;
                true
            }
            Some(before) => {
                check_change(before, after)?;
                before.targets != after.targets
            }
        };
        self.check_assignee(before, after)?;
        let known = before.map_or(0, |b| b.replies.len());
        if let Some(reply) = after.replies[known..].iter().find(|r| &r.creator != user) {
            return Err(format!(
                "reply {} must be written by {user}, the signed-in user",
                reply.id
            ));
        }
        if after.home_article() != &self.article {
            return Err(format!(
                "this document holds annotations whose first target is on {}",
                self.article
            ));
        }
        if targets_changed {
            for (i, target) in after.targets.iter().enumerate() {
                self.check_target(i, target)?;
            }
        }
        Ok(())
    }

    fn check_new(&self, user: &UserName, after: &Annotation) -> Result<(), String> {
        let limit = self.rules.limits.max_annotations_per_article;
        if self.annotations.len() >= limit {
            return Err(format!(
                "this article has reached the limit of {limit} annotations"
            ));
        }
        if &after.creator != user {
            return Err(format!(
                "the creator of a new annotation must be {user}, the signed-in user"
            ));
        }
        if after.deleted {
            return Err("a new annotation cannot start deleted".into());
        }
        Ok(())
    }

    fn check_assignee(
        &self,
        before: Option<&Annotation>,
        after: &Annotation,
    ) -> Result<(), String> {
        let (Some(people), Some(assignee)) = (&self.rules.people, &after.assignee) else {
            return Ok(());
        };
        // An assignee kept as it was stays, even if that person has left the desk since.
        if before.and_then(|b| b.assignee.as_ref()) != Some(assignee) && !people.is_user(assignee) {
            return Err(format!(
                "{assignee} is not a user of this desk, so the annotation cannot be assigned to them"
            ));
        }
        Ok(())
    }

    fn check_target(&self, i: usize, target: &Target) -> Result<(), String> {
        let text = self
            .library
            .article_text(&target.article, target.version)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| {
                format!(
                    "targets[{i}]: article {} has no version {}",
                    target.article, target.version
                )
            })?;
        IndexedText::new(&text)
            .locate(&target.quote, Some(target.position))
            .map(|_| ())
            .map_err(|m| format!("targets[{i}]: {}", m.0))
    }
}

/// What never changes about an existing annotation.
fn check_change(before: &Annotation, after: &Annotation) -> Result<(), String> {
    if before.creator != after.creator || before.created != after.created {
        return Err("`creator` and `created` never change".into());
    }
    if before.deleted && !after.deleted {
        return Err("a deleted annotation stays deleted".into());
    }
    if before.deleted {
        return Err("a deleted annotation cannot change".into());
    }
    if before.status != after.status && !before.status.can_become(after.status) {
        return Err(format!(
            "an annotation that is {} cannot become {}",
            before.status, after.status
        ));
    }
    if before.canonical.is_some() && before.canonical != after.canonical {
        return Err("`canonical` never changes".into());
    }
    if !after.replies.starts_with(&before.replies) {
        return Err("replies are only ever added".into());
    }
    if before.targets.first().map(|t| &t.article) != after.targets.first().map(|t| &t.article) {
        return Err("an annotation stays with the article of its first target".into());
    }
    Ok(())
}
