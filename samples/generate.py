"""Writes samples/leads.csv and samples/leads.xlsx: a few hundred messy leads, reproducibly.

    python samples/generate.py            # rewrites both files (seed 2026)

The mess is on purpose: phone numbers in a dozen shapes and several countries, a
Mobile column that Excel stores as numbers, numbers Excel damaged, in-file
duplicates, bad emails, blank rows, non-ASCII names, a tag column, custom fields.
`benchmarks/import_dry_run.py` uses `messy_rows` to make its large files.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from pathlib import Path

HEADERS = ["First Name", "Last Name", "Email", "Phone", "Mobile", "Company", "Role", "Budget",
           "Tags", "Notes"]  # fmt: skip
FIRST = ["Ana", "Björn", "Chloé", "Dmitri", "Élodie", "Fatima", "Grace", "Hiroshi", "Ines", "José",
         "Kwame", "Léa", "Mateo", "Nguyễn", "Olivia", "Priya", "Quentin", "Rosa", "Søren", "Zoë",
         "Null", "Sarah", "Tom", "Uma", "Wei"]  # fmt: skip
LAST = ["Álvarez", "Brown", "Çelik", "Dubois", "Eriksson", "Fernández", "García", "Hansen",
        "Ivanova", "Jäger", "Kowalski", "López", "Müller", "Nakamura", "O'Brien", "Patel",
        "Quinn", "Rossi", "Smith", "Tanaka", "None", "Ødegaard"]  # fmt: skip
COMPANIES = ["Acme Realty", "Bright Homes", "Casa Nova", "Delta & Sons", "", "Evergreen LLC"]
ROLES = ["Manager", "Employee", "Executive", "manager", "", "Intern"]  # Intern: not an option
ROLE_WEIGHTS = [30, 40, 15, 9, 3, 3]  # role is required on the sandbox: "" is rejected
TAGS = ["VIP", "Lead", "Open House; VIP", "newsletter", "", "lead;Referral", " Referral ; "]
AREAS = ["212", "415", "312", "617", "303", "206", "512", "305", "404", "702"]
FOREIGN = ["+44 20 7946 {a:04d}", "+33 6 12 {b:02d} {c:02d} {d:02d}", "+49 30 1234{a:04d}",
           "+81 3-1234-{a:04d}", "+61 2 9374 {a:04d}", "+52 55 1234 {a:04d}"]  # fmt: skip
BROKEN = ["555-1234", "-679", "1.55512E+10", "#ERROR!", "12345", "call me", "+1 (000) 123-4567"]


def us_number(rng: random.Random) -> tuple[str, int]:
    """A US number in one of several shapes, and the same number as Excel would store it."""
    area, exchange, line = rng.choice(AREAS), rng.randint(201, 989), rng.randint(1000, 9999)
    shapes = [
        f"({area}) {exchange}-{line}", f"{area}.{exchange}.{line}", f"{area}-{exchange}-{line}",
        f"+1 {area} {exchange} {line}", f"1-{area}-{exchange}-{line}", f"{area}{exchange}{line}",
        f"{area}-{exchange}-{line} x{rng.randint(10, 999)}", f" {area} {exchange} {line} ",
    ]  # fmt: skip
    return rng.choice(shapes), int(f"1{area}{exchange}{line}")


def messy_rows(count: int, seed: int = 2026) -> Iterator[list[str | int]]:
    """`count` rows of HEADERS; Mobile is an int where Excel would hold a number."""
    rng = random.Random(seed)
    earlier: list[list[str | int]] = []
    for i in range(count):
        roll = rng.random()
        if earlier and roll < 0.04:  # a duplicate of an earlier row (same number)
            yield list(rng.choice(earlier[-200:]))
            continue
        if roll < 0.06:
            yield [""] * len(HEADERS)  # a blank row
            continue
        first, last = rng.choice(FIRST), rng.choice(LAST)
        phone, mobile_number = us_number(rng)
        mobile: str | int = mobile_number if rng.random() < 0.5 else ""
        if roll < 0.16:
            a, b, c, d = (rng.randint(0, 9999), rng.randint(10, 99), rng.randint(10, 99),
                          rng.randint(10, 99))  # fmt: skip
            phone = rng.choice(FOREIGN).format(a=a, b=b, c=c, d=d)
        elif roll < 0.24:
            phone = rng.choice(BROKEN)
        elif roll < 0.30:
            phone = ""  # Mobile, when there is one, stands in
        local = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
        email = f"{local}{i}@example.com"
        if rng.random() < 0.05:
            email = rng.choice(
                [f"{local}@", "not an email", f"{local}@example", f" {email.upper()} "]
            )
        elif rng.random() < 0.1:
            email = ""
        budget = rng.choices(["", "25000", "1,200.50", "180000", "lots"], [40, 25, 15, 17, 3])[0]
        role = rng.choices(ROLES, ROLE_WEIGHTS)[0]
        row: list[str | int] = [first, last, email, phone, mobile, rng.choice(COMPANIES), role,
                                budget, rng.choice(TAGS), f"Lead #{i}"]  # fmt: skip
        earlier.append(row)
        yield row


def write_csv(path: Path, rows: Iterator[list[str | int]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        writer.writerows(rows)


def write_xlsx(path: Path, rows: Iterator[list[str | int]], sheet: str = "Leads") -> None:
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet)
    worksheet.append(HEADERS)
    for row in rows:
        worksheet.append([None if v == "" else v for v in row])
    workbook.save(path)


if __name__ == "__main__":
    here = Path(__file__).parent
    write_csv(here / "leads.csv", messy_rows(300))
    write_xlsx(here / "leads.xlsx", messy_rows(300))
    print("wrote", here / "leads.csv", "and", here / "leads.xlsx")
