//! The exporter: a bounded queue and the background task that sends
//! batches to the OTLP endpoint.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::trace::{Span, TraceError, otlp};

/// Spans waiting to be sent, at most; one more is dropped and counted.
const QUEUE: usize = 4096;
/// Spans sent in one request, at most.
const BATCH: usize = 512;
/// A batch that is not full is sent after this long.
const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// One export request may take this long.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Where and as whom traces are exported (`[telemetry]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracerConfig {
    /// The OTLP/HTTP base URL; spans go to `{endpoint}/v1/traces`.
    pub endpoint: String,
    /// The `service.name` resource attribute.
    pub service_name: String,
    /// Headers sent with every export request (an API key, a tenant).
    pub headers: Vec<(String, String)>,
}

/// What the exporter has done, for the metrics.
#[derive(Debug, Default)]
struct Counts {
    exported: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
}

/// Takes finished spans and exports them in the background. Recording a
/// span never waits: when the queue is full, it is dropped and counted.
#[derive(Debug)]
pub struct Tracer {
    queue: mpsc::Sender<Span>,
    counts: Arc<Counts>,
    stop: watch::Sender<bool>,
    /// Told when the exporter's thread has sent what was queued.
    done: parking_lot::Mutex<Option<tokio::sync::oneshot::Receiver<()>>>,
}

impl Tracer {
    /// Starts the exporter on a thread of its own (with its own small
    /// runtime), so that encoding and sending spans never takes the
    /// server's threads.
    pub fn start(config: TracerConfig) -> Result<Tracer, TraceError> {
        let fail = |why: String| TraceError::Exporter {
            endpoint: config.endpoint.clone(),
            why,
        };
        let url = url::Url::parse(&format!(
            "{}/v1/traces",
            config.endpoint.trim_end_matches('/')
        ))
        .map_err(|e| fail(e.to_string()))?;
        let mut headers = reqwest::header::HeaderMap::new();
        for (name, value) in &config.headers {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| fail(format!("header `{name}`: {e}")))?;
            let mut value = reqwest::header::HeaderValue::from_str(value)
                .map_err(|e| fail(format!("header `{name}`: {e}")))?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .default_headers(headers)
            .build()
            .map_err(|e| fail(e.to_string()))?;
        let (queue, spans) = mpsc::channel(QUEUE);
        let (stop, stopped) = watch::channel(false);
        let counts = Arc::new(Counts::default());
        let exporter = Exporter {
            client,
            url,
            service_name: config.service_name,
            counts: Arc::clone(&counts),
        };
        let (finished, done) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("warden-otlp".into())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime.block_on(exporter.run(spans, stopped)),
                    Err(e) => tracing::error!(error = %e, "cannot start the trace exporter"),
                }
                let _ = finished.send(());
            })
            .map_err(|e| fail(format!("cannot start its thread: {e}")))?;
        Ok(Tracer {
            queue,
            counts,
            stop,
            done: parking_lot::Mutex::new(Some(done)),
        })
    }

    /// Queues a finished span; drops (and counts) it if the queue is full.
    pub fn record(&self, span: Span) {
        if self.queue.try_send(span).is_err() {
            self.counts.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Sends what is queued and stops the exporter.
    pub async fn shutdown(&self) {
        self.stop.send_replace(true);
        let done = self.done.lock().take();
        if let Some(done) = done
            && done.await.is_err()
        {
            tracing::error!("the trace exporter ended badly");
        }
    }

    /// Spans sent, dropped because the queue was full, and lost because
    /// the endpoint refused them twice.
    pub fn counts(&self) -> (u64, u64, u64) {
        (
            self.counts.exported.load(Ordering::Relaxed),
            self.counts.dropped.load(Ordering::Relaxed),
            self.counts.failed.load(Ordering::Relaxed),
        )
    }

    /// The exporter's counters in the Prometheus text format.
    pub fn render_metrics(&self) -> String {
        let (exported, dropped, failed) = self.counts();
        let mut out = String::new();
        for (name, help, value) in [
            (
                "warden_trace_spans_exported_total",
                "Spans accepted by the OTLP endpoint.",
                exported,
            ),
            (
                "warden_trace_spans_dropped_total",
                "Spans dropped because the export queue was full.",
                dropped,
            ),
            (
                "warden_trace_spans_failed_total",
                "Spans lost because the OTLP endpoint refused them twice.",
                failed,
            ),
        ] {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n"
            ));
        }
        out
    }
}

/// The task's side.
struct Exporter {
    client: reqwest::Client,
    url: url::Url,
    service_name: String,
    counts: Arc<Counts>,
}

impl Exporter {
    async fn run(self, mut spans: mpsc::Receiver<Span>, mut stopped: watch::Receiver<bool>) {
        let mut batch = Vec::with_capacity(BATCH);
        let mut tick = tokio::time::interval(FLUSH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                span = spans.recv() => match span {
                    Some(span) => {
                        batch.push(span);
                        if batch.len() >= BATCH {
                            self.send(&mut batch).await;
                        }
                    }
                    None => break,
                },
                _ = tick.tick() => {
                    if !batch.is_empty() {
                        self.send(&mut batch).await;
                    }
                }
                _ = stopped.changed() => break,
            }
        }
        // Stopping: what was queued goes out too.
        while let Ok(span) = spans.try_recv() {
            batch.push(span);
            if batch.len() >= BATCH {
                self.send(&mut batch).await;
            }
        }
        if !batch.is_empty() {
            self.send(&mut batch).await;
        }
    }

    /// Sends a batch, retrying once; then it is dropped and counted.
    async fn send(&self, batch: &mut Vec<Span>) {
        let body = otlp::export_request(&self.service_name, batch);
        let n = batch.len() as u64;
        batch.clear();
        for attempt in 0..2 {
            let sent = self
                .client
                .post(self.url.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/x-protobuf")
                .body(body.clone())
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => {
                    self.counts.exported.fetch_add(n, Ordering::Relaxed);
                    return;
                }
                Ok(r) => {
                    tracing::warn!(status = %r.status(), attempt, url = %self.url, "the OTLP endpoint refused spans");
                }
                Err(e) => {
                    tracing::warn!(error = %e, attempt, url = %self.url, "cannot send spans to the OTLP endpoint");
                }
            }
            if attempt == 0 {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        self.counts.failed.fetch_add(n, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{SpanKind, TraceContext};

    fn span() -> Span {
        Span {
            context: TraceContext::child_of(None),
            parent_span_id: None,
            name: "execute_tool t".into(),
            kind: SpanKind::Server,
            start_unix_nanos: 1,
            end_unix_nanos: 2,
            attributes: Vec::new(),
        }
    }

    #[tokio::test]
    async fn a_full_queue_drops_and_counts_without_waiting() {
        // An endpoint that takes the connection and never answers: the
        // exporter (on its own thread) is stuck on its first batch while
        // the queue fills.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let held = std::thread::spawn(move || listener.accept().map(|(socket, _)| socket));
        let tracer = Tracer::start(TracerConfig {
            endpoint: format!("http://{addr}"),
            service_name: "warden".into(),
            headers: vec![("x-api-key".into(), "k".into())],
        })
        .unwrap();
        let started = std::time::Instant::now();
        for _ in 0..QUEUE + BATCH + 10 {
            tracer.record(span());
        }
        assert!(started.elapsed() < Duration::from_secs(1));
        let (exported, dropped, _) = tracer.counts();
        assert_eq!(exported, 0);
        assert!(dropped >= 10, "{dropped}");
        assert!(
            tracer
                .render_metrics()
                .contains(&format!("warden_trace_spans_dropped_total {dropped}\n"))
        );
        drop(held);
    }

    /// A one-connection-per-request HTTP server answering `statuses` in
    /// turn; returns its address and the request heads it read.
    async fn endpoint(statuses: Vec<u16>) -> (String, Arc<parking_lot::Mutex<Vec<String>>>) {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let heads = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let seen = Arc::clone(&heads);
        tokio::spawn(async move {
            for status in statuses {
                let (mut conn, _) = listener.accept().await.unwrap();
                let mut buf = vec![0u8; 64 * 1024];
                let mut read = 0;
                // The head, then the body its content-length announces.
                loop {
                    read += conn.read(&mut buf[read..]).await.unwrap();
                    let text = String::from_utf8_lossy(&buf[..read]).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length: usize = text
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length: ")
                                    .map(str::to_owned)
                            })
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        if read >= end + 4 + length {
                            seen.lock().push(text[..end].to_owned());
                            break;
                        }
                    }
                }
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
                conn.write_all(answer.as_bytes()).await.unwrap();
            }
        });
        (format!("http://{addr}"), heads)
    }

    #[tokio::test]
    async fn a_refused_batch_is_retried_once_then_counted_as_failed() {
        let (url, heads) = endpoint(vec![503, 200, 500, 500]).await;
        let tracer = Tracer::start(TracerConfig {
            endpoint: format!("{url}/"),
            service_name: "warden".into(),
            headers: vec![("x-api-key".into(), "k".into())],
        })
        .unwrap();
        for _ in 0..3 {
            tracer.record(span());
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while tracer.counts().0 < 3 {
            assert!(std::time::Instant::now() < deadline, "{:?}", heads.lock());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tracer.record(span());
        tracer.shutdown().await;
        assert_eq!(tracer.counts(), (3, 0, 1));
        let heads = heads.lock().clone();
        assert_eq!(heads.len(), 4);
        for head in &heads {
            let head = head.to_ascii_lowercase();
            assert!(head.starts_with("post /v1/traces http/1.1"), "{head}");
            assert!(
                head.contains("content-type: application/x-protobuf"),
                "{head}"
            );
            assert!(head.contains("x-api-key: k"), "{head}");
        }
    }

    #[test]
    fn a_bad_endpoint_or_header_is_an_error() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let _guard = runtime.enter();
        let bad = |endpoint: &str, header: &str| {
            Tracer::start(TracerConfig {
                endpoint: endpoint.into(),
                service_name: "warden".into(),
                headers: vec![(header.into(), "v".into())],
            })
            .unwrap_err()
            .to_string()
        };
        assert!(bad("not a url", "x").contains("cannot export traces to `not a url`"));
        assert!(bad("http://c:4318", "bad name").contains("header `bad name`"));
    }
}
