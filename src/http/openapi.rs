//! The OpenAPI 3.1 document of every route `routes` serves (the web UI's `/` and `/assets/*`
//! aside), served at `GET /api/openapi.json`. Schemas are derived with utoipa from the shapes
//! below, which mirror what the handlers and `w3c` render; the operations are listed here, and
//! a test compares them with what `methods` recorded as the router was configured.

#![allow(dead_code)] // the schema structs are only read by utoipa's derive

use actix_web::http::Method;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::openapi::path::{Operation, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::SchemaType;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{
    ContentBuilder, HttpMethod, ObjectBuilder, PathItem, PathsBuilder, Ref, RefOr, Required,
    ResponseBuilder, Schema, Type,
};
use utoipa::{OpenApi, ToSchema};

use std::collections::BTreeMap;

use crate::domain::anchoring::AnchorStatus;
use crate::domain::{Kind, Status, Verdict};

use super::methods;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(methods::only("/api/openapi.json", Method::GET, serve));
}

async fn serve() -> HttpResponse {
    HttpResponse::Ok().json(document())
}

/// An RFC 9457 problem: every 4xx and 5xx answer (`application/problem+json`).
#[derive(Serialize, ToSchema)]
struct Problem {
    /// Always `about:blank`: the status says what kind of problem it is.
    #[schema(rename = "type", example = "about:blank")]
    kind: String,
    #[schema(example = "Not Found")]
    title: String,
    #[schema(example = 404)]
    status: u16,
    /// What went wrong, for a person.
    detail: String,
}

/// A user as an annotation's creator (a W3C `Person`).
#[derive(Serialize, ToSchema)]
struct Agent {
    id: String,
    #[schema(rename = "type")]
    kind: String,
    nickname: String,
    name: Option<String>,
}

/// A `TextualBody`: the note (purpose from the kind), a suggested correction (`editing`) or a
/// tag (`tagging`).
#[derive(Serialize, ToSchema)]
struct TextualBody {
    #[schema(rename = "type")]
    kind: String,
    value: String,
    format: Option<String>,
    purpose: Option<String>,
}

/// A target: a `SpecificResource` on the article version it was made on, with a
/// TextQuoteSelector and a TextPositionSelector (code points), and where known its `state`
/// (TimeState) and `anchor` in the latest version.
#[derive(Serialize, ToSchema)]
struct SpecificResource {
    #[schema(rename = "type")]
    kind: String,
    source: String,
    /// A TextQuoteSelector and a TextPositionSelector, on the version the target was made on.
    selector: Vec<Selector>,
    /// The version the target was made on, when the article still has it.
    state: Option<TimeState>,
    /// Where the target is in the latest version, when that is a later one.
    anchor: Option<Anchor>,
}

/// A W3C selector, as Glossa renders them.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
enum Selector {
    Quote(TextQuoteSelector),
    Position(TextPositionSelector),
}

/// The passage, with the text just before and after it.
#[derive(Serialize, ToSchema)]
struct TextQuoteSelector {
    #[schema(rename = "type", schema_with = quote_selector_type)]
    kind: String,
    exact: String,
    prefix: String,
    suffix: String,
}

/// Code points of the version's text, end exclusive.
#[derive(Serialize, ToSchema)]
struct TextPositionSelector {
    #[schema(rename = "type", schema_with = position_selector_type)]
    kind: String,
    start: u64,
    end: u64,
}

fn quote_selector_type() -> Schema {
    named_enum("A TextQuoteSelector", &["TextQuoteSelector"], false)
}

fn position_selector_type() -> Schema {
    named_enum("A TextPositionSelector", &["TextPositionSelector"], false)
}

/// A W3C `TimeState`: the version a target was made on, and its text.
#[derive(Serialize, ToSchema)]
struct TimeState {
    #[schema(rename = "type", example = "TimeState")]
    kind: String,
    #[schema(rename = "sourceDate")]
    source_date: String,
    /// The version's text (`/articles/{id}/versions/{n}`).
    cached: String,
}

/// Where a target is in the article's latest version (Glossa's `anchor` term).
#[derive(Serialize, ToSchema)]
struct Anchor {
    version: u32,
    /// The latest version's text.
    source: String,
    /// `pending` until re-anchoring has placed it, then how it was placed.
    status: String,
    /// The passage there, when placed.
    #[serde(default)]
    selector: Vec<Selector>,
    /// A fuzzy match's score.
    score: Option<f64>,
    /// An ambiguous target's candidate places.
    #[serde(default)]
    candidates: Vec<TextPositionSelector>,
}

/// What made the annotation: this server.
#[derive(Serialize, ToSchema)]
struct Generator {
    id: String,
    #[schema(rename = "type", example = "Software")]
    kind: String,
    name: String,
}

/// Who made a claim: a person or an organisation.
#[derive(Serialize, ToSchema)]
struct Claimant {
    /// `Person` or `Organization`, when known.
    #[serde(default)]
    #[schema(rename = "type")]
    kind: Option<String>,
    name: String,
    url: Option<String>,
}

/// A page cited as evidence, and an archived copy of it.
#[derive(Serialize, ToSchema)]
struct SourceLink {
    url: String,
    title: Option<String>,
    archived: Option<String>,
}

/// A reply in an annotation's thread, identified by a fragment of the annotation's IRI.
#[derive(Serialize, ToSchema)]
struct Reply {
    id: String,
    creator: Agent,
    created: String,
    text: String,
    parent: Option<String>,
}

/// A W3C Web Annotation as Glossa renders it (JSON-LD, `application/ld+json` with the
/// anno.jsonld profile), with Glossa's terms (`kind`, `status`, `verdict`, …) under its own
/// context. Embedded in a page, an annotation has no `@context`.
#[derive(Serialize, ToSchema)]
struct Annotation {
    /// JSON-LD: the W3C Annotation context, then Glossa's own terms (an object).
    #[schema(rename = "@context")]
    context: Option<Vec<Value>>,
    /// The annotation's IRI, `{base}/annotations/{id}`.
    id: String,
    #[schema(rename = "type", example = "Annotation")]
    kind_of: String,
    /// The W3C motivation the kind maps to (`assessing`, `editing`, `commenting`, …).
    motivation: String,
    #[schema(schema_with = kind_schema)]
    kind: String,
    creator: Agent,
    created: String,
    modified: String,
    generator: Generator,
    body: Option<Vec<TextualBody>>,
    target: Vec<SpecificResource>,
    #[schema(schema_with = status_schema)]
    status: String,
    #[schema(schema_with = verdict_schema)]
    verdict: Option<String>,
    /// Who made the claim a fact-check reviews.
    #[serde(default)]
    claimant: Option<Claimant>,
    #[schema(rename = "claimDate")]
    claim_date: Option<String>,
    #[schema(rename = "claimSummary")]
    claim_summary: Option<String>,
    #[schema(rename = "editLabel")]
    edit_label: Option<String>,
    assignee: Option<String>,
    /// Evidence: pages the fact-checker relied on.
    #[serde(default)]
    sources: Vec<SourceLink>,
    replies: Vec<Reply>,
    canonical: Option<String>,
    via: Option<String>,
}

/// An annotation as a client sends it (POST to a container, PUT to replace): `@context`,
/// `motivation` and `target` are required; the rest of the W3C shape Glossa reads (`body` or
/// `bodyValue`, `verdict`, `claimant`, `sources`, …) is described loosely here: see the README.
#[derive(Serialize, ToSchema)]
struct AnnotationDraft {
    /// `http://www.w3.org/ns/anno.jsonld` (alone or first in an array).
    #[schema(rename = "@context")]
    context: Value,
    #[schema(rename = "type", example = "Annotation")]
    kind_of: Option<String>,
    /// assessing (fact-check), editing (correction), linking (contradiction), commenting,
    /// questioning or tagging.
    motivation: String,
    #[serde(rename = "bodyValue")]
    body_value: Option<String>,
    body: Option<Value>,
    /// One target or an array: each a `source` (the article) and a `selector`
    /// (TextQuoteSelector, and optionally a TextPositionSelector).
    target: Value,
    #[schema(schema_with = verdict_schema)]
    verdict: Option<String>,
    claimant: Option<Value>,
    sources: Option<Vec<Value>>,
}

/// One item of a page: the annotation, or only its IRI (`?iris=1`, `PreferContainedIRIs`).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(clippy::large_enum_variant)]
enum PageItem {
    Iri(String),
    Annotation(Annotation),
}

/// An `AnnotationPage` (`?page=N`), or the first page embedded in a container.
#[derive(Serialize, ToSchema)]
struct AnnotationPage {
    /// JSON-LD: the W3C Annotation context, then Glossa's own terms (an object).
    #[schema(rename = "@context")]
    context: Option<Vec<Value>>,
    id: String,
    #[schema(rename = "type")]
    kind: String,
    /// The container, on a page served on its own.
    #[schema(rename = "partOf")]
    part_of: Option<PartOf>,
    #[schema(rename = "startIndex")]
    start_index: u64,
    items: Vec<PageItem>,
    next: Option<String>,
    prev: Option<String>,
}

/// A container: an LDP BasicContainer and an AnnotationCollection, with its first page
/// embedded (or only its IRI with `PreferMinimalContainer`).
#[derive(Serialize, ToSchema)]
struct Container {
    /// JSON-LD: the W3C Annotation and LDP contexts, then Glossa's own terms (an object).
    #[schema(rename = "@context")]
    context: Vec<Value>,
    id: String,
    #[schema(rename = "type")]
    kind: Vec<String>,
    label: String,
    total: u64,
    modified: Option<String>,
    last: Option<String>,
    /// The first page, or its IRI.
    first: Option<FirstPage>,
}

/// A container's first page, embedded, or only its IRI (`PreferMinimalContainer`).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(clippy::large_enum_variant)]
enum FirstPage {
    Iri(String),
    Page(AnnotationPage),
}

/// The container a page is part of.
#[derive(Serialize, ToSchema)]
struct PartOf {
    id: String,
    label: String,
    total: u64,
    modified: Option<String>,
}

/// A version of an article: immutable text, by number.
#[derive(Serialize, ToSchema)]
struct ArticleVersion {
    number: u32,
    sha256: String,
    length: u64,
    ingested: String,
    url: String,
}

/// An article with its versions. After publishing a version, also `anchoring` (how each
/// annotation was re-anchored) and `style` (what the house-style check flagged and resolved).
#[derive(Serialize, ToSchema)]
struct Article {
    id: String,
    url: String,
    title: Option<String>,
    outlet: Option<String>,
    /// When the outlet published it, as given at ingestion.
    published: Option<String>,
    /// The article's address on the outlet's site.
    source_url: Option<String>,
    created: String,
    document_id: String,
    /// The Automerge document (`automerge:…`) a sync client opens.
    document_url: String,
    /// The article's annotation container.
    annotations: String,
    latest_version: Option<u32>,
    versions: Vec<ArticleVersion>,
    /// In the list only.
    annotation_count: Option<u64>,
    open_count: Option<u64>,
    needs_attention_count: Option<u64>,
}

/// `GET /api/articles`.
#[derive(Serialize, ToSchema)]
struct ArticleList {
    articles: Vec<Article>,
}

/// The article a search hit is on.
#[derive(Serialize, ToSchema)]
struct HitArticle {
    id: String,
    title: Option<String>,
}

/// One search hit; an annotation's also has its IRI and workflow fields.
#[derive(Serialize, ToSchema)]
struct SearchItem {
    /// `annotation` or `article`.
    #[schema(rename = "type")]
    kind_of: String,
    id: String,
    score: f64,
    article: HitArticle,
    /// The best passage, when a text matched.
    snippet: Option<Snippet>,
    link: String,
    annotation: Option<String>,
    kind: Option<String>,
    status: Option<String>,
    verdict: Option<String>,
    assignee: Option<String>,
    creator: Option<String>,
    created: Option<String>,
    tags: Option<Vec<String>>,
    articles: Option<Vec<String>>,
}

/// A passage of a hit's text with the matched words marked.
#[derive(Serialize, ToSchema)]
struct Snippet {
    /// The field the text comes from (`note`, `quote`, `replies`, `tags`, `text`, …).
    field: String,
    text: String,
    /// Marked ranges of `text`, `[start, end]` in code points, end exclusive.
    highlights: Vec<Vec<u64>>,
    /// `text` as HTML, escaped, with each marked range in `<mark>`.
    html: String,
}

/// `GET /api/search`: best first (or newest first with filters only).
#[derive(Serialize, ToSchema)]
struct SearchResults {
    q: Option<String>,
    total: u64,
    items: Vec<SearchItem>,
    /// Where the next page starts, when there is one.
    cursor: Option<String>,
    /// The URL of the next page, when there is one.
    next: Option<String>,
    /// The log position the index had reached when it answered.
    position: u64,
}

/// An annotation in the work queue.
#[derive(Serialize, ToSchema)]
struct QueueItem {
    id: String,
    url: String,
    #[schema(schema_with = kind_schema)]
    kind: String,
    #[schema(schema_with = status_schema)]
    status: String,
    #[schema(schema_with = verdict_schema)]
    verdict: Option<String>,
    assignee: Option<String>,
    creator: String,
    created: String,
    modified: String,
    article: String,
    quote: String,
    note: String,
}

/// `GET /api/queue`: the lists asked for (`assigned`, `open`, `needs_attention`, `articles`),
/// each present only when asked for.
#[derive(Serialize, ToSchema)]
struct Queue {
    user: String,
    assignee: Option<String>,
    kinds: Vec<String>,
    /// The log position the lists reflect.
    seq: Option<u64>,
    article: Option<String>,
    assigned: Option<Vec<QueueItem>>,
    open: Option<Vec<QueueItem>>,
    /// Targets a person should place (`desk/versions`' placements).
    needs_attention: Option<Vec<AttentionItem>>,
    /// Per article, what waits on it.
    articles: Option<Vec<ArticleCounts>>,
}

/// A target that needs a person: its annotation as in the queue's lists, and where the
/// target stands in the article's latest version.
#[derive(Serialize, ToSchema)]
struct AttentionItem {
    id: String,
    url: String,
    #[schema(schema_with = kind_schema)]
    kind: String,
    #[schema(schema_with = status_schema)]
    status: String,
    #[schema(schema_with = verdict_schema)]
    verdict: Option<String>,
    assignee: Option<String>,
    creator: String,
    created: String,
    modified: String,
    article: String,
    /// The target's quote.
    quote: String,
    note: String,
    /// The article's latest version.
    version: u32,
    /// Which of the annotation's targets.
    target: u64,
    /// The version the target's selectors were made on.
    made_on: u32,
    /// `orphaned` or `ambiguous`.
    target_status: String,
    /// How many places fit alike (ambiguous).
    candidates: u64,
}

/// What waits on one article.
#[derive(Serialize, ToSchema)]
struct ArticleCounts {
    article: String,
    /// Fact-checks and corrections open or in review.
    open: u64,
    /// Targets a person should place.
    needs_attention: u64,
}

/// One event of the log.
#[derive(Serialize, ToSchema)]
struct Event {
    seq: u64,
    id: String,
    #[schema(rename = "type", example = "annotation.created")]
    kind: String,
    /// The version of the type's payload.
    schema: u32,
    stream: String,
    version: u64,
    article: Option<String>,
    actor: String,
    at: String,
    /// The event's payload: its shape is the type's (version `schema`), one per event type,
    /// so it is not repeated here as a schema; the README lists the types.
    data: Option<Value>,
    /// A `document.changed` event's Automerge change hash.
    change_hash: Option<String>,
    /// The raw Automerge change, base64 (with `include=change`).
    change: Option<String>,
}

/// `GET /api/events`: a page of the log.
#[derive(Serialize, ToSchema)]
struct EventsPage {
    events: Vec<Event>,
    next: Option<String>,
    /// The position this page reached: `after` for the next page.
    cursor: u64,
    /// The log's head when the page was read.
    head: u64,
}

/// A user of the desk.
#[derive(Serialize, ToSchema)]
struct User {
    #[schema(example = "alice")]
    name: String,
    display_name: Option<String>,
    #[schema(schema_with = role_schema)]
    role: String,
    can_write: bool,
    /// In `/api/desk`'s `demo_users` only: the demo user's well-known token.
    token: Option<String>,
}

/// `GET /api/users`.
#[derive(Serialize, ToSchema)]
struct UserList {
    users: Vec<User>,
}

/// `GET /api/desk`: whether this is a demo desk, and the demo users whose token still works.
#[derive(Serialize, ToSchema)]
struct DeskInfo {
    demo: bool,
    demo_users: Vec<User>,
}

/// `GET /healthz`: 200 even when degraded (reads are still served).
#[derive(Serialize, ToSchema)]
struct Health {
    /// `ok`, or `degraded` with the `problem` when the database cannot be reached.
    status: String,
    /// `embedded` or `postgresql`.
    log: String,
    log_head: u64,
    read_model_checkpoint: u64,
    problem: Option<String>,
}

/// A token's listing; its secret is shown once, when issued, and never again.
#[derive(Serialize, ToSchema)]
struct Token {
    id: String,
    user: String,
    #[schema(schema_with = role_schema)]
    role: String,
    issued: String,
    revoked: Option<String>,
    demo: bool,
}

/// `POST /api/users/{name}/tokens`: the token's listing with its secret, shown this once.
#[derive(Serialize, ToSchema)]
struct IssuedToken {
    id: String,
    user: String,
    #[schema(schema_with = role_schema)]
    role: String,
    issued: String,
    revoked: Option<String>,
    demo: bool,
    /// The secret to send as `Authorization: Bearer …`. `null` when the request was a retry
    /// with the same `Idempotency-Key`: the server does not keep it, and `note` says what to do.
    token: Option<String>,
    /// On a retry only: why `token` is `null`.
    note: Option<String>,
}

/// `GET /api/tokens`.
#[derive(Serialize, ToSchema)]
struct TokenList {
    tokens: Vec<Token>,
}

/// One version of an article with its text.
#[derive(Serialize, ToSchema)]
struct ArticleText {
    article: String,
    number: u32,
    sha256: String,
    length: u64,
    ingested: String,
    text: String,
}

/// One entry of an annotation's history: one semantic event, oldest first.
#[derive(Serialize, ToSchema)]
struct HistoryEntry {
    seq: u64,
    version: u64,
    #[schema(rename = "type", example = "annotation.updated")]
    kind: String,
    actor: String,
    at: String,
    /// `annotation.created`: the annotation as the log carries it.
    annotation: Option<Value>,
    /// `annotation.updated` and status changes: per field, `before` and `after` (the body
    /// also an `edit`: `at`, `removed`, `inserted`, `length_before`, `length_after`).
    changes: Option<Value>,
    /// `reply.added`: the reply as the log carries it.
    reply: Option<Value>,
    /// An event type this version does not know, as stored.
    data: Option<Value>,
}

/// `GET /api/annotations/{id}/history`.
#[derive(Serialize, ToSchema)]
struct History {
    id: String,
    /// The annotation's IRI.
    annotation: String,
    history: Vec<HistoryEntry>,
}

/// A claim: a statement checked once and linked to the fact-checks that review it wherever
/// it appears.
#[derive(Serialize, ToSchema)]
struct Claim {
    id: String,
    url: String,
    text: String,
    claimant: Option<String>,
    #[serde(rename = "claimantUrl")]
    claimant_url: Option<String>,
    /// `Person` or `Organization`.
    #[serde(rename = "claimantType")]
    claimant_type: Option<String>,
    #[serde(rename = "claimDate")]
    claim_date: Option<String>,
    creator: String,
    created: String,
    /// The linked annotations' IRIs.
    annotations: Vec<String>,
    /// Where the linked annotations are.
    appearances: Vec<ClaimAppearance>,
}

/// One passage of an annotation linked to a claim.
#[derive(Serialize, ToSchema)]
struct ClaimAppearance {
    /// The annotation's IRI.
    annotation: String,
    #[schema(schema_with = kind_schema)]
    kind: String,
    article: String,
    title: Option<String>,
    /// The article's own URL, or its IRI on this desk.
    url: String,
    /// The version the passage was quoted from.
    version: u32,
    quote: String,
}

/// `GET /api/claims`.
#[derive(Serialize, ToSchema)]
struct ClaimList {
    claims: Vec<Claim>,
}

/// One entry of the house-style term list: whole-word, case-sensitive occurrences of
/// `variants` are flagged with a tag annotation suggesting `preferred`.
#[derive(Serialize, ToSchema)]
struct StyleRule {
    /// A short slug, used as the tag on the annotations the rule makes.
    #[schema(example = "kyiv")]
    id: String,
    #[schema(example = "Kyiv")]
    preferred: String,
    #[schema(example = json!(["Kiev"]))]
    variants: Vec<String>,
}

/// `PUT /api/style-rules`: the whole new term list (admins).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct StyleRulesRequest {
    rules: Vec<StyleRule>,
}

/// The house-style term list; after a PUT, with what re-checking the articles did.
#[derive(Serialize, ToSchema)]
struct StyleRules {
    rules: Vec<StyleRule>,
    /// New tag annotations (after a PUT).
    flagged: Option<u64>,
    /// Tags resolved because their word is gone (after a PUT).
    resolved: Option<u64>,
}

/// Where one target of an annotation is in a version.
#[derive(Serialize, ToSchema)]
struct Placement {
    /// The annotation's id.
    annotation: String,
    #[schema(schema_with = kind_schema)]
    kind: String,
    #[schema(schema_with = status_schema)]
    annotation_status: String,
    /// Which of the annotation's targets.
    target: u64,
    /// The version the target's selectors were made on.
    made_on: u32,
    #[schema(schema_with = placement_status_schema)]
    status: String,
    /// Where it is in the version's text.
    #[serde(default)]
    position: Option<Span>,
    /// The passage there.
    #[serde(default)]
    quote: Option<Quote>,
    /// A fuzzy match's score.
    score: Option<f64>,
    /// An ambiguous target's candidate positions.
    #[serde(default)]
    candidates: Vec<Span>,
    /// Who placed it: the server, or the person who re-attached it.
    by: Option<String>,
}

/// A passage's place: code points of the version's text, end exclusive.
#[derive(Serialize, ToSchema)]
struct Span {
    start: u64,
    end: u64,
}

/// A quoted passage with the text just before and after it.
#[derive(Serialize, ToSchema)]
struct Quote {
    exact: String,
    prefix: String,
    suffix: String,
}

/// `GET /api/articles/{id}/anchors`.
#[derive(Serialize, ToSchema)]
struct Anchors {
    article: String,
    version: u32,
    /// Targets per placement status.
    counts: BTreeMap<String, u64>,
    /// The placements a person should re-attach (orphaned or ambiguous).
    needs_attention: Vec<Placement>,
    placements: Vec<Placement>,
}

fn placement_status_schema() -> Schema {
    let mut values = vec!["original", "pending"];
    values.extend(AnchorStatus::ALL.map(|s| s.as_str()));
    named_enum(
        "`original` on the version the target was made on, `pending` before the server has \
         anchored it there, else how it was anchored",
        &values,
        false,
    )
}

/// Annotations and replies an import wrote.
#[derive(Serialize, ToSchema)]
struct Imported {
    annotations: u64,
    replies: u64,
}

/// What a Hypothesis import did (`desk/import`'s report).
#[derive(Serialize, ToSchema)]
struct ImportReport {
    /// Rows in the file.
    rows: u64,
    imported: Imported,
    /// How the annotations written were placed: `exact` or `fuzzy`, with counts.
    placed: BTreeMap<String, u64>,
    /// Rows imported without a place in the article, for a person to re-attach; counted in
    /// `imported` too.
    orphaned: Vec<Unplaced>,
    /// Rows not imported, and why.
    skipped: Vec<Skipped>,
    /// Rows an earlier import wrote: nothing written again.
    already_imported: u64,
}

/// A webhook subscription (`/api/webhooks`); `secret` only in the answer that creates it.
#[derive(Serialize, ToSchema)]
struct Webhook {
    id: String,
    url: String,
    /// Event types delivered; empty for every type.
    types: Vec<String>,
    /// Articles whose events are delivered; empty for every article's.
    articles: Vec<String>,
    description: Option<String>,
    #[schema(pattern = "^(active|paused)$")]
    status: String,
    /// Why and since when it is paused, and the event it stopped at (`seq`), if any.
    paused: Option<WebhookPause>,
    created_by: String,
    created: String,
    /// The log position delivered up to (events after it are still to be delivered).
    cursor: u64,
    last_attempt: Option<WebhookAttempt>,
    /// The signing secret (`whsec_…`): in the 201 of a new subscription only, null on a retry.
    #[schema(nullable)]
    secret: Option<String>,
    /// On a retried create: why the secret is not there.
    note: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct WebhookPause {
    reason: String,
    at: String,
    seq: Option<u64>,
}

/// One attempt to deliver one event.
#[derive(Serialize, ToSchema)]
struct WebhookAttempt {
    seq: u64,
    event_id: String,
    #[schema(rename = "type")]
    kind: String,
    /// 1 for the first try of this event.
    attempt: u32,
    at: String,
    /// The receiver's HTTP status, if it answered.
    status: Option<u16>,
    ok: bool,
    error: Option<String>,
    millis: u32,
}

/// `GET /api/webhooks`.
#[derive(Serialize, ToSchema)]
struct WebhookList {
    items: Vec<Webhook>,
}

/// `GET /api/webhooks/{id}/deliveries`: newest first.
#[derive(Serialize, ToSchema)]
struct WebhookAttempts {
    items: Vec<WebhookAttempt>,
}

/// A Hypothesis row whose passage has no place in its article.
#[derive(Serialize, ToSchema)]
struct Unplaced {
    /// The Hypothesis id.
    id: String,
    article: String,
    quote: String,
    #[schema(schema_with = unplaced_schema)]
    anchoring: String,
}

fn unplaced_schema() -> Schema {
    named_enum(
        "`orphaned` (nowhere) or `ambiguous` (several places fit alike)",
        &["orphaned", "ambiguous"],
        false,
    )
}

/// A Hypothesis row not imported.
#[derive(Serialize, ToSchema)]
struct Skipped {
    /// The Hypothesis id.
    id: String,
    reason: String,
}

/// One annotation as the Hypothesis API returns it: only the fields the import reads are
/// described; Hypothesis's others (`group`, `permissions`, `document`, …) are allowed and
/// ignored.
#[derive(Serialize, ToSchema)]
struct HypothesisRow {
    id: String,
    /// The annotated page's address: matched to an article's `url`.
    uri: Option<String>,
    text: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    target: Vec<HypothesisTarget>,
    /// The ancestors of a reply, root first; empty on a top-level annotation.
    #[serde(default)]
    references: Vec<String>,
    /// `acct:name@host`.
    #[schema(example = "acct:alice@hypothes.is")]
    user: String,
    #[schema(format = DateTime)]
    created: String,
    links: Option<HypothesisLinks>,
}

/// A Hypothesis target: TextQuote, TextPosition and Range selectors (others are ignored).
#[derive(Serialize, ToSchema)]
struct HypothesisTarget {
    source: Option<String>,
    /// Selector objects, each with its `type`: `TextQuoteSelector` (`exact`, `prefix`,
    /// `suffix`), `TextPositionSelector` (`start`, `end`), `RangeSelector`, ….
    #[serde(default)]
    selector: Vec<BTreeMap<String, Value>>,
}

/// Where Hypothesis shows the annotation.
#[derive(Serialize, ToSchema)]
struct HypothesisLinks {
    html: Option<String>,
    incontext: Option<String>,
}

/// The Hypothesis API's search result (`_separate_replies` puts replies in `replies`).
#[derive(Serialize, ToSchema)]
struct HypothesisSearchResult {
    rows: Vec<HypothesisRow>,
    replies: Option<Vec<HypothesisRow>>,
    total: Option<u64>,
}

/// What `POST /api/import/hypothesis` reads: a search result, or a bare array of rows.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
enum HypothesisImport {
    SearchResult(HypothesisSearchResult),
    Rows(Vec<HypothesisRow>),
}

/// `GET /api/export/claimreview`: the desk's fact-checks with a verdict as schema.org
/// `ClaimReview`s, in one JSON-LD graph.
#[derive(Serialize, ToSchema)]
struct ClaimReviewExport {
    #[schema(rename = "@context", example = "https://schema.org")]
    context: String,
    #[schema(rename = "@graph")]
    graph: Vec<ClaimReview>,
}

/// One fact-check as a schema.org `ClaimReview`.
#[derive(Serialize, ToSchema)]
struct ClaimReview {
    #[schema(rename = "@type", example = "ClaimReview")]
    kind: String,
    /// The fact-check's IRI.
    url: String,
    /// The day the fact-check was made (`YYYY-MM-DD`).
    #[schema(rename = "datePublished", format = Date)]
    date_published: String,
    #[schema(rename = "dateModified")]
    date_modified: String,
    /// Who made the fact-check (a `Person`).
    author: ClaimReviewAuthor,
    /// The claim summary, else a linked claim's text, else the quoted passage.
    #[schema(rename = "claimReviewed")]
    claim_reviewed: String,
    /// The fact-check's note.
    #[schema(rename = "reviewBody")]
    review_body: String,
    #[schema(rename = "reviewRating")]
    review_rating: Rating,
    #[schema(rename = "itemReviewed")]
    item_reviewed: ReviewedClaim,
}

/// A person or organisation in schema.org terms.
#[derive(Serialize, ToSchema)]
struct ClaimReviewAuthor {
    /// `Person` or `Organization`.
    #[schema(rename = "@type")]
    kind: String,
    name: String,
    url: Option<String>,
}

/// A verdict as a schema.org `Rating`: on the scale (1 to 5) with `ratingValue`,
/// `worstRating` and `bestRating`; off it (unverifiable) with its `alternateName` alone.
#[derive(Serialize, ToSchema)]
struct Rating {
    #[schema(rename = "@type", example = "Rating")]
    kind: String,
    #[schema(rename = "alternateName", example = "Mostly true")]
    alternate_name: String,
    /// The scale, in words.
    description: String,
    #[schema(rename = "ratingValue", minimum = 1, maximum = 5)]
    rating_value: Option<u8>,
    #[schema(rename = "worstRating", minimum = 1, maximum = 1)]
    worst_rating: Option<u8>,
    #[schema(rename = "bestRating", minimum = 5, maximum = 5)]
    best_rating: Option<u8>,
}

/// The claim a review is about: who made it and when (when known), and where it appeared.
#[derive(Serialize, ToSchema)]
struct ReviewedClaim {
    #[schema(rename = "@type", example = "Claim")]
    kind: String,
    /// The linked claim's IRI (`/api/claims/{id}`), when there is one.
    #[schema(rename = "@id")]
    id: Option<String>,
    /// The linked claim's text.
    name: Option<String>,
    /// The claimant.
    author: Option<ClaimReviewAuthor>,
    /// When the claim was made.
    #[schema(rename = "datePublished")]
    date_published: Option<String>,
    appearance: Vec<Appearance>,
    #[schema(rename = "firstAppearance")]
    first_appearance: Option<Appearance>,
}

/// An article a claim appeared in, as a schema.org `CreativeWork`.
#[derive(Serialize, ToSchema)]
struct Appearance {
    #[schema(rename = "@type", example = "CreativeWork")]
    kind: String,
    /// The article's own URL, or its IRI on this desk.
    url: String,
    headline: Option<String>,
    publisher: Option<ClaimReviewAuthor>,
}

fn role_schema() -> Schema {
    named_enum(
        "What the user may do",
        &["viewer", "editor", "admin"],
        false,
    )
}

/// An annotation's kind.
fn kind_schema() -> Schema {
    named_enum(
        "The annotation's kind",
        &Kind::ALL.map(|k| k.as_str()),
        false,
    )
}

/// Where an annotation is in the workflow.
pub(super) fn status_schema() -> Schema {
    named_enum(
        "Where the annotation is in the workflow",
        &Status::ALL.map(|s| s.as_str()),
        false,
    )
}

/// A fact-check's verdict (none on other kinds).
fn verdict_schema() -> Schema {
    named_enum(
        "A fact-check's verdict",
        &Verdict::ALL.map(|v| v.as_str()),
        true,
    )
}

fn named_enum(description: &str, values: &[&str], nullable: bool) -> Schema {
    let mut values: Vec<Value> = values.iter().map(|v| json!(v)).collect();
    let kind = if nullable {
        values.push(Value::Null);
        SchemaType::from_iter([Type::String, Type::Null])
    } else {
        SchemaType::Type(Type::String)
    };
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(kind)
            .description(Some(description))
            .enum_values(Some(values))
            .build(),
    )
}

/// The info and every schema of the document; the paths are added by `document`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Glossa",
        description = "Glossa's HTTP API: the W3C Web Annotation Protocol under `/annotations/`, \
            Glossa's JSON API under `/api/`, the automerge-repo sync socket at `/sync`, and \
            `/healthz`, `/metrics` for operators. Errors are RFC 9457 problems."
    ),
    components(schemas(
        Problem,
        Agent,
        TextualBody,
        SpecificResource,
        Reply,
        Annotation,
        AnnotationDraft,
        super::annotations::StatusRequest,
        super::annotations::AssignRequest,
        super::annotations::ReplyRequest,
        super::annotations::ReattachRequest,
        super::articles::NewArticle,
        super::articles::NewVersion,
        super::access::CreateUser,
        super::access::ChangeUser,
        super::claims::NewClaim,
        super::claims::LinkRequest,
        PageItem,
        AnnotationPage,
        Container,
        ArticleVersion,
        Article,
        ArticleList,
        HitArticle,
        SearchItem,
        SearchResults,
        QueueItem,
        Queue,
        Event,
        EventsPage,
        User,
        UserList,
        DeskInfo,
        Health,
        Token,
        TokenList,
        ArticleText,
        Claim,
        ClaimList,
        StyleRules,
        Placement,
        Anchors,
        Imported,
        ImportReport,
        FirstPage,
        PartOf,
        Selector,
        TextQuoteSelector,
        TextPositionSelector,
        TimeState,
        Anchor,
        Generator,
        Claimant,
        SourceLink,
        Snippet,
        AttentionItem,
        ArticleCounts,
        ClaimAppearance,
        Span,
        Quote,
        Unplaced,
        Skipped,
        HypothesisRow,
        HypothesisTarget,
        HypothesisLinks,
        HypothesisSearchResult,
        HypothesisImport,
        IssuedToken,
        StyleRule,
        StyleRulesRequest,
        ClaimReviewExport,
        ClaimReview,
        ClaimReviewAuthor,
        Rating,
        ReviewedClaim,
        Appearance,
        HistoryEntry,
        History,
        super::webhooks::CreateWebhook,
        Webhook,
        WebhookPause,
        WebhookAttempt,
        WebhookList,
        WebhookAttempts
    ))
)]
struct Schemas;

const JSONLD: &str = "application/ld+json; profile=\"http://www.w3.org/ns/anno.jsonld\"";

fn schema_ref(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

/// Any JSON, for a value whose schema is written elsewhere: `description` says what it is and
/// where its schema is.
fn free_form(description: &str) -> RefOr<Schema> {
    RefOr::T(Schema::Object(
        ObjectBuilder::new().description(Some(description)).build(),
    ))
}

fn string_enum(values: &[&str]) -> RefOr<Schema> {
    RefOr::T(Schema::Object(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(values.iter().copied()))
            .build(),
    ))
}

fn typed(ty: Type) -> RefOr<Schema> {
    RefOr::T(Schema::Object(ObjectBuilder::new().schema_type(ty).build()))
}

/// The pieces of one operation.
struct Op {
    tag: &'static str,
    summary: &'static str,
    /// Who may call it: no token, a bearer token, or also `?token=`.
    auth: Auth,
    params: Vec<(ParameterIn, &'static str, RefOr<Schema>, &'static str)>,
    body: Option<(&'static str, RefOr<Schema>, Option<Value>)>,
    ok: (
        &'static str,
        &'static str,
        Option<RefOr<Schema>>,
        Option<Value>,
    ),
    /// A second success status with the same content, and what it means.
    also: Option<(&'static str, &'static str)>,
}

#[derive(Clone, Copy, PartialEq)]
enum Auth {
    Public,
    Bearer,
    /// Bearer, or `?token=` (browsers cannot set a header on a WebSocket).
    BearerOrQuery,
}

fn op(tag: &'static str, summary: &'static str) -> Op {
    Op {
        tag,
        summary,
        auth: Auth::Bearer,
        params: Vec::new(),
        body: None,
        ok: ("200", "OK", None, None),
        also: None,
    }
}

impl Op {
    fn also(mut self, status: &'static str, description: &'static str) -> Self {
        self.also = Some((status, description));
        self
    }
    fn public(mut self) -> Self {
        self.auth = Auth::Public;
        self
    }
    fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }
    fn path(mut self, name: &'static str, description: &'static str) -> Self {
        self.params
            .push((ParameterIn::Path, name, typed(Type::String), description));
        self
    }
    fn query(
        mut self,
        name: &'static str,
        schema: RefOr<Schema>,
        description: &'static str,
    ) -> Self {
        self.params
            .push((ParameterIn::Query, name, schema, description));
        self
    }
    fn header(mut self, name: &'static str, description: &'static str) -> Self {
        self.params
            .push((ParameterIn::Header, name, typed(Type::String), description));
        self
    }
    fn body(mut self, media: &'static str, schema: RefOr<Schema>, example: Option<Value>) -> Self {
        self.body = Some((media, schema, example));
        self
    }
    fn ok(
        mut self,
        status: &'static str,
        media: &'static str,
        schema: Option<RefOr<Schema>>,
        example: Option<Value>,
    ) -> Self {
        self.ok = (status, media, schema, example);
        self
    }
    fn json(self, schema: RefOr<Schema>) -> Self {
        self.ok("200", "application/json", Some(schema), None)
    }
    fn empty(self, status: &'static str) -> Self {
        self.ok(status, "", None, None)
    }

    fn build(self) -> Operation {
        let mut b = OperationBuilder::new()
            .tag(self.tag)
            .summary(Some(self.summary));
        for (place, name, schema, description) in self.params {
            let required = if place == ParameterIn::Path {
                Required::True
            } else {
                Required::False
            };
            b = b.parameter(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(place)
                    .required(required)
                    .description(Some(description))
                    .schema(Some(schema)),
            );
        }
        if self.auth == Auth::BearerOrQuery {
            b = b.parameter(
                ParameterBuilder::new()
                    .name("token")
                    .parameter_in(ParameterIn::Query)
                    .description(Some(
                        "The bearer token, for clients that cannot set a header (browsers' WebSockets)",
                    ))
                    .schema(Some(typed(Type::String))),
            );
        }
        if let Some((media, schema, example)) = self.body {
            let content = ContentBuilder::new()
                .schema(Some(schema))
                .example(example)
                .build();
            b = b.request_body(Some(
                RequestBodyBuilder::new()
                    .content(media, content)
                    .required(Some(Required::True))
                    .build(),
            ));
        }
        let (status, media, schema, example) = self.ok;
        let mut ok = ResponseBuilder::new().description(self.summary);
        let mut also = self
            .also
            .map(|(status, description)| (status, ResponseBuilder::new().description(description)));
        if !media.is_empty() {
            also = also.map(|(s, r)| {
                (
                    s,
                    r.content(media, ContentBuilder::new().schema(schema.clone()).build()),
                )
            });
            ok = ok.content(
                media,
                ContentBuilder::new()
                    .schema(schema)
                    .example(example)
                    .build(),
            );
        }
        b = b.response(status, ok.build());
        if let Some((status, response)) = also {
            b = b.response(status, response.build());
        }
        let problem = || {
            ContentBuilder::new()
                .schema(Some(schema_ref("Problem")))
                .example(Some(json!({
                    "type": "about:blank",
                    "title": "Not Found",
                    "status": 404,
                    "detail": "annotation no-such-id does not exist",
                })))
                .build()
        };
        b = b
            .response(
                "4XX",
                ResponseBuilder::new()
                    .description("A problem with the request (RFC 9457)")
                    .content("application/problem+json", problem())
                    .build(),
            )
            .response(
                "5XX",
                ResponseBuilder::new()
                    .description("A problem on the server (RFC 9457)")
                    .content("application/problem+json", problem())
                    .build(),
            );
        b = match self.auth {
            Auth::Public => b.securities(Some(Vec::new())),
            Auth::Bearer => b.security(SecurityRequirement::new("bearer", Vec::<String>::new())),
            Auth::BearerOrQuery => b
                .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
                .security(SecurityRequirement::new("token", Vec::<String>::new())),
        };
        b.build()
    }
}

/// The W3C Annotation Protocol's container operations at `path`.
fn container(paths: PathsBuilder, path: &str, article: bool) -> PathsBuilder {
    let list = |summary| {
        let mut o = op("annotations", summary);
        if article {
            o = o.path("article", "The article's id");
        }
        o.query(
            "page",
            typed(Type::Integer),
            "A page (from 0) instead of the container",
        )
        .query(
            "limit",
            typed(Type::Integer),
            "Annotations per page (at most 200)",
        )
        .query("iris", string_enum(&["1"]), "Only the annotations' IRIs")
        .query(
            "status",
            string_enum(&Status::ALL.map(|s| s.as_str())),
            "Only this status",
        )
        .query(
            "kind",
            string_enum(&Kind::ALL.map(|k| k.as_str())),
            "Only this kind",
        )
        .query(
            "assignee",
            typed(Type::String),
            "Only those assigned to this user",
        )
        .header(
            "Prefer",
            "PreferMinimalContainer, PreferContainedIRIs or PreferContainedDescriptions",
        )
    };
    let page = RefOr::T(Schema::OneOf(
        utoipa::openapi::schema::OneOfBuilder::new()
            .item(schema_ref("Container"))
            .item(schema_ref("AnnotationPage"))
            .build(),
    ));
    let mut create = op(
        "annotations",
        "Create an annotation (`Slug` suggests its id)",
    )
    .header("Slug", "The id wanted")
    .header("Idempotency-Key", "Retries with the same key write once")
    .body(
        JSONLD,
        schema_ref("AnnotationDraft"),
        Some(annotation_example()),
    )
    .ok("201", JSONLD, Some(schema_ref("Annotation")), None);
    if article {
        create = create.path("article", "The article's id");
    }
    paths
        .path(
            path,
            PathItem::new(
                HttpMethod::Get,
                list("The container (or a page with `?page=`)")
                    .ok("200", JSONLD, Some(page.clone()), None)
                    .build(),
            ),
        )
        .path(
            path,
            PathItem::new(
                HttpMethod::Head,
                list("The container's headers").empty("200").build(),
            ),
        )
        .path(
            path,
            PathItem::new(
                HttpMethod::Options,
                op("annotations", "What the container allows")
                    .public()
                    .empty("200")
                    .build(),
            ),
        )
        .path(path, PathItem::new(HttpMethod::Post, create.build()))
}

fn annotation_example() -> Value {
    json!({
        "@context": "http://www.w3.org/ns/anno.jsonld",
        "type": "Annotation",
        "motivation": "assessing",
        "bodyValue": "The AP report says Macron later clarified some would contribute from outside.",
        "verdict": "misleading",
        "target": {
            "source": "/articles/twenty-six-nations-pledge",
            "selector": {"type": "TextQuoteSelector", "exact": "26 nations have pledged"}
        }
    })
}

/// The filters the event feed and the live tail share.
fn events(o: Op) -> Op {
    o.query("after", typed(Type::Integer), "Events after this position")
        .query("limit", typed(Type::Integer), "Events per page")
        .query("article", typed(Type::String), "Only this article's")
        .query("annotation", typed(Type::String), "Only this annotation's")
        .query(
            "type",
            typed(Type::String),
            "Only this event type (`annotation.created`, …)",
        )
        .query("actor", typed(Type::String), "Only this user's")
        .query("format", string_enum(&["ndjson"]), "One event per line")
        .query(
            "include",
            string_enum(&["change"]),
            "With the raw Automerge change (base64)",
        )
}

/// The whole document.
pub fn document() -> utoipa::openapi::OpenApi {
    use HttpMethod::{Delete, Get, Head, Options, Patch, Post, Put};
    let mut doc = Schemas::openapi();
    let id = |o: Op| o.path("id", "The annotation's id");
    let status_values = Status::ALL.map(|s| s.as_str());
    let kinds = Kind::ALL.map(|k| k.as_str());
    let verdicts = Verdict::ALL.map(|v| v.as_str());
    let a = "annotations";
    let ann_ok = |o: Op| o.ok("200", JSONLD, Some(schema_ref("Annotation")), None);
    let mut ops: Vec<(&str, HttpMethod, Op)> = vec![
        ("/healthz", Get, op("operations", "Health: `ok` or `degraded`, with the problem").public().json(schema_ref("Health"))),
        ("/metrics", Get, op("operations", "Prometheus metrics").public().ok("200", "text/plain", Some(typed(Type::String)), None)),
        ("/sync", Get, op("sync", "The automerge-repo sync WebSocket (upgrade)").auth(Auth::BearerOrQuery).empty("101")),
        ("/api/openapi.json", Get, op("operations", "This document").public().json(free_form("An OpenAPI 3.1 document: its schema is the OpenAPI Initiative's (`https://spec.openapis.org/oas/3.1/schema/2022-10-07`), not repeated here"))),
        ("/api/reference", Get, op("operations", "This document, readable: the API reference (HTML)").public().ok("200", "text/html", Some(typed(Type::String)), None)),
        ("/annotations/{id}", Get, ann_ok(id(op(a, "One annotation; `ETag` is its version")))),
        ("/annotations/{id}", Head, id(op(a, "One annotation's headers")).empty("200")),
        ("/annotations/{id}", Options, id(op(a, "What the annotation allows")).public().empty("200")),
        ("/annotations/{id}", Put, ann_ok(id(op(a, "Replace an annotation (`If-Match` with the strong ETag)")).header("If-Match", "The annotation's strong ETag").body(JSONLD, schema_ref("AnnotationDraft"), Some(annotation_example())))),
        ("/annotations/{id}", Delete, id(op(a, "Delete an annotation (`If-Match` with the strong ETag)")).header("If-Match", "The annotation's strong ETag").empty("204")),
        ("/api/annotations/{id}/history", Get, id(op(a, "An annotation's history: who changed what, and when")).json(schema_ref("History"))),
        ("/api/annotations/{id}/replies", Post, ann_ok(id(op(a, "Reply in the thread")).body("application/json", schema_ref("ReplyRequest"), Some(json!({"text": "Checked with the agency.", "parent": null}))))),
        ("/api/annotations/{id}/status", Post, ann_ok(id(op(a, "Move through the workflow")).body("application/json", schema_ref("StatusRequest"), Some(json!({"status": "in_review"}))))),
        ("/api/annotations/{id}/assignee", Post, ann_ok(id(op(a, "Assign to a user (`null` clears)")).body("application/json", schema_ref("AssignRequest"), Some(json!({"assignee": "bruno"}))))),
        ("/api/annotations/{id}/anchor", Post, ann_ok(id(op(a, "Re-attach a target to a passage (code points)")).body("application/json", schema_ref("ReattachRequest"), None))),
        ("/api/articles", Get, op("articles", "Articles with their versions and counts").ok("200", "application/json", Some(schema_ref("ArticleList")), None)),
        ("/api/articles", Post, op("articles", "Ingest an article (the same text again is a no-op)").body("application/json", schema_ref("NewArticle"), Some(json!({"id": "budget-vote", "title": "Budget passes", "text": "The budget passed on Tuesday."}))).ok("201", "application/json", Some(schema_ref("Article")), None).also("200", "The same text again: nothing changed")),
        ("/api/articles/{id}", Get, op("articles", "One article").path("id", "The article's id").json(schema_ref("Article"))),
        ("/articles/{id}", Get, op("articles", "One article (its IRI)").path("id", "The article's id").json(schema_ref("Article"))),
        ("/api/articles/{id}/versions", Post, op("articles", "Publish a new version; annotations are re-anchored").path("id", "The article's id").body("application/json", schema_ref("NewVersion"), Some(json!({"text": "The budget passed on Tuesday night."}))).ok("201", "application/json", Some(schema_ref("Article")), None).also("200", "Identical text: nothing changed")),
        ("/api/articles/{id}/versions/{n}", Get, op("articles", "One version's text").path("id", "The article's id").path("n", "The version number").json(schema_ref("ArticleText"))),
        ("/articles/{id}/versions/{n}", Get, op("articles", "One version's text (its IRI)").path("id", "The article's id").path("n", "The version number").json(schema_ref("ArticleText"))),
        ("/api/articles/{id}/document", Get, op("articles", "The article's Automerge document").path("id", "The article's id").ok("200", "application/octet-stream", None, None)),
        ("/api/articles/{id}/anchors", Get, op("articles", "Where each annotation is in a version").path("id", "The article's id").query("version", typed(Type::Integer), "A version (default the latest)").json(schema_ref("Anchors"))),
        ("/api/events", Get, events(op("events", "A page of the event log")).json(schema_ref("EventsPage"))),
        ("/api/events/stream", Get, events(op("events", "The live tail (Server-Sent Events; `Last-Event-ID` resumes)")).header("Last-Event-ID", "Resume after this position").ok("200", "text/event-stream", Some(typed(Type::String)), None)),
        ("/api/export/log.ndjson", Get, op("exports", "The event log as NDJSON (admins)").ok("200", "application/x-ndjson", Some(typed(Type::String)), None)),
        ("/api/export/annotations", Get, op("exports", "Every annotation as one W3C collection, all in its first page").query("article", typed(Type::String), "Only this article's").ok("200", JSONLD, Some(schema_ref("Container")), None)),
        ("/api/export/annotations.csv", Get, op("exports", "Every annotation as CSV").query("article", typed(Type::String), "Only this article's").ok("200", "text/csv", Some(typed(Type::String)), None)),
        ("/api/export/claimreview", Get, op("exports", "Fact-checks as schema.org ClaimReview").query("article", typed(Type::String), "Only this article's").ok("200", "application/ld+json", Some(schema_ref("ClaimReviewExport")), None)),
        ("/api/me", Get, op("people", "Who is signed in").json(schema_ref("User"))),
        ("/api/users", Get, op("people", "The desk's users").json(schema_ref("UserList"))),
        ("/api/users", Post, op("access", "Create a user (admins)").body("application/json", schema_ref("CreateUser"), None).ok("201", "application/json", Some(schema_ref("User")), None)),
        ("/api/users/{name}", Get, op("access", "One user (admins)").path("name", "The user's name").json(schema_ref("User"))),
        ("/api/users/{name}", Patch, op("access", "Change a user's role (admins)").path("name", "The user's name").body("application/json", schema_ref("ChangeUser"), Some(json!({"role": "editor"}))).json(schema_ref("User"))),
        ("/api/users/{name}/tokens", Post, op("access", "Issue a token (admins); no body is read").path("name", "The user's name").header("Idempotency-Key", "Retries with the same key issue one token (shown only the first time)").ok("201", "application/json", Some(schema_ref("IssuedToken")), None)),
        ("/api/tokens", Get, op("access", "Tokens (admins)").query("user", typed(Type::String), "Only this user's").json(schema_ref("TokenList"))),
        ("/api/tokens/{id}", Get, op("access", "One token (admins)").path("id", "The token's id").json(schema_ref("Token"))),
        ("/api/tokens/{id}", Delete, op("access", "Revoke a token (admins); the token as it is now").path("id", "The token's id").json(schema_ref("Token"))),
        ("/api/desk", Get, op("access", "The desk: its name and whether it is a demo").public().json(schema_ref("DeskInfo"))),
        ("/api/queue", Get, op("queue", "The work queue")
            .query("list", string_enum(&["assigned", "open", "needs_attention", "articles"]), "Comma-separated lists to include (all by default)")
            .query("assignee", typed(Type::String), "Whose assignments (default the caller)")
            .query("kind", string_enum(&kinds), "Comma-separated kinds of the open list (fact-check,correction by default)")
            .query("article", typed(Type::String), "Only this article")
            .query("seen", typed(Type::Integer), "An event sequence number the answer must reflect (from the live tail)")
            .json(schema_ref("Queue"))),
        ("/api/claims", Get, op("claims", "Claims").json(schema_ref("ClaimList"))),
        ("/api/claims", Post, op("claims", "Create a claim").body("application/json", schema_ref("NewClaim"), Some(json!({"text": "The US gave Ukraine more aid than Europe", "claimant": "Donald Trump", "claimDate": "2025-02-24"}))).ok("201", "application/json", Some(schema_ref("Claim")), None)),
        ("/api/claims/{id}", Get, op("claims", "One claim").path("id", "The claim's id").json(schema_ref("Claim"))),
        ("/api/claims/{id}/annotations", Post, op("claims", "Link an annotation to a claim").path("id", "The claim's id").body("application/json", schema_ref("LinkRequest"), None).json(schema_ref("Claim"))),
        ("/api/claims/{id}/annotations/{annotation}", Delete, op("claims", "Unlink an annotation").path("id", "The claim's id").path("annotation", "The annotation's id").json(schema_ref("Claim"))),
        ("/api/style-rules", Get, op("style", "The house-style term list").json(schema_ref("StyleRules"))),
        ("/api/style-rules", Put, op("style", "Replace the house-style term list (admins)").body("application/json", schema_ref("StyleRulesRequest"), Some(json!({"rules": [{"id": "kyiv", "preferred": "Kyiv", "variants": ["Kiev"]}]}))).json(schema_ref("StyleRules"))),
        ("/api/import/hypothesis", Post, op("import", "Import Hypothesis annotations (admins)").body("application/json", schema_ref("HypothesisImport"), None).json(schema_ref("ImportReport"))),
        ("/api/webhooks", Get, op("webhooks", "Webhook subscriptions (admins)").json(schema_ref("WebhookList"))),
        ("/api/webhooks", Post, op("webhooks", "Subscribe a URL to events (admins); the answer holds the signing secret, shown once").header("Idempotency-Key", "Retries with the same key subscribe once (the secret is shown only the first time)").body("application/json", schema_ref("CreateWebhook"), Some(json!({"url": "https://hooks.example.org/glossa", "types": ["annotation.created", "annotation.status_changed"], "articles": ["twenty-six-nations-pledge"]}))).ok("201", "application/json", Some(schema_ref("Webhook")), None)),
        ("/api/webhooks/{id}", Get, op("webhooks", "One subscription, with its cursor and last attempt (admins)").path("id", "The subscription's id").json(schema_ref("Webhook"))),
        ("/api/webhooks/{id}", Delete, op("webhooks", "Unsubscribe (admins)").path("id", "The subscription's id").empty("204")),
        ("/api/webhooks/{id}/pause", Post, op("webhooks", "Pause deliveries (admins)").path("id", "The subscription's id").json(schema_ref("Webhook"))),
        ("/api/webhooks/{id}/resume", Post, op("webhooks", "Resume deliveries from the cursor (admins)").path("id", "The subscription's id").json(schema_ref("Webhook"))),
        ("/api/webhooks/{id}/deliveries", Get, op("webhooks", "The latest delivery attempts, newest first (admins)").path("id", "The subscription's id").query("limit", typed(Type::Integer), "1–100, default 50").json(schema_ref("WebhookAttempts"))),
        ("/api/search", Get, op("search", "Search annotations and articles")
            .query("q", typed(Type::String), "Words, \"phrases\"; the last word also matches as a prefix")
            .query("type", string_enum(&["annotation", "article"]), "Only annotations or articles")
            .query("article", typed(Type::String), "Only this article")
            .query("kind", string_enum(&kinds), "Only this kind")
            .query("status", string_enum(&status_values), "Only this status")
            .query("verdict", string_enum(&verdicts), "Only this verdict")
            .query("assignee", typed(Type::String), "Only those assigned to this user")
            .query("author", typed(Type::String), "Only by this user")
            .query("tag", typed(Type::String), "Only with this tag")
            .query("from", typed(Type::String), "Created at or after (a date or RFC 3339)")
            .query("to", typed(Type::String), "Created before (a date counts whole)")
            .query("limit", typed(Type::Integer), "1–100, default 20")
            .query("cursor", typed(Type::String), "The `cursor` of the previous page")
            .ok("200", "application/json", Some(schema_ref("SearchResults")), Some(json!({"q": "no problem", "total": 1, "items": [], "cursor": null, "next": null})))),
    ];
    let mut paths = PathsBuilder::new();
    paths = container(paths, "/annotations/", false);
    paths = container(paths, "/articles/{article}/annotations/", true);
    for (path, method, o) in ops.drain(..) {
        paths = paths.path(path, PathItem::new(method, o.build()));
    }
    doc.paths = paths.build();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("A token from `glossa token issue` or `POST /api/users/{name}/tokens`; the demo desk's are `demo-alice-token`, `demo-bruno-token`, `demo-victor-token`, `demo-chiara-token`"))
                .build(),
        ),
    );
    components.add_security_scheme(
        "token",
        SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
            "token",
            "The bearer token as a query parameter: `/sync` only",
        ))),
    );
    doc.security = Some(vec![SecurityRequirement::new(
        "bearer",
        Vec::<String>::new(),
    )]);
    doc
}
