"""The pandera schema: every problem of a row, in a stable order."""

from __future__ import annotations

import pandas as pd

from bulk_sync.client.models import CustomFieldSchema
from bulk_sync.mapping import parse_mapping
from bulk_sync.validation import TeamRules, build_schema, row_problems


def test_a_rows_reasons_come_in_the_schemas_order_of_columns_and_checks() -> None:
    mapping = parse_mapping(
        "fields: {number: Phone, email: Email}\ncustomFields: {role: Role, budget: Budget}\n"
    )
    team = TeamRules({
        "role": CustomFieldSchema(id="1", name="role", type="select", required=True,
                                  options=["Manager"]),
        "budget": CustomFieldSchema(id="2", name="budget", type="number"),
    })  # fmt: skip
    frame = pd.DataFrame(
        {
            "budget": ["lots", "lots"],  # columns in another order than the schema's
            "cf.budget": ["lots", "lots"],
            "cf.role": ["", "Intern"],
            "email": ["not an email", "a@example.com"],
            "number": ["12345", "+1 212 555 0100"],
        },
        index=[7, 9],
    )
    problems = row_problems(frame, build_schema(mapping, team, "US"))
    assert problems[7] == [
        "number '12345' is too short for a phone number",
        "email 'not an email' is not an email address",
        "customFields.role: is empty, and it is required",
        "customFields.budget: 'lots' is not a number",
    ]
    assert problems[9] == [
        "customFields.role: 'Intern' is not one of Manager",
        "customFields.budget: 'lots' is not a number",
    ]
