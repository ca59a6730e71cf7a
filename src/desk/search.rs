//! Full-text search through the desk: the index is the `search` module's; the desk holds it and
//! answers for it.

use crate::search::{SearchIndex, SearchPage, SearchRequest};

use super::{Desk, DeskError};

impl Desk {
    /// Searches with `index`, which follows this desk's read models.
    pub fn with_search(mut self, index: SearchIndex) -> Self {
        self.search = Some(index);
        self
    }

    /// The search index, when this desk has one (a serving desk does).
    pub fn search_index(&self) -> Option<&SearchIndex> {
        self.search.as_ref()
    }

    /// Annotations and article texts matching `request`, best first, as of every write that
    /// has been answered.
    pub async fn search(&self, request: SearchRequest) -> Result<SearchPage, DeskError> {
        let index = self
            .search
            .as_ref()
            .ok_or_else(|| DeskError::internal("this desk was opened without a search index"))?;
        index.search(request).await.map_err(DeskError::Search)
    }
}
