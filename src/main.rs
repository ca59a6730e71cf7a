//! The `glossa` binary: parses the command line and hands over to the library.

use anyhow::Context;
use clap::Parser;

use glossa::cli::{Cli, Command, Source, TokenCommand};
use glossa::domain::UserName;
use glossa::identity::{self, Role, DEMO_USERS};
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
            println!("Sign in with a bearer token, e.g. as a demo user (created with a new data directory):");
            for demo in DEMO_USERS.iter() {
                println!(
                    "  {:<8} {:<8} Authorization: Bearer {}",
                    demo.name,
                    format!("{:?}", demo.role).to_lowercase(),
                    demo.token
                );
            }
            println!(
                "Try: curl -H 'Authorization: Bearer demo-alice-token' {}/api/articles",
                app.base_url()
            );
            app.run_until_stopped().await?;
        }
        Command::Token(TokenCommand::Create {
            data_dir,
            user,
            role,
        }) => {
            let user = UserName::parse(&user)?;
            let role = Role::parse(&role).map_err(anyhow::Error::msg)?;
            let token = identity::create_token(&data_dir, &user, role)?;
            println!("{token}");
        }
        Command::Dump { data, out } => {
            let store = glossa::store::Store::open(&data.data_dir)?;
            let count = match out {
                Some(path) => {
                    let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
                    let count = glossa::backup::dump(&store.log, &mut file)?;
                    std::io::Write::flush(&mut file)?;
                    count
                }
                None => glossa::backup::dump(&store.log, &mut std::io::stdout().lock())?,
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
                    serde_json::to_writer(
                        &mut out,
                        &glossa::backup::DumpLine::from_record(record),
                    )?;
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
