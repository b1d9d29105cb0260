#!/usr/bin/env python3
"""End-to-end checks of Warden's web console in headless Chromium (issue 14).

Drives Debian's chromium through Playwright for Python against a running
`warden serve`, following the page contract (the console's ids, classes and
data attributes), and checks each of the issue's "tests that must exist".
Prints one line per check, `PASS name: detail` or `FAIL name: detail`, and
exits 1 if any failed (2 for a bad environment).

Environment (crates/warden/tests/it/console.rs sets it):
  WARDEN_CONSOLE_ADMIN_URL      the admin plane, e.g. http://127.0.0.1:7701 (the console is at /console)
  WARDEN_CONSOLE_DATA_URL       the data plane, e.g. http://127.0.0.1:7700
  WARDEN_CONSOLE_ADMIN_TOKEN    an admin-plane token of role admin
  WARDEN_CONSOLE_APPROVER_TOKEN / _AUDITOR_TOKEN   tokens of role approver / auditor
  WARDEN_CONSOLE_APPROVER_NAME  the approver token's name (checked in the approval's audit record)
  WARDEN_CONSOLE_AGENT_TOKENS   JSON {"invoice-bot": JWT, "support-bot": JWT, "research-bot": JWT}
  WARDEN_CONSOLE_DB             the SQLite file of the store (tampered with by the last check)
  WARDEN_CONSOLE_WARDEN         optional: a `warden` command line (binary plus --config/--data-dir)
                                used to create the tokens above that are not given
  WARDEN_CONSOLE_SCREENSHOTS    where screenshots go (default tests/console/screenshots)
  WARDEN_CONSOLE_README_IMAGES  optional: a directory (docs/img) that gets overview.png and approvals.png
  WARDEN_CONSOLE_CHROMIUM       the browser (default /usr/bin/chromium)
  WARDEN_CONSOLE_ONLY           optional: comma-separated check names to run (others are not run)
"""

import json
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

from playwright.sync_api import sync_playwright

HERE = os.path.dirname(os.path.abspath(__file__))
AXE = os.path.join(HERE, "node_modules", "axe-core", "axe.min.js")
# Chosen so that unescaped HTML would run or leave an element behind.
XSS = '<script>window.__xss=1;alert("xss")</script><img src=x onerror="window.__xss=2">'
IBAN = "DE89370400440532013000"


class Env:
    def __init__(self):
        e = os.environ
        self.admin_url = e.get("WARDEN_CONSOLE_ADMIN_URL", "http://127.0.0.1:7701").rstrip("/")
        self.console = self.admin_url + "/console"
        self.data_url = e.get("WARDEN_CONSOLE_DATA_URL", "http://127.0.0.1:7700").rstrip("/")
        self.warden = shlex.split(e.get("WARDEN_CONSOLE_WARDEN", ""))
        self.admin = e.get("WARDEN_CONSOLE_ADMIN_TOKEN") or self.cli(
            "admin-token", "create", "--role", "admin", "--name", "console-test-admin")
        self.approver_name = e.get("WARDEN_CONSOLE_APPROVER_NAME", "console-test-approver")
        self.approver = e.get("WARDEN_CONSOLE_APPROVER_TOKEN") or self.cli(
            "admin-token", "create", "--role", "approver", "--name", self.approver_name)
        self.auditor = e.get("WARDEN_CONSOLE_AUDITOR_TOKEN") or self.cli(
            "admin-token", "create", "--role", "auditor", "--name", "console-test-auditor")
        self.agents = json.loads(e.get("WARDEN_CONSOLE_AGENT_TOKENS") or "{}")
        for name in ("invoice-bot", "support-bot", "research-bot"):
            if name not in self.agents:
                self.agents[name] = self.cli("agent", "token", name, "--ttl", "1h")
        self.db = e.get("WARDEN_CONSOLE_DB", "")
        self.shots = e.get("WARDEN_CONSOLE_SCREENSHOTS") or os.path.join(HERE, "screenshots")
        self.readme_images = e.get("WARDEN_CONSOLE_README_IMAGES", "")
        self.chromium = e.get("WARDEN_CONSOLE_CHROMIUM", "/usr/bin/chromium")
        only = e.get("WARDEN_CONSOLE_ONLY", "")
        self.only = {s.strip() for s in only.split(",") if s.strip()}

    def cli(self, *args):
        if not self.warden:
            sys.exit(f"console_test: a token is missing and WARDEN_CONSOLE_WARDEN is not set (needed for `warden {' '.join(args)}`)")
        out = subprocess.run(self.warden + list(args), capture_output=True, text=True, check=False)
        if out.returncode != 0:
            sys.exit(f"console_test: `warden {' '.join(args)}` failed: {out.stderr.strip()}")
        return out.stdout.strip()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


NO_REDIRECT = urllib.request.build_opener(NoRedirect)


def http(method, url, token=None, body=None, form=None, cookie=None, timeout=70):
    """One request without following redirects: (status, headers, text)."""
    headers = {}
    data = None
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if cookie:
        headers["Cookie"] = cookie
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with NO_REDIRECT.open(req, timeout=timeout) as r:
            return r.status, r.headers, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read().decode("utf-8", "replace")


def api_json(env, method, path, token=None, body=None, plane="admin"):
    base = env.admin_url if plane == "admin" else env.data_url
    status, _, text = http(method, base + path, token or env.admin, body)
    try:
        return status, json.loads(text)
    except ValueError:
        return status, {"_text": text}


def decide(env, agent, server, tool, args, session, token=None):
    status, v = api_json(env, "POST", "/v1/decisions", token or env.agents[agent],
                         {"server": server, "tool": tool, "args": args, "session": session}, plane="data")
    v["_status"] = status
    return v


def needs_approval(env, amount, tag):
    d = decide(env, "invoice-bot", "accounting", "schedule_payment",
               {"amount": amount, "iban": IBAN, "reference": tag}, f"console-{tag}")
    if d.get("decision") != "needs_approval":
        raise Failure(f"expected needs_approval from the data plane, got {d}")
    return d


class Waiter(threading.Thread):
    """An agent waiting for its approval: GET /v1/decisions/{id}?wait=..."""

    def __init__(self, env, decision_id, wait=30):
        super().__init__(daemon=True)
        self.env, self.id, self.wait, self.result = env, decision_id, wait, None

    def run(self):
        status, v = api_json(self.env, "GET", f"/v1/decisions/{self.id}?wait={self.wait}",
                             self.env.agents["invoice-bot"], plane="data")
        v["_status"] = status
        self.result = v


def audit_entries(env):
    entries, start = [], 0
    while True:
        status, v = api_json(env, "GET", f"/v1/audit/entries?from={start}&to={start + 1000}")
        if status != 200:
            raise Failure(f"GET /v1/audit/entries answered {status}: {v}")
        batch = v.get("entries", [])
        entries.extend(batch)
        if len(batch) < 1000:
            return entries
        start += len(batch)


def decision_counts(entries):
    counts = {"allow": 0, "deny": 0, "needs_approval": 0}
    for e in entries:
        r = e.get("record") or {}
        if r.get("kind") == "decision" and r.get("decision") in counts:
            counts[r["decision"]] += 1
    return counts


class Failure(Exception):
    pass


def expect(cond, detail):
    if not cond:
        raise Failure(detail)


class Run:
    def __init__(self, env, browser):
        self.env, self.browser = env, browser
        self.results = []
        self.forged = set()
        self.dialogs = []
        self.page_errors = []
        os.makedirs(env.shots, exist_ok=True)
        self.current = None  # the page a failure's report shows

    # --- bookkeeping

    def check(self, name, fn, *args):
        if self.env.only and name not in self.env.only and name.split(" ")[0] not in self.env.only:
            return None
        try:
            detail = fn(*args)
            self.results.append((name, True, detail or ""))
            print(f"PASS {name}: {detail or 'ok'}", flush=True)
            return True
        except Exception as err:  # noqa: BLE001 - every failure is reported, the run goes on
            detail = str(err) if isinstance(err, Failure) else f"{type(err).__name__}: {err}"
            detail = detail.strip().replace("\n", "\n    ")
            where = self.dump(name)
            self.results.append((name, False, detail))
            print(f"FAIL {name}: {detail}{where}", flush=True)
            if not isinstance(err, (Failure, AssertionError)):
                tb = traceback.format_exc(limit=4).strip().splitlines()
                print("    " + "\n    ".join(tb[-6:]), flush=True)
            return False

    def dump(self, name):
        page = self.current
        if page is None or page.is_closed():
            return ""
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
        d = os.path.join(self.env.shots, "failures")
        os.makedirs(d, exist_ok=True)
        try:
            html = page.content()
            with open(os.path.join(d, safe + ".html"), "w") as f:
                f.write(html)
            page.screenshot(path=os.path.join(d, safe + ".png"), full_page=True)
            main = page.evaluate("() => { const m = document.querySelector('#main'); return m ? m.outerHTML : document.body ? document.body.outerHTML : '' }")
            main = " ".join(main.split())
            return f"\n    at {page.url}; #main: {main[:700]}{'…' if len(main) > 700 else ''}\n    (page saved to {os.path.relpath(os.path.join(d, safe))}.html/.png)"
        except Exception as err:  # noqa: BLE001
            return f"\n    at {page.url} (page not saved: {err})"

    def new_context(self, **kw):
        ctx = self.browser.new_context(**kw)
        ctx.set_default_timeout(10_000)
        return ctx

    def provoked(self, message):
        """A console error about a request the test forged on purpose."""
        url = (message.location or {}).get("url", "")
        return url in self.forged and "403" in message.text

    def new_page(self, ctx):
        page = ctx.new_page()

        def on_dialog(dialog):
            self.dialogs.append(f"{dialog.type}: {dialog.message} at {page.url}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda err: self.page_errors.append(f"{page.url}: {err}"))
        page.on("console", lambda m: m.type == "error" and not self.provoked(m) and self.page_errors.append(f"{page.url}: console: {m.text}"))
        self.current = page
        return page

    def sign_in(self, ctx, token, role):
        page = self.new_page(ctx)
        page.goto(self.env.console + "/login")
        page.fill("#token", token)
        with page.expect_navigation():
            page.click("form#login button[type=submit]")
        expect(page.url.rstrip("/").endswith("/console"), f"after sign-in the browser is at {page.url}, not /console/")
        got = page.get_attribute("body", "data-role")
        expect(got == role, f"body data-role is {got!r}, want {role!r}")
        return page

    def goto(self, page, path):
        self.current = page
        r = page.goto(self.env.console + path)
        expect(r is not None and r.status == 200, f"GET /console{path} answered {r.status if r else 'nothing'}")
        return r

    def csrf(self, page):
        token = page.get_attribute("meta[name=csrf]", "content")
        expect(token, "no <meta name=csrf content=…> on the page")
        return token

    def forge(self, page, path, form):
        """A POST from inside the page (same origin, the session's cookie): status, or 'redirect'."""
        self.forged.add(self.env.console + path)
        return page.evaluate(
            """async ([path, form]) => {
                const r = await fetch(path, {method: 'POST', redirect: 'manual', credentials: 'same-origin',
                    headers: {'Content-Type': 'application/x-www-form-urlencoded'},
                    body: new URLSearchParams(form).toString()});
                return r.type === 'opaqueredirect' ? 'redirect' : r.status;
            }""",
            [self.env.console + path, form],
        )

    def shot(self, page, name):
        path = os.path.join(self.env.shots, name + ".png")
        page.screenshot(path=path, full_page=True)
        return path

    # --- the checks

    def run(self):
        env = self.env
        self.check("unauthenticated-redirect", self.unauthenticated_redirect)
        self.check("wrong-token-refused", self.wrong_token)
        self.check("session-cookie", self.session_cookie)
        admin_ctx = self.new_context(viewport={"width": 1280, "height": 900})
        self.admin = None

        def sign_in_admin():
            self.admin = self.sign_in(admin_ctx, env.admin, "admin")
            return f"signed in with the admin token; body data-role=admin data-user={self.admin.get_attribute('body', 'data-user')!r}"

        if not self.check("sign-in", sign_in_admin):
            print("FAIL the remaining checks need a session; stopping", flush=True)
            return
        self.check("csp-no-inline-script", self.csp)
        self.check("skip-link", self.skip_link)
        self.check("overview-figures", self.overview_figures)
        self.check("overview-chart", self.overview_chart)
        self.check("inventory", self.inventory)
        self.check("agent-grants", self.agent_grants)
        self.check("activity-filter", self.activity_filter)
        self.check("activity-live", self.activity_live)
        self.check("proof-verified", self.proof_verified)
        self.check("proof-check-is-real", self.proof_tampered, admin_ctx)

        approver_ctx = self.new_context(viewport={"width": 1280, "height": 900})
        self.approver = None

        def sign_in_approver():
            self.approver = self.sign_in(approver_ctx, env.approver, "approver")
            return "signed in with the approver token"

        self.check("sign-in-approver", sign_in_approver)
        self.check("approval-live", self.approval_live)
        self.check("approve-lets-call-through", self.approve)
        self.check("approval-audited-by-name", self.approval_audited)
        self.check("readme-screenshots", self.readme_shots)
        self.check("reject-denies", self.reject)
        self.check("xss-approval-note", self.xss_note)

        auditor_ctx = self.new_context(viewport={"width": 1280, "height": 900})
        self.auditor = None

        def sign_in_auditor():
            self.auditor = self.sign_in(auditor_ctx, env.auditor, "auditor")
            return "signed in with the auditor token"

        self.check("sign-in-auditor", sign_in_auditor)
        self.check("auditor-no-buttons", self.auditor_buttons)
        self.check("auditor-forged-post-refused", self.auditor_forged)
        self.check("approver-cannot-revoke", self.approver_forged)
        self.check("csrf-missing-refused", self.csrf_missing)
        self.check("suspend-takes-effect", self.suspend)
        self.check("xss-suspension-reason", self.xss_reason)
        self.check("resume-takes-effect", self.resume)
        self.check("issue-token", self.issue_token)
        self.check("revoke-takes-effect", self.revoke)

        self.check("approvals-phone", self.approvals_phone)
        self.axe_and_screenshots()
        self.check("no-alert-dialog", self.no_dialogs)
        self.check("no-script-errors", self.no_page_errors)
        self.check("logout", self.logout, admin_ctx)
        self.check("verify-now-ok", self.verify_ok)
        self.check("tamper-names-first-bad-index", self.tamper)

    def unauthenticated_redirect(self):
        for path in ("/", "/approvals", "/agents/invoice-bot"):
            status, headers, _ = http("GET", self.env.console + path)
            loc = headers.get("Location", "") if headers else ""
            expect(status == 303 and loc.endswith("/console/login"),
                   f"GET /console{path} without a session answered {status} Location {loc!r}, want 303 to /console/login")
        return "GET /console/, /approvals, /agents/… without a session → 303 /console/login"

    def wrong_token(self):
        status, _, text = http("POST", self.env.console + "/login", form={"token": "not-a-token"})
        expect(status == 401, f"a wrong token answered {status}, want 401")
        expect('class="error"' in text and 'role="alert"' in text,
               f"the 401 page has no <p class=\"error\" role=\"alert\">: {text[:300]}")
        status, _, _ = http("POST", self.env.console + "/login", form={"token": self.env.agents["invoice-bot"]})
        expect(status == 401, f"an agent's JWT as the sign-in token answered {status}, want 401")
        return "wrong token and an agent JWT → 401 with role=alert error"

    def session_cookie(self):
        status, headers, _ = http("POST", self.env.console + "/login", form={"token": self.env.admin})
        expect(status == 303, f"POST /console/login answered {status}, want 303")
        expect(headers.get("Location", "").rstrip("/").endswith("/console"), f"Location {headers.get('Location')!r}")
        cookies = [c for c in headers.get_all("Set-Cookie") or [] if c.startswith("warden_console=")]
        expect(cookies, f"no warden_console cookie set: {headers.get_all('Set-Cookie')}")
        attrs = [a.strip().lower() for a in cookies[0].split(";")[1:]]
        for want in ("httponly", "samesite=strict", "path=/console"):
            expect(want in attrs, f"cookie lacks {want}: {cookies[0].split(';', 1)[1]}")
        expect(any(a.startswith("max-age=") or a.startswith("expires=") for a in attrs), f"cookie does not expire: {cookies[0]}")
        return "303 with warden_console; " + "; ".join(a for a in cookies[0].split(";")[1:]).strip()

    def csp(self):
        page = self.admin
        r = self.goto(page, "/")
        csp = r.header_value("content-security-policy") or ""
        expect(csp, "no Content-Security-Policy header on /console/")
        directives = {d.strip().split(" ")[0]: d.strip() for d in csp.split(";") if d.strip()}
        script = directives.get("script-src", directives.get("default-src", ""))
        expect(script and "'unsafe-inline'" not in script and "'unsafe-eval'" not in script,
               f"scripts are not limited: {csp}")
        inline = page.evaluate("() => [...document.scripts].filter(s => !s.src).length")
        expect(inline == 0, f"{inline} inline <script> element(s) in the overview")
        handlers = page.evaluate("() => [...document.querySelectorAll('*')].filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length")
        expect(handlers == 0, f"{handlers} element(s) with inline on* handlers")
        return f"CSP: {csp}"

    def skip_link(self):
        page = self.admin
        self.goto(page, "/")
        page.keyboard.press("Tab")
        href = page.evaluate("() => document.activeElement && document.activeElement.getAttribute('href')")
        expect(href == "#main", f"the first Tab focuses {href!r}, not a skip link to #main")
        expect(page.locator("nav#nav a").count() >= 6, "nav#nav has fewer than 6 links")
        return "first Tab → skip link to #main; nav#nav has links"

    def overview_figures(self):
        page, env = self.admin, self.env
        for attempt in range(3):
            before = audit_entries(env)
            self.goto(page, "/")
            after = audit_entries(env)
            shown = {k: page.locator(f'dd[data-figure="{k}"]').first.inner_text().strip()
                     for k in ("allow", "deny", "needs_approval", "audit-size")}
            # The figures count agents' decisions: a refused token is a
            # decision record without an agent, shown under sightings.
            want = decision_counts([e for e in after if (e.get("record") or {}).get("agent")])
            want["audit-size"] = len(after)
            low = decision_counts([e for e in before if (e.get("record") or {}).get("agent")])
            low["audit-size"] = len(before)
            ok = all(str(want[k]) == num(shown[k]) or str(low[k]) == num(shown[k]) for k in shown)
            if ok:
                break
            time.sleep(0.5)
        if not ok:
            agents = decision_counts([e for e in after if (e.get("record") or {}).get("agent")])
            refused = sum(1 for e in after if (e.get("record") or {}).get("kind") == "decision" and not (e.get("record") or {}).get("agent"))
            raise Failure(f"overview figures {shown} do not match the audit log's agent decisions {want} "
                          f"(recounted: {agents}; {refused} decision records have no agent: refused authentications)")
        status, v = api_json(env, "GET", "/v1/approvals?status=pending")
        pending = len(v.get("approvals", []))
        got = num(page.inner_text("#pending-approvals"))
        expect(got == str(pending), f"#pending-approvals shows {got!r}, the admin API has {pending} pending")
        reasons = page.locator("#top-reasons li").all_inner_texts()
        expect(reasons, "#top-reasons lists no denial reason, though the log has denials")
        return f"allow/deny/needs_approval/audit-size = {[shown[k] for k in shown]} = audit log; pending {pending}; top reason {reasons[0][:80]!r}"

    def overview_chart(self):
        page = self.admin
        chart = page.locator("svg#decisions-chart")
        expect(chart.count() == 1, "no <svg id=decisions-chart>")
        expect(chart.get_attribute("role") == "img" and (chart.get_attribute("aria-label") or "").strip(),
               "the chart lacks role=img or an aria-label")
        marks = page.locator("svg#decisions-chart rect, svg#decisions-chart path, svg#decisions-chart polyline, svg#decisions-chart circle").count()
        expect(marks > 0, "the chart draws nothing (no rect/path/polyline/circle) though decisions were made")
        return f"{marks} marks; aria-label {chart.get_attribute('aria-label')!r}"

    def inventory(self):
        page = self.admin
        self.goto(page, "/agents")
        names = page.eval_on_selector_all("table#agents tr[data-agent]", "rs => rs.map(r => r.dataset.agent)")
        for name in ("invoice-bot", "research-bot", "support-bot"):
            expect(name in names, f"table#agents has no row for {name} (rows: {names})")
        return f"rows: {names}"

    def agent_grants(self):
        page = self.admin
        self.goto(page, "/agents/invoice-bot")
        rows = page.eval_on_selector_all(
            "table#grants tr.grant",
            "rs => rs.map(r => Object.fromEntries([...r.querySelectorAll('td[data-col]')].map(c => [c.dataset.col, c.innerText.trim()])))")
        grants = {(r.get("server"), r.get("tool")): r for r in rows}
        want = {("accounting", "read_invoice"), ("accounting", "schedule_payment"), ("mail", "send")}
        expect(want <= set(grants), f"table#grants rows {sorted(grants)} lack {sorted(want - set(grants))}")
        pay = grants[("accounting", "schedule_payment")]
        expect("amount <= 10000" in pay.get("condition", ""), f"schedule_payment's condition cell is {pay.get('condition')!r}")
        expect("amount > 5000" in pay.get("approval", ""), f"schedule_payment's approval cell is {pay.get('approval')!r}")
        expect(pay.get("operation") == "write", f"schedule_payment's operation cell is {pay.get('operation')!r}")
        state = page.inner_text("#agent-state").strip()
        expect(state == "active", f"#agent-state is {state!r}")
        return f"{len(rows)} grants incl. schedule_payment write, condition and approval rule; state active"

    def activity_filter(self):
        page = self.admin
        self.goto(page, "/activity?outcome=deny&agent=invoice-bot")
        rows = page.eval_on_selector_all("table#activity tbody tr[data-index]",
                                         "rs => rs.map(r => [r.dataset.outcome, r.dataset.agent])")
        expect(rows, "no rows for outcome=deny&agent=invoice-bot, though the load made such denials")
        bad = [r for r in rows if r != ["deny", "invoice-bot"]]
        expect(not bad, f"the filter let through {bad[:3]}")
        self.goto(page, "/activity")
        all_rows = page.locator("table#activity tbody tr[data-index]").count()
        expect(all_rows > len(rows), f"unfiltered: {all_rows} rows, filtered: {len(rows)}")
        return f"outcome=deny&agent=invoice-bot: {len(rows)} rows, all deny/invoice-bot; unfiltered {all_rows}"

    def activity_live(self):
        page = self.admin
        self.goto(page, "/activity")
        wait_live(page)
        page.evaluate("() => { window.__noReload = 1 }")
        d = decide(self.env, "research-bot", "web", "fetch", {"url": "https://arxiv.org/abs/2401.00001"}, "console-live")
        expect(d.get("decision") == "allow", f"the data plane answered {d}")
        t0 = time.monotonic()
        first = page.locator("table#activity tbody tr[data-index]").first
        page.wait_for_function(
            "() => { const r = document.querySelector('table#activity tbody tr[data-index]'); return r && r.dataset.agent === 'research-bot' && r.innerText.includes('fetch') }",
            timeout=5000)
        took = time.monotonic() - t0
        expect(page.evaluate("() => window.__noReload") == 1, "the page was reloaded")
        expect(took <= 1.0, f"the decision appeared at the top after {took:.2f} s (> 1 s)")
        return f"research-bot web/fetch at the top {took * 1000:.0f} ms after the answer, index {first.get_attribute('data-index')}"

    def proof_verified(self):
        page, env = self.admin, self.env
        entries = audit_entries(env)
        index = next(e["index"] for e in entries if (e.get("record") or {}).get("decision") == "allow")
        self.proof_index = index
        _, cp = api_json(env, "GET", "/v1/audit/checkpoint")
        size = (cp.get("checkpoint") or {}).get("size") or 0
        note = ""
        if size <= index:
            api_json(env, "POST", "/v1/audit/checkpoint")
            note = " (signed a checkpoint first: none covered the record)"
        self.goto(page, f"/records/{index}")
        status = page.locator("output#proof-status")
        expect(status.count() == 1, "no <output id=proof-status>")
        page.wait_for_selector("output#proof-status[data-state=verified], output#proof-status[data-state=failed]", timeout=10_000)
        state = status.get_attribute("data-state")
        if state != "verified":
            _, cp = api_json(env, "GET", "/v1/audit/checkpoint")
            raise Failure(f"#proof-status data-state={state!r}: {status.inner_text()!r} (the checkpoint's vkey is {cp.get('vkey')!r})")
        self.proof_ok = True
        text = page.inner_text("#main")
        expect("allow" in text, "the record page does not show the decision")
        expect(".yaml:" in text or ".cedar:" in text, "the record page names no policy with file:line")
        return f"record {index}: data-state=verified ({status.inner_text().strip()[:80]!r}){note}"

    def proof_tampered(self, ctx):
        """The page really checks: a proof with one hash changed must fail."""
        page = self.new_page(ctx)
        changed = []

        def corrupt(route):
            resp = route.fetch()
            body = resp.text()
            ctype = resp.headers.get("content-type", "")
            if "json" in ctype and '"proof"' in body:
                v = json.loads(body)
                target = find_proof(v)
                if target is not None and target["proof"]:
                    h = target["proof"][0]
                    target["proof"][0] = ("1" if h[0] != "1" else "2") + h[1:]
                    changed.append(route.request.url)
                    route.fulfill(response=resp, body=json.dumps(v))
                    return
            route.fulfill(response=resp)

        page.route("**/*", corrupt)
        self.goto(page, f"/records/{self.proof_index}")
        page.wait_for_selector("output#proof-status[data-state=verified], output#proof-status[data-state=failed]", timeout=10_000)
        state = page.get_attribute("output#proof-status", "data-state")
        why = page.inner_text("output#proof-status").strip()
        page.close()
        self.current = self.admin
        expect(changed, "no JSON response with a `proof` array was fetched by the record page")
        expect(state == "failed", f"with one proof hash changed in {changed[0]} the page still says {state!r}")
        expect(getattr(self, "proof_ok", False),
               f"inconclusive: the page says failed ({why!r}), but it fails on the untouched proof too (see proof-verified)")
        return f"one hash changed in {changed[0]} → data-state=failed: {why!r}"

    def approval_live(self):
        page = self.approver
        self.goto(page, "/approvals")
        wait_live(page)
        page.evaluate("() => { window.__noReload = 1 }")
        d = needs_approval(self.env, 7500, "approve-me")
        t0 = time.monotonic()
        self.approve_id = d["id"]
        item = f'li.approval[data-id="{d["id"]}"]'
        page.wait_for_selector(item, timeout=5000)
        took = time.monotonic() - t0
        expect(page.evaluate("() => window.__noReload") == 1, "the page was reloaded")
        text = page.inner_text(item)
        expect("7500" in text, f"the item does not show the arguments (amount 7500): {text[:300]!r}")
        iban = "IBAN shown" if IBAN in text else "IBAN masked for the approver"
        expect("amount > 5000" in text, f"the item does not say why approval is needed: {text[:300]!r}")
        expect(took <= 1.0, f"the approval appeared after {took:.2f} s (> 1 s)")
        return f"{d['id']} appeared {took * 1000:.0f} ms after the decision, with its arguments ({iban}) and why"

    def approve(self):
        page = self.approver
        waiter = Waiter(self.env, self.approve_id)
        waiter.start()
        time.sleep(0.3)
        item = page.locator(f'li.approval[data-id="{self.approve_id}"]')
        item.locator("form.approve textarea[name=note], textarea[name=note]").first.fill("invoice checked in the console")
        with page.expect_navigation():
            item.locator("form.approve [type=submit]").first.click()
        waiter.join(10)
        expect(waiter.result is not None, "the waiting agent got no answer within 10 s of the approval")
        expect(waiter.result.get("decision") == "allow", f"the waiting agent got {waiter.result}")
        page.wait_for_selector(f'li.approval[data-id="{self.approve_id}"]', state="detached", timeout=3000)
        return f"waiting GET /v1/decisions/{self.approve_id}?wait=30 → allow; the item left the queue"

    def approval_audited(self):
        entries = audit_entries(self.env)
        recs = [e["record"] for e in entries if (e.get("record") or {}).get("kind") == "approval"
                and (e["record"].get("approval") or {}).get("id") == self.approve_id]
        expect(recs, f"no approval record for {self.approve_id} in the audit log")
        by = recs[0]["approval"]["by"]
        expect(by == self.env.approver_name, f"the approval record names {by!r}, want the approver token's name {self.env.approver_name!r}")
        return f"approval record: decision {recs[0].get('decision')!r} by {by!r}, note {recs[0].get('note')!r}"

    def readme_shots(self):
        """The README's two images, taken before any hostile text is in the log."""
        self.goto(self.admin, "/")
        self.admin.wait_for_timeout(300)
        self.shot(self.admin, "readme-overview")
        self.goto(self.approver, "/approvals")
        self.shot(self.approver, "readme-approvals")
        copied = ""
        if self.env.readme_images:
            os.makedirs(self.env.readme_images, exist_ok=True)
            for name in ("overview", "approvals"):
                shutil.copyfile(os.path.join(self.env.shots, f"readme-{name}.png"),
                                os.path.join(self.env.readme_images, name + ".png"))
            copied = f"; copied to {self.env.readme_images}/overview.png and approvals.png"
        return "readme-overview.png, readme-approvals.png" + copied

    def reject(self):
        page = self.approver
        d = needs_approval(self.env, 8200, "reject-me")
        self.reject_id = d["id"]
        waiter = Waiter(self.env, d["id"])
        waiter.start()
        item = page.locator(f'li.approval[data-id="{d["id"]}"]')
        item.wait_for(timeout=5000)
        item.locator("form.reject textarea[name=note], textarea[name=note]").last.fill("not this one " + XSS)
        with page.expect_navigation():
            item.locator("form.reject [type=submit]").first.click()
        waiter.join(10)
        expect(waiter.result is not None, "the waiting agent got no answer within 10 s of the rejection")
        expect(waiter.result.get("decision") == "deny", f"the waiting agent got {waiter.result}")
        return f"waiting GET /v1/decisions/{d['id']} → deny: {waiter.result.get('reasons')}"

    def xss_note(self):
        entries = audit_entries(self.env)
        idx = [e["index"] for e in entries if (e.get("record") or {}).get("kind") == "approval"
               and (e["record"].get("approval") or {}).get("id") == self.reject_id]
        expect(idx, f"no approval record for {self.reject_id}")
        page = self.approver
        self.goto(page, f"/records/{idx[0]}")
        out = [check_text_not_markup(page, "the rejection note on /console/records/%d" % idx[0])]
        self.goto(page, "/approvals")
        out.append(check_text_not_markup(page, "the rejection note in the decided approvals"))
        return "; ".join(out)

    def auditor_buttons(self):
        page = self.auditor
        d = needs_approval(self.env, 6100, "auditor-view")
        self.pending_id = d["id"]
        self.goto(page, "/approvals")
        item = page.locator(f'li.approval[data-id="{d["id"]}"]')
        expect(item.count() == 1, f"the auditor does not see pending approval {d['id']}")
        forms = page.locator("form.approve, form.reject").count()
        expect(forms == 0, f"the auditor's approvals page has {forms} approve/reject forms")
        self.goto(page, "/agents/invoice-bot")
        actions = page.locator("form.action-suspend, form.action-resume, form.action-revoke, form.action-token").count()
        expect(actions == 0, f"the auditor's agent page has {actions} admin action forms")
        buttons = page.locator("main button:has-text('Approve'), main button:has-text('Revoke'), main button:has-text('Suspend')").count()
        expect(buttons == 0, f"the auditor's agent page has {buttons} approve/revoke/suspend buttons")
        return "no approve/reject forms on /approvals, no suspend/resume/revoke/token forms on the agent page"

    def auditor_forged(self):
        page = self.auditor
        self.goto(page, "/approvals")
        csrf = self.csrf(page)
        got = {
            "approve": self.forge(page, f"/approvals/{self.pending_id}/approve", {"csrf": csrf, "note": "forged"}),
            "reject": self.forge(page, f"/approvals/{self.pending_id}/reject", {"csrf": csrf, "note": "forged"}),
            "revoke": self.forge(page, "/agents/invoice-bot/revoke", {"csrf": csrf, "reason": "forged"}),
            "suspend": self.forge(page, "/agents/invoice-bot/suspend", {"csrf": csrf, "reason": "forged"}),
        }
        expect(all(v == 403 for v in got.values()), f"the auditor's POSTs with a valid csrf answered {got}, want 403 each")
        _, a = api_json(self.env, "GET", f"/v1/approvals/{self.pending_id}")
        expect(a.get("approval", {}).get("status") == "pending", f"the approval is no longer pending: {a}")
        d = decide(self.env, "invoice-bot", "accounting", "read_invoice", {"invoice_id": "INV-1"}, "console-after-forge")
        expect(d.get("decision") == "allow", f"invoice-bot is no longer allowed: {d}")
        return f"approve/reject/revoke/suspend with a valid auditor csrf → {got}; nothing changed"

    def approver_forged(self):
        page = self.approver
        self.goto(page, "/agents/invoice-bot")
        csrf = self.csrf(page)
        actions = page.locator("form.action-suspend, form.action-revoke, form.action-token").count()
        expect(actions == 0, f"the approver's agent page has {actions} admin action forms")
        got = {
            "revoke": self.forge(page, "/agents/invoice-bot/revoke", {"csrf": csrf, "reason": "forged"}),
            "suspend": self.forge(page, "/agents/invoice-bot/suspend", {"csrf": csrf, "reason": "forged"}),
        }
        expect(all(v == 403 for v in got.values()), f"the approver's POSTs answered {got}, want 403")
        return f"approver: no admin forms; revoke/suspend POSTs → {got}"

    def csrf_missing(self):
        page = self.admin
        self.goto(page, "/agents/research-bot")
        got = {
            "suspend without csrf": self.forge(page, "/agents/research-bot/suspend", {"reason": "no csrf"}),
            "suspend with a wrong csrf": self.forge(page, "/agents/research-bot/suspend", {"reason": "bad csrf", "csrf": "0" * 43}),
            "approve without csrf": self.forge(page, f"/approvals/{self.pending_id}/approve", {"note": "no csrf"}),
        }
        expect(all(v == 403 for v in got.values()), f"answers: {got}, want 403 each")
        d = decide(self.env, "research-bot", "web", "fetch", {"url": "https://en.wikipedia.org/wiki/Audit"}, "console-csrf")
        expect(d.get("decision") == "allow", f"research-bot is no longer allowed: {d}")
        return f"{got}; research-bot still allowed"

    def suspend(self):
        page = self.admin
        self.goto(page, "/agents/research-bot")
        form = page.locator("form.action-suspend")
        expect(form.count() == 1, "no form.action-suspend on the admin's agent page")
        form.locator("input[name=reason]").fill("console test " + XSS)
        with page.expect_navigation():
            form.locator("[type=submit]").click()
        d = decide(self.env, "research-bot", "web", "fetch", {"url": "https://en.wikipedia.org/wiki/Audit"}, "console-suspended")
        expect(d.get("decision") == "deny", f"the next decision after suspending is {d.get('decision')!r}: {d}")
        expect(any("console test" in r for r in d.get("reasons", [])), f"the denial does not name the suspension: {d.get('reasons')}")
        self.suspended_denial = d
        self.goto(page, "/agents/research-bot")
        state = page.inner_text("#agent-state").strip()
        expect(state == "suspended", f"#agent-state is {state!r}")
        return f"next decision → deny {d.get('reasons')[0][:100]!r}; #agent-state suspended"

    def xss_reason(self):
        page = self.admin
        out = []
        self.goto(page, "/agents/research-bot")
        out.append(check_text_not_markup(page, "the suspension reason on the agent page"))
        entries = audit_entries(self.env)
        idx = [e["index"] for e in entries if (e.get("record") or {}).get("decision_id") == self.suspended_denial.get("id")]
        expect(idx, f"no audit record for the denial {self.suspended_denial.get('id')}")
        self.goto(page, f"/records/{idx[0]}")
        out.append(check_text_not_markup(page, f"the denial's reason on /console/records/{idx[0]}"))
        self.goto(page, "/activity?agent=research-bot")
        out.append(check_no_execution(page, "the activity page"))
        self.goto(page, "/")
        out.append(check_no_execution(page, "the overview (top reasons)"))
        return "; ".join(out)

    def resume(self):
        page = self.admin
        self.goto(page, "/agents/research-bot")
        form = page.locator("form.action-resume")
        expect(form.count() == 1, "no form.action-resume on a suspended agent's page")
        with page.expect_navigation():
            form.locator("[type=submit]").click()
        d = decide(self.env, "research-bot", "web", "fetch", {"url": "https://en.wikipedia.org/wiki/Audit"}, "console-resumed")
        expect(d.get("decision") == "allow", f"the next decision after resuming is {d}")
        return "next decision → allow"

    def issue_token(self):
        page = self.admin
        self.goto(page, "/agents/support-bot")
        form = page.locator("form.action-token")
        expect(form.count() == 1, "no form.action-token")
        with page.expect_navigation():
            form.locator("[type=submit]").click()
        token = page.inner_text("pre#new-token").strip()
        expect(token.count(".") == 2, f"pre#new-token does not hold a JWT: {token[:80]!r}")
        self.issued = token
        d = decide(self.env, "support-bot", "crm", "lookup_customer", {"id": "c-1"}, "console-token", token=token)
        expect(d.get("decision") == "allow", f"a decision with the issued token: {d}")
        self.goto(page, "/agents/support-bot")
        expect(page.locator("pre#new-token").count() == 0, "the token is shown again on the agent page (it must be shown once)")
        return "pre#new-token holds a JWT that the data plane accepts; not shown again on the next GET"

    def revoke(self):
        page = self.admin
        self.goto(page, "/agents/support-bot")
        form = page.locator("form.action-revoke")
        expect(form.count() == 1, "no form.action-revoke")
        reason = form.locator("input[name=reason]")
        if reason.count():
            reason.fill("console test: laptop lost")
        with page.expect_navigation():
            form.locator("[type=submit]").click()
        got = []
        for token in (self.env.agents["support-bot"], getattr(self, "issued", None)):
            if token:
                d = decide(self.env, "support-bot", "crm", "lookup_customer", {"id": "c-1"}, "console-revoked", token=token)
                got.append((d["_status"], (d.get("error") or {}).get("code") or d.get("decision")))
        expect(all(g == (401, "revoked") for g in got), f"after revoking, the data plane answered {got}, want 401 revoked")
        self.goto(page, "/agents/support-bot")
        state = page.inner_text("#agent-state").strip()
        expect(state == "revoked", f"#agent-state is {state!r}")
        return f"next decisions → {got}; #agent-state revoked"

    def approvals_phone(self):
        ctx = self.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                               is_mobile=True, has_touch=True)
        page = self.sign_in(ctx, self.env.approver, "approver")
        self.goto(page, "/approvals")
        item = page.locator(f'li.approval[data-id="{self.pending_id}"]')
        expect(item.count() == 1, f"pending approval {self.pending_id} is not listed")
        width = page.evaluate("() => document.documentElement.scrollWidth")
        self.shot(page, "approvals-phone")
        wide = page.evaluate("""() => {
            const clipped = (e) => { for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
                const o = getComputedStyle(a).overflowX; if (o !== 'visible' && a.getBoundingClientRect().right <= 390.5) return true; } return false; };
            return [...document.querySelectorAll('body *')]
              .filter(e => e.getBoundingClientRect().right > 390.5 && !clipped(e))
              .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' right=' + Math.round(e.getBoundingClientRect().right) + ' position=' + getComputedStyle(e).position + ' ' + e.outerHTML.slice(0, 80)); }""")
        expect(width <= 390, f"the page is {width} px wide at a 390 px viewport (scrolls sideways); too wide: {wide}")
        button = item.locator("form.approve [type=submit]").first
        button.scroll_into_view_if_needed()
        box = button.bounding_box()
        expect(box and box["x"] >= 0 and box["x"] + box["width"] <= 390, f"the approve button is off screen: {box}")
        expect(box["height"] >= 24 and box["width"] >= 24, f"the approve button is smaller than 24x24 px: {box}")
        ctx.close()
        self.current = self.admin
        return f"390x844: no sideways scroll, approve button {box['width']:.0f}x{box['height']:.0f} px on screen; screenshot approvals-phone.png"

    def axe_and_screenshots(self):
        env = self.env
        ctx = self.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
        page = self.sign_in(ctx, env.admin, "admin")
        with open(AXE) as f:
            axe_source = f.read()
        pages = [
            ("overview", "/"), ("agents", "/agents"), ("agent", "/agents/invoice-bot"),
            ("activity", "/activity"), ("record", f"/records/{getattr(self, 'proof_index', 0)}"),
            ("approvals", "/approvals"), ("alerts", "/alerts"), ("incidents", "/incidents"),
            ("audit", "/audit"), ("policies", "/policies"),
        ]
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            for name, path in pages:
                self.check(f"axe {name}{'' if scheme == 'light' else ' (dark)'}", self.axe, page, path, axe_source,
                           name if scheme == "light" else name + "-dark")
        login = self.new_page(self.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True))
        self.check("axe login", self.axe, login, "/login", axe_source, "login")
        login.context.close()
        ctx.close()
        self.current = self.admin

    def axe(self, page, path, axe_source, shot):
        self.goto(page, path)
        if page.locator(".approval").count() or path == "/approvals":
            pass
        page.wait_for_timeout(200)  # charts and live parts settle
        self.shot(page, shot)
        page.add_script_tag(content=axe_source)
        result = page.evaluate("async () => { const r = await axe.run(document, {resultTypes: ['violations']}); return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' ' + n.html.slice(0, 120))})) }")
        bad = [v for v in result if v["impact"] in ("serious", "critical")]
        expect(not bad, "; ".join(f"{v['impact']} {v['id']} ({v['help']}): {v['nodes']}" for v in bad))
        minor = [f"{v['impact']} {v['id']}" for v in result]
        return f"no serious/critical violations{' (others: ' + ', '.join(minor) + ')' if minor else ''}; screenshot {shot}.png"

    def no_dialogs(self):
        expect(not self.dialogs, f"dialogs opened: {self.dialogs}")
        return "no alert/confirm/prompt dialog opened in any page"

    def no_page_errors(self):
        errors = sorted(set(self.page_errors))
        expect(not errors, "; ".join(errors[:8]))
        return "no uncaught script error or console error (CSP violations included)"

    def logout(self, ctx):
        page = self.admin
        self.goto(page, "/")
        forged = self.forge(page, "/logout", {})
        expect(forged == 403, f"POST /console/logout without csrf answered {forged}, want 403")
        form = page.locator("form[action$='/console/logout']")
        expect(form.count() >= 1, "no logout form (form action=/console/logout)")
        with page.expect_navigation():
            form.first.locator("[type=submit]").click()
        expect(page.url.endswith("/console/login"), f"after logout at {page.url}")
        page.goto(self.env.console + "/")
        expect(page.url.endswith("/console/login"), f"after logout, /console/ shows {page.url}")
        return "without csrf → 403; with it → /console/login, and the session is gone"

    def verify_ok(self):
        ctx = self.new_context(viewport={"width": 1280, "height": 900})
        self.admin = self.sign_in(ctx, self.env.admin, "admin")
        state, bad, text = self.verify_now()
        expect(state == "ok", f"verify now on an untouched log: data-state={state!r} bad-index={bad!r}: {text!r}")
        return f"data-state=ok: {text[:100]!r}"

    def verify_now(self):
        page = self.admin
        self.goto(page, "/audit")
        status = page.locator("output#verify-status")
        expect(status.count() == 1, "no <output id=verify-status>")
        # A result shown from an earlier run must not be taken for this one.
        page.evaluate("() => { document.getElementById('verify-status').dataset.state = 'before-click' }")
        page.click("button#verify-now")
        page.wait_for_selector("output#verify-status[data-state=ok], output#verify-status[data-state=bad]", timeout=60_000)
        return status.get_attribute("data-state"), status.get_attribute("data-bad-index"), status.inner_text().strip()

    def tamper(self):
        env = self.env
        expect(env.db and os.path.exists(env.db), f"WARDEN_CONSOLE_DB ({env.db!r}) is not the store's SQLite file")
        entries = audit_entries(env)
        target = next(e["index"] for e in entries
                      if e["index"] > 0 and (e.get("record") or {}).get("decision") == "deny")
        db = sqlite3.connect(env.db, timeout=10)
        (blob,) = db.execute("SELECT record FROM warden_audit_records WHERE idx = ?", (target,)).fetchone()
        changed = bytes(blob).replace(b'"deny"', b'"allow"', 1)
        expect(changed != bytes(blob), f"record {target} holds no \"deny\"")
        db.execute("UPDATE warden_audit_records SET record = ? WHERE idx = ?", (changed, target))
        db.commit()
        db.close()
        state, bad, text = self.verify_now()
        expect(state == "bad", f"after changing record {target} in the store, verify now says data-state={state!r}: {text!r}")
        expect(bad == str(target), f"verify now names data-bad-index={bad!r}, want {target}: {text!r}")
        expect(str(target) in text, f"the status text does not name index {target}: {text!r}")
        return f"record {target} changed deny→allow in warden_audit_records: data-state=bad data-bad-index={bad}: {text[:120]!r}"


def find_proof(v):
    if isinstance(v, dict):
        if isinstance(v.get("proof"), list) and all(isinstance(h, str) for h in v["proof"]):
            return v
        for x in v.values():
            f = find_proof(x)
            if f is not None:
                return f
    if isinstance(v, list):
        for x in v:
            f = find_proof(x)
            if f is not None:
                return f
    return None


def num(text):
    return "".join(c for c in text if c.isdigit())


def wait_live(page):
    """Waits for the page's EventSource to be open: `[data-live=connected]`
    (requested of the contract) or the console's own `#live-status` saying
    "live"; without either, a pause."""
    try:
        page.wait_for_function(
            "() => document.querySelector('[data-live=connected]') || "
            "(document.getElementById('live-status') || {}).textContent === 'live'",
            timeout=3000)
    except Exception:  # noqa: BLE001 - no marker: fall back to a pause
        page.wait_for_timeout(700)


def check_no_execution(page, where):
    expect(page.evaluate("() => window.__xss") is None, f"{where}: the injected script ran (window.__xss set)")
    expect(page.locator("img[src=x]").count() == 0, f"{where}: an <img src=x> element was created from the text")
    injected = page.evaluate("() => [...document.scripts].filter(s => s.textContent.includes('__xss')).length")
    expect(injected == 0, f"{where}: a <script> element holding the injected text is in the DOM")
    return f"{where}: nothing ran"


def check_text_not_markup(page, where):
    check_no_execution(page, where)
    text = page.inner_text("#main")
    expect("<script>window.__xss=1" in text, f"{where}: the text `<script>…` is not shown as text in #main")
    return f"{where}: shown as text, nothing ran"


def main():
    env = Env()
    for need in (env.chromium, AXE):
        if not os.path.exists(need):
            print(f"console_test: {need} is missing: run tests/console/setup.sh", file=sys.stderr)
            return 2
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=env.chromium, headless=True)
        run = Run(env, browser)
        try:
            run.run()
        finally:
            browser.close()
    failed = [r for r in run.results if not r[1]]
    print(f"console checks: {len(run.results) - len(failed)} of {len(run.results)} passed"
          + (f"; failing: {', '.join(r[0] for r in failed)}" if failed else ""), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
