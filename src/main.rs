//! The `glossa` binary: parses the command line and hands each command to the library.

use clap::Parser;

use glossa::cli::{Cli, Command, ImportCommand};
use glossa::{admin, backup, client, startup};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Serve(args) => startup::serve(args).await,
        Command::Token(command) => admin::token(command).await,
        Command::User(command) => admin::user(command).await,
        Command::Dump { data, out } => backup::dump_data_dir(&data.location(), out.as_deref()),
        Command::Restore { data, from } => backup::restore_data_dir(&data.location(), &from).await,
        Command::Rebuild(args) => backup::rebuild_data_dir(&args.data_dir),
        Command::Events {
            source,
            after,
            limit,
            follow,
        } => client::events_command(source, after, limit, follow).await,
        Command::Export {
            what,
            source,
            public_url,
            article,
        } => client::export_command(what, source, &public_url, article.as_deref()).await,
        Command::Search {
            query,
            source,
            filters,
            json,
            public_url,
        } => client::search_command(&query.join(" "), source, *filters, json, &public_url).await,
        Command::Webhook(command) => client::webhook_command(command).await,
        Command::Import(ImportCommand::Hypothesis {
            file,
            source,
            public_url,
            json,
        }) => client::import_hypothesis_command(&file, source, &public_url, json).await,
        Command::Publish {
            server,
            token,
            article,
            file,
        } => client::publish_command(&server, &token, &article, &file).await,
    }
}
