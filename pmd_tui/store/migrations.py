"""Versioned schema migrations, applied in place and recorded in ``PRAGMA user_version``.

Never edit a released migration: append a new one, so an older queue file upgrades step by step.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: the first schema
    """
    CREATE TABLE submissions (
        id INTEGER PRIMARY KEY,
        uid TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        source TEXT NOT NULL,
        source_kind TEXT NOT NULL,
        issue_number INTEGER,
        submitter TEXT,
        concept_type TEXT,
        concept TEXT,
        trigger_words TEXT,
        caption_method TEXT,
        repeats INTEGER,
        readme_text TEXT,
        likeness_attestation TEXT,
        artist_attestation TEXT,
        status TEXT NOT NULL DEFAULT 'new',
        status_reason TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE files (
        id INTEGER PRIMARY KEY,
        submission_id INTEGER NOT NULL REFERENCES submissions(id),
        name TEXT NOT NULL,
        original_path TEXT NOT NULL,
        kind TEXT NOT NULL,
        size_bytes INTEGER,
        sha256 TEXT,
        width INTEGER,
        height INTEGER,
        format TEXT,
        mode TEXT,
        caption TEXT,
        caption_source TEXT,
        caption_detail TEXT,
        caption_encoding TEXT,
        caption_file TEXT,
        position INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX files_submission ON files(submission_id, position);
    CREATE TABLE intake_notes (
        id INTEGER PRIMARY KEY,
        submission_id INTEGER NOT NULL REFERENCES submissions(id),
        kind TEXT NOT NULL,
        path TEXT NOT NULL,
        detail TEXT
    );
    CREATE TABLE checks (
        submission_id INTEGER NOT NULL REFERENCES submissions(id),
        rule TEXT NOT NULL,
        status TEXT NOT NULL,
        message TEXT NOT NULL,
        files TEXT NOT NULL DEFAULT '[]',
        data TEXT,
        checked_at TEXT NOT NULL,
        PRIMARY KEY (submission_id, rule)
    );
    CREATE TABLE analysis_cache (
        sha256 TEXT NOT NULL,
        version INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (sha256, version)
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        submission_id INTEGER,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT
    );
    CREATE INDEX events_submission ON events(submission_id, id);
    CREATE TRIGGER events_no_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
    CREATE TRIGGER events_no_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
    """,
    # 2: where a submission came from beyond a file (issue links), and publications
    """
    ALTER TABLE submissions ADD COLUMN issue_url TEXT;
    ALTER TABLE submissions ADD COLUMN issue_title TEXT;
    ALTER TABLE submissions ADD COLUMN issue_text TEXT;
    CREATE TABLE publications (
        id INTEGER PRIMARY KEY,
        submission_id INTEGER NOT NULL REFERENCES submissions(id),
        target TEXT NOT NULL,
        folder TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        commit_id TEXT,
        url TEXT,
        actor TEXT NOT NULL,
        published_at TEXT NOT NULL
    );
    CREATE INDEX publications_submission ON publications(submission_id, id);
    CREATE INDEX submissions_status ON submissions(status);
    """,
    # 3: results of model workers (SFW classifier, face detector), by content hash and model
    """
    CREATE TABLE model_results (
        sha256 TEXT NOT NULL,
        model TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (sha256, model)
    );
    """,
    # 4: images a maintainer leaves out of a submission (kept staged and in the log, never published)
    """
    ALTER TABLE files ADD COLUMN excluded INTEGER NOT NULL DEFAULT 0;
    """,
    # 5: benchmark metadata (held-out validation images, class word, evaluation prompts) and scores of runs
    """
    ALTER TABLE files ADD COLUMN split TEXT NOT NULL DEFAULT 'train';
    ALTER TABLE submissions ADD COLUMN class_word TEXT;
    ALTER TABLE submissions ADD COLUMN eval_prompts TEXT;
    CREATE TABLE scores (
        id INTEGER PRIMARY KEY,
        submission_id INTEGER NOT NULL REFERENCES submissions(id),
        dataset TEXT NOT NULL,
        label TEXT NOT NULL,
        metrics TEXT NOT NULL,
        detail TEXT,
        actor TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX scores_submission ON scores(submission_id, id);
    """,
    # 6: who is in a likeness set: the maintainer's word on a person matched in another dataset, and when a
    # submission's face-identity embeddings were deleted on request (they are not computed again)
    """
    ALTER TABLE submissions ADD COLUMN published_person_attestation TEXT;
    ALTER TABLE submissions ADD COLUMN identity_forgotten_at TEXT;
    """,
    # 7: an approval is of one exact state: the revision moves with every content change (in the change's own
    # transaction); the findings and the approval record the revision they were made on
    """
    ALTER TABLE submissions ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE submissions ADD COLUMN checked_revision INTEGER;
    ALTER TABLE submissions ADD COLUMN approved_revision INTEGER;
    UPDATE submissions SET checked_revision = 0 WHERE status != 'new';
    UPDATE submissions SET approved_revision = 0 WHERE status IN ('approved', 'published');
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
