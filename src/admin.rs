//! `glossa user …` and `glossa token …`: managing who may use a desk from the command line,
//! through a running server's API (`--server`, `--token` of an admin) or straight on a data
//! directory that no server has open (sled allows one process at a time).
//!
//! Either way the change is the same event in the log; a token is printed once, on standard
//! output alone, so `TOKEN=$(glossa token create …)` works.

use std::io::Write;

use anyhow::{bail, Context};
use serde_json::{json, Value};

use crate::cli::{Source, TokenCommand, UserCommand};
use crate::client::call;
use crate::domain::UserName;
use crate::identity::{NewUser, Role, TokenId, TokenInfo, Users};
use crate::store::{Location, Store, StoreError};

pub async fn token(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create { source, user, role } => create_token(&source, &user, role).await,
        TokenCommand::List { source, user } => list_tokens(&source, user.as_deref()).await,
        TokenCommand::Revoke { source, id } => revoke_token(&source, &id).await,
    }
}

/// Issues a token for a user, on the running server or in the data directory, and prints its
/// secret (the only time it is shown). With a role, a user that does not exist yet is created.
async fn create_token(source: &Source, user: &str, role: Option<String>) -> anyhow::Result<()> {
    let user = UserName::parse(user)?;
    let role = role
        .as_deref()
        .map(Role::parse)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let secret = match server(source)? {
        Some((url, token)) => create_token_on_server(url, token, &user, role).await?,
        None => create_token_in(&open(&source.location())?, user, role).await?,
    };
    println!("{secret}");
    Ok(())
}

/// Issues a token straight in the data directory's user list, and returns its secret.
async fn create_token_in(
    users: &Users,
    user: UserName,
    role: Option<Role>,
) -> anyhow::Result<String> {
    let issued = match role {
        Some(role) => {
            let new = NewUser {
                name: user,
                display_name: None,
                role,
            };
            users
                .issue_token_creating_user(&UserName::system(), new)
                .await?
        }
        None => users
            .issue_token(&UserName::system(), &user, None)
            .await
            .map_err(|e| anyhow::anyhow!("{e}; give --role to create the user"))?,
    };
    eprintln!("Issued {} for {}.", issued.info.id, issued.info.user);
    Ok(issued.secret)
}

/// Prints the tokens (of one user, if named) as a table: ids, users, roles, when issued and
/// revoked, never a secret.
async fn list_tokens(source: &Source, user: Option<&str>) -> anyhow::Result<()> {
    let user = user.map(UserName::parse).transpose()?;
    let rows: Vec<Value> = match server(source)? {
        Some((url, token)) => {
            let query = user.map(|u| format!("?user={u}")).unwrap_or_default();
            let body = call(url, token, "GET", &format!("/api/tokens{query}"), None).await?;
            body["tokens"].as_array().cloned().unwrap_or_default()
        }
        None => open(&source.location())?
            .tokens()
            .iter()
            .filter(|t| user.as_ref().is_none_or(|u| &t.user == u))
            .map(TokenInfo::listing)
            .collect(),
    };
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<20} {:<16} {:<7} {:<25} revoked",
        "id", "user", "role", "issued"
    )?;
    for t in rows {
        let text = |key: &str| t[key].as_str().unwrap_or("-").to_owned();
        writeln!(
            out,
            "{:<20} {:<16} {:<7} {:<25} {}",
            text("id"),
            text("user"),
            text("role"),
            text("issued"),
            text("revoked")
        )?;
    }
    Ok(())
}

/// Revokes a token by id, on the running server or in the data directory.
async fn revoke_token(source: &Source, id: &str) -> anyhow::Result<()> {
    let id = TokenId::parse(id).map_err(anyhow::Error::msg)?;
    let revoked = match server(source)? {
        Some((url, token)) => {
            call(url, token, "DELETE", &format!("/api/tokens/{id}"), None).await?
        }
        None => open(&source.location())?
            .revoke(&UserName::system(), &id)
            .await?
            .listing(),
    };
    println!(
        "Revoked {id} of {}.",
        revoked["user"].as_str().unwrap_or("?")
    );
    Ok(())
}

pub async fn user(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Create {
            source,
            name,
            display_name,
            role,
        } => {
            let name = UserName::parse(&name)?;
            let role = Role::parse(&role).map_err(anyhow::Error::msg)?;
            match server(&source)? {
                Some((url, token)) => {
                    let body = json!({ "name": name, "display_name": display_name, "role": role });
                    call(url, token, "POST", "/api/users", Some(body)).await?;
                }
                None => {
                    let new = NewUser {
                        name: name.clone(),
                        display_name,
                        role,
                    };
                    open(&source.location())?
                        .create_user(&UserName::system(), new, None)
                        .await?;
                }
            }
            println!("Created {name} ({role:?}); issue a token with `glossa token create --user {name}`.");
        }
        UserCommand::Role { source, name, role } => {
            let name = UserName::parse(&name)?;
            let role = Role::parse(&role).map_err(anyhow::Error::msg)?;
            match server(&source)? {
                Some((url, token)) => {
                    let path = format!("/api/users/{name}");
                    call(url, token, "PATCH", &path, Some(json!({ "role": role }))).await?;
                }
                None => {
                    open(&source.location())?
                        .set_role(&UserName::system(), &name, role)
                        .await?;
                }
            }
            println!("{name} is now {role:?}.");
        }
    }
    Ok(())
}

/// The server and token to use, if `--server` was given.
fn server(source: &Source) -> anyhow::Result<Option<(&str, &str)>> {
    match (&source.server, &source.token) {
        (Some(server), Some(token)) => Ok(Some((server, token))),
        (Some(_), None) => bail!("--server needs --token (or GLOSSA_TOKEN) of an admin"),
        (None, _) => Ok(None),
    }
}

/// The users of a data directory no server has open.
fn open(location: &Location) -> anyhow::Result<Users> {
    let data_dir = &location.data_dir;
    let store = Store::open_at(location).map_err(|e| match e {
        StoreError::Locked { .. } => anyhow::anyhow!(
            "{} is open in a running server, which holds it alone. Manage users and tokens \
             through that server instead: add --server http://HOST:PORT --token ADMIN_TOKEN \
             (or GLOSSA_SERVER and GLOSSA_TOKEN).",
            data_dir.display()
        ),
        other => anyhow::Error::new(other).context(format!(
            "cannot open the data directory {}",
            data_dir.display()
        )),
    })?;
    Ok(Users::open(&store.log)?)
}

async fn create_token_on_server(
    url: &str,
    token: &str,
    user: &UserName,
    role: Option<Role>,
) -> anyhow::Result<String> {
    let exists = call(url, token, "GET", &format!("/api/users/{user}"), None).await;
    match (exists, role) {
        (Ok(found), Some(role)) if found["role"] != json!(role) => bail!(
            "{user} is already a user with the {} role; change it with `glossa user role`",
            found["role"]
        ),
        (Ok(_), _) => {}
        (Err(_), Some(role)) => {
            let body = json!({ "name": user, "role": role });
            call(url, token, "POST", "/api/users", Some(body)).await?;
        }
        (Err(error), None) => return Err(error.context("give --role to create the user")),
    }
    let issued = call(
        url,
        token,
        "POST",
        &format!("/api/users/{user}/tokens"),
        None,
    )
    .await?;
    eprintln!(
        "Issued {} for {user}.",
        issued["id"].as_str().unwrap_or("?")
    );
    issued["token"]
        .as_str()
        .map(str::to_owned)
        .context("the server's answer has no token")
}
