//! Watching live: `GET /v1/events` (Server-Sent Events) and `GET /metrics`
//! (Prometheus), both on the admin plane with the auditor role.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use warden_monitor::{Event, Filter, Gauge, Subscription};
use warden_types::Role;

use crate::error::ApiError;
use crate::state::Gateway;

/// A comment line this often keeps proxies from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// `GET /v1/events` filters: each a comma-separated list; `since` is an
/// event id (as `Last-Event-ID`; `0` for everything still held).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EventsQuery {
    agent: Option<String>,
    server: Option<String>,
    tool: Option<String>,
    outcome: Option<String>,
    kind: Option<String>,
    since: Option<String>,
}

fn list(value: Option<&String>) -> Vec<String> {
    value
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// One SSE frame: made once when the event was published, copied here.
fn frame(event: &Event) -> String {
    event.sse_frame().into_owned()
}

/// A live subscription and the gateway's stop signal.
struct Live {
    events: Subscription,
    stopping: tokio::sync::watch::Receiver<bool>,
}

enum Step {
    Replay(std::vec::IntoIter<String>, Live),
    Live(Live),
    Done,
}

/// `GET /v1/events`: decisions, observations, approvals, revocations,
/// sightings… as they happen; resumable with `Last-Event-ID`. A consumer
/// that falls behind is sent a final `dropped` event and closed: it never
/// slows anyone else.
pub(crate) async fn events(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> Result<Response, ApiError> {
    gw.authenticate_admin(&headers, Role::Auditor)?;
    let filter = Filter {
        agents: list(q.agent.as_ref()),
        servers: list(q.server.as_ref()),
        tools: list(q.tool.as_ref()),
        outcomes: list(q.outcome.as_ref()),
        kinds: list(q.kind.as_ref()),
    };
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(q.since);
    let (replay, events) = gw.monitor.subscribe(&filter, last.as_deref());
    let live = Live {
        events,
        stopping: gw.stopping.subscribe(),
    };
    let mut first: Vec<String> = vec![": warden events\n\n".to_owned()];
    first.extend(replay.gap.iter().map(frame));
    first.extend(replay.events.iter().map(|e| frame(e)));
    let stream =
        futures_util::stream::unfold(Step::Replay(first.into_iter(), live), |step| async move {
            match step {
                Step::Replay(mut pending, live) => match pending.next() {
                    Some(text) => {
                        Some((Ok::<_, std::io::Error>(text), Step::Replay(pending, live)))
                    }
                    None => next_live(live).await,
                },
                Step::Live(live) => next_live(live).await,
                Step::Done => None,
            }
        });
    Ok((
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

async fn next_live(mut live: Live) -> Option<(Result<String, std::io::Error>, Step)> {
    let next = tokio::select! {
        next = tokio::time::timeout(KEEP_ALIVE, live.events.next()) => next,
        _ = live.stopping.wait_for(|s| *s) => {
            let mut bye = Event::new("shutdown", crate::now_millis());
            bye.note = Some("Warden is stopping; reconnect with Last-Event-ID to resume".to_owned());
            return Some((Ok(frame(&bye)), Step::Done));
        }
    };
    match next {
        Err(_) => Some((Ok(": keep-alive\n\n".to_owned()), Step::Live(live))),
        Ok(Ok(Some(event))) => Some((Ok(frame(&event)), Step::Live(live))),
        Ok(Ok(None)) => None,
        Ok(Err(behind)) => {
            let mut dropped = Event::new("dropped", crate::now_millis());
            dropped.note = Some(format!(
                "this consumer fell {behind} events behind and was dropped; reconnect with Last-Event-ID to resume"
            ));
            Some((Ok(frame(&dropped)), Step::Done))
        }
    }
}

/// `GET /metrics`: the Prometheus text exposition.
pub(crate) async fn metrics(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    gw.authenticate_admin(&headers, Role::Auditor)?;
    let pending =
        warden_store::Store::approvals(&gw.store, Some(warden_store::ApprovalStatus::Pending))
            .await
            .map_or(0, |a| a.len());
    let gauges = [
        Gauge {
            name: "warden_approvals_pending",
            help: "Actions waiting for a person (at most 500 counted).",
            value: pending as f64,
        },
        Gauge {
            name: "warden_sessions",
            help: "Live sessions held in memory.",
            value: gw.engine.live_sessions() as f64,
        },
        Gauge {
            name: "warden_mcp_sessions",
            help: "Live MCP sessions through the Streamable HTTP proxy.",
            value: gw.mcp_sessions.len() as f64,
        },
        Gauge {
            name: "warden_sightings_pending",
            help: "Sightings of unregistered callers waiting to be saved.",
            value: gw.pending_sightings() as f64,
        },
        Gauge {
            name: "warden_agents",
            help: "Registered agents.",
            value: gw.engine.snapshot().agents.len() as f64,
        },
    ];
    let mut text = gw.monitor.metrics().render(&gauges);
    if let Some(tracer) = &gw.tracer {
        text.push_str(&tracer.render_metrics());
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// `GET /v1/alerts`: the most recent alerts and those no webhook took
/// (auditor role).
pub(crate) async fn alerts(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    gw.authenticate_admin(&headers, Role::Auditor)?;
    let recent: Vec<_> = gw.alert_log.recent.lock().iter().rev().cloned().collect();
    let dead: Vec<_> = gw.alert_log.dead.lock().iter().rev().cloned().collect();
    Ok(axum::Json(
        serde_json::json!({"alerts": recent, "dead_letters": dead}),
    ))
}
