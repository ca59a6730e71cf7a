//! Wiring: opens the store, decides what kind of desk it is (demo or real), loads the seeds of a
//! demo desk, and builds the HTTP server; `glossa serve` starts here.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use anyhow::Context;

use crate::cli::ServeArgs;
use crate::config::Settings;
use crate::desk::Desk;
use crate::http::{self, AppState};
use crate::identity::{self, DeskChoice, DeskOpening, StoreFacts, Users, DEMO_USERS};
use crate::search::SearchIndex;
use crate::seeds::{self, SeedReport};
use crate::store::{Location, Store};
use crate::telemetry;
use crate::w3c::Renderer;
use crate::webhooks::{self, Webhooks};

/// `glossa serve`: builds the server, says where it listens and how to sign in, and serves
/// until a signal stops it.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    telemetry::init("info", args.log_format, std::io::stderr);
    let settings = args.settings();
    let data_dir = settings.data_dir.clone();
    let app = Application::build(settings).await?;
    let seeded = app.seeded();
    let listening = format!("http://{}", app.local_addr());
    println!("Glossa is listening on {listening}");
    if app.base_url() != listening {
        println!("Public URL: {}", app.base_url());
    }
    println!("Data directory: {}", data_dir.display());
    if seeded.articles + seeded.annotations > 0 {
        println!(
            "Loaded the demo desk: {} articles, {} annotations.",
            seeded.articles, seeded.annotations
        );
    }
    print_access(&app);
    app.run_until_stopped().await?;
    Ok(())
}

/// How to sign in: the demo users' tokens on a demo desk, the first admin's token once on a
/// real desk's first start, and nothing secret otherwise.
fn print_access(app: &Application) {
    if let Some(token) = app.admin_token() {
        if app.is_new_desk() && !app.is_demo() {
            println!("This is a new real desk (no demo users). Its first admin's token is shown this once:");
        } else {
            println!("No admin of this desk had a working token; a new one is shown this once:");
        }
        println!("  {token}");
        println!("Keep it safe. Issue more with `glossa token create --server {} --token <admin token> --user NAME --role ROLE`.", app.base_url());
    }
    let demo = app.users().live_demo_users();
    if demo.is_empty() {
        println!("Sign in with a token an admin issued (glossa token create).");
        return;
    }
    println!("This is a demo desk. Sign in as a demo user (their tokens are public: never use them for real work):");
    for user in &demo {
        if let Some(known) = DEMO_USERS.iter().find(|d| d.name == user.name.as_str()) {
            println!(
                "  {:<8} {:<8} Authorization: Bearer {}",
                known.name,
                format!("{:?}", user.role).to_lowercase(),
                known.token
            );
        }
    }
    if demo.iter().any(|u| u.name.as_str() == "alice") {
        println!(
            "Try: curl -H 'Authorization: Bearer demo-alice-token' {}/api/articles",
            app.base_url()
        );
    }
}

/// A built server, bound to its port but not yet running.
pub struct Application {
    local: std::net::SocketAddr,
    /// Tells long-lived connections (sync sockets) to close cleanly.
    shutdown: tokio::sync::watch::Sender<bool>,
    base_url: String,
    server: Server,
    desk: Desk,
    seeded: SeedReport,
    users: Users,
    opening: DeskOpening,
    /// Listened for from the moment the server is built, so a signal that arrives as soon as
    /// it has said where it listens still stops it cleanly.
    signals: Signals,
}

impl Application {
    /// Opens the data directory, loads the seeds into an empty one, and binds the listener.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let store = open_store(&settings).await?;
        // With a shared log, one process at a time decides what the desk is and readies it,
        // on the whole log.
        let startup = store
            .startup_lock()
            .await
            .context("waiting for other servers of this desk to finish starting")?;
        let users = Users::open(&store.log).context("reading the desk's users")?;
        let webhooks = Webhooks::open(&store.log, store.webhooks.clone())
            .context("reading the desk's webhook subscriptions")?;
        // Before binding: a desk that may not listen here refuses without touching the port.
        let opening = open_desk(&settings, &store, &users).await?;
        let listener = TcpListener::bind(settings.addr)
            .with_context(|| format!("listening on {}", settings.addr))?;
        let local = listener.local_addr()?;
        let base_url = settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{local}"))
            .trim_end_matches('/')
            .to_owned();
        let search = SearchIndex::open(
            &settings.data_dir,
            store.clone(),
            settings.limits.search_pace,
        )
        .context("opening the search index")?;
        let desk = Desk::new(store, settings.limits.content)
            .with_document_idle(settings.limits.document_idle)
            .with_people(users.clone())
            .with_search(search);
        // With a shared log, loaded documents and the users directory hear of what other
        // processes append.
        if desk.store().database().is_some() {
            follow_the_log(&desk, &users, &webhooks);
            desk.documents().follow_presence();
        }
        let seeded = prepare(&desk, &opening).await?;
        drop(startup);
        webhooks::deliver::start(webhooks.clone(), settings.limits.webhooks);
        let (shutdown, _) = tokio::sync::watch::channel(false);
        let state = AppState {
            desk: desk.clone(),
            users: users.clone(),
            webhooks,
            renderer: Renderer::new(&base_url, users.clone())
                .with_read_model(desk.store().read_model.clone()),
            limits: settings.limits,
            sync_peer_id: format!("glossa-{}", uuid::Uuid::new_v4().simple()),
            storage_id: desk.store().storage_id()?,
            connections: Default::default(),
            shutdown: shutdown.subscribe(),
        };
        let server = http_server(listener, web::Data::new(state))?;
        Ok(Self {
            local,
            shutdown,
            base_url,
            server,
            desk,
            seeded,
            users,
            opening,
            signals: Signals::listen()?,
        })
    }

    pub fn port(&self) -> u16 {
        self.local.port()
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.local
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn seeded(&self) -> &SeedReport {
        &self.seeded
    }

    pub fn desk(&self) -> &Desk {
        &self.desk
    }

    /// The desk's users and tokens, live.
    pub fn users(&self) -> &Users {
        &self.users
    }

    /// Whether this is a demo desk (seed articles and demo users).
    pub fn is_demo(&self) -> bool {
        self.opening.demo
    }

    /// Whether this start gave the desk its first users.
    pub fn is_new_desk(&self) -> bool {
        self.opening.new_desk
    }

    /// A token issued on this start because no admin had a live one (the first start of a real
    /// desk): shown once.
    pub fn admin_token(&self) -> Option<&str> {
        self.opening
            .admin_token
            .as_ref()
            .map(|issued| issued.secret.as_str())
    }

    /// Serves until SIGINT/SIGTERM, then closes sync sockets with a close frame, stops
    /// accepting, lets requests in flight finish, and lets every document save its snapshot.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let shutdown = self.shutdown;
        let signals = self.signals;
        tokio::spawn(async move {
            signals.received().await;
            tracing::info!("shutting down");
            let _ = shutdown.send(true);
            handle.stop(true).await;
        });
        let result = self.server.await;
        self.desk.documents().shutdown().await;
        result
    }
}

/// Opens the store in the data directory, off the async threads.
async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    let location = Location::new(settings.data_dir.clone(), settings.database_url.clone());
    tokio::task::spawn_blocking(move || Store::open_at(&location))
        .await?
        .with_context(|| format!("opening the data directory {}", settings.data_dir.display()))
}

/// Reads what the shared log gains (other processes' events, and this one's) once, and hands
/// it to the users directory, the webhook subscriptions and the loaded documents.
fn follow_the_log(desk: &Desk, users: &Users, webhooks: &Webhooks) {
    let (mut appended, documents, users, webhooks) = (
        desk.store().log.appended(),
        desk.documents().clone(),
        users.clone(),
        webhooks.clone(),
    );
    tokio::spawn(async move {
        while let Some(records) = appended.next().await {
            users.fold_appended(&records);
            webhooks.fold_appended(&records);
            documents.hand_over(records).await;
        }
    });
}

/// Decides whether this desk may open here, and how (seeded, demo), from what the log holds
/// and what the settings ask.
async fn open_desk(
    settings: &Settings,
    store: &Store,
    users: &Users,
) -> anyhow::Result<DeskOpening> {
    identity::open_desk(
        users,
        StoreFacts {
            log_is_empty: store.log.head() == 0,
            has_seeds: seeds::in_log(store)?,
        },
        &settings.data_dir,
        DeskChoice {
            seed: settings.seed,
            demo: settings.demo,
        },
        settings.addr,
    )
    .await
}

/// Readies the desk before it serves: the seed articles on a demo desk, the default house-style
/// terms, and the re-anchoring a crash may have left undone.
async fn prepare(desk: &Desk, opening: &DeskOpening) -> anyhow::Result<SeedReport> {
    let seeded = if opening.demo {
        seeds::load(desk)
            .await
            .context("loading the seed articles")?
    } else {
        SeedReport::default()
    };
    desk.ensure_style_rules()
        .await
        .context("setting the default house-style term list")?;
    // A crash between publishing a version and anchoring its annotations is finished here.
    desk.reanchor_missing()
        .await
        .context("re-anchoring annotations on the latest article versions")?;
    Ok(seeded)
}

/// The HTTP server on this listener: CORS, a span and a metric per request, problem+json for
/// bad query strings, and the routes.
fn http_server(listener: TcpListener, state: web::Data<AppState>) -> std::io::Result<Server> {
    Ok(HttpServer::new(move || {
        App::new()
            .wrap(http::cors())
            // A span per request, with a request id, that every handler span nests in.
            .wrap(tracing_actix_web::TracingLogger::default())
            .wrap_fn(|req, service| {
                use actix_web::dev::Service;
                let started = std::time::Instant::now();
                let response = service.call(req);
                async move {
                    let response = response.await?;
                    // Every resource is named after its pattern (`http::methods`), so the
                    // label is borrowed, never built per request.
                    let request = response.request();
                    crate::metrics::metrics().http_request(
                        request.method().as_str(),
                        request.match_name().unwrap_or("unmatched"),
                        response.status().as_u16(),
                        started.elapsed(),
                    );
                    Ok(response)
                }
            })
            // Query strings that do not fit an endpoint get the same problem+json as other
            // bad requests.
            .app_data(web::QueryConfig::default().error_handler(|error, _| {
                http::ApiError::BadRequest(format!("the query string is not valid: {error}")).into()
            }))
            .app_data(state.clone())
            .configure(http::routes)
    })
    .listen(listener)?
    .shutdown_timeout(10)
    // Signals are handled in `run_until_stopped`, so sockets can be closed first.
    .disable_signals()
    .run())
}

/// SIGINT and SIGTERM, once their handlers are installed.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the handlers: from now on these signals no longer end the process at once.
    fn listen() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// Resolves on SIGINT or SIGTERM.
    async fn received(mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}
