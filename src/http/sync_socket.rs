//! `/sync`: the WebSocket that automerge-repo clients connect to.
//!
//! Authentication happens on the HTTP upgrade, because official clients cannot add fields to
//! their `join`: the token comes as `?token=…` (browsers cannot set headers on a WebSocket) or
//! as an `Authorization: Bearer` header. A connection whose token is revoked is closed at once
//! (close code 1008, "the token was revoked"). This file only pumps frames; the protocol lives
//! in `sync`.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason, ProtocolError};
use serde::Deserialize;
use tokio::sync::{watch, Notify};
use tracing::Instrument;

use crate::config::Limits;
use crate::domain::UserName;
use crate::sync::{Outbox, Step, SyncSession};

use super::auth::authenticate_token;
use super::{ApiError, AppState, ConnectionSlot};

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
    let slot = acquire_slot(&state, &user.name)?;
    let (response, socket, stream) = actix_ws::handle(&req, body)
        .map_err(|e| ApiError::BadRequest(format!("/sync needs a WebSocket upgrade: {e}")))?;
    let limits = state.limits;
    let stream = stream
        .max_frame_size(limits.max_frame_bytes)
        .aggregate_continuations()
        .max_continuation_size(limits.max_frame_bytes);
    let (session, outbox, kick) = SyncSession::new(
        state.desk.clone(),
        user.clone(),
        &state.sync_peer_id,
        &state.storage_id,
    );
    let span = tracing::info_span!("sync", conn = session.conn(), user = %user.name);
    let pump = Pump {
        socket,
        session,
        limits,
        last_heard: Instant::now(),
        close_reason: None,
    };
    let events = Events {
        stream,
        outbox,
        kick,
        shutdown: state.shutdown.clone(),
    };
    actix_web::rt::spawn(
        async move {
            pump.run(events, revoked).await;
            drop(slot);
        }
        .instrument(span),
    );
    Ok(response)
}

/// Takes one of the user's connection slots; past the limit, 429.
fn acquire_slot(state: &AppState, user: &UserName) -> Result<ConnectionSlot, ApiError> {
    let max = state.limits.max_connections_per_user;
    state
        .connections
        .acquire(user.as_str(), max)
        .ok_or_else(|| {
            ApiError::TooManyRequests(format!(
                "{user} already has {max} sync connections open; close one first"
            ))
        })
}

/// What a connection waits on besides its own pings: the client's frames, the documents'
/// answers, the server's shutdown and the session being kicked for falling behind.
struct Events {
    stream: AggregatedMessageStream,
    outbox: Outbox,
    kick: Arc<Notify>,
    shutdown: watch::Receiver<bool>,
}

/// One connection's socket and session, and how it is doing.
struct Pump {
    socket: actix_ws::Session,
    session: SyncSession,
    limits: Limits,
    /// When the client last showed it was alive (a frame, a ping or a pong).
    last_heard: Instant,
    /// The close frame to send on leaving; `None` closes without a reason.
    close_reason: Option<CloseReason>,
}

/// What the pump does after one event.
enum Next {
    /// Carry out these steps and go on (unless a step closes).
    Steps(Vec<Step>),
    /// Leave at once.
    Leave,
}

impl Pump {
    /// Pumps until the client leaves, a step closes, or the connection must end (shutdown,
    /// revocation, a kick, a missed pong); then closes the session and the socket.
    async fn run(mut self, mut events: Events, revoked: impl Future<Output = ()>) {
        tracing::info!("connected");
        let mut ping = tokio::time::interval(self.limits.ping_every);
        tokio::pin!(revoked);
        loop {
            let next = tokio::select! {
                frame = events.stream.recv() => self.on_frame(frame).await,
                Some(outbound) = events.outbox.recv() => Next::Steps(self.session.on_outbound(outbound)),
                _ = events.shutdown.changed() => self.close(CloseCode::Away, "the server is shutting down".into()),
                _ = &mut revoked => {
                    tracing::info!("the token was revoked; closing");
                    self.close(CloseCode::Policy, "the token was revoked".into())
                }
                _ = events.kick.notified() => {
                    tracing::warn!("dropping a peer that fell too far behind");
                    Next::Steps(vec![Step::Close])
                }
                _ = ping.tick() => self.on_ping_tick().await,
            };
            let Next::Steps(steps) = next else { break };
            if !self.perform(steps).await {
                break;
            }
        }
        self.session.close().await;
        let _ = self.socket.close(self.close_reason).await;
        tracing::info!("disconnected");
    }

    /// Handles what the client sent: binary frames go to the session, pings are answered,
    /// text and unreadable frames get an error message and close the connection.
    async fn on_frame(&mut self, frame: Option<Result<AggregatedMessage, ProtocolError>>) -> Next {
        let steps = match frame {
            None | Some(Ok(AggregatedMessage::Close(_))) => return Next::Leave,
            Some(Ok(AggregatedMessage::Binary(bytes))) => {
                self.last_heard = Instant::now();
                self.session.on_frame(&bytes).await
            }
            Some(Ok(AggregatedMessage::Text(_))) => vec![
                error_frame("send binary CBOR messages, not text"),
                Step::Close,
            ],
            Some(Ok(AggregatedMessage::Ping(bytes))) => {
                self.last_heard = Instant::now();
                let _ = self.socket.pong(&bytes).await;
                Vec::new()
            }
            Some(Ok(AggregatedMessage::Pong(_))) => {
                self.last_heard = Instant::now();
                Vec::new()
            }
            Some(Err(problem)) => vec![
                error_frame(&format!(
                    "unreadable WebSocket frame (at most {} bytes): {problem}",
                    self.limits.max_frame_bytes
                )),
                Step::Close,
            ],
        };
        Next::Steps(steps)
    }

    /// Pings the client, or leaves if it has been silent longer than the ping timeout.
    async fn on_ping_tick(&mut self) -> Next {
        if self.last_heard.elapsed() > self.limits.ping_timeout {
            tracing::info!("no pong in time; closing");
            let description = format!("no pong within {} ms", self.limits.ping_timeout.as_millis());
            self.close(CloseCode::Policy, description);
            return Next::Leave;
        }
        let _ = self.socket.ping(b"").await;
        Next::Steps(Vec::new())
    }

    /// Closes with this code and reason.
    fn close(&mut self, code: CloseCode, description: String) -> Next {
        self.close_reason = Some(CloseReason {
            code,
            description: Some(description),
        });
        Next::Steps(vec![Step::Close])
    }

    /// Sends the steps' frames in order; `false` once a step closes or the socket is gone.
    async fn perform(&mut self, steps: Vec<Step>) -> bool {
        for step in steps {
            match step {
                Step::Send(frame) => {
                    if self.socket.binary(frame).await.is_err() {
                        return false;
                    }
                }
                Step::Close => return false,
            }
        }
        true
    }
}

fn error_frame(message: &str) -> Step {
    Step::Send(crate::sync::wire::encode(
        &crate::sync::wire::WireMessage::Error {
            message: message.to_owned(),
        },
    ))
}
