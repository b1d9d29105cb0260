#!/usr/bin/env python3
"""Writes a JSON array of customer records for measuring `warden classify --json`.

    python3 scripts/customer-records.py 64 > /tmp/customers.json
    python3 scripts/customer-records.py 64 sparse > /tmp/customers-sparse.json

The first argument is the size in MiB (default 64); the output is the same
for the same arguments. Each record has an id, a name, an e-mail address, a
phone number, an IBAN (valid check digits), a nested address, tags, an
amount and a note of prose; every fifth note mentions a card number, a date
of birth or a phone number. With `sparse`, records are mostly prose (notes
of 200 to 600 bytes) and one in ten has an IBAN and an e-mail address.
"""

import json
import random
import sys

FIRST = ["Ann", "Bob", "Chloé", "Dmitri", "Eva", "Farid", "Grace", "Hans",
         "Ines", "Jürgen", "Kofi", "Lena", "Mateo", "Noor", "Olga", "Pia"]
LAST = ["Smith", "Müller", "García", "Rossi", "Dubois", "Jansen", "Kowalski",
        "O'Brien", "Nakamura", "Silva", "Novak", "Larsen"]
WORDS = ("the shipment left the warehouse on time and the customer asked about "
         "delivery windows for next quarter while support confirmed the invoice "
         "terms were unchanged and the account manager will follow up after the "
         "review of pricing tiers discounts returns and the loyalty programme").split()
CITIES = ["London", "Berlin", "Madrid", "Rome", "Paris", "Amsterdam", "Warsaw"]


def iban(rng):
    bank = "".join(rng.choice("0123456789") for _ in range(18))
    # DE + check digits + 18 digits; check digits by ISO 13616 mod 97.
    digits = bank + "131400"  # "DE" = 13 14, then "00"
    check = 98 - int(digits) % 97
    return f"DE{check:02d}{bank}"


def note(rng, n):
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 30))]
    text = " ".join(words).capitalize() + "."
    if n % 5 == 0:
        text += rng.choice([
            " Card 4111 1111 1111 1111 was charged.",
            " Date of birth 1985-03-12 confirmed on the call.",
            " Asked us to \"call back\" at +44 20 7946 0958.",
        ])
    return text


def dense_record(rng, n):
    first, last = rng.choice(FIRST), rng.choice(LAST)
    record = {
        "id": n,
        "name": f"{first} {last}",
        "email": f"{first.lower()}.{n}@example.com",
        "phone": f"+44 20 7946 {rng.randint(0, 9999):04d}",
        "iban": iban(rng),
        "address": {"city": rng.choice(CITIES), "postcode": f"{rng.randint(1000, 99999)}"},
        "tags": [rng.choice(WORDS), rng.choice(WORDS)],
        "amount": round(rng.random() * 10000, 2),
        "notes": note(rng, n),
    }
    return record


def sparse_record(rng, n):
    record = {"id": n, "name": rng.choice(FIRST), "notes": "", "tags": [rng.choice(WORDS), rng.choice(WORDS)],
              "amount": rng.randint(0, 99999)}
    size = rng.randint(200, 600)
    words = []
    while sum(len(w) + 1 for w in words) < size:
        words.append(rng.choice(WORDS))
    record["notes"] = " ".join(words).capitalize() + "."
    if n % 10 == 0:
        record["iban"] = "DE89 3704 0044 0532 0130 00"
        record["email"] = "ann@example.com"
    return record


def main():
    mib = int(sys.argv[1]) if len(sys.argv) > 1 else 64
    sparse = len(sys.argv) > 2 and sys.argv[2] == "sparse"
    target = mib << 20
    rng = random.Random(7)
    out = sys.stdout
    out.write("[")
    size = 1
    n = 0
    while size < target:
        n += 1
        record = sparse_record(rng, n) if sparse else dense_record(rng, n)
        text = json.dumps(record, ensure_ascii=False)
        if n > 1:
            out.write(",\n")
            size += 2
        out.write(text)
        size += len(text.encode())
    out.write("]\n")


if __name__ == "__main__":
    main()
