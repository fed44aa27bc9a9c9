-- The sandbox's SQLite schema. Ids are UUID strings; `seq` orders rows created
-- in the same millisecond.
PRAGMA foreign_keys = ON;

CREATE TABLE IF NOT EXISTS teams (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    api_key     TEXT NOT NULL UNIQUE,
    owner_id    TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS users (
    id          TEXT PRIMARY KEY,
    team_id     TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    first_name  TEXT NOT NULL,
    last_name   TEXT NOT NULL,
    email       TEXT NOT NULL,
    picture     TEXT,
    ord         INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS crm_stages (
    id          TEXT PRIMARY KEY,
    team_id     TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    ord         INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS custom_field_schemas (
    id          TEXT PRIMARY KEY,
    team_id     TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    label       TEXT NOT NULL,
    type        TEXT NOT NULL,
    required    INTEGER NOT NULL,
    placeholder TEXT,
    help_text   TEXT,
    options     TEXT,              -- JSON list, for select fields
    ord         INTEGER NOT NULL,
    UNIQUE (team_id, name)
);

CREATE TABLE IF NOT EXISTS boards (
    id                  TEXT PRIMARY KEY,
    team_id             TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    name                TEXT NOT NULL,
    description         TEXT,
    custom_field_schema TEXT,      -- JSON object
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS tags (
    id          TEXT PRIMARY KEY,
    team_id     TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,     -- casefolded name: tag names are unique per team
    color       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (team_id, name_key)
);

CREATE TABLE IF NOT EXISTS contacts (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    team_id       TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    first_name    TEXT,
    last_name     TEXT,
    email         TEXT,
    number        TEXT NOT NULL,
    carrier       TEXT,
    custom_fields TEXT NOT NULL DEFAULT '{}',
    crm_stage_id  TEXT REFERENCES crm_stages(id) ON DELETE SET NULL,
    search_text   TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS contacts_by_team_created ON contacts (team_id, created_at, seq);

CREATE TABLE IF NOT EXISTS contact_tags (
    contact_id  TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    tag_id      TEXT NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
    PRIMARY KEY (contact_id, tag_id)
);
CREATE INDEX IF NOT EXISTS contact_tags_by_tag ON contact_tags (tag_id);

CREATE TABLE IF NOT EXISTS notes (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    contact_id  TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    note        TEXT NOT NULL,
    type        TEXT NOT NULL,
    creator_id  TEXT NOT NULL REFERENCES users(id),
    created_at  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notes_by_contact ON notes (contact_id, seq);

CREATE TABLE IF NOT EXISTS assignments (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    contact_id  TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    assigned_at TEXT NOT NULL,
    UNIQUE (contact_id, user_id)
);

CREATE TABLE IF NOT EXISTS board_contacts (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    board_id    TEXT NOT NULL REFERENCES boards(id) ON DELETE CASCADE,
    contact_id  TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    added_at    TEXT NOT NULL,
    UNIQUE (board_id, contact_id)
);
CREATE INDEX IF NOT EXISTS board_contacts_by_contact ON board_contacts (contact_id);
