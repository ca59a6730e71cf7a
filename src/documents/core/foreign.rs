//! Changes appended elsewhere (another replica's task, or the winner of a race): applied to the
//! document, the annotations they touched refreshed, the streams' versions moved on, and the
//! peers told.

use automerge::{Change, Patch, PatchLog};

use super::touched::{all_keys, touched_keys};
use super::DocumentCore;
use crate::documents::schema;
use crate::domain::AnnotationId;
use crate::store::EventRecord;

impl DocumentCore {
    /// Takes events another writer appended and fans their changes out.
    pub(super) fn foreign(&mut self, records: Vec<EventRecord>) {
        if self.take_foreign(records) {
            self.broadcast();
        }
    }

    /// Applies events another writer appended (those not seen yet); true if the document
    /// changed.
    pub(super) fn take_foreign(&mut self, records: Vec<EventRecord>) -> bool {
        let mut changes = Vec::new();
        for record in records {
            if !self.streams.foreign(&record) {
                continue;
            }
            let Some(bytes) = record.change else { continue };
            match Change::from_bytes(bytes) {
                Ok(change) => changes.push(change),
                Err(error) => {
                    tracing::error!(article = %self.article, seq = record.seq, %error, "a logged change could not be read");
                }
            }
        }
        if changes.is_empty() {
            return false;
        }
        let heads = self.doc.get_heads();
        let mut log = PatchLog::active();
        if let Err(error) = self.doc.apply_changes_log_patches(changes, &mut log) {
            tracing::error!(article = %self.article, %error, "could not apply logged changes");
            return false;
        }
        if self.doc.get_heads() == heads {
            return false;
        }
        let patches = self.doc.make_patches(&mut log);
        self.refresh(&patches);
        true
    }

    /// Reads again the annotations that `patches` touched. An entry that does not read as a
    /// valid annotation keeps its last valid state: its writer's compensation is in the same
    /// append.
    fn refresh(&mut self, patches: &[Patch]) {
        let map = match schema::annotations_map(&self.doc) {
            Ok(Some(map)) => map,
            _ => return,
        };
        let keys = touched_keys(&map, patches)
            .unwrap_or_else(|| all_keys(&self.doc, &map, self.annotations.keys()));
        for key in keys {
            let Ok(id) = AnnotationId::parse(&key) else {
                continue;
            };
            match schema::read_entry(&self.doc, &map, &key) {
                Ok(Some(Ok(annotation))) => {
                    self.annotations.insert(id, annotation);
                }
                Ok(None) => {
                    self.annotations.remove(&id);
                }
                Ok(Some(Err(_))) | Err(_) => {}
            }
        }
    }
}
