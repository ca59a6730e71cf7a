//! Which entries of the `annotations` map a set of patches touched: the entries a change must
//! be checked for, or read again.

use std::collections::BTreeSet;

use automerge::{Patch, PatchAction, Prop, ReadDoc};

use crate::documents::schema;

/// The keys of `annotations` that `patches` touched; `None` when a patch reached outside single
/// entries (the map itself replaced, say), and every entry must be looked at.
pub(super) fn touched_keys(map: &automerge::ObjId, patches: &[Patch]) -> Option<BTreeSet<String>> {
    let mut keys = BTreeSet::new();
    for patch in patches {
        if &patch.obj == map {
            match &patch.action {
                PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key } => {
                    keys.insert(key.clone());
                }
                _ => return None,
            }
        } else if let Some((_, prop)) = patch.path.iter().find(|(obj, _)| obj == map) {
            match prop {
                Prop::Map(key) => {
                    keys.insert(key.clone());
                }
                Prop::Seq(_) => return None,
            }
        } else if patch.obj == automerge::ROOT {
            // A root-level change that replaces `annotations` touches every entry.
            if let PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key } = &patch.action
            {
                if key == schema::ANNOTATIONS {
                    return None;
                }
            }
        }
    }
    Some(keys)
}

/// Every key of the map, and every annotation the core knows (one may have gone from the map).
pub(super) fn all_keys<'a>(
    doc: &automerge::Automerge,
    map: &automerge::ObjId,
    known: impl Iterator<Item = &'a crate::domain::AnnotationId>,
) -> BTreeSet<String> {
    let mut keys: BTreeSet<String> = doc.keys(map).collect();
    keys.extend(known.map(|id| id.to_string()));
    keys
}
