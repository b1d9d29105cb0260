#!/usr/bin/env python3
"""A faithful fake of the OpenAI and Anthropic HTTP APIs, for Warden's LLM proxy tests.

Standard library only. One server answers both providers' paths:

  POST /v1/chat/completions   OpenAI Chat Completions (JSON, or SSE `data: {chunk}` lines
                              ending with `data: [DONE]`; `stream_options.include_usage`
                              adds the final usage chunk; tool calls in deltas)
  POST /v1/responses          OpenAI Responses (JSON, or typed SSE events:
                              response.created ... response.completed with usage)
  POST /v1/messages           Anthropic Messages (JSON, or the SSE sequence message_start,
                              content_block_start/delta/stop, message_delta, message_stop)
  GET  /v1/models             either provider's model list (Anthropic's when the request
                              carries `x-api-key` or `anthropic-version`)
  GET  /_fake/log             what the fake saw, as JSON (below)
  POST /_fake/reset           forgets the log

Authentication is each provider's own: OpenAI `Authorization: Bearer <key>`, Anthropic
`x-api-key: <key>` or `Authorization: Bearer <key>` (the anthropic SDK 2.x sends the latter),
and an `anthropic-version` header. A key that is not one of the configured keys gets the
provider's 401 error.

Behaviour is driven by the request, so a test needs no side channel:
  - a model whose name contains `error-429` / `error-500` gets the provider's 429 / 500 error
    (OpenAI: {"error": {...}}; Anthropic: {"type": "error", "error": {...}});
  - a last user message containing "call a tool" makes the model propose a tool call; the
    name follows "named" ("please call a tool named delete_everything"), else `lookup_customer`;
  - a model whose name contains `slow-stream` streams chunks 100 ms apart (`slow-stream-long`:
    60 chunks, six seconds), so a test can see chunks arrive spaced and leave mid-stream.

The answer's text never repeats the prompt (a reply that echoed a prompt's card number or
address would taint the session in Warden and muddle the tests). Usage is fixed per request
(USAGE below), so token budgets can be reasoned about.

The log (GET /_fake/log) holds one entry per request: method, path, the headers of
interest (authorization, x-api-key, anthropic-version, x-warden-session, content-type), the
body as received (JSON, or text), the status answered, whether it streamed, the text and tool
call it sent, chunks sent, `jwt_seen` (anything shaped like a JWT in a header or the body),
`cut` (the client went away mid-stream: a write failed or the socket was closed), and times
(`started`, `ended`, `cut_at`: unix seconds, float).

Usage: fake_upstream.py --port PORT --openai-key KEY [--openai-key KEY2] --anthropic-key KEY
"""
from __future__ import annotations

import argparse
import json
import re
import select
import socket
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Fixed usage per request, whatever the prompt (prompt/input tokens, completion/output tokens).
USAGE = (25, 10)
OPENAI_TEXT = "Hello from the fake OpenAI upstream, streamed word by word."
RESPONSES_TEXT = "Hello from the fake Responses API, streamed word by word."
ANTHROPIC_TEXT = "Hello from the fake Anthropic upstream, streamed word by word."
SLOW_CHUNKS = 10
SLOW_LONG_CHUNKS = 60
SLOW_GAP = 0.1
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+")
TOOL_NAME = re.compile(r"call a tool named\s+`?([A-Za-z0-9_.-]+)")


class Log:
    """The requests seen, in order; entries are dicts mutated while their stream runs."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: list[dict] = []

    def add(self, entry: dict) -> dict:
        with self.lock:
            entry["seq"] = len(self.entries)
            self.entries.append(entry)
        return entry

    def snapshot(self) -> list[dict]:
        with self.lock:
            return json.loads(json.dumps(self.entries))

    def reset(self) -> None:
        with self.lock:
            self.entries.clear()


class ClientGone(Exception):
    """The peer closed the connection (or reset it) while we were answering."""


def words(text: str) -> list[str]:
    """Splits text into chunks that concatenate back to it ("Hello", " from", ...)."""
    parts = re.findall(r"\s*\S+", text)
    return parts or [text]


def pieces(text: str, n: int) -> list[str]:
    """Splits text into about n pieces that concatenate back to it."""
    size = max(1, -(-len(text) // n))
    return [text[i : i + size] for i in range(0, len(text), size)]


def new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:24]


def text_of(content) -> str:
    """The text of a message's content: a string, or a list of parts with `text`."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for part in content:
            if isinstance(part, dict):
                if isinstance(part.get("text"), str):
                    out.append(part["text"])
                elif isinstance(part.get("content"), (str, list)):
                    out.append(text_of(part["content"]))
        return "\n".join(out)
    return ""


def last_user_text(body: dict) -> str:
    """The last user message's text, for Chat Completions, Responses and Messages."""
    if isinstance(body.get("input"), str):
        return body["input"]
    messages = body.get("messages") if "messages" in body else body.get("input")
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return text_of(message.get("content"))
    return ""


def proposed_tool(body: dict) -> str | None:
    text = last_user_text(body)
    if "call a tool" not in text:
        return None
    m = TOOL_NAME.search(text)
    return m.group(1) if m else "lookup_customer"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-llm-upstream/1"
    sys_version = ""

    # --- plumbing

    def log_message(self, fmt, *args) -> None:  # quiet; the log endpoint tells
        if self.server.verbose:
            sys.stderr.write("fake upstream: " + (fmt % args) + "\n")

    def read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send_json(self, status: int, payload, extra: dict | None = None) -> None:
        data = json.dumps(payload, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()
        self.entry["status"] = status

    def start_stream(self, extra: dict | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.flush()
        self.entry["status"] = 200
        self.entry["stream"] = True

    def peer_closed(self) -> bool:
        """Whether the peer closed its side (EOF or reset) — checked between chunks."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def mark_cut(self) -> None:
        if not self.entry.get("cut"):
            self.entry["cut"] = True
            self.entry["cut_at"] = time.time()
        self.close_connection = True

    def write_chunk(self, data: bytes, gap: float = 0.0) -> None:
        """Writes one HTTP chunk (after `gap` seconds, watching for the peer leaving)."""
        if gap:
            deadline = time.monotonic() + gap
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                if self.peer_closed():
                    self.mark_cut()
                    raise ClientGone()
                time.sleep(min(left, 0.02))
        if self.peer_closed():
            self.mark_cut()
            raise ClientGone()
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        except OSError as err:
            self.mark_cut()
            raise ClientGone() from err
        self.entry["chunks_sent"] = self.entry.get("chunks_sent", 0) + 1

    def sse(self, payload, event: str | None = None, gap: float = 0.0) -> None:
        data = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
        frame = (f"event: {event}\n" if event else "") + f"data: {data}\n\n"
        self.write_chunk(frame.encode(), gap)

    def end_stream(self) -> None:
        try:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            self.mark_cut()
            return
        self.entry["finished"] = True

    # --- dispatch

    def do_GET(self) -> None:
        self.handle_request("GET")

    def do_POST(self) -> None:
        self.handle_request("POST")

    def handle_request(self, method: str) -> None:
        raw = self.read_body() if method == "POST" else b""
        path = self.path.split("?", 1)[0]
        if path == "/_fake/log":
            self.entry = {}
            self.send_json(200, self.server.log.snapshot())
            return
        if path == "/_fake/reset":
            self.server.log.reset()
            self.entry = {}
            self.send_json(200, {"ok": True})
            return
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        headers = {
            k: self.headers.get(k)
            for k in ("authorization", "x-api-key", "anthropic-version", "x-warden-session", "content-type")
            if self.headers.get(k) is not None
        }
        everything = " ".join(f"{k}: {v}" for k, v in self.headers.items()) + " " + raw.decode("utf-8", "replace")
        self.entry = self.server.log.add(
            {
                "method": method,
                "path": path,
                "headers": headers,
                "body": body,
                "status": None,
                "stream": False,
                "chunks_sent": 0,
                "finished": False,
                "cut": False,
                "cut_at": None,
                "jwt_seen": bool(JWT.search(everything)),
                "started": time.time(),
                "ended": None,
            }
        )
        try:
            self.route(method, path, body)
        except ClientGone:
            pass
        except (BrokenPipeError, ConnectionResetError):
            self.mark_cut()
        finally:
            self.entry["ended"] = time.time()

    def route(self, method: str, path: str, body) -> None:
        anthropic = path == "/v1/messages" or (
            path.startswith("/v1/models") and ("x-api-key" in self.headers or "anthropic-version" in self.headers)
        )
        if anthropic:
            self.entry["provider"] = "anthropic"
            if not self.anthropic_authenticated():
                return
        else:
            self.entry["provider"] = "openai"
            if not self.openai_authenticated():
                return
        if method == "GET" and path == "/v1/models":
            return self.list_models(anthropic)
        if method == "GET" and path.startswith("/v1/models/"):
            return self.one_model(anthropic, path[len("/v1/models/") :])
        if method == "POST" and path == "/v1/chat/completions":
            return self.chat_completions(body)
        if method == "POST" and path == "/v1/responses":
            return self.openai_responses(body)
        if method == "POST" and path == "/v1/messages":
            return self.anthropic_messages(body)
        if anthropic:
            return self.anthropic_error(404, "not_found_error", f"{method} {path} not found")
        return self.openai_error(404, f"Invalid URL ({method} {path})", "invalid_request_error", None)

    # --- errors, each provider's shape

    def openai_error(self, status: int, message: str, kind: str, code, param=None) -> None:
        self.send_json(
            status,
            {"error": {"message": message, "type": kind, "param": param, "code": code}},
            {"x-request-id": new_id("req_")},
        )

    def anthropic_error(self, status: int, kind: str, message: str) -> None:
        rid = new_id("req_")
        self.send_json(
            status,
            {"type": "error", "error": {"type": kind, "message": message}, "request_id": rid},
            {"request-id": rid},
        )

    def openai_authenticated(self) -> bool:
        auth = self.headers.get("Authorization", "")
        key = auth[len("Bearer ") :] if auth.startswith("Bearer ") else ""
        if key in self.server.openai_keys:
            return True
        shown = (key[:3] + "*" * 4 + key[-4:]) if len(key) > 8 else "<none>"
        if not key:
            self.openai_error(
                401,
                "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                "invalid_request_error",
                None,
            )
        else:
            self.openai_error(
                401,
                f"Incorrect API key provided: {shown}. You can find your API key at https://platform.openai.com/account/api-keys.",
                "invalid_request_error",
                "invalid_api_key",
            )
        return False

    def anthropic_authenticated(self) -> bool:
        # The API takes the key as `x-api-key` (the documented header) or, as the current
        # Python SDK sends it, `Authorization: Bearer <key>`.
        key = self.headers.get("x-api-key")
        if key is None:
            auth = self.headers.get("Authorization", "")
            key = auth[len("Bearer ") :] if auth.startswith("Bearer ") else ""
        self.entry["anthropic_key_via"] = "x-api-key" if "x-api-key" in self.headers else "authorization"
        if key not in self.server.anthropic_keys:
            self.anthropic_error(401, "authentication_error", "invalid x-api-key")
            return False
        if not self.headers.get("anthropic-version"):
            self.anthropic_error(400, "invalid_request_error", "anthropic-version: header is required")
            return False
        return True

    def upstream_failure(self, model: str, anthropic: bool) -> bool:
        """Answers the provider's 429 or 500 for the `error-*` models."""
        if "error-429" in model:
            self.entry["failure"] = 429
            if anthropic:
                self.anthropic_error(429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit")
            else:
                self.openai_error(
                    429,
                    f"Rate limit reached for {model} in organization org-fake on requests per min (RPM): Limit 3, Used 3, Requested 1.",
                    "requests",
                    "rate_limit_exceeded",
                )
            return True
        if "error-500" in model:
            self.entry["failure"] = 500
            if anthropic:
                self.anthropic_error(500, "api_error", "Internal server error")
            else:
                self.openai_error(
                    500,
                    "The server had an error while processing your request. Sorry about that!",
                    "server_error",
                    None,
                )
            return True
        return False

    # --- models

    def list_models(self, anthropic: bool) -> None:
        if anthropic:
            data = [
                {"type": "model", "id": m, "display_name": m, "created_at": "2025-09-29T00:00:00Z",
                 "lifecycle": "active", "max_input_tokens": 200000, "max_tokens": 64000}
                for m in ("claude-sonnet-4-5", "claude-haiku-4-5")
            ]
            self.send_json(200, {"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]})
        else:
            data = [
                {"id": m, "object": "model", "created": 1715367049, "owned_by": "system"}
                for m in ("gpt-4o-mini", "gpt-4o")
            ]
            self.send_json(200, {"object": "list", "data": data})

    def one_model(self, anthropic: bool, name: str) -> None:
        if anthropic:
            self.send_json(200, {"type": "model", "id": name, "display_name": name, "created_at": "2025-09-29T00:00:00Z",
                                 "lifecycle": "active", "max_input_tokens": 200000, "max_tokens": 64000})
        else:
            self.send_json(200, {"id": name, "object": "model", "created": 1715367049, "owned_by": "system"})

    # --- OpenAI Chat Completions

    def chat_completions(self, body) -> None:
        if not isinstance(body, dict):
            return self.openai_error(400, "We could not parse the JSON body of your request.", "invalid_request_error", None)
        model = body.get("model")
        if not isinstance(model, str):
            return self.openai_error(400, "you must provide a model parameter", "invalid_request_error", None)
        if not isinstance(body.get("messages"), list):
            return self.openai_error(400, "Missing required parameter: 'messages'.", "invalid_request_error", "missing_required_parameter", "messages")
        if self.upstream_failure(model, anthropic=False):
            return
        tool = proposed_tool(body)
        cid, created = new_id("chatcmpl-"), int(time.time())
        prompt, completion = USAGE
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }
        call_id, arguments = new_id("call_"), json.dumps({"id": "c-42"})
        gap, n = self.pacing(model)
        parts = self.text_parts(OPENAI_TEXT, n) if body.get("stream") else [OPENAI_TEXT]
        self.entry["sent_text"] = None if tool else "".join(parts)
        self.entry["sent_tool"] = tool
        if not body.get("stream"):
            if tool:
                message = {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [{"id": call_id, "type": "function", "function": {"name": tool, "arguments": arguments}}],
                    "refusal": None,
                    "annotations": [],
                }
            else:
                message = {"role": "assistant", "content": OPENAI_TEXT, "refusal": None, "annotations": []}
            return self.send_json(
                200,
                {
                    "id": cid,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [
                        {"index": 0, "message": message, "logprobs": None, "finish_reason": "tool_calls" if tool else "stop"}
                    ],
                    "usage": usage,
                    "service_tier": "default",
                    "system_fingerprint": "fp_fake0001",
                },
                {"x-request-id": new_id("req_"), "openai-processing-ms": "12"},
            )
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def chunk(delta: dict, finish=None) -> dict:
            c = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "service_tier": "default",
                "system_fingerprint": "fp_fake0001",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            }
            if include_usage:
                c["usage"] = None
            return c

        self.start_stream({"x-request-id": new_id("req_")})
        if tool:
            self.sse(chunk({
                "role": "assistant",
                "content": None,
                "tool_calls": [{"index": 0, "id": call_id, "type": "function", "function": {"name": tool, "arguments": ""}}],
                "refusal": None,
            }))
            for part in pieces(arguments, 3):
                self.sse(chunk({"tool_calls": [{"index": 0, "function": {"arguments": part}}]}), gap=gap)
            self.sse(chunk({}, "tool_calls"), gap=gap)
        else:
            self.sse(chunk({"role": "assistant", "content": "", "refusal": None}))
            for part in parts:
                self.sse(chunk({"content": part}), gap=gap)
            self.sse(chunk({}, "stop"), gap=gap)
        if include_usage:
            final = chunk({})
            final["choices"] = []
            final["usage"] = usage
            self.sse(final)
        self.sse("[DONE]")
        self.end_stream()

    def pacing(self, model: str) -> tuple[float, int]:
        """(gap between chunks, number of text chunks) for a model name."""
        if "slow-stream-long" in model:
            return SLOW_GAP, SLOW_LONG_CHUNKS
        if "slow-stream" in model:
            return SLOW_GAP, SLOW_CHUNKS
        return 0.0, 0

    @staticmethod
    def text_parts(text: str, n: int) -> list[str]:
        """The chunks of a streamed text: its words, or exactly n words (the text's words
        repeated) for the slow models."""
        parts = words(text)
        if not n:
            return parts
        return [parts[i % len(parts)] if i % len(parts) or not i else " " + parts[0].lstrip() for i in range(n)]

    # --- OpenAI Responses

    def openai_responses(self, body) -> None:
        if not isinstance(body, dict):
            return self.openai_error(400, "We could not parse the JSON body of your request.", "invalid_request_error", None)
        model = body.get("model")
        if not isinstance(model, str):
            return self.openai_error(400, "Missing required parameter: 'model'.", "invalid_request_error", "missing_required_parameter", "model")
        if self.upstream_failure(model, anthropic=False):
            return
        tool = proposed_tool(body)
        gap, n = self.pacing(model)
        rid, created = new_id("resp_"), time.time()
        prompt, completion = USAGE
        usage = {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt + completion,
        }
        item_id = new_id("fc_" if tool else "msg_")
        call_id, arguments = new_id("call_"), json.dumps({"id": "c-42"})
        text = "" if tool else "".join(self.text_parts(RESPONSES_TEXT, n))
        self.entry["sent_text"] = None if tool else text
        self.entry["sent_tool"] = tool
        if tool:
            done_item = {"type": "function_call", "id": item_id, "call_id": call_id, "name": tool, "arguments": arguments, "status": "completed"}
        else:
            done_item = {
                "type": "message",
                "id": item_id,
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
            }

        def response(status: str, output: list, usage_or_none) -> dict:
            return {
                "id": rid,
                "object": "response",
                "created_at": int(created),
                "status": status,
                "background": False,
                "error": None,
                "incomplete_details": None,
                "instructions": body.get("instructions"),
                "max_output_tokens": body.get("max_output_tokens"),
                "max_tool_calls": None,
                "model": model,
                "output": output,
                "parallel_tool_calls": True,
                "previous_response_id": body.get("previous_response_id"),
                "reasoning": {"effort": None, "summary": None},
                "service_tier": "default",
                "store": True,
                "temperature": 1.0,
                "text": {"format": {"type": "text"}, "verbosity": "medium"},
                "tool_choice": "auto",
                "tools": body.get("tools") or [],
                "top_p": 1.0,
                "truncation": "disabled",
                "usage": usage_or_none,
                "user": None,
                "metadata": {},
            }

        if not body.get("stream"):
            return self.send_json(200, response("completed", [done_item], usage), {"x-request-id": new_id("req_")})

        seq = 0

        def event(kind: str, payload: dict, gap_: float = 0.0) -> None:
            nonlocal seq
            self.sse({"type": kind, **payload, "sequence_number": seq}, event=kind, gap=gap_)
            seq += 1

        self.start_stream({"x-request-id": new_id("req_")})
        event("response.created", {"response": response("in_progress", [], None)})
        event("response.in_progress", {"response": response("in_progress", [], None)})
        if tool:
            event("response.output_item.added", {
                "output_index": 0,
                "item": {**done_item, "arguments": "", "status": "in_progress"},
            })
            for part in pieces(arguments, 3):
                event("response.function_call_arguments.delta", {"item_id": item_id, "output_index": 0, "delta": part}, gap)
            event("response.function_call_arguments.done", {"item_id": item_id, "output_index": 0, "name": tool, "arguments": arguments})
        else:
            event("response.output_item.added", {
                "output_index": 0,
                "item": {"type": "message", "id": item_id, "status": "in_progress", "role": "assistant", "content": []},
            })
            event("response.content_part.added", {
                "item_id": item_id, "output_index": 0, "content_index": 0,
                "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []},
            })
            for part in self.text_parts(RESPONSES_TEXT, n):
                event("response.output_text.delta", {
                    "item_id": item_id, "output_index": 0, "content_index": 0, "delta": part, "logprobs": [],
                }, gap)
            event("response.output_text.done", {
                "item_id": item_id, "output_index": 0, "content_index": 0, "text": text, "logprobs": [],
            })
            event("response.content_part.done", {
                "item_id": item_id, "output_index": 0, "content_index": 0,
                "part": {"type": "output_text", "text": text, "annotations": [], "logprobs": []},
            })
        event("response.output_item.done", {"output_index": 0, "item": done_item})
        event("response.completed", {"response": response("completed", [done_item], usage)})
        self.end_stream()

    # --- Anthropic Messages

    def anthropic_messages(self, body) -> None:
        if not isinstance(body, dict):
            return self.anthropic_error(400, "invalid_request_error", "invalid JSON body")
        for field in ("model", "max_tokens", "messages"):
            if field not in body:
                return self.anthropic_error(400, "invalid_request_error", f"{field}: Field required")
        model = body["model"]
        if not isinstance(model, str):
            return self.anthropic_error(400, "invalid_request_error", "model: Input should be a valid string")
        if self.upstream_failure(model, anthropic=True):
            return
        tool = proposed_tool(body)
        gap, n = self.pacing(model)
        mid = new_id("msg_")
        prompt, completion = USAGE
        tool_id, tool_input = new_id("toolu_"), {"id": "c-42"}
        lead = "I'll look that up." if tool else ANTHROPIC_TEXT
        parts = self.text_parts(lead, n) if body.get("stream") else [lead]
        lead = "".join(parts)
        self.entry["sent_text"] = lead
        self.entry["sent_tool"] = tool
        content = [{"type": "text", "text": lead}]
        if tool:
            content.append({"type": "tool_use", "id": tool_id, "name": tool, "input": tool_input})
        stop = "tool_use" if tool else "end_turn"
        usage = {
            "input_tokens": prompt,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": completion,
            "service_tier": "standard",
        }
        if not body.get("stream"):
            return self.send_json(
                200,
                {
                    "id": mid,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": content,
                    "stop_reason": stop,
                    "stop_sequence": None,
                    "usage": usage,
                },
                {"request-id": new_id("req_")},
            )
        self.start_stream({"request-id": new_id("req_")})
        self.sse({
            "type": "message_start",
            "message": {
                "id": mid, "type": "message", "role": "assistant", "model": model, "content": [],
                "stop_reason": None, "stop_sequence": None,
                "usage": {**usage, "output_tokens": 1},
            },
        }, event="message_start")
        self.sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}, event="content_block_start")
        self.sse({"type": "ping"}, event="ping")
        for part in parts:
            self.sse({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": part}},
                     event="content_block_delta", gap=gap)
        self.sse({"type": "content_block_stop", "index": 0}, event="content_block_stop")
        if tool:
            self.sse({"type": "content_block_start", "index": 1,
                      "content_block": {"type": "tool_use", "id": tool_id, "name": tool, "input": {}}},
                     event="content_block_start")
            for part in pieces(json.dumps(tool_input), 3):
                self.sse({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": part}},
                         event="content_block_delta", gap=gap)
            self.sse({"type": "content_block_stop", "index": 1}, event="content_block_stop")
        self.sse({
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": {"output_tokens": completion},
        }, event="message_delta")
        self.sse({"type": "message_stop"}, event="message_stop")
        self.end_stream()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--openai-key", action="append", default=[], help="an accepted OpenAI key (repeatable)")
    parser.add_argument("--anthropic-key", action="append", default=[], help="an accepted Anthropic key (repeatable)")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    if not args.openai_key or not args.anthropic_key:
        parser.error("give at least one --openai-key and one --anthropic-key")
    server = Server((args.host, args.port), Handler)
    server.log = Log()
    server.openai_keys = set(args.openai_key)
    server.anthropic_keys = set(args.anthropic_key)
    server.verbose = args.verbose
    host, port = server.server_address[:2]
    print(f"fake upstream listening on http://{host}:{port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
