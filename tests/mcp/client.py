#!/usr/bin/env python3
"""Scripted MCP client for Warden's integration tests, built on the official Python SDK (`mcp`).

Usage:
    client.py [OPTIONS] stdio [--cwd DIR] [--env K=V]... -- CMD ARGS...
    client.py [OPTIONS] http URL [--token TOKEN] [--header K=V]...
                              [--cert PEM --key PEM] [--cacert PEM]

OPTIONS (before the transport word):
    --mode auto|legacy|2026-07-28   connect mode (default: auto, the SDK default: probe
                                    `server/discover`, fall back to `initialize` on any JSON-RPC error)
    --timeout SECS                  default per-step timeout (default 20)
    --root URI_OR_PATH              root returned by the roots callback (repeatable; default one
                                    root, file:///warden-test-client-root, which does not exist so
                                    server-filesystem ignores it and keeps its CLI directories)
    --no-roots / --no-sampling / --no-elicitation   do not advertise that client capability

Over https, `--cert`/`--key` present a client certificate (an X.509-SVID from
`warden agent cert`) and `--cacert` names the CA file the server is verified with.

Reads a JSON array of steps on stdin, runs them in order in one session, and writes one JSON
line per step to stdout (preceded by an "initialize" line). See README.md for the step format.
Exit codes: 0 after all steps ran (even if some failed), 2 bad usage/input, 3 connect/initialize failed.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import logging
import os
import sys
import threading
import traceback
import warnings
from pathlib import Path
from typing import Any

import anyio

warnings.simplefilter("ignore")  # the SDK marks ping/roots/etc. deprecated for 2026-07-28; noise here

import mcp_types as types  # noqa: E402
from mcp import Client, StdioServerParameters  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402
from mcp.shared._httpx_utils import create_mcp_http_client  # noqa: E402
from mcp.shared.exceptions import MCPError  # noqa: E402

SAMPLED_TEXT = "sampled-by-test-client"
DEFAULT_ROOT = "file:///warden-test-client-root"


def out(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def dump(model: Any) -> Any:
    if model is None:
        return None
    if hasattr(model, "model_dump"):
        return model.model_dump(by_alias=True, mode="json", exclude_none=True)
    return model


def exc_text(e: BaseException) -> str:
    # Unwrap single-exception groups (anyio task groups) so the message is useful.
    while isinstance(e, BaseExceptionGroup) and len(e.exceptions) == 1:
        e = e.exceptions[0]
    msg = str(e)
    if isinstance(e, BaseExceptionGroup):
        msg = "; ".join(exc_text(x) for x in e.exceptions)
    return f"{type(e).__name__}: {msg}"


def find_mcp_error(e: BaseException) -> MCPError | None:
    if isinstance(e, MCPError):
        return e
    if isinstance(e, BaseExceptionGroup):
        for x in e.exceptions:
            found = find_mcp_error(x)
            if found is not None:
                return found
    if e.__cause__ is not None and isinstance(e.__cause__, MCPError):
        return e.__cause__
    return None


# ---------------------------------------------------------------- callbacks


class Callbacks:
    """Server->client request handlers; record which fired during the current step."""

    def __init__(self, roots: list[str]):
        self.fired: list[str] = []
        self.step: dict[str, Any] = {}
        self.roots = roots

    async def sampling(self, context: Any, params: types.CreateMessageRequestParams) -> Any:
        self.fired.append("sampling")
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text=self.step.get("sample_text", SAMPLED_TEXT)),
            model="warden-test-client",
            stop_reason="endTurn",
        )

    async def elicitation(self, context: Any, params: Any) -> Any:
        self.fired.append("elicitation")
        action = self.step.get("elicit_action", "accept")
        if action != "accept":
            return types.ElicitResult(action=action)
        if getattr(params, "mode", "form") == "url":
            return types.ElicitResult(action="accept")
        content = self.step.get("elicit_content")
        if content is None:
            content = default_elicit_content(dump(getattr(params, "requested_schema", None)) or {})
        return types.ElicitResult(action="accept", content=content)

    async def list_roots(self, context: Any) -> Any:
        self.fired.append("roots")
        return types.ListRootsResult(
            roots=[types.Root(uri=r, name=f"root{i}") for i, r in enumerate(self.roots)]
        )


def default_elicit_content(schema: dict[str, Any]) -> dict[str, Any]:
    """A valid answer for a flat elicitation form: defaults where given, else a plausible value
    for required fields and booleans. Always includes name="test" / confirm=true when asked for."""
    props: dict[str, Any] = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    content: dict[str, Any] = {}
    for key, p in props.items():
        if "default" in p:
            content[key] = p["default"]
            continue
        typ = p.get("type")
        if key not in required and typ != "boolean" and key not in ("name", "confirm"):
            continue
        if typ == "boolean":
            content[key] = True
        elif typ in ("integer", "number"):
            content[key] = p.get("minimum", 1)
        elif typ == "array":
            items = p.get("items") or {}
            opts = items.get("enum") or [o.get("const") for o in items.get("anyOf", [])]
            content[key] = opts[:1]
        elif "enum" in p:
            content[key] = p["enum"][0]
        elif "oneOf" in p:
            content[key] = p["oneOf"][0].get("const")
        else:
            fmt = p.get("format")
            content[key] = {
                "email": "test@example.com",
                "uri": "https://example.com/",
                "date": "2000-01-01",
                "date-time": "2000-01-01T00:00:00Z",
            }.get(fmt, "test")
    if not props:
        content = {"name": "test", "confirm": True}
    return content


# ---------------------------------------------------------------- steps


def text_of(blocks: list[Any]) -> str:
    parts = []
    for b in blocks or []:
        t = getattr(b, "type", None)
        if t == "text":
            parts.append(b.text)
        elif t == "resource" and hasattr(getattr(b, "resource", None), "text"):
            parts.append(b.resource.text)
    return "\n".join(parts)


async def paginate(fetch, attr: str) -> tuple[list[Any], int]:
    items: list[Any] = []
    cursor = None
    pages = 0
    while True:
        page = await fetch(cursor=cursor, cache_mode="bypass")
        pages += 1
        items.extend(getattr(page, attr))
        cursor = page.next_cursor
        if not cursor or pages >= 1000:
            return items, pages


async def run_step(client: Client, step: dict[str, Any], timeout: float) -> dict[str, Any]:
    op = step.get("op")
    if op == "list_tools":
        tools, pages = await paginate(client.list_tools, "tools")
        res: dict[str, Any] = {"tools": [t.name for t in tools], "pages": pages}
        if step.get("full"):
            res["full"] = [dump(t) for t in tools]
        return res
    if op == "call_tool":
        r = await client.call_tool(
            step["name"], step.get("args") or {}, read_timeout_seconds=timeout
        )
        res = {"is_error": bool(r.is_error), "text": text_of(r.content), "meta": r.meta}
        if r.structured_content is not None:
            res["structured"] = r.structured_content
        return res
    if op == "list_resources":
        items, pages = await paginate(client.list_resources, "resources")
        return {"resources": [str(x.uri) for x in items], "pages": pages}
    if op == "list_resource_templates":
        items, pages = await paginate(client.list_resource_templates, "resource_templates")
        return {"templates": [x.uri_template for x in items], "pages": pages}
    if op == "read_resource":
        r = await client.read_resource(step["uri"], cache_mode="bypass")
        contents = []
        for c in r.contents:
            d: dict[str, Any] = {"uri": str(c.uri), "mime_type": c.mime_type}
            if hasattr(c, "text"):
                d["text"] = c.text
            else:
                d["blob_len"] = len(base64.b64decode(c.blob))
            contents.append(d)
        return {"contents": contents}
    if op == "list_prompts":
        items, pages = await paginate(client.list_prompts, "prompts")
        return {"prompts": [p.name for p in items], "pages": pages}
    if op == "get_prompt":
        args = {k: str(v) for k, v in (step.get("args") or {}).items()}
        r = await client.get_prompt(step["name"], args)
        msgs = []
        for m in r.messages:
            c = m.content
            msgs.append({"role": m.role, "text": c.text if getattr(c, "type", None) == "text" else None,
                         "type": getattr(c, "type", None)})
        return {"description": r.description, "messages": msgs}
    if op == "ping":
        await client.session.send_ping()
        return {"ok": True}
    if op == "sleep":
        await anyio.sleep(float(step.get("secs", 1)))
        return {"ok": True}
    raise ValueError(f"unknown op {op!r}")


# ---------------------------------------------------------------- main


def init_timed_out(secs: float) -> None:
    out({"op": "initialize", "exception": f"TimeoutError: connect/initialize took longer than {secs} s"})
    os._exit(3)


def parse_kv(items: list[str], what: str) -> dict[str, str]:
    d = {}
    for it in items or []:
        if "=" not in it:
            raise SystemExit(f"client.py: {what} must be K=V, got {it!r}")
        k, v = it.split("=", 1)
        d[k] = v
    return d


def mtls_http_client(headers: dict[str, str], cert: str | None, key: str | None,
                     cacert: str | None) -> Any:
    """The SDK's HTTP client (same timeouts as `create_mcp_http_client`) with a TLS context that
    verifies the server with `cacert` and presents `cert`/`key` (an X.509-SVID)."""
    import ssl

    import httpx2
    from mcp.shared._httpx_utils import MCP_DEFAULT_SSE_READ_TIMEOUT, MCP_DEFAULT_TIMEOUT

    context = ssl.create_default_context(cafile=cacert)
    if cert:
        context.load_cert_chain(cert, key)
    return httpx2.AsyncClient(
        headers=headers,
        timeout=httpx2.Timeout(MCP_DEFAULT_TIMEOUT, read=MCP_DEFAULT_SSE_READ_TIMEOUT),
        verify=context,
    )


def parse_args(argv: list[str]) -> argparse.Namespace:
    cmd: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, cmd = argv[:i], argv[i + 1:]
    p = argparse.ArgumentParser(prog="client.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mode", default="auto")
    p.add_argument("--timeout", type=float, default=20.0)
    p.add_argument("--root", action="append", default=None)
    p.add_argument("--no-roots", action="store_true")
    p.add_argument("--no-sampling", action="store_true")
    p.add_argument("--no-elicitation", action="store_true")
    p.add_argument("--debug", action="store_true", help="SDK debug logging to stderr")
    sub = p.add_subparsers(dest="transport", required=True)
    s = sub.add_parser("stdio")
    s.add_argument("--cwd")
    s.add_argument("--env", action="append", default=[])
    h = sub.add_parser("http")
    h.add_argument("url")
    h.add_argument("--token")
    h.add_argument("--header", action="append", default=[])
    h.add_argument("--cert", help="client certificate (PEM) for mTLS")
    h.add_argument("--key", help="the client certificate's private key (PEM)")
    h.add_argument("--cacert", help="CA certificates (PEM) that verify the server")
    a = p.parse_args(argv)
    a.cmd = cmd
    if a.transport == "stdio" and not cmd:
        p.error("stdio needs a server command after --")
    return a


async def amain(a: argparse.Namespace, steps: list[dict[str, Any]]) -> int:
    roots = [r if "://" in r else Path(r).resolve().as_uri() for r in (a.root or [DEFAULT_ROOT])]
    cb = Callbacks(roots)
    async with contextlib.AsyncExitStack() as stack:
        if a.transport == "stdio":
            server: Any = StdioServerParameters(
                command=a.cmd[0], args=a.cmd[1:], env=parse_kv(a.env, "--env") or None, cwd=a.cwd
            )
        else:
            headers = parse_kv(a.header, "--header")
            if a.token:
                headers["Authorization"] = f"Bearer {a.token}"
            if a.cert or a.cacert:
                http = await stack.enter_async_context(mtls_http_client(headers, a.cert, a.key, a.cacert))
            else:
                http = await stack.enter_async_context(create_mcp_http_client(headers=headers))
            server = streamable_http_client(a.url, http_client=http)

        client = Client(
            server,
            mode=a.mode,
            cache=None,  # every step must hit the wire
            read_timeout_seconds=a.timeout,
            sampling_callback=None if a.no_sampling else cb.sampling,
            elicitation_callback=None if a.no_elicitation else cb.elicitation,
            list_roots_callback=None if a.no_roots else cb.list_roots,
            client_info=types.Implementation(name="warden-test-client", version="0.1.0"),
        )
        # A cancel scope cannot wrap entering the client (its task group outlives the scope), so
        # a watchdog thread guards the connect: the discover probe alone may take up to 10 s.
        watchdog = threading.Timer(a.timeout + 15, init_timed_out, args=(a.timeout + 15,))
        watchdog.daemon = True
        watchdog.start()
        try:
            await stack.enter_async_context(client)
        except BaseException as e:  # noqa: BLE001
            watchdog.cancel()
            if isinstance(e, KeyboardInterrupt):
                raise
            line: dict[str, Any] = {"op": "initialize", "exception": exc_text(e)}
            err = find_mcp_error(e)
            if err is not None:
                line["error"] = {"code": err.code, "message": err.message, "data": err.data}
            out(line)
            return 3

        watchdog.cancel()
        init = client.session.initialize_result
        out({
            "op": "initialize",
            "protocol_version": client.protocol_version,
            "server": dump(client.server_info),
            "capabilities": dump(client.server_capabilities),
            "instructions": init.instructions if init is not None else None,
            "callbacks": list(cb.fired),
        })
        cb.fired.clear()

        for step in steps:
            cb.step = step if isinstance(step, dict) else {}
            op = cb.step.get("op")
            timeout = float(cb.step.get("timeout", a.timeout))
            line = {"op": op}
            try:
                with anyio.fail_after(timeout):
                    line.update(await run_step(client, cb.step, timeout))
            except Exception as e:  # noqa: BLE001
                err = find_mcp_error(e)
                if err is not None:
                    line["error"] = {"code": err.code, "message": err.message, "data": err.data}
                elif isinstance(e, TimeoutError) and not str(e):
                    line["exception"] = f"TimeoutError: step timed out after {timeout:g} s"
                else:
                    line["exception"] = exc_text(e)
                    if a.debug:
                        traceback.print_exc()
            line["callbacks"] = list(cb.fired)
            cb.fired.clear()
            out(line)
        # Session teardown (stdio: close stdin, then terminate; http: DELETE) must not hang the
        # test; all output is written by now, so a stuck teardown just ends the process.
        reaper = threading.Timer(10, lambda: os._exit(0))
        reaper.daemon = True
        reaper.start()
    return 0


def main() -> int:
    a = parse_args(sys.argv[1:])
    logging.basicConfig(level=logging.DEBUG if a.debug else logging.CRITICAL, stream=sys.stderr)
    raw = sys.stdin.read()
    try:
        steps = json.loads(raw) if raw.strip() else []
        if not isinstance(steps, list):
            raise ValueError("stdin must be a JSON array of steps")
    except ValueError as e:
        print(f"client.py: bad steps on stdin: {e}", file=sys.stderr)
        return 2
    steps = [s for s in steps if not (isinstance(s, dict) and s.get("op") == "initialize")]
    try:
        return anyio.run(amain, a, steps)
    except BaseException as e:  # noqa: BLE001 - teardown errors after output
        if isinstance(e, KeyboardInterrupt):
            return 130
        print(f"client.py: {exc_text(e)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
