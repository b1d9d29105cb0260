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

def luhn_ok(n):
    s = 0
    for i, c in enumerate(reversed(n)):
        v = int(c)
        if i % 2 == 1:
            v *= 2
            if v > 9: v -= 9
        s += v
    return s % 10 == 0

def steuer_ok(n):
    p = 10
    for c in n[:10]:
        s = (int(c) + p) % 10 or 10
        p = (s * 2) % 11
    return (11 - p) % 10 == int(n[10])

CF_ODD = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23]
def cf_check(s15):
    idx = lambda c: int(c) if c.isdigit() else ord(c) - 65
    return chr(65 + sum(CF_ODD[idx(c)] if i % 2 == 0 else idx(c) for i, c in enumerate(s15)) % 26)

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

# Recall (issue 10, item 6): a second generator, so the lines above stay as they were.
r2 = random.Random(10)

def digits(n):
    return "".join(r2.choice(string.digits) for _ in range(n))

# National phone numbers without a country prefix.
for i in range(3):
    fr = "0" + r2.choice("1234567") + digits(8)
    add(r2.choice(["Appelez-moi au {phone}.", "Tél. : {phone}", "Standard {phone} (9h-18h)"]),
        phone=group(fr, [2, 2, 2, 2, 2], [" ", ".", "-"][i]))
add("Büro {phone}, Handy {phone_2}.", phone="030 " + digits(7), phone_2="0151 " + digits(8))
add("Zentrale {phone}", phone="(030) 123 " + digits(4))
add("Telefon: {phone}", phone="0" + r2.choice("2345689") + digits(8))
add("Móvil: {phone}; teléfono fijo {phone_2}.", phone="6" + digits(2) + " " + digits(3) + " " + digits(3),
    phone_2="91" + digits(1) + " " + digits(2) + " " + digits(2) + " " + digits(2))
add("Ufficio {phone}, cellulare {phone_2}", phone="06 " + digits(4) + " " + digits(4), phone_2="333 " + digits(3) + " " + digits(4))
add("Bel {phone} of {phone_2}.", phone="06-" + digits(8), phone_2="020 " + digits(3) + " " + digits(4))
add("Office {phone}, mobile {phone_2}, Manchester {phone_3}", phone="020 7946 " + digits(4), phone_2="07700 900" + digits(3),
    phone_3="0161 496 " + digits(4))
add("Call {phone} or {phone_2}.", phone="(415) 555-" + digits(4), phone_2="415.555." + digits(4))
add("Importe {x} euros; ref {x2}.", x="612 345 678", x2="912 34 56 78")
add("Order {x} shipped; invoice 2024-000123 dated 01.02.2024; total 1 250 000 EUR.", x="0" + digits(9))
add("Ids 00 12 34 56 78 and 06 12 34 56 78 90 12 are references; the label {x} too.", x="0" + digits(9))

# Short Maestro and 15-digit JCB cards.
for prefix, size in [("6759", [4, 4, 4]), ("50", [4, 4, 4]), ("1800", [4, 6, 5]), ("2131", [4, 6, 5]), ("56", [4, 4, 4, 4])]:
    n = sum(size)
    body = prefix + digits(n - len(prefix) - 1)
    c = next(body + d for d in string.digits if luhn_ok(body + d))
    add(("JCB {card} ok" if prefix in ("1800", "2131") else r2.choice(["Maestro {card} on file.", "Paid by card {card}."])),
        card=group(c, size, " "))
    bad = c[:-1] + str((int(c[-1]) + 3) % 10)
    add("Card number {xbad} was declined.", xbad=group(bad, size, " "))
add("Order {x} shipped.", x=next(b + d for b in ["6759" + digits(7)] for d in string.digits if luhn_ok(b + d)))

# National identifiers with check digits; near misses have a wrong one.
def nir():
    body = r2.choice("12") + digits(2) + "%02d" % r2.randint(1, 12) + r2.choice(["75", "69", "2A", "2B", "13"]) + digits(6)
    key = 97 - int(body.replace("2A", "19").replace("2B", "18")) % 97
    return body, "%02d" % key
for i in range(4):
    body, key = nir()
    shown = group(body + key, [1, 2, 2, 2, 3, 3, 2], " ") if i % 2 else body + key
    add(r2.choice(["N° de sécurité sociale : {fr_nir}", "NIR {fr_nir}", "Carte Vitale {fr_nir}."]), fr_nir=shown)
    wrong = "%02d" % ((int(key) % 97) + 1)
    add("Numéro {x} refusé.", x=group(body + wrong, [1, 2, 2, 2, 3, 3, 2], " "))

def steuer(good=True):
    while True:
        d = [r2.choice("123456789")] + [r2.choice(string.digits) for _ in range(9)]
        counts = [d.count(c) for c in set(d)]
        if sorted(counts)[-1] == 2 and counts.count(2) == 1:
            break
    body = "".join(d)
    for k in string.digits:
        if steuer_ok(body + k) == good:
            return body + k
for i in range(3):
    t = steuer()
    add(r2.choice(["Steuer-IdNr.: {de_tax_id}", "Steuerliche Identifikationsnummer {de_tax_id}", "Ihre IdNr {de_tax_id}"]),
        de_tax_id=group(t, [2, 3, 3, 3], " ") if i % 2 else t)
add("Steuer-IdNr. {x} (Prüfziffer falsch)", x=steuer(good=False))
add("Bestellnummer {x}", x=steuer())

DNI = "TRWAGMYFPDXBNJZSQVHLCKE"
for i in range(3):
    n = digits(8)
    add(r2.choice(["DNI {es_dni}", "NIF: {es_dni}", "con DNI {es_dni} y"]), es_dni=n + ("-" if i == 1 else "") + DNI[int(n) % 23])
    p = r2.choice("XYZ")
    m = digits(7)
    add("NIE {es_nie}", es_nie=p + m + DNI[int(str("XYZ".index(p)) + m) % 23])
n = digits(8)
add("DNI {x} no es válido", x=n + DNI[(int(n) + 1) % 23])

def cf(omocodia=False):
    letters = string.ascii_uppercase
    body = rand_from(letters, 6) + digits(2) + r2.choice("ABCDEHLMPRST") + "%02d" % r2.randint(1, 71) + r2.choice(letters) + digits(3)
    if omocodia:
        body = body[:14] + "LMNPQRSTUV"[int(body[14])]
    return body + cf_check(body)
def rand_from(chars, n):
    return "".join(r2.choice(chars) for _ in range(n))
for i in range(4):
    add(r2.choice(["Codice fiscale {it_codice_fiscale}", "CF: {it_codice_fiscale}", "C.F. {it_codice_fiscale}."]),
        it_codice_fiscale=cf(omocodia=i == 3))
c = cf()
add("Codice fiscale {x} errato", x=c[:15] + ("A" if c[15] != "A" else "B"))

def bsn(good=True):
    while True:
        n = digits(9)
        ok = sum(int(c) * w for c, w in zip(n, [9, 8, 7, 6, 5, 4, 3, 2, -1])) % 11 == 0
        if ok == good and n[0] != "0":
            return n
for i in range(3):
    b = bsn()
    add(r2.choice(["BSN {nl_bsn}", "Burgerservicenummer: {nl_bsn}", "sofinummer {nl_bsn}"]),
        nl_bsn=b[:4] + "." + b[4:6] + "." + b[6:] if i == 1 else b)
add("BSN {x} klopt niet", x=bsn(good=False))
add("Ordernummer {x}", x=bsn())

# Dates of birth in several languages; plain dates are not.
for template, value in [("Born {dob} in Leeds.", "1985-03-14"), ("DOB: {dob}", "14/03/1985"), ("Date of birth {dob}", "03/14/1985"),
                        ("Née le {dob} à Lyon.", "14 mars 1985"), ("Geboren am {dob} in Köln.", "14. März 1985"),
                        ("Fecha de nacimiento: {dob}", "14/03/1985"), ("Data di nascita {dob}", "14 marzo 1985"),
                        ("Geboortedatum {dob}", "14 maart 1985"), ("Birthday: {dob}", "March 14, 1985"),
                        ("Geburtsdatum {dob}", "14.03.1985")]:
    add(template, dob=value)
add("Le 14 mars 1985, am 14. März 1985 and on March 14, 1985 the invoice 14.03.1985 was paid.")

# Values with NUL or zero-width characters inside are still found.
add("Card {card} charged.", card="4111\u200b1111 1111 1111")
add("Mail {email} today.", email="jane\u0000@example.com")
add("IBAN {iban}.", iban="DE89 3704\u200d0044 0532 0130 00")
add("SSN {ssn} on file.", ssn="536-\u00ad22-8714")

# Password-reset mails are not passwords; real passwords are.
add("Reset your password here: https://example.com/reset?token=abc")
add("Forgot your password? Click the link to reset your password.")
add("Password: see the vault entry; PWD=/home/jane")
add("password: {password}", password="hunter2-Xy9")
add("pwd={password};", password="Zr9-" + rand_from(ALNUM, 8))

for line in lines:
    print(json.dumps(line, ensure_ascii=False))
