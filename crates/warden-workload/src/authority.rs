//! Makes Unix-socket clients that send the socket path as `:authority`
//! acceptable to the HTTP/2 layer.
//!
//! gRPC C-core (Python's `grpcio` from 1.57, C++, Ruby) names a Unix socket
//! channel's authority after the percent-encoded socket path
//! (`%2Frun%2Fwarden%2Fworkload.sock`). That is no valid authority, and the
//! `h2` crate under tonic resets such a stream with `PROTOCOL_ERROR`, with no
//! option to relax it. So the bytes a client sends pass through
//! [`AuthorityFix`] first, which finds the `:authority` field in each header
//! block and overwrites an invalid literal value with as many `x`s.
//!
//! The rewrite keeps every length: the HPACK dynamic tables of client and
//! server stay in step without decoding or re-encoding anything, and later
//! references to the entry (C-core sends the authority once and indexes it
//! after) read the rewritten value. Only literal, non-Huffman values are
//! rewritten (what C-core sends); anything else, and any block that does not
//! parse, passes unchanged for h2 to judge. The server does not use the
//! authority.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::UnixStream;
use tonic::codegen::http::uri::Authority;
use tonic::transport::server::{Connected, UdsConnectInfo};

/// The client connection preface (RFC 9113, section 3.4).
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const FRAME_HEADER: usize = 9;
const HEADERS: u8 = 0x1;
const CONTINUATION: u8 = 0x9;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;
/// A header block held back longer than this is let through unexamined
/// (h2 refuses frames over 16 KiB, and header lists over 16 KiB, anyway).
const MAX_HELD: usize = 256 * 1024;

/// A client connection whose header blocks get a valid `:authority`.
pub(crate) struct AuthorityFix<S> {
    inner: S,
    /// Bytes read from the client and not yet handed on.
    held: Vec<u8>,
    /// How many bytes at the front of `held` are examined and may go.
    ready: usize,
    /// The preface has been seen.
    preface: bool,
    /// Stop examining: everything passes as it is.
    passthrough: bool,
    eof: bool,
}

impl<S> AuthorityFix<S> {
    pub(crate) fn new(inner: S) -> Self {
        Self {
            inner,
            held: Vec::new(),
            ready: 0,
            preface: false,
            passthrough: false,
            eof: false,
        }
    }

    /// Examines what has arrived: releases whole frames, rewriting header
    /// blocks once all their frames are in.
    fn examine(&mut self) {
        loop {
            if self.passthrough {
                self.ready = self.held.len();
                return;
            }
            let rest = self.held.get(self.ready..).unwrap_or_default();
            if !self.preface {
                if rest.len() < PREFACE.len() {
                    if !PREFACE.starts_with(rest) {
                        self.passthrough = true;
                        continue;
                    }
                    return;
                }
                self.preface = true;
                self.passthrough = !rest.starts_with(PREFACE);
                self.ready += PREFACE.len();
                continue;
            }
            match next_unit(rest) {
                Unit::Incomplete => {
                    if rest.len() > MAX_HELD {
                        self.passthrough = true;
                        continue;
                    }
                    return;
                }
                Unit::Invalid => self.passthrough = true,
                Unit::Frame(len) => self.ready += len,
                Unit::HeaderBlock { len, fragments } => {
                    let start = self.ready;
                    if let Some(unit) = self.held.get_mut(start..start + len) {
                        fix_block(unit, &fragments);
                    }
                    self.ready += len;
                }
            }
        }
    }
}

/// What comes next in the client's frames.
enum Unit {
    /// Not all of it has arrived.
    Incomplete,
    /// Not HTTP/2 as expected: stop examining.
    Invalid,
    /// A frame of this many bytes that is not part of a header block.
    Frame(usize),
    /// A HEADERS frame and its CONTINUATIONs, `len` bytes in all; the block
    /// is the concatenation of the `fragments` (ranges within the unit).
    HeaderBlock {
        len: usize,
        fragments: Vec<(usize, usize)>,
    },
}

fn next_unit(bytes: &[u8]) -> Unit {
    let Some((kind, flags, payload)) = frame_at(bytes, 0) else {
        return Unit::Incomplete;
    };
    if kind != HEADERS {
        let len = FRAME_HEADER + payload;
        return if bytes.len() < len {
            Unit::Incomplete
        } else {
            Unit::Frame(len)
        };
    }
    let mut fragments = Vec::new();
    let mut offset = 0;
    let mut kind = kind;
    let mut flags = flags;
    let mut payload = payload;
    loop {
        let start = offset + FRAME_HEADER;
        let end = start + payload;
        if bytes.len() < end {
            return Unit::Incomplete;
        }
        let fragment = if kind == HEADERS {
            let mut from = start;
            let mut to = end;
            if flags & PADDED != 0 {
                let Some(&pad) = bytes.get(from) else {
                    return Unit::Invalid;
                };
                from += 1;
                to = match to.checked_sub(usize::from(pad)) {
                    Some(to) => to,
                    None => return Unit::Invalid,
                };
            }
            if flags & PRIORITY != 0 {
                from += 5;
            }
            if from > to {
                return Unit::Invalid;
            }
            (from, to)
        } else {
            (start, end)
        };
        fragments.push(fragment);
        if flags & END_HEADERS != 0 {
            return Unit::HeaderBlock {
                len: end,
                fragments,
            };
        }
        offset = end;
        match frame_at(bytes, offset) {
            None => return Unit::Incomplete,
            Some((CONTINUATION, next_flags, next_payload)) => {
                kind = CONTINUATION;
                flags = next_flags;
                payload = next_payload;
            }
            Some(_) => return Unit::Invalid,
        }
    }
}

/// The type, flags and payload length of the frame at `offset`, once its
/// header has arrived.
fn frame_at(bytes: &[u8], offset: usize) -> Option<(u8, u8, usize)> {
    let header = bytes.get(offset..offset + FRAME_HEADER)?;
    let len = usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
    Some((header[3], header[4], len))
}

/// Rewrites the `:authority` of the header block spread over `fragments` of
/// `unit`, in place.
fn fix_block(unit: &mut [u8], fragments: &[(usize, usize)]) {
    let mut block = Vec::new();
    for &(from, to) in fragments {
        match unit.get(from..to) {
            Some(fragment) => block.extend_from_slice(fragment),
            None => return,
        }
    }
    if !fix_authority(&mut block) {
        return;
    }
    let mut taken = 0;
    for &(from, to) in fragments {
        let len = to - from;
        if let (Some(target), Some(source)) =
            (unit.get_mut(from..to), block.get(taken..taken + len))
        {
            target.copy_from_slice(source);
        }
        taken += len;
    }
}

/// Overwrites an invalid literal `:authority` value in the HPACK `block`
/// with `x`s of the same length; whether it did.
fn fix_authority(block: &mut [u8]) -> bool {
    let mut at = 0;
    let mut fixed = false;
    while let Some(&first) = block.get(at) {
        if first & 0x80 != 0 {
            // Indexed field.
            let Some((_, next)) = integer(block, at, 7) else {
                return fixed;
            };
            at = next;
            continue;
        }
        if first & 0xe0 == 0x20 {
            // Dynamic table size update.
            let Some((_, next)) = integer(block, at, 5) else {
                return fixed;
            };
            at = next;
            continue;
        }
        // A literal: with incremental indexing (01), without (0000) or never (0001).
        let prefix = if first & 0xc0 == 0x40 { 6 } else { 4 };
        let Some((name_index, next)) = integer(block, at, prefix) else {
            return fixed;
        };
        at = next;
        let is_authority = if name_index == 0 {
            let Some((huffman, from, to)) = string(block, at) else {
                return fixed;
            };
            at = to;
            !huffman && block.get(from..to) == Some(b":authority".as_slice())
        } else {
            // Static table entry 1 is `:authority`.
            name_index == 1
        };
        let Some((huffman, from, to)) = string(block, at) else {
            return fixed;
        };
        at = to;
        if is_authority
            && !huffman
            && let Some(value) = block.get_mut(from..to)
            && !value.is_empty()
            && Authority::try_from(&*value).is_err()
        {
            value.fill(b'x');
            fixed = true;
        }
    }
    fixed
}

/// An HPACK integer with an `prefix`-bit prefix at `at`: its value and the
/// offset after it.
fn integer(block: &[u8], at: usize, prefix: u32) -> Option<(usize, usize)> {
    let max = (1usize << prefix) - 1;
    let first = usize::from(*block.get(at)?) & max;
    if first < max {
        return Some((first, at + 1));
    }
    let mut value = max;
    let mut shift = 0u32;
    let mut at = at + 1;
    loop {
        let byte = *block.get(at)?;
        at += 1;
        // Four continuation bytes reach 2^28: far beyond any block.
        if shift > 21 {
            return None;
        }
        value += usize::from(byte & 0x7f) << shift;
        shift += 7;
        if byte & 0x80 == 0 {
            return Some((value, at));
        }
    }
}

/// An HPACK string at `at`: whether Huffman-coded, and its bytes' range.
fn string(block: &[u8], at: usize) -> Option<(bool, usize, usize)> {
    let huffman = block.get(at)? & 0x80 != 0;
    let (len, from) = integer(block, at, 7)?;
    let to = from.checked_add(len)?;
    (to <= block.len()).then_some((huffman, from, to))
}

impl<S: AsyncRead + Unpin> AsyncRead for AuthorityFix<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.ready > 0 {
                let n = this.ready.min(buf.remaining()).min(this.held.len());
                buf.put_slice(this.held.get(..n).unwrap_or_default());
                this.held.drain(..n);
                this.ready -= n;
                if n == 0 {
                    // No room in `buf` (or nothing held): nothing to do.
                    this.ready = this.ready.min(this.held.len());
                }
                return Poll::Ready(Ok(()));
            }
            if this.eof {
                // A partial frame at the end goes as it is.
                this.ready = this.held.len();
                if this.ready == 0 {
                    return Poll::Ready(Ok(()));
                }
                continue;
            }
            let mut chunk = [0u8; 8192];
            let mut read = ReadBuf::new(&mut chunk);
            match Pin::new(&mut this.inner).poll_read(cx, &mut read) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Ready(Ok(())) => {
                    let filled = read.filled();
                    if filled.is_empty() {
                        this.eof = true;
                    } else {
                        this.held.extend_from_slice(filled);
                        this.examine();
                    }
                }
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for AuthorityFix<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

impl Connected for AuthorityFix<UnixStream> {
    type ConnectInfo = UdsConnectInfo;

    fn connect_info(&self) -> UdsConnectInfo {
        self.inner.connect_info()
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    fn frame(kind: u8, flags: u8, payload: &[u8]) -> Vec<u8> {
        let len = payload.len();
        let mut out = vec![
            (len >> 16) as u8,
            (len >> 8) as u8,
            len as u8,
            kind,
            flags,
            0,
            0,
            0,
            1,
        ];
        out.extend_from_slice(payload);
        out
    }

    /// `:method: POST` (indexed), then `:authority` as C-core sends it:
    /// literal with incremental indexing, literal name, raw value.
    fn c_core_block(authority: &[u8]) -> Vec<u8> {
        let mut block = vec![0x83, 0x40, 10];
        block.extend_from_slice(b":authority");
        block.push(authority.len() as u8);
        block.extend_from_slice(authority);
        block.push(0xbe); // indexed: the dynamic entry just added
        block
    }

    async fn through_fix(input: Vec<u8>, chunk: usize) -> Vec<u8> {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let writer = tokio::spawn(async move {
            for piece in input.chunks(chunk) {
                client.write_all(piece).await.unwrap();
                tokio::task::yield_now().await;
            }
        });
        let mut fixed = AuthorityFix::new(server);
        let mut out = Vec::new();
        fixed.read_to_end(&mut out).await.unwrap();
        writer.await.unwrap();
        out
    }

    #[tokio::test]
    async fn an_encoded_socket_path_becomes_xs_of_the_same_length() {
        let path = b"%2Frun%2Fwarden%2Fworkload.sock";
        let mut input = PREFACE.to_vec();
        input.extend(frame(0x4, 0, &[])); // SETTINGS
        input.extend(frame(HEADERS, END_HEADERS, &c_core_block(path)));
        input.extend(frame(0x0, 0x1, b"data"));
        let mut expected = PREFACE.to_vec();
        expected.extend(frame(0x4, 0, &[]));
        expected.extend(frame(
            HEADERS,
            END_HEADERS,
            &c_core_block(&vec![b'x'; path.len()]),
        ));
        expected.extend(frame(0x0, 0x1, b"data"));
        for chunk in [1, 7, 4096] {
            assert_eq!(
                through_fix(input.clone(), chunk).await,
                expected,
                "chunk {chunk}"
            );
        }
    }

    #[tokio::test]
    async fn a_block_split_over_continuations_and_padded_is_fixed() {
        let block = c_core_block(b"%2Fs.sock");
        let (first, second) = block.split_at(8);
        let mut headers_payload = vec![2u8]; // pad length
        headers_payload.extend_from_slice(first);
        headers_payload.extend_from_slice(&[0, 0]);
        let mut input = PREFACE.to_vec();
        input.extend(frame(HEADERS, PADDED, &headers_payload));
        input.extend(frame(CONTINUATION, END_HEADERS, second));
        let out = through_fix(input, 3).await;
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("xxxxxxxxx"), "{out:?}");
        assert!(!text.contains("%2F"), "{out:?}");
    }

    #[test]
    fn valid_huffman_and_indexed_authorities_are_left_alone() {
        for block in [
            c_core_block(b"localhost"),
            // Static name index 1, Huffman flag set on the value.
            vec![0x41, 0x83, 0xaa, 0xbb, 0xcc],
            // Only indexed fields.
            vec![0x82, 0x86, 0x84],
        ] {
            let mut copy = block.clone();
            assert!(!fix_authority(&mut copy));
            assert_eq!(copy, block);
        }
        let mut indexed_name = vec![0x01, 3, b'%', b'2', b'F'];
        assert!(fix_authority(&mut indexed_name));
        assert_eq!(indexed_name, [0x01, 3, b'x', b'x', b'x']);
    }

    #[test]
    fn malformed_input_neither_panics_nor_loops() {
        for bytes in [
            vec![0x40],
            vec![0x40, 0x7f],
            vec![0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            vec![0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            vec![0x41, 0x7f, 0x80],
        ] {
            let mut copy = bytes.clone();
            fix_authority(&mut copy);
        }
        assert!(matches!(
            next_unit(&[0, 0, 1, HEADERS, PADDED, 0, 0, 0, 1, 5]),
            Unit::Invalid
        ));
        assert!(matches!(
            next_unit(&[0, 0, 0, HEADERS, 0, 0, 0, 0, 1, 0, 0]),
            Unit::Incomplete
        ));
    }

    #[tokio::test]
    async fn something_that_is_not_http2_passes_unchanged() {
        let input = b"GET / HTTP/1.1\r\nHost: %2F\r\n\r\n".to_vec();
        assert_eq!(through_fix(input.clone(), 5).await, input);
    }
}
