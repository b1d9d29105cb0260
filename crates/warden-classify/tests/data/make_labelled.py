#!/usr/bin/env python3
"""Writes labelled.jsonl: synthetic sentences with their expected findings.

Offsets are Unicode character offsets. Deterministic (fixed seed); rerun with
`python3 tests/data/make_labelled.py > tests/data/labelled.jsonl`.
"""
import base64, json, random, string

rng = random.Random(6)

def luhn_complete(prefix, length):
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    for d in string.digits:
        n = body + d
        s = 0
        for i, c in enumerate(reversed(n)):
            v = int(c)
            if i % 2 == 1:
                v *= 2
                if v > 9: v -= 9
            s += v
        if s % 10 == 0:
            return n
    raise AssertionError

def group(n, sizes, sep):
    out, i = [], 0
    for k in sizes:
        out.append(n[i:i+k]); i += k
    return sep.join(out)

IBAN_LEN = {"DE": 22, "GB": 22, "FR": 27, "NL": 18, "ES": 24, "IT": 27, "CH": 21, "BE": 16, "PL": 28, "NO": 15}

def iban(cc, bad=False):
    n = IBAN_LEN[cc] - 4
    bban = "".join(rng.choice(string.digits + (string.ascii_uppercase if cc in "GB NL" else "")) for _ in range(n))
    if cc in ("GB", "NL"):
        bban = "".join(rng.choice(string.ascii_uppercase) for _ in range(4)) + "".join(rng.choice(string.digits) for _ in range(n - 4))
    num = int("".join(str(int(c, 36)) for c in bban + cc + "00"))
    check = 98 - num % 97
    if bad:
        check = (check % 97) + 1 if check != 97 else 2
    return f"{cc}{check:02d}{bban}"

def spaced(s):
    return " ".join(s[i:i+4] for i in range(0, len(s), 4))

def b64(obj):
    return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).decode().rstrip("=")

def rand(chars, n):
    return "".join(rng.choice(chars) for _ in range(n))

AZ09 = string.ascii_uppercase + string.digits
ALNUM = string.ascii_letters + string.digits

lines = []

def add(template, **values):
    """template uses {name} slots; a slot named type_N is expected as type."""
    text, expect = "", []
    parts = template.split("{")
    text = parts[0]
    for part in parts[1:]:
        name, rest = part.split("}", 1)
        value = values[name]
        kind = name.rsplit("_", 1)[0] if name[-1].isdigit() else name
        if not name.startswith("x"):
            expect.append({"type": kind, "start": len(text), "end": len(text) + len(value)})
        text += value + rest
    lines.append({"text": text, "expect": expect})

ISSUERS = [("4", 16, [4, 4, 4, 4]), ("51", 16, [4, 4, 4, 4]), ("55", 16, [4, 4, 4, 4]), ("2221", 16, [4, 4, 4, 4]),
           ("34", 15, [4, 6, 5]), ("37", 15, [4, 6, 5]), ("6011", 16, [4, 4, 4, 4]), ("3528", 16, [4, 4, 4, 4]), ("4", 13, [13])]
names = ["Anna", "Jürgen", "Zoë", "Mateus", "Søren", "Ines"]
domains = ["example.com", "example.org", "bücher.de", "mail.example.co.uk", "例子.广告", "xn--bcher-kva.example"]
locals_ = ["anna", "j.mueller", "zoë.ng", "ops+alerts", "søren_k", "用户"]

for i in range(24):
    p, n, sizes = ISSUERS[i % len(ISSUERS)]
    c = luhn_complete(p, n)
    sep = [" ", "-", ""][i % 3]
    shown = group(c, sizes, sep) if sep else c
    add(rng.choice(["Charge card {card} for the order.", "{card} expires 09/27", "Paid with {card}, thanks {x}!"]), card=shown, x=rng.choice(names))
    bad = c[:-1] + str((int(c[-1]) + 1) % 10)
    add("Card number {xbad} was declined.", xbad=group(bad, sizes, sep) if sep else bad)
for i in range(20):
    cc = list(IBAN_LEN)[i % len(IBAN_LEN)]
    good = iban(cc)
    add(rng.choice(["Please wire to {iban} today.", "IBAN: {iban}", "Konto {iban} (Sparkasse)"]), iban=spaced(good) if i % 2 else good)
    add("Old account {xbad} is closed.", xbad=spaced(iban(cc, bad=True)) if i % 2 else iban(cc, bad=True))
for i in range(18):
    e = f"{locals_[i % 6]}@{domains[(i // 2) % 6]}"
    add(rng.choice(["Write to {email} with questions.", "cc: {email}", "Kontakt: «{email}»."]), email=e)
add("Ping @anna on chat, or root@localhost.", )
add("Version a@b.c is not an address.")
for i in range(12):
    key = rng.choice(["AKIA", "ASIA"]) + rand(AZ09, 16)
    add(rng.choice(["aws_access_key_id = {aws_access_key}", "Found {aws_access_key} in the logs."]), aws_access_key=key)
add("We expanded in ASIA and AKIAN markets.")
for i in range(12):
    tok = rng.choice(["ghp_", "gho_", "ghs_", "ghu_"]) + rand(ALNUM, 36)
    add("export GH={github_token}", github_token=tok)
add("github_pat_{x} style tokens: {github_token}", x="", github_token="github_pat_" + rand(ALNUM, 22) + "_" + rand(ALNUM, 59))
add("The ghp_ prefix marks a personal token; ghp_short is not one.")
for i in range(10):
    header = b64({"alg": rng.choice(["HS256", "RS256", "ES256"]), "typ": "JWT"})
    payload = b64({"sub": str(rng.randint(1, 10**6)), "iat": 1700000000 + i})
    sig = rand(ALNUM + "-_", 43)
    add("Authorization: Bearer {jwt}", jwt=f"{header}.{payload}.{sig}")
add("Not a JWT: {x}", x=b64({"typ": "JWT"}) + "." + b64({"sub": "1"}) + ".abc")
add("Slack bot {slack_token} posted.", slack_token="xoxb-" + rand(string.digits, 12) + "-" + rand(ALNUM, 24))
add("Stripe {stripe_key} in config.", stripe_key="sk_live_" + rand(ALNUM, 24))
add("Test key sk_test_{x} is fine.", x=rand(ALNUM, 24))
add("DATABASE_URL=postgres://app:{url_password}@db.internal:5432/app", url_password="Zr9-" + rand(ALNUM, 10))
add("Server=db;Database=app;User Id=svc;Password={password};", password="P@" + rand(ALNUM, 10))
add("SSN {ssn} on the W-2.", ssn="536-22-8714")
add("Social security number: {ssn}.", ssn="219-45-1234")
add("Invalid SSN 666-12-3456 and 000-12-3456.")
add("Call {phone} after 5pm.", phone="+44 20 7946 0958")
add("Mobile {phone}.", phone="+1 (415) 555-2671")
add("Meeting on 2024-01-15 and 15.01.2024 at 10:30.")
add("Server {ip} answered, {ip_2} too.", ip="192.168.10.4", ip_2="2001:db8::8a2e:370:7334")
add("Upgrade to version 1.2.3.4 or build 10.0.19045.")
add("Order 12345678901234567890 shipped; invoice 2024-000123.")
add("BIC {swift} for the transfer.", swift="NWBKGB2L")
add("ABA routing number {routing}.", routing="021000021")
add("NI number {nino}.", nino="AB 12 34 56 C")
add("Patient born {dob} in Leeds.", dob="12 March 1985")
add("Diagnosis code {icd10} (type 2 diabetes).", icd10="E11.9")
add("{privileged} — do not forward.", privileged="Privileged & Confidential")
add("We drove the M25 on 12 March 2025 with 3 passengers.")

# Passport numbers: only after a passport word (several languages).
PASSPORT_SHAPES = [lambda: rand(string.digits, 9), lambda: rand(string.ascii_uppercase, 1) + rand(string.digits, 8),
                   lambda: rand(string.digits, 2) + rand(string.ascii_uppercase, 2) + rand(string.digits, 5),
                   lambda: rand(string.ascii_uppercase, 2) + rand(string.digits, 7)]
for i in range(10):
    add(rng.choice(["Passport No. {passport}, valid to 2031.", "passport number: {passport}", "Numéro de passeport {passport}",
                    "Reisepassnummer {passport} (Deutschland)", "PASSPORT {passport} / {x}", "Pasaporte: {passport}"]),
        passport=PASSPORT_SHAPES[i % 4](), x=rng.choice(names))
add("Ticket {x} issued to {xname}.", x=PASSPORT_SHAPES[0](), xname=rng.choice(names))
add("passport.authenticate('local') returned 401 for user 12345678.")
add("Passport photo 35x45 mm, expires 20310405.")

# Medical record numbers: only after MRN, medical record or patient ID.
for i in range(10):
    mrn = rng.choice([rand(string.digits, 8), rand(string.digits, 4) + "-" + rand(string.digits, 4), "PT-" + rand(string.digits, 7)])
    add(rng.choice(["MRN: {mrn} admitted to ward 4.", "Patient ID {mrn}, seen by Dr {x}.", "medical record number {mrn}",
                    "Patient #{mrn} discharged."]), mrn=mrn, x=rng.choice(names))
add("mRNA-1273 lot {x} shipped.", x=rand(string.digits, 7))
add("The patient waited 45 minutes; MRN pending.")
add("Medical record updated 2024-03-01 by {x}.", x=rng.choice(names))
add("Order {x} shipped to the ward.", x=rand(string.digits, 8))

# Postal addresses: US street lines (with unit and city, state, ZIP) and UK postcodes.
STREETS = ["Main Street", "Oak Avenue", "Pennsylvania Avenue NW", "Baker Street", "5th Ave", "Elm St", "Sunset Boulevard", "Mill Lane",
           "St Marks Place", "Lakeview Drive"]
for i in range(10):
    street = f"{rng.randint(1, 9999)}{rng.choice(['', '', 'B'])} {STREETS[i]}"
    if i % 3 == 0:
        street += f", Apt {rng.randint(1, 20)}{rng.choice('ABC')}, Springfield, IL {rand(string.digits, 5)}"
    add(rng.choice(["Ship to {street_address} by Friday.", "Address: {street_address}", "{x} lives at {street_address}."]),
        street_address=street, x=rng.choice(names))
add("We made 3 main points and 12 Key Points For The Open Road.")
add("In 1990 Wall Street fell; page 42 Court Rules apply.")
POSTCODES = ["SW1A 1AA", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT", "EC1A 1BB", "W1A 0AX", "EH1 2NG", "LS1 4AP", "G2 3BZ"]
for pc in POSTCODES:
    add(rng.choice(["London {uk_postcode}, United Kingdom", "Postcode: {uk_postcode}", "Send it to {x}, {uk_postcode}."]),
        uk_postcode=pc, x=rng.choice(names))
add("Codes SW1A 1CA, QA1 1AA, AZ1 1AA and SW1A1AA are not postcodes; nor is the M25 or A4 paper.")

# GCP service-account key files (the private key is the private_key detector's).
def add_text(text, *found):
    """A line whose expected findings are located by their text: (type, value) pairs."""
    lines.append({"text": text, "expect": [{"type": k, "start": text.index(v), "end": text.index(v) + len(v)} for k, v in found]})

for i in range(3):
    kid = rand("0123456789abcdef", 40)
    key = "-----BEGIN PRIVATE KEY-----\\n" + rand(ALNUM, 64) + "\\n-----END PRIVATE KEY-----"
    add_text('{"type": "service_account", "project_id": "demo-%d", "private_key_id": "%s", "private_key": "%s\\n"}' % (i, kid, key),
             ("gcp_service_account", kid), ("private_key", key))
kid = rand("0123456789abcdef", 40)
add_text('{"type": "authorized_user", "private_key_id": "%s"}' % kid, ("secret", kid))

# Azure storage account keys and client secrets.
for i in range(4):
    key = base64.b64encode(bytes(rng.randrange(256) for _ in range(64))).decode()
    add("DefaultEndpointsProtocol=https;AccountName=acme{x};AccountKey={azure_storage_key};EndpointSuffix=core.windows.net",
        x=str(i), azure_storage_key=key)
add("Set AccountKey=<your-account-key>; in the connection string.")
SECRET_CHARS = ALNUM + "_~.-"
for i in range(4):
    sec = rand(ALNUM, 3) + rand(string.digits, 1) + "Q~" + rand(SECRET_CHARS, 33) + rand(ALNUM, 1)
    add(rng.choice(["AZURE_CLIENT_SECRET={azure_client_secret}", "client_secret: \"{azure_client_secret}\""]), azure_client_secret=sec)

# GitLab tokens.
for prefix in ["glpat-", "glpat-", "gldt-", "glrt-", "glptt-", "glcbt-"]:
    add("export GITLAB_TOKEN={gitlab_token}", gitlab_token=prefix + rand(ALNUM + "_-", 20) + rand(ALNUM, 1))
add("The glpat- prefix marks a GitLab token; glpat-short is not one.")

# Passwords in connection strings.
add("Server=db;Uid=app;Pwd={password};", password="Q7" + rand(ALNUM, 10))
pw = "p@ss;" + rand(ALNUM, 8)
add_text("Driver={ODBC};PWD={%s};" % pw, ("password", pw))
add("host=db user=app password={password} dbname=app", password="Zr9-" + rand(ALNUM, 10))
add("mysql://root:{url_password}@db.internal:3306/app", url_password="Kq" + rand(ALNUM, 10))
add_text("PWD={DB_PASSWORD}; and password: ******** are placeholders.")

for line in lines:
    print(json.dumps(line, ensure_ascii=False))
