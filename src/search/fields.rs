//! The index's layout: its fields, the analyzer every text field and every query goes through,
//! and the documents made from the read models' rows.

use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, FAST,
    INDEXED, STORED, STRING,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer,
};
use tantivy::TantivyDocument;

use crate::store::{AnnotationRow, ArticleRow};

/// The analyzer's name in the index's tokenizer registry.
pub const ANALYZER: &str = "glossa";

/// Words, lower-cased, with diacritics folded to ASCII: "Zelenskyy" and "zelenskyy" are one
/// term, and "Élysée" is found by "elysee".
pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(64))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// Which of the two kinds of thing a hit is.
pub const ANNOTATION: &str = "annotation";
pub const ARTICLE: &str = "article";

/// The searchable text of an annotation or article, by field; `weight` is how much a match
/// there counts against a match in another field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextField {
    Note,
    Quote,
    Replies,
    Suggestion,
    Tags,
    Sources,
    /// A fact-check's claim: its summary and who made it.
    Claim,
    Title,
    Body,
}

impl TextField {
    pub const ALL: [TextField; 9] = [
        TextField::Note,
        TextField::Quote,
        TextField::Replies,
        TextField::Suggestion,
        TextField::Tags,
        TextField::Sources,
        TextField::Claim,
        TextField::Title,
        TextField::Body,
    ];

    /// The name in the index and in a snippet.
    pub fn name(self) -> &'static str {
        match self {
            TextField::Note => "note",
            TextField::Quote => "quote",
            TextField::Replies => "replies",
            TextField::Suggestion => "suggestion",
            TextField::Tags => "tags",
            TextField::Sources => "sources",
            TextField::Claim => "claim",
            TextField::Title => "title",
            TextField::Body => "text",
        }
    }

    pub fn weight(self) -> f32 {
        match self {
            TextField::Title => 1.5,
            TextField::Note | TextField::Quote | TextField::Tags | TextField::Claim => 1.2,
            TextField::Body => 0.6,
            _ => 1.0,
        }
    }
}

/// The index's fields.
#[derive(Clone, Debug)]
pub struct Fields {
    /// `annotation:<id>` or `article:<id>`: one document per key.
    pub key: Field,
    /// [`ANNOTATION`] or [`ARTICLE`].
    pub kind_of_hit: Field,
    pub id: Field,
    /// The articles an annotation targets; an article's own id.
    pub article: Field,
    pub kind: Field,
    pub status: Field,
    pub verdict: Field,
    pub assignee: Field,
    pub author: Field,
    /// Each tag, lower-cased, as a whole.
    pub tag: Field,
    /// Creation time, milliseconds since the epoch.
    pub created: Field,
    text: Vec<(TextField, Field)>,
}

impl Fields {
    pub fn schema() -> (Schema, Fields) {
        let mut builder = Schema::builder();
        let text_options = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(ANALYZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        let fields = Fields {
            key: builder.add_text_field("key", STRING | STORED),
            kind_of_hit: builder.add_text_field("type", STRING),
            id: builder.add_text_field("id", STRING | STORED),
            article: builder.add_text_field("article", STRING | STORED),
            kind: builder.add_text_field("kind", STRING),
            status: builder.add_text_field("status", STRING),
            verdict: builder.add_text_field("verdict", STRING),
            assignee: builder.add_text_field("assignee", STRING),
            author: builder.add_text_field("author", STRING),
            tag: builder.add_text_field("tag", STRING),
            created: builder.add_i64_field("created", NumericOptions::default() | INDEXED | FAST),
            text: TextField::ALL
                .into_iter()
                .map(|f| (f, builder.add_text_field(f.name(), text_options.clone())))
                .collect(),
        };
        (builder.build(), fields)
    }

    pub fn text(&self, which: TextField) -> Field {
        self.text
            .iter()
            .find(|(f, _)| *f == which)
            .map(|(_, field)| *field)
            .expect("every text field is in the schema")
    }

    pub fn texts(&self) -> impl Iterator<Item = (TextField, Field)> + '_ {
        self.text.iter().copied()
    }

    /// An annotation's document (a deleted one has none).
    pub fn annotation(&self, row: &AnnotationRow) -> TantivyDocument {
        let a = &row.annotation;
        let mut doc = TantivyDocument::default();
        doc.add_text(self.key, key(ANNOTATION, a.id.as_str()));
        doc.add_text(self.kind_of_hit, ANNOTATION);
        doc.add_text(self.id, a.id.as_str());
        let mut articles: Vec<&str> = a.targets.iter().map(|t| t.article.as_str()).collect();
        articles.dedup();
        for article in articles {
            doc.add_text(self.article, article);
        }
        doc.add_text(self.kind, a.kind.as_str());
        doc.add_text(self.status, a.status.as_str());
        if let Some(verdict) = a.verdict {
            doc.add_text(self.verdict, verdict.as_str());
        }
        if let Some(assignee) = &a.assignee {
            doc.add_text(self.assignee, assignee.as_str());
        }
        doc.add_text(self.author, a.creator.as_str());
        for tag in &a.tags {
            doc.add_text(self.tag, tag.to_lowercase());
        }
        doc.add_i64(self.created, a.created.timestamp_millis());
        for (field, text) in annotation_texts(row) {
            doc.add_text(self.text(field), text);
        }
        doc
    }

    /// An article's document: its title and the text of its latest version.
    pub fn article(&self, row: &ArticleRow, text: &str) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        doc.add_text(self.key, key(ARTICLE, row.id.as_str()));
        doc.add_text(self.kind_of_hit, ARTICLE);
        doc.add_text(self.id, row.id.as_str());
        doc.add_text(self.article, row.id.as_str());
        doc.add_i64(self.created, row.created.timestamp_millis());
        if let Some(title) = &row.title {
            doc.add_text(self.text(TextField::Title), title);
        }
        doc.add_text(self.text(TextField::Body), text);
        doc
    }
}

/// The key of a hit's document.
pub fn key(kind_of_hit: &str, id: &str) -> String {
    format!("{kind_of_hit}:{id}")
}

/// The searchable texts of an annotation, field by field, in the order a snippet prefers them.
pub fn annotation_texts(row: &AnnotationRow) -> Vec<(TextField, String)> {
    let a = &row.annotation;
    let mut texts = vec![(TextField::Note, a.body.clone())];
    texts.extend(
        a.targets
            .iter()
            .map(|t| (TextField::Quote, t.quote.exact.clone())),
    );
    if let Some(suggestion) = &a.suggestion {
        texts.push((TextField::Suggestion, suggestion.clone()));
    }
    if let Some(claim) = &a.claim {
        let parts: Vec<&str> = [
            claim.summary.as_deref(),
            claim.claimant.as_ref().map(|c| c.name.as_str()),
        ]
        .into_iter()
        .flatten()
        .collect();
        texts.push((TextField::Claim, parts.join(" — ")));
    }
    texts.extend(
        a.replies
            .iter()
            .map(|r| (TextField::Replies, r.text.clone())),
    );
    texts.extend(a.tags.iter().map(|t| (TextField::Tags, t.clone())));
    texts.extend(a.sources.iter().map(|s| {
        let text = match &s.title {
            Some(title) => format!("{title} {}", s.url),
            None => s.url.clone(),
        };
        (TextField::Sources, text)
    }));
    texts.retain(|(_, text)| !text.trim().is_empty());
    texts
}
