//! `/sync`: the WebSocket that automerge-repo clients connect to.
//!
//! Authentication happens on the HTTP upgrade, because official clients cannot add fields to
//! their `join`: the token comes as `?token=…` (browsers cannot set headers on a WebSocket) or
//! as an `Authorization: Bearer` header. A connection whose token is revoked is closed at once
//! (close code 1008, "the token was revoked"). This file only pumps frames; the protocol lives
//! in `sync`.

use std::time::Instant;

use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::AggregatedMessage;
use serde::Deserialize;
use tracing::Instrument;

use crate::sync::{Step, SyncSession};

use super::auth::authenticate_token;
use super::{ApiError, AppState};

#[derive(Deserialize)]
pub struct SyncQuery {
    token: Option<String>,
}

pub async fn sync_socket(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
    query: web::Query<SyncQuery>,
) -> Result<HttpResponse, ApiError> {
    let caller = authenticate_token(&req, query.token.as_deref())?;
    let user = caller.0;
    // Resolves when the token is revoked: the connection closes then, not at its next upgrade.
    let revoked = state.users.revoked(&caller.1);
    let slot = state
        .connections
        .acquire(user.name.as_str(), state.limits.max_connections_per_user)
        .ok_or_else(|| {
            ApiError::TooManyRequests(format!(
                "{} already has {} sync connections open; close one first",
                user.name, state.limits.max_connections_per_user
            ))
        })?;
    let (response, mut socket, stream) = actix_ws::handle(&req, body)
        .map_err(|e| ApiError::BadRequest(format!("/sync needs a WebSocket upgrade: {e}")))?;
    let limits = state.limits;
    let mut stream = stream
        .max_frame_size(limits.max_frame_bytes)
        .aggregate_continuations()
        .max_continuation_size(limits.max_frame_bytes);
    let (mut session, mut outbox, kick) = SyncSession::new(
        state.desk.clone(),
        user.clone(),
        &state.sync_peer_id,
        &state.storage_id,
    );
    let span = tracing::info_span!("sync", conn = session.conn(), user = %user.name);
    actix_web::rt::spawn(
        async move {
            tracing::info!("connected");
            let mut ping = tokio::time::interval(limits.ping_every);
            let mut last_heard = Instant::now();
            let mut shutdown = state.shutdown.clone();
            let mut close_reason = None;
            tokio::pin!(revoked);
            'connection: loop {
                let steps = tokio::select! {
                    frame = stream.recv() => match frame {
                        None => break,
                        Some(Ok(AggregatedMessage::Binary(bytes))) => {
                            last_heard = Instant::now();
                            session.on_frame(&bytes).await
                        }
                        Some(Ok(AggregatedMessage::Text(_))) => vec![
                            error_frame("send binary CBOR messages, not text"),
                            Step::Close,
                        ],
                        Some(Ok(AggregatedMessage::Ping(bytes))) => {
                            last_heard = Instant::now();
                            let _ = socket.pong(&bytes).await;
                            Vec::new()
                        }
                        Some(Ok(AggregatedMessage::Pong(_))) => {
                            last_heard = Instant::now();
                            Vec::new()
                        }
                        Some(Ok(AggregatedMessage::Close(_))) => break,
                        Some(Err(problem)) => vec![
                            error_frame(&format!("unreadable WebSocket frame (at most {} bytes): {problem}", limits.max_frame_bytes)),
                            Step::Close,
                        ],
                    },
                    Some(outbound) = outbox.recv() => session.on_outbound(outbound),
                    _ = shutdown.changed() => {
                        close_reason = Some(actix_ws::CloseReason {
                            code: actix_ws::CloseCode::Away,
                            description: Some("the server is shutting down".into()),
                        });
                        vec![Step::Close]
                    }
                    _ = &mut revoked => {
                        tracing::info!("the token was revoked; closing");
                        close_reason = Some(actix_ws::CloseReason {
                            code: actix_ws::CloseCode::Policy,
                            description: Some("the token was revoked".into()),
                        });
                        vec![Step::Close]
                    }
                    _ = kick.notified() => {
                        tracing::warn!("dropping a peer that fell too far behind");
                        vec![Step::Close]
                    }
                    _ = ping.tick() => {
                        if last_heard.elapsed() > limits.ping_timeout {
                            tracing::info!("no pong in time; closing");
                            close_reason = Some(actix_ws::CloseReason {
                                code: actix_ws::CloseCode::Policy,
                                description: Some(format!(
                                    "no pong within {} ms",
                                    limits.ping_timeout.as_millis()
                                )),
                            });
                            break;
                        }
                        let _ = socket.ping(b"").await;
                        Vec::new()
                    }
                };
                for step in steps {
                    match step {
                        Step::Send(frame) => {
                            if socket.binary(frame).await.is_err() {
                                break 'connection;
                            }
                        }
                        Step::Close => break 'connection,
                    }
                }
            }
            session.close().await;
            let _ = socket.close(close_reason).await;
            drop(slot);
            tracing::info!("disconnected");
        }
        .instrument(span),
    );
    Ok(response)
}

fn error_frame(message: &str) -> Step {
    Step::Send(crate::sync::wire::encode(
        &crate::sync::wire::WireMessage::Error {
            message: message.to_owned(),
        },
    ))
}
