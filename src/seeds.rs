//! The demo corpus: five news reports and annotations on them, loaded into an empty data
//! directory so a newcomer sees a working desk at once.
//!
//! The files under `seeds/` are compiled into the binary, so the server needs nothing beside
//! itself. Loading goes through the desk like any user's writes, under fixed ids, so a crash
//! half-way is finished on the next start and nothing is ever duplicated.

use anyhow::Context;
use serde::Deserialize;
use serde_json::Value;

use crate::desk::{ArticleDraft, Desk, DeskError};
use crate::domain::{AnnotationId, ArticleId, Status, UserName};

const MANIFEST: &str = include_str!("../seeds/manifest.json");
const ANNOTATIONS: &str = include_str!("../seeds/annotations.json");
const CLAIMS: &str = include_str!("../seeds/claims.json");

/// A claim of the demo desk, grouping annotations across articles.
#[derive(Deserialize)]
struct SeedClaim {
    id: String,
    text: String,
    claimant: Option<String>,
    #[serde(default, rename = "claimantType")]
    claimant_type: Option<String>,
    #[serde(default, rename = "claimDate")]
    claim_date: Option<String>,
    user: String,
    annotations: Vec<String>,
}

/// The article files, by name, as the manifest refers to them.
const ARTICLES: [(&str, &str); 5] = [
    (
        "000_b8b91b8f13ffc2b9.txt",
        include_str!("../seeds/articles/000_b8b91b8f13ffc2b9.txt"),
    ),
    (
        "001_e66dc6db878f3d90.txt",
        include_str!("../seeds/articles/001_e66dc6db878f3d90.txt"),
    ),
    (
        "002_64e2e4a84748ad39.txt",
        include_str!("../seeds/articles/002_64e2e4a84748ad39.txt"),
    ),
    (
        "003_42335312d5d6da4a.txt",
        include_str!("../seeds/articles/003_42335312d5d6da4a.txt"),
    ),
    (
        "004_5a589f3d5b505f3e.txt",
        include_str!("../seeds/articles/004_5a589f3d5b505f3e.txt"),
    ),
];

#[derive(Deserialize)]
struct ManifestEntry {
    file: String,
    slug: String,
    title: Option<String>,
    outlet: Option<String>,
    published: Option<String>,
    url: Option<String>,
}

#[derive(Deserialize)]
struct SeedReply {
    user: String,
    text: String,
}

#[derive(Deserialize)]
struct SeedAnnotation {
    slug: String,
    user: String,
    annotation: Value,
    #[serde(default)]
    assignee: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    replies: Vec<SeedReply>,
}

/// What the seed loader did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub articles: usize,
    pub annotations: usize,
}

/// Whether the log holds the seed articles: only a demo desk ever had them, whichever build
/// wrote the log (a restored dump included).
pub fn in_log(store: &crate::store::Store) -> anyhow::Result<bool> {
    let manifest: Vec<ManifestEntry> =
        serde_json::from_str(MANIFEST).context("seeds/manifest.json")?;
    let Some(first) = manifest.first() else {
        return Ok(false);
    };
    let stream = crate::domain::StreamId::Article(ArticleId::parse(&first.slug)?);
    Ok(store.log.stream_version(&stream)? > 0)
}

/// Loads the seeds unless this store has them already.
pub async fn load(desk: &Desk) -> anyhow::Result<SeedReport> {
    if desk.store().is_seeded()? {
        return Ok(SeedReport::default());
    }
    let manifest: Vec<ManifestEntry> =
        serde_json::from_str(MANIFEST).context("seeds/manifest.json")?;
    let annotations: Vec<SeedAnnotation> =
        serde_json::from_str(ANNOTATIONS).context("seeds/annotations.json")?;
    let mut report = SeedReport::default();
    for entry in manifest {
        report.articles += usize::from(load_article(desk, entry).await?);
    }
    for seed in annotations {
        let loaded = load_annotation(desk, &seed)
            .await
            .with_context(|| format!("seeding annotation {}", seed.slug))?;
        report.annotations += usize::from(loaded);
    }
    load_claims(desk).await?;
    desk.store().mark_seeded()?;
    Ok(report)
}

/// Publishes one seed article from the text compiled into the binary; `true` if it was new.
async fn load_article(desk: &Desk, entry: ManifestEntry) -> anyhow::Result<bool> {
    let text = ARTICLES
        .iter()
        .find(|(name, _)| *name == entry.file)
        .map(|(_, text)| *text)
        .with_context(|| format!("seed article {} is not compiled in", entry.file))?;
    let published = desk
        .create_article(
            &UserName::system(),
            ArticleDraft {
                id: ArticleId::parse(&entry.slug)?,
                title: entry.title,
                outlet: entry.outlet,
                url: entry.url,
                published: entry.published,
                text: text.to_owned(),
            },
        )
        .await
        .with_context(|| format!("seeding article {}", entry.slug))?;
    Ok(published.created)
}

/// Creates the seed claims that do not exist yet, each linked to its seed annotations.
async fn load_claims(desk: &Desk) -> anyhow::Result<()> {
    let claims: Vec<SeedClaim> = serde_json::from_str(CLAIMS).context("seeds/claims.json")?;
    for seed in claims {
        let id = crate::domain::ClaimId::parse(&seed.id)?;
        if desk.store().read_model.claim(&id)?.is_some() {
            continue;
        }
        let annotations = seed
            .annotations
            .iter()
            .map(|a| crate::domain::AnnotationId::parse(a))
            .collect::<Result<Vec<_>, _>>()?;
        desk.create_claim(
            &UserName::parse(&seed.user)?,
            id,
            &seed.text,
            seed.claimant.map(|name| crate::domain::Claimant {
                name,
                url: None,
                kind: seed
                    .claimant_type
                    .as_deref()
                    .and_then(|t| crate::domain::ClaimantType::parse(t).ok()),
            }),
            seed.claim_date,
            &annotations,
        )
        .await
        .with_context(|| format!("seeding claim {}", seed.id))?;
    }
    Ok(())
}

async fn load_annotation(desk: &Desk, seed: &SeedAnnotation) -> anyhow::Result<bool> {
    let id = AnnotationId::parse(&seed.slug)?;
    if desk.store().read_model.annotation(&id)?.is_some() {
        return Ok(false);
    }
    let user = UserName::parse(&seed.user)?;
    let draft = crate::w3c::parse_annotation(&seed.annotation, "")?;
    let created = desk.create(&user, draft, Some(&seed.slug)).await?;
    anyhow::ensure!(created.annotation.id == id, "the seed id {id} was taken");
    if let Some(assignee) = &seed.assignee {
        desk.assign(&user, &id, Some(UserName::parse(assignee)?), None)
            .await?;
    }
    for reply in &seed.replies {
        desk.reply(
            &UserName::parse(&reply.user)?,
            &id,
            reply.text.clone(),
            None,
        )
        .await?;
    }
    if let Some(status) = &seed.status {
        let target = Status::parse(status)?;
        let path: &[Status] = match target {
            Status::Open => &[],
            Status::InReview => &[Status::InReview],
            Status::Resolved => &[Status::InReview, Status::Resolved],
            Status::Rejected => &[Status::InReview, Status::Rejected],
        };
        for step in path {
            desk.set_status(&user, &id, *step, None)
                .await
                .map_err(|e: DeskError| anyhow::anyhow!(e))?;
        }
    }
    Ok(true)
}
