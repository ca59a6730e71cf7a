//! The `glossa` binary: parses the command line and hands over to the library.

use anyhow::Context;
use clap::Parser;

use glossa::backup::Secrets;
use glossa::cli::{Cli, Command, Source};
use glossa::identity::DEMO_USERS;
use glossa::startup::Application;
use glossa::telemetry;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
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
        }
        Command::Token(command) => glossa::admin::token(command).await?,
        Command::User(command) => glossa::admin::user(command).await?,
        Command::Dump { data, out } => {
            let store = glossa::store::Store::open(&data.data_dir)?;
            let count = match out {
                Some(path) => {
                    let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
                    let count = glossa::backup::dump(&store.log, &mut file, Secrets::Keep)?;
                    std::io::Write::flush(&mut file)?;
                    count
                }
                None => {
                    glossa::backup::dump(&store.log, &mut std::io::stdout().lock(), Secrets::Keep)?
                }
            };
            eprintln!("Dumped {count} events.");
        }
        Command::Restore { data, from } => {
            let input = std::io::BufReader::new(std::fs::File::open(&from)?);
            let count = glossa::backup::restore(&data.data_dir, input).await?;
            println!("Restored {count} events into {}.", data.data_dir.display());
        }
        Command::Events {
            source:
                Source {
                    server: Some(server),
                    token,
                    ..
                },
            after,
            limit,
            follow,
        } => {
            let token =
                token.ok_or_else(|| anyhow::anyhow!("--server needs --token (or GLOSSA_TOKEN)"))?;
            glossa::client::events(&server, &token, after, limit, follow).await?;
        }
        Command::Events { follow: true, .. } => {
            anyhow::bail!(
                "--follow reads the live tail of a running server; give --server and --token"
            );
        }
        Command::Events {
            source,
            after,
            limit,
            ..
        } => {
            let store = glossa::store::Store::open(&source.data_dir)?;
            let mut out = std::io::stdout().lock();
            let mut cursor = after;
            let mut left = limit.unwrap_or(usize::MAX);
            while left > 0 {
                let batch = store.log.read_after(cursor, left.min(1024))?;
                if batch.is_empty() {
                    break;
                }
                for record in &batch {
                    cursor = record.seq;
                    serde_json::to_writer(&mut out, &glossa::backup::DumpLine::public(record))?;
                    std::io::Write::write_all(&mut out, b"\n")?;
                }
                left -= batch.len();
            }
        }
        Command::Export {
            what,
            source,
            public_url,
            article,
        } => match (source.server, source.token) {
            (Some(server), Some(token)) => {
                glossa::client::export(&server, &token, what, article.as_deref()).await?
            }
            (Some(_), None) => anyhow::bail!("--server needs --token (or GLOSSA_TOKEN)"),
            (None, _) => {
                let bytes = glossa::startup::export_offline(
                    &source.data_dir,
                    &public_url,
                    what,
                    article.as_deref(),
                )?;
                std::io::Write::write_all(&mut std::io::stdout().lock(), &bytes)?;
            }
        },
        Command::Publish {
            server,
            token,
            article,
            file,
        } => {
            let text = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())?
            } else {
                std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?
            };
            glossa::client::publish(&server, &token, &article, &text).await?
        }
        Command::Rebuild(args) => {
            glossa::store::drop_derived_state(&args.data_dir)?;
            println!(
                "Deleted the read models and snapshots of {}; the next start rebuilds them from the event log.",
                args.data_dir.display()
            );
        }
    }
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
