//! Fuzzing the SSE parser on stable Rust: what an upstream Streamable HTTP
//! server streams is peer input. The properties: no panic; the events do not
//! depend on how the stream is cut into chunks; encoding then parsing gives
//! the events back.
//!
//! `WARDEN_FUZZ_CASES` sets the number of cases per property (256 by default).

use proptest::prelude::*;

use super::{Event, Parser};

use warden_test::fuzz_cases as cases;

/// One line of a stream: fields, comments, odd field names, raw bytes.
fn line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[ -~é🦀]{0,20}".prop_map(|v| format!("data: {v}").into_bytes()),
        "[ -~]{0,20}".prop_map(|v| format!("data:{v}").into_bytes()),
        Just(b"data".to_vec()),
        "[ -~]{0,8}".prop_map(|v| format!("id: {v}").into_bytes()),
        "[ -~]{0,8}".prop_map(|v| format!("event: {v}").into_bytes()),
        "[0-9]{0,8}".prop_map(|v| format!("retry: {v}").into_bytes()),
        "[ -~]{0,12}".prop_map(|v| format!(": {v}").into_bytes()),
        Just(Vec::new()),
        Just(Vec::new()),
        Just(b":".to_vec()),
        Just(b"dat a: x".to_vec()),
        Just(b"DATA: x".to_vec()),
        Just(b"\xef\xbb\xbfdata: bom".to_vec()),
        Just(b"data: \xc3".to_vec()),
        Just(b"data: \xff\xfe".to_vec()),
        Just(b"data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}".to_vec()),
        prop::collection::vec(any::<u8>(), 0..24),
    ]
}

fn line_end() -> impl Strategy<Value = &'static [u8]> {
    prop::sample::select(vec![&b"\n"[..], b"\r\n", b"\r"])
}

fn stream() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec((line(), line_end()), 0..24).prop_map(|lines| {
        let mut out = Vec::new();
        for (l, end) in lines {
            out.extend_from_slice(&l);
            out.extend_from_slice(end);
        }
        out
    })
}

/// Feeds `bytes` cut at `cuts` (positions modulo the length).
fn feed_in_chunks(bytes: &[u8], cuts: &[usize]) -> Result<Vec<Event>, String> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    at.push(0);
    at.push(bytes.len());
    at.sort_unstable();
    at.dedup();
    let mut p = Parser::default();
    let mut events = Vec::new();
    for w in at.windows(2) {
        events.extend(p.feed(&bytes[w[0]..w[1]])?);
    }
    Ok(events)
}

fn field() -> impl Strategy<Value = Option<String>> {
    prop::option::of("[^\r\n]{0,16}")
}

fn event() -> impl Strategy<Value = Event> {
    (field(), field(), field(), prop::option::of("[^\r]{0,32}"))
        .prop_filter("an event has a field", |(i, e, r, d)| {
            i.is_some() || e.is_some() || r.is_some() || d.is_some()
        })
        .prop_map(|(id, event, retry, data)| Event {
            id,
            event,
            retry,
            data,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// However the stream is cut, the same events come out.
    #[test]
    fn events_do_not_depend_on_chunking(
        bytes in prop_oneof![4 => stream(), 1 => prop::collection::vec(any::<u8>(), 0..512)],
        cuts in prop::collection::vec(any::<usize>(), 0..16),
    ) {
        let whole = Parser::default().feed(&bytes);
        let chunked = feed_in_chunks(&bytes, &cuts);
        prop_assert_eq!(&whole, &chunked);
        let bytewise: Vec<usize> = (0..bytes.len()).collect();
        prop_assert_eq!(whole, feed_in_chunks(&bytes, &bytewise));
    }

    /// What Warden writes, Warden reads back, in any chunks.
    #[test]
    fn encoded_events_parse_back(
        events in prop::collection::vec(event(), 0..6),
        cuts in prop::collection::vec(any::<usize>(), 0..16),
    ) {
        let bytes: Vec<u8> = events.iter().flat_map(Event::encode).collect();
        prop_assert_eq!(feed_in_chunks(&bytes, &cuts), Ok(events));
    }
}

/// Found while fuzzing: every `feed` scanned the whole unfinished line
/// again, so an event streamed in small chunks took time quadratic in its
/// size (a 4 MiB event in 1 KiB chunks: about 8 G byte comparisons). Each
/// byte is now scanned once.
#[test]
fn a_long_event_in_small_chunks_is_read_in_linear_time() -> Result<(), String> {
    let mut p = Parser::default();
    let chunk = vec![b'x'; 1024];
    let started = std::time::Instant::now();
    assert!(p.feed(b"data: ")?.is_empty());
    for _ in 0..4 * 1024 {
        assert!(p.feed(&chunk)?.is_empty());
    }
    let events = p.feed(b"\n\n")?;
    let elapsed = started.elapsed();
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].data.as_ref().map(String::len),
        Some(4 * 1024 * 1024)
    );
    // Linear: milliseconds, even unoptimised; quadratic: minutes.
    assert!(elapsed < std::time::Duration::from_secs(10), "{elapsed:?}");
    Ok(())
}
