// Warden console: live updates over the event stream, the in-page check of
// inclusion proofs, and the progress of "verify now". Every value from the
// server goes into the page as text (textContent), never as markup, except
// fragments the server rendered and escaped itself.
"use strict";

(function () {
  const page = document.body.dataset.page;
  const csrf = () => (document.querySelector('meta[name="csrf"]') || {}).content || "";
  const status = (text) => {
    const el = document.getElementById("live-status");
    if (el) el.textContent = text;
  };

  function debounce(fn, ms) {
    let timer = null;
    return () => {
      if (timer) return;
      timer = setTimeout(() => { timer = null; fn(); }, ms);
    };
  }

  // One EventSource per page; the browser reconnects with Last-Event-ID.
  function follow(handler) {
    if (!window.EventSource) return;
    const source = new EventSource("/console/events");
    source.onopen = () => { status("live"); document.body.dataset.live = "connected"; };
    source.onerror = () => { status("reconnecting…"); delete document.body.dataset.live; };
    for (const kind of ["decision", "approval", "alert", "suspension", "resumption", "revocation"]) {
      source.addEventListener(kind, (e) => {
        let data = null;
        try { data = JSON.parse(e.data); } catch (_) { return; }
        handler(kind, data);
      });
    }
    source.addEventListener("dropped", () => { status("fell behind; reload for the rest"); source.close(); });
    source.addEventListener("shutdown", () => status("the gateway is stopping"));
  }

  // Replaces the element `id` with the same element of a fresh copy of the page.
  async function refresh(url, id) {
    const answer = await fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } });
    if (!answer.ok) return;
    const doc = new DOMParser().parseFromString(await answer.text(), "text/html");
    const fresh = doc.getElementById(id);
    const old = document.getElementById(id);
    if (fresh && old) old.replaceWith(document.importNode(fresh, true));
  }

  function cell(text, href) {
    const td = document.createElement("td");
    if (href) {
      const a = document.createElement("a");
      a.href = href;
      a.textContent = text;
      td.appendChild(a);
    } else {
      td.textContent = text;
    }
    return td;
  }

  function activity() {
    const params = new URLSearchParams(location.search);
    const want = { agent: params.get("agent") || "", outcome: params.get("outcome") || "", tool: params.get("tool") || "" };
    const body = document.querySelector("#activity tbody");
    if (!body) return;
    follow((kind, e) => {
      if (kind !== "decision") return;
      if (want.agent && e.agent !== want.agent) return;
      if (want.outcome && e.outcome !== want.outcome) return;
      if (want.tool && e.tool !== want.tool) return;
      const tr = document.createElement("tr");
      tr.className = "fresh";
      const index = e.audit_index === undefined ? "" : String(e.audit_index);
      tr.dataset.index = index;
      tr.dataset.outcome = e.outcome || "";
      tr.dataset.agent = e.agent || "";
      tr.appendChild(cell(index, index ? "/console/records/" + encodeURIComponent(index) : null));
      tr.appendChild(cell(new Date(e.time_ms).toISOString().replace("T", " ").slice(0, 19)));
      tr.appendChild(cell(e.agent || "", e.agent ? "/console/agents/" + encodeURIComponent(e.agent) : null));
      tr.appendChild(cell((e.server || "") + "/" + (e.tool || "")));
      tr.appendChild(cell(e.outcome || ""));
      tr.appendChild(cell((e.reasons && e.reasons[0]) || ""));
      body.insertBefore(tr, body.firstChild);
      while (body.rows.length > 500) body.deleteRow(body.rows.length - 1);
    });
  }

  function approvals() {
    const again = debounce(() => refresh(location.pathname + location.search, "approvals").then(countdown), 100);
    follow((kind, e) => {
      if (kind === "approval" || (kind === "decision" && e.outcome === "needs_approval")) again();
    });
    setInterval(countdown, 1000);
  }

  function countdown() {
    const now = Date.now();
    for (const el of document.querySelectorAll(".left[data-expires]")) {
      const left = Math.max(0, Math.round((Number(el.dataset.expires) - now) / 1000));
      el.textContent = left > 0 ? left + " s left" : "expired";
    }
  }

  function overview() {
    const again = debounce(async () => {
      await refresh("/console/", "main");
    }, 2000);
    follow((kind) => { if (kind !== "decision" || document.visibilityState === "visible") again(); });
  }

  function alerts() {
    const again = debounce(() => refresh("/console/alerts", "alerts"), 500);
    follow((kind) => { if (kind === "alert") again(); });
  }

  // RFC 9162 §2.1.3.2, as the audit crate does it.
  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const unhex = (text) => new Uint8Array(text.match(/../g).map((h) => parseInt(h, 16)));
  const unbase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  async function sha256(...parts) {
    const size = parts.reduce((n, p) => n + p.length, 0);
    const all = new Uint8Array(size);
    let at = 0;
    for (const p of parts) { all.set(p, at); at += p.length; }
    return new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  }
  async function rootFromProof(leaf, index, size, proof) {
    if (index >= size) throw new Error("the index is outside the tree");
    let f = BigInt(index), s = BigInt(size) - 1n, r = leaf;
    for (const p of proof) {
      if (s === 0n) throw new Error("the proof is too long");
      if ((f & 1n) === 1n || f === s) {
        r = await sha256(new Uint8Array([1]), p, r);
        while ((f & 1n) === 0n && f !== 0n) { f >>= 1n; s >>= 1n; }
      } else {
        r = await sha256(new Uint8Array([1]), r, p);
      }
      f >>= 1n; s >>= 1n;
    }
    if (s !== 0n) throw new Error("the proof is too short");
    return r;
  }

  // The checkpoint's signature, with the browser's Ed25519 where it has one.
  async function checkSignature(note, vkey) {
    // `<name>+<hash>+<base64 key>`: the key's base64 may itself hold `+`.
    const first = vkey.indexOf("+");
    const second = vkey.indexOf("+", first + 1);
    const name = vkey.slice(0, first);
    const key = vkey.slice(second + 1);
    const split = note.lastIndexOf("\n\n");
    const text = note.slice(0, split + 1);
    const line = note.slice(split + 2).split("\n").find((l) => l.startsWith("— " + name + " "));
    if (!line) throw new Error("the checkpoint has no signature by " + name);
    const blob = unbase64(line.slice(("— " + name + " ").length));
    const raw = unbase64(key).slice(1);
    const imported = await crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
    const ok = await crypto.subtle.verify({ name: "Ed25519" }, imported, blob.slice(4), new TextEncoder().encode(text));
    if (!ok) throw new Error("the checkpoint's signature does not verify");
    const lines = text.split("\n");
    return { size: Number(lines[1]), root: hex(unbase64(lines[2])) };
  }

  async function proof() {
    const out = document.getElementById("proof-status");
    if (!out) return;
    const fail = (why) => { out.dataset.state = "failed"; out.textContent = "not verified: " + why; };
    try {
      if (!window.crypto || !crypto.subtle) return fail("this page needs a secure context (HTTPS or loopback) for hashing");
      const answer = await fetch("/console/proofs/" + encodeURIComponent(out.dataset.index), { credentials: "same-origin" });
      const p = await answer.json();
      if (!answer.ok) return fail(p.message || answer.statusText);
      const bytes = new TextEncoder().encode(p.canonical);
      const leaf = await sha256(new Uint8Array([0]), bytes);
      if (hex(leaf) !== p.leaf_hash) return fail("the record's bytes do not hash to the stored leaf");
      const root = await rootFromProof(leaf, p.index, p.size, p.proof.map(unhex));
      let against = "the log's current root (size " + p.size + "; no signed checkpoint covers this record yet)";
      if (p.checkpoint) {
        let signed;
        try {
          signed = await checkSignature(p.checkpoint, p.vkey);
          against = "the signed checkpoint of size " + signed.size + " (signature checked in this page)";
        } catch (e) {
          if (e && e.name === "NotSupportedError") {
            const lines = p.checkpoint.split("\n");
            signed = { size: Number(lines[1]), root: hex(unbase64(lines[2])) };
            against = "the checkpoint of size " + signed.size + " (this browser cannot check Ed25519; the server did)";
          } else {
            return fail(e.message);
          }
        }
        if (signed.size !== p.size) return fail("the proof is for size " + p.size + ", the checkpoint has " + signed.size);
        if (hex(root) !== signed.root) return fail("the computed root differs from the checkpoint's");
      } else if (hex(root) !== p.root) {
        return fail("the computed root differs from the log's");
      }
      out.dataset.state = "verified";
      out.textContent = "verified: record " + p.index + " is in " + against + "; root " + hex(root).slice(0, 16) + "…";
    } catch (e) {
      fail(e && e.message ? e.message : String(e));
    }
  }

  function verify() {
    const form = document.getElementById("verify-form");
    const out = document.getElementById("verify-status");
    const bar = document.getElementById("verify-progress");
    if (!form || !out) return;
    const show = (v) => {
      out.dataset.state = v.state;
      if (v.bad_index !== null && v.bad_index !== undefined) out.dataset.badIndex = String(v.bad_index);
      else delete out.dataset.badIndex;
      if (bar) { bar.max = Math.max(1, v.total); bar.value = v.done; }
      out.textContent = v.state === "running" ? "verifying… " + v.done + " of " + v.total + " records"
        : v.state === "ok" ? "ok: " + v.message
        : v.state === "bad" ? "does not verify: " + v.message : "not run yet";
    };
    const poll = async () => {
      const answer = await fetch("/console/audit/verify", { credentials: "same-origin" });
      if (!answer.ok) return;
      const v = await answer.json();
      show(v);
      if (v.state === "running") setTimeout(poll, 250);
    };
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = new URLSearchParams({ csrf: csrf() });
      const answer = await fetch(form.action, { method: "POST", body, credentials: "same-origin",
        headers: { "Accept": "application/json" } });
      if (!answer.ok) { out.dataset.state = "bad"; out.textContent = "could not start: " + answer.status; return; }
      show(await answer.json());
      setTimeout(poll, 100);
    });
    if (out.dataset.state === "running") poll();
  }

  if (page === "activity") activity();
  if (page === "approvals") approvals();
  if (page === "overview") overview();
  if (page === "alerts") alerts();
  if (page === "record") proof();
  if (page === "audit") verify();
})();
