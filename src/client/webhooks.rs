//! `glossa webhook …`: an admin manages the desk's webhook subscriptions through a running
//! server's API (deliveries are made by the server, so there is no data-directory form).
//! `create` prints the signing secret alone on standard output, the one time it is shown, so
//! `SECRET=$(glossa webhook create …)` works; everything else goes to standard error.

use std::io::Write;

use serde_json::{json, Value};

use crate::cli::WebhookCommand;

use super::call;

pub async fn webhook_command(command: WebhookCommand) -> anyhow::Result<()> {
    if let WebhookCommand::Show { id, .. }
    | WebhookCommand::Pause { id, .. }
    | WebhookCommand::Resume { id, .. }
    | WebhookCommand::Delete { id, .. }
    | WebhookCommand::Deliveries { id, .. } = &command
    {
        uuid::Uuid::parse_str(id).map_err(|_| {
            anyhow::anyhow!("{id:?} is not a subscription id; `glossa webhook list` shows them")
        })?;
    }
    match command {
        WebhookCommand::Create {
            api,
            url,
            types,
            articles,
            description,
            json,
        } => {
            let body = json!({
                "url": url,
                "types": types,
                "articles": articles,
                "description": description,
            });
            let created =
                call(&api.server, &api.token, "POST", "/api/webhooks", Some(body)).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&created)?);
                return Ok(());
            }
            eprintln!(
                "Subscribed {} to {}.",
                created["id"].as_str().unwrap_or("?"),
                url
            );
            eprintln!(
                "Its signing secret, shown this once (receivers verify webhook-signature with it):"
            );
            println!("{}", created["secret"].as_str().unwrap_or_default());
            Ok(())
        }
        WebhookCommand::List { api, json } => {
            let listed = call(&api.server, &api.token, "GET", "/api/webhooks", None).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&listed)?);
                return Ok(());
            }
            let mut out = std::io::stdout().lock();
            writeln!(out, "{:<36} {:<7} {:>8}  url", "id", "status", "cursor")?;
            for s in listed["items"].as_array().into_iter().flatten() {
                writeln!(
                    out,
                    "{:<36} {:<7} {:>8}  {}",
                    s["id"].as_str().unwrap_or("-"),
                    s["status"].as_str().unwrap_or("-"),
                    s["cursor"],
                    s["url"].as_str().unwrap_or("-"),
                )?;
            }
            Ok(())
        }
        WebhookCommand::Show { api, id } => print_json(
            call(
                &api.server,
                &api.token,
                "GET",
                &format!("/api/webhooks/{id}"),
                None,
            )
            .await?,
        ),
        WebhookCommand::Pause { api, id } => print_json(
            call(
                &api.server,
                &api.token,
                "POST",
                &format!("/api/webhooks/{id}/pause"),
                None,
            )
            .await?,
        ),
        WebhookCommand::Resume { api, id } => print_json(
            call(
                &api.server,
                &api.token,
                "POST",
                &format!("/api/webhooks/{id}/resume"),
                None,
            )
            .await?,
        ),
        WebhookCommand::Delete { api, id } => {
            call(
                &api.server,
                &api.token,
                "DELETE",
                &format!("/api/webhooks/{id}"),
                None,
            )
            .await?;
            eprintln!("Unsubscribed {id}.");
            Ok(())
        }
        WebhookCommand::Deliveries { api, id, limit } => {
            let path = format!("/api/webhooks/{id}/deliveries?limit={limit}");
            let attempts = call(&api.server, &api.token, "GET", &path, None).await?;
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{:<25} {:>8} {:<26} {:>7} {:>6}  result",
                "at", "seq", "type", "attempt", "ms"
            )?;
            for a in attempts["items"].as_array().into_iter().flatten() {
                let result = match (&a["status"], a["error"].as_str()) {
                    (_, Some(error)) => error.to_owned(),
                    (Value::Number(status), None) => status.to_string(),
                    _ => "-".to_owned(),
                };
                writeln!(
                    out,
                    "{:<25} {:>8} {:<26} {:>7} {:>6}  {}",
                    a["at"].as_str().unwrap_or("-"),
                    a["seq"],
                    a["type"].as_str().unwrap_or("-"),
                    a["attempt"],
                    a["millis"],
                    result
                )?;
            }
            Ok(())
        }
    }
}

fn print_json(value: Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(&value)?);
    Ok(())
}
