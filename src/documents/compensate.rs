//! Putting right what a sync change broke, and only that.
//!
//! A peer's change to an annotation may mix valid edits with invalid ones, and other peers may
//! be editing the same annotation concurrently (typing in its note, say). Compensation compares
//! the annotation as the merge left it with its last valid state and gives back their last
//! valid values only to the fields that break the rules; everything else, the note's text
//! object included, is left as it is. A new annotation that breaks the rules is removed, and an
//! entry that is gone or no longer a map is written afresh from its last valid state.

use automerge::transaction::Transactable;
use automerge::{ObjId, ObjType, ReadDoc, Value};

use crate::domain::Annotation;

use super::fields::Field;
use super::schema::{self, SchemaError};

/// How one rejected entry of `annotations` is put right.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Repair {
    /// A new annotation that breaks the rules: removed.
    Remove,
    /// The entry is gone or no longer a map: its last valid state is written afresh.
    Replace(Annotation),
    /// These fields get their last valid values back; the rest of the change stands, and
    /// `kept` is what the annotation is then.
    Revert {
        fields: Vec<Field>,
        kept: Annotation,
    },
}

impl Repair {
    /// The annotation after the repair, if it still exists.
    pub(super) fn result(&self) -> Option<&Annotation> {
        match self {
            Repair::Remove => None,
            Repair::Replace(valid) => Some(valid),
            Repair::Revert { kept, .. } => Some(kept),
        }
    }

    /// The keys of the fields given back their last valid values, when only some were.
    pub(super) fn restored(&self) -> Option<Vec<String>> {
        match self {
            Repair::Revert { fields, .. } => {
                Some(fields.iter().map(|f| f.key().to_owned()).collect())
            }
            _ => None,
        }
    }
}

/// Decides how to repair the entry `key` of the `annotations` map `map`, whose last valid
/// state is `before`; `valid` tells whether a candidate state keeps the rules.
///
/// Fields that cannot be read are always reverted. Of the fields the change set to readable
/// values, the ones to revert are found by reverting them in order until the result is valid,
/// then giving back every reverted field the result stays valid without.
pub(super) fn plan<R: ReadDoc>(
    doc: &R,
    map: &ObjId,
    key: &str,
    before: Option<&Annotation>,
    valid: impl Fn(&Annotation) -> bool,
) -> Result<Repair, SchemaError> {
    let Some(before) = before else {
        return Ok(Repair::Remove);
    };
    let obj = match doc.get(map, key)? {
        Some((Value::Object(ObjType::Map), obj)) => obj,
        _ => return Ok(Repair::Replace(before.clone())),
    };
    let merged = Merged::read(doc, &obj, key, before);
    let reverted = merged.fewest_to_revert(&valid);
    let mut fields = merged.unreadable.clone();
    fields.extend(reverted.iter().copied());
    if fields.is_empty() {
        // Nothing to single out (the rules judged the whole entry): restore all of it.
        return Ok(Repair::Replace(before.clone()));
    }
    Ok(Repair::Revert {
        kept: merged.with(&reverted),
        fields,
    })
}

/// An entry as the merge left it, next to its last valid state.
struct Merged<'a> {
    before: &'a Annotation,
    /// The merged state, with the last valid value wherever a field cannot be read.
    after: Annotation,
    unreadable: Vec<Field>,
    changed: Vec<Field>,
}

impl<'a> Merged<'a> {
    fn read<R: ReadDoc>(doc: &R, obj: &ObjId, key: &str, before: &'a Annotation) -> Self {
        let mut after = before.clone();
        let (mut unreadable, mut changed) = (Vec::new(), Vec::new());
        for field in Field::ALL {
            match field.read(doc, obj, key, &mut after) {
                Err(_) => unreadable.push(field),
                Ok(()) if !field.same(&after, before) => changed.push(field),
                Ok(()) => {}
            }
        }
        Self {
            before,
            after,
            unreadable,
            changed,
        }
    }

    /// The merged state with `reverted` given their last valid values.
    fn with(&self, reverted: &[Field]) -> Annotation {
        let mut candidate = self.after.clone();
        for field in reverted {
            field.copy(self.before, &mut candidate);
        }
        candidate
    }

    /// The changed fields to revert: reverted in order until the result is valid, then every
    /// one the result stays valid without is given back.
    fn fewest_to_revert(&self, valid: &impl Fn(&Annotation) -> bool) -> Vec<Field> {
        let mut reverted: Vec<Field> = Vec::new();
        if !valid(&self.after) {
            for field in &self.changed {
                reverted.push(*field);
                if valid(&self.with(&reverted)) {
                    break;
                }
            }
        }
        // With every changed field reverted the candidate is `before`, which is valid.
        let mut i = 0;
        while i < reverted.len() {
            let mut fewer = reverted.clone();
            fewer.remove(i);
            if valid(&self.with(&fewer)) {
                reverted = fewer;
            } else {
                i += 1;
            }
        }
        reverted
    }
}

/// Applies a repair inside the compensating transaction.
pub(super) fn apply<T: Transactable>(
    tx: &mut T,
    map: &ObjId,
    key: &str,
    repair: &Repair,
) -> Result<(), SchemaError> {
    match repair {
        Repair::Remove => tx.delete(map, key)?,
        Repair::Replace(valid) => schema::write_annotation(tx, map, None, valid)?,
        Repair::Revert { fields, kept } => {
            let obj = match tx.get(map, key)? {
                Some((Value::Object(ObjType::Map), obj)) => obj,
                _ => return schema::write_annotation(tx, map, None, kept),
            };
            for field in fields {
                field.write(tx, &obj, kept)?;
            }
            // Whatever the fields missed (a stray value of the wrong type nested deeper, say),
            // the entry must read as `kept` now; if not, it is written afresh.
            if schema::read_annotation(tx, &obj, key).ok().as_ref() != Some(kept) {
                schema::write_annotation(tx, map, None, kept)?;
            }
        }
    }
    Ok(())
}
