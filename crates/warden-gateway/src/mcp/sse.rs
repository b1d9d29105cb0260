//! Server-sent events, incrementally: what a Streamable HTTP server streams
//! is cut into events, each message rewritten, and written out again.

/// An SSE answer whose events come from `rx`; it ends when every sender is
/// dropped.
pub(crate) fn response(
    rx: tokio::sync::mpsc::Receiver<Result<axum::body::Bytes, std::io::Error>>,
) -> axum::response::Response {
    use axum::http::{HeaderValue, StatusCode, header};
    use axum::response::IntoResponse;
    let body =
        axum::body::Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        }));
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// One event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Event {
    pub(crate) id: Option<String>,
    pub(crate) event: Option<String>,
    pub(crate) data: Option<String>,
    pub(crate) retry: Option<String>,
}

impl Event {
    /// The event in wire form, ending with the blank line.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = String::new();
        if let Some(id) = &self.id {
            out.push_str("id: ");
            out.push_str(id);
            out.push('\n');
        }
        if let Some(event) = &self.event {
            out.push_str("event: ");
            out.push_str(event);
            out.push('\n');
        }
        if let Some(retry) = &self.retry {
            out.push_str("retry: ");
            out.push_str(retry);
            out.push('\n');
        }
        if let Some(data) = &self.data {
            for line in data.split('\n') {
                out.push_str("data: ");
                out.push_str(line);
                out.push('\n');
            }
        }
        out.push('\n');
        out.into_bytes()
    }

    /// A `message` event carrying one JSON-RPC message.
    pub(crate) fn message(data: &serde_json::Value) -> Event {
        Event {
            event: Some("message".into()),
            data: Some(data.to_string()),
            ..Event::default()
        }
    }
}

/// Cuts a byte stream into events.
#[derive(Debug, Default)]
pub(crate) struct Parser {
    buf: Vec<u8>,
    /// How much of `buf` is known to hold no line end: the next `feed`
    /// scans on from there, so each byte is scanned once.
    scanned: usize,
    current: Event,
    started: bool,
}

/// An event larger than this is an error: the stream is cut.
pub(crate) const MAX_EVENT: usize = 16 * 1024 * 1024;

impl Parser {
    /// Feeds bytes; returns the events completed by them. `Err` when an
    /// event grows past [`MAX_EVENT`].
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Event>, String> {
        self.buf.extend_from_slice(bytes);
        let mut events = Vec::new();
        let mut start = 0;
        let mut i = self.scanned;
        while i < self.buf.len() {
            let b = self.buf[i];
            if b == b'\n' || b == b'\r' {
                let line_end = i;
                // `\r\n` is one line end.
                if b == b'\r' {
                    if i + 1 == self.buf.len() {
                        break; // wait: the `\n` may follow
                    }
                    if self.buf[i + 1] == b'\n' {
                        i += 1;
                    }
                }
                let line = String::from_utf8_lossy(&self.buf[start..line_end]).into_owned();
                if let Some(e) = self.line(&line) {
                    events.push(e);
                }
                start = i + 1;
            }
            i += 1;
        }
        self.buf.drain(..start);
        // `i` stopped at the end, or at a `\r` that may be followed by `\n`.
        self.scanned = i - start;
        let pending = self.buf.len() + self.current.data.as_ref().map_or(0, String::len);
        if pending > MAX_EVENT {
            return Err(format!("an event is over {MAX_EVENT} bytes"));
        }
        Ok(events)
    }

    fn line(&mut self, line: &str) -> Option<Event> {
        if line.is_empty() {
            if !self.started {
                return None;
            }
            self.started = false;
            return Some(std::mem::take(&mut self.current));
        }
        if line.starts_with(':') {
            return None; // a comment (keep-alive)
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        self.started = true;
        match field {
            "id" => self.current.id = Some(value.to_owned()),
            "event" => self.current.event = Some(value.to_owned()),
            "retry" => self.current.retry = Some(value.to_owned()),
            "data" => match &mut self.current.data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.current.data = Some(value.to_owned()),
            },
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_chunks_and_line_ends() -> Result<(), String> {
        let mut p = Parser::default();
        let mut events = p.feed(b"id: 1\r\nevent: message\r\ndata: {\"a\":")?;
        assert!(events.is_empty());
        events.extend(p.feed(b"1}\r\n\r")?);
        events.extend(p.feed(b"\n: keep-alive\n\ndata: x\ndata: y\n\n")?);
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].id.as_deref(), Some("1"));
        assert_eq!(events[0].data.as_deref(), Some("{\"a\":1}"));
        assert_eq!(events[1].data.as_deref(), Some("x\ny"));
        let again = Parser::default().feed(&events[1].encode())?;
        assert_eq!(again, vec![events[1].clone()]);
        Ok(())
    }

    #[test]
    fn an_endless_event_is_cut() {
        let mut p = Parser::default();
        let chunk = vec![b'x'; 1024 * 1024];
        let mut failed = false;
        for _ in 0..20 {
            if p.feed(&chunk).is_err() {
                failed = true;
                break;
            }
        }
        assert!(failed);
    }
}
