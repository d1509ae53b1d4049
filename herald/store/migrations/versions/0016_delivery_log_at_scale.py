"""the delivery log at a million rows: its sort key and filters on deliveries, the counts behind
the dashboard, text search, and the indexes that serve them

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 09:00:00

What this adds, and why (``herald.store.log`` and ``herald.store.stats`` read it):

- ``deliveries.post_scheduled_at`` and ``deliveries.post_campaign_key``: copies of the post's
  ``scheduled_at`` and ``campaign_id`` (0 for posts of no campaign: an index serves "= 0" in
  order, where PostgreSQL's does not serve "IS NULL" so). The log is sorted by the post's time
  and filtered by its campaign (a person's reach too); with both on the delivery, every page is
  one range of one index of one table, instead of a join that sorts. Triggers keep the copies
  equal to the post's, whoever writes (the service, a worker, an import, plain SQL).
- ``delivery_counts`` and ``delivery_count_changes``: deliveries counted by (campaign,
  channel, state). Triggers append +1/-1 rows to the changes (appends only: no row that two
  writers would wait for); ``store.stats.fold_counts`` adds them into the counts now and then
  (the scheduler does, every consistency check), and a read adds what is not folded yet.
  ``campaign_key`` is ``post_campaign_key``'s: the campaign's id, 0 for posts of none.
- Text search over what a post says (its text and its channels' own texts): on PostgreSQL,
  pg_trgm GIN indexes on ``posts.text`` and ``post_variants.text``; on SQLite, an FTS5 table
  with the trigram tokenizer, ``post_search``, kept by triggers (rowid > 0: the post whose key
  is that id in ``post_search_keys``, since a post's own id is text; rowid < 0: the variant
  ``-rowid``). Either is optional: where pg_trgm cannot be created, or SQLite has no trigram
  tokenizer (before 3.34), search reads the log row by row, within a bound.
- Indexes named for the query they serve (``ix_deliveries_log*``: the log, newest first, by
  itself or by state, channel, campaign, campaign and state, channel and state: "what failed in
  my campaigns" reads only what it shows; ``ix_posts_*``: the dashboard's lists of posts).

Caution for later migrations: on SQLite, a batch operation that *recreates* ``deliveries``,
``posts`` or ``post_variants`` (dropping or altering a column) drops their triggers with the old
table. Such a migration must create the triggers of this one again (``_sqlite_triggers``);
``tests/test_log_scale.py`` checks that every one of them exists at the newest revision.
"""

from alembic import op
import sqlalchemy as sa


revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

#: Each index, the columns it orders (``DESC`` where the log reads newest first), and its table.
_INDEXES = (
    ("ix_deliveries_log", "deliveries", ("post_scheduled_at DESC", "id")),
    ("ix_deliveries_log_by_state", "deliveries", ("state", "post_scheduled_at DESC", "id")),
    ("ix_deliveries_log_by_channel", "deliveries", ("channel_id", "post_scheduled_at DESC", "id")),
    ("ix_deliveries_log_by_campaign", "deliveries", ("post_campaign_key", "post_scheduled_at DESC", "id")),
    (
        "ix_deliveries_log_by_campaign_state",
        "deliveries",
        ("post_campaign_key", "state", "post_scheduled_at DESC", "id"),
    ),
    (
        "ix_deliveries_log_by_channel_state",
        "deliveries",
        ("channel_id", "state", "post_scheduled_at DESC", "id"),
    ),
    ("ix_posts_newest", "posts", ("scheduled_at", "id")),
    ("ix_posts_by_approval", "posts", ("approval", "scheduled_at")),
    ("ix_posts_by_campaign", "posts", ("campaign_id", "scheduled_at")),
)

# -- SQLite --------------------------------------------------------------------------------------

#: (name, statement) of every SQLite trigger, in the order they are made.
_SQLITE_TRIGGERS = (
    # A new delivery takes its post's time and campaign (unless the writer gave them), and is
    # counted. The campaign counted is read from the post: the copy may not be filled yet.
    (
        "deliveries_log_fill",
        """CREATE TRIGGER deliveries_log_fill AFTER INSERT ON deliveries
        WHEN NEW.post_scheduled_at IS NULL
        BEGIN
            UPDATE deliveries
            SET post_scheduled_at = (SELECT scheduled_at FROM posts WHERE id = NEW.post_id),
                post_campaign_key = (SELECT coalesce(campaign_id, 0) FROM posts WHERE id = NEW.post_id)
            WHERE id = NEW.id;
        END""",
    ),
    (
        "deliveries_count_insert",
        """CREATE TRIGGER deliveries_count_insert AFTER INSERT ON deliveries
        BEGIN
            INSERT INTO delivery_count_changes (campaign_key, channel_id, state, delta)
            SELECT coalesce(campaign_id, 0), NEW.channel_id, NEW.state, 1 FROM posts WHERE id = NEW.post_id;
        END""",
    ),
    (
        "deliveries_count_update",
        """CREATE TRIGGER deliveries_count_update AFTER UPDATE OF state, channel_id ON deliveries
        WHEN OLD.state IS NOT NEW.state OR OLD.channel_id IS NOT NEW.channel_id
        BEGIN
            INSERT INTO delivery_count_changes (campaign_key, channel_id, state, delta) VALUES
                (OLD.post_campaign_key, OLD.channel_id, OLD.state, -1),
                (NEW.post_campaign_key, NEW.channel_id, NEW.state, 1);
        END""",
    ),
    (
        "deliveries_count_delete",
        """CREATE TRIGGER deliveries_count_delete AFTER DELETE ON deliveries
        BEGIN
            INSERT INTO delivery_count_changes (campaign_key, channel_id, state, delta)
            VALUES (OLD.post_campaign_key, OLD.channel_id, OLD.state, -1);
        END""",
    ),
    # A post moved in time, or to another campaign: its deliveries' copies follow (and the
    # counts move from the old campaign to the new one).
    (
        "posts_log_time",
        """CREATE TRIGGER posts_log_time AFTER UPDATE OF scheduled_at ON posts
        WHEN OLD.scheduled_at IS NOT NEW.scheduled_at
        BEGIN
            UPDATE deliveries SET post_scheduled_at = NEW.scheduled_at WHERE post_id = NEW.id;
        END""",
    ),
    (
        "posts_log_campaign",
        """CREATE TRIGGER posts_log_campaign AFTER UPDATE OF campaign_id ON posts
        WHEN OLD.campaign_id IS NOT NEW.campaign_id
        BEGIN
            INSERT INTO delivery_count_changes (campaign_key, channel_id, state, delta)
            SELECT post_campaign_key, channel_id, state, -1 FROM deliveries WHERE post_id = NEW.id
            UNION ALL
            SELECT coalesce(NEW.campaign_id, 0), channel_id, state, 1 FROM deliveries WHERE post_id = NEW.id;
            UPDATE deliveries SET post_campaign_key = coalesce(NEW.campaign_id, 0) WHERE post_id = NEW.id;
        END""",
    ),
)

#: The search triggers, made only where FTS5's trigram tokenizer is there.
_SQLITE_SEARCH_TRIGGERS = (
    (
        "posts_search_insert",
        """CREATE TRIGGER posts_search_insert AFTER INSERT ON posts
        BEGIN
            INSERT INTO post_search_keys (post_id) VALUES (NEW.id);
            INSERT INTO post_search (rowid, text)
            VALUES ((SELECT id FROM post_search_keys WHERE post_id = NEW.id), NEW.text);
        END""",
    ),
    (
        "posts_search_update",
        """CREATE TRIGGER posts_search_update AFTER UPDATE OF text ON posts
        WHEN OLD.text IS NOT NEW.text
        BEGIN
            UPDATE post_search SET text = NEW.text
            WHERE rowid = (SELECT id FROM post_search_keys WHERE post_id = NEW.id);
        END""",
    ),
    (
        "posts_search_delete",
        """CREATE TRIGGER posts_search_delete AFTER DELETE ON posts
        BEGIN
            DELETE FROM post_search WHERE rowid = (SELECT id FROM post_search_keys WHERE post_id = OLD.id);
            DELETE FROM post_search_keys WHERE post_id = OLD.id;
        END""",
    ),
    (
        "post_variants_search_insert",
        """CREATE TRIGGER post_variants_search_insert AFTER INSERT ON post_variants
        BEGIN
            INSERT INTO post_search (rowid, text) VALUES (-NEW.id, NEW.text);
        END""",
    ),
    (
        "post_variants_search_update",
        """CREATE TRIGGER post_variants_search_update AFTER UPDATE OF text ON post_variants
        WHEN OLD.text IS NOT NEW.text
        BEGIN
            UPDATE post_search SET text = NEW.text WHERE rowid = -NEW.id;
        END""",
    ),
    (
        "post_variants_search_delete",
        """CREATE TRIGGER post_variants_search_delete AFTER DELETE ON post_variants
        BEGIN
            DELETE FROM post_search WHERE rowid = -OLD.id;
        END""",
    ),
)


def _sqlite_triggers() -> None:
    """The triggers of this migration on SQLite (again, after a batch migration recreated one
    of their tables): the search ones only where ``post_search`` exists."""
    bind = op.get_bind()
    for _, ddl in _SQLITE_TRIGGERS:
        bind.exec_driver_sql(ddl)
    if _sqlite_search_exists():
        for _, ddl in _SQLITE_SEARCH_TRIGGERS:
            bind.exec_driver_sql(ddl)


def _sqlite_search_exists() -> bool:
    found = op.get_bind().exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'post_search'"
    )
    return found.first() is not None


def _sqlite_search() -> None:
    """``post_search`` (FTS5, trigram) filled from the posts and variants there are, if this
    SQLite has the trigram tokenizer (3.34+); without it, search reads row by row."""
    bind = op.get_bind()
    try:
        # A failed statement leaves SQLite's transaction as it was: no savepoint needed.
        bind.exec_driver_sql("CREATE VIRTUAL TABLE post_search USING fts5(text, tokenize='trigram')")
    except sa.exc.OperationalError:
        return
    op.create_table(
        "post_search_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("post_id", name="uq_post_search_keys_post_id"),
    )
    bind.exec_driver_sql("INSERT INTO post_search_keys (post_id) SELECT id FROM posts ORDER BY rowid")
    bind.exec_driver_sql(
        "INSERT INTO post_search (rowid, text) SELECT k.id, p.text FROM post_search_keys k JOIN posts p ON p.id = k.post_id"
    )
    bind.exec_driver_sql("INSERT INTO post_search (rowid, text) SELECT -id, text FROM post_variants")


# -- PostgreSQL ----------------------------------------------------------------------------------

#: (function, trigger) statements of every PostgreSQL trigger. Counting is per statement, over
#: its transition tables: a bulk insert of 2,000 deliveries appends a few rows, not 2,000.
_PG_TRIGGERS = (
    (
        """CREATE FUNCTION herald_deliveries_log_fill() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.post_scheduled_at IS NULL THEN
                SELECT scheduled_at, coalesce(campaign_id, 0) INTO NEW.post_scheduled_at, NEW.post_campaign_key
                FROM posts WHERE id = NEW.post_id;
            END IF;
            RETURN NEW;
        END $$""",
        """CREATE TRIGGER deliveries_log_fill BEFORE INSERT ON deliveries
        FOR EACH ROW EXECUTE FUNCTION herald_deliveries_log_fill()""",
    ),
    (
        """CREATE FUNCTION herald_deliveries_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO delivery_count_changes (campaign_key, channel_id, state, delta)
            SELECT post_campaign_key, channel_id, state, count(*)
            FROM new_rows GROUP BY 1, 2, 3;
            RETURN NULL;
        END $$""",
        """CREATE TRIGGER deliveries_count_insert AFTER INSERT ON deliveries
        REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION herald_deliveries_count_insert()""",
    ),
    (
        """CREATE FUNCTION herald_deliveries_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO delivery_count_changes (campaign_key, channel_id, state, delta)
            SELECT campaign_key, channel_id, state, sum(delta) FROM (
                SELECT o.post_campaign_key AS campaign_key, o.channel_id, o.state, -1 AS delta
                FROM old_rows o JOIN new_rows n ON n.id = o.id
                WHERE o.state IS DISTINCT FROM n.state OR o.channel_id IS DISTINCT FROM n.channel_id
                    OR o.post_campaign_key IS DISTINCT FROM n.post_campaign_key
                UNION ALL
                SELECT n.post_campaign_key, n.channel_id, n.state, 1
                FROM old_rows o JOIN new_rows n ON n.id = o.id
                WHERE o.state IS DISTINCT FROM n.state OR o.channel_id IS DISTINCT FROM n.channel_id
                    OR o.post_campaign_key IS DISTINCT FROM n.post_campaign_key
            ) moved GROUP BY 1, 2, 3 HAVING sum(delta) <> 0;
            RETURN NULL;
        END $$""",
        """CREATE TRIGGER deliveries_count_update AFTER UPDATE ON deliveries
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION herald_deliveries_count_update()""",
    ),
    (
        """CREATE FUNCTION herald_deliveries_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO delivery_count_changes (campaign_key, channel_id, state, delta)
            SELECT post_campaign_key, channel_id, state, -count(*)
            FROM old_rows GROUP BY 1, 2, 3;
            RETURN NULL;
        END $$""",
        """CREATE TRIGGER deliveries_count_delete AFTER DELETE ON deliveries
        REFERENCING OLD TABLE AS old_rows
        FOR EACH STATEMENT EXECUTE FUNCTION herald_deliveries_count_delete()""",
    ),
    (
        """CREATE FUNCTION herald_posts_log_sync() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE deliveries SET post_scheduled_at = NEW.scheduled_at, post_campaign_key = coalesce(NEW.campaign_id, 0)
            WHERE post_id = NEW.id;
            RETURN NULL;
        END $$""",
        """CREATE TRIGGER posts_log_sync AFTER UPDATE OF scheduled_at, campaign_id ON posts
        FOR EACH ROW WHEN (OLD.scheduled_at IS DISTINCT FROM NEW.scheduled_at
            OR OLD.campaign_id IS DISTINCT FROM NEW.campaign_id)
        EXECUTE FUNCTION herald_posts_log_sync()""",
    ),
)
#: (trigger, table, function) to drop on the way down.
_PG_DROPS = (
    ("deliveries_log_fill", "deliveries", "herald_deliveries_log_fill"),
    ("deliveries_count_insert", "deliveries", "herald_deliveries_count_insert"),
    ("deliveries_count_update", "deliveries", "herald_deliveries_count_update"),
    ("deliveries_count_delete", "deliveries", "herald_deliveries_count_delete"),
    ("posts_log_sync", "posts", "herald_posts_log_sync"),
)
#: The trigram indexes of search (pg_trgm).
_PG_TRIGRAM_INDEXES = (
    ("ix_posts_text_trgm", "posts"),
    ("ix_post_variants_text_trgm", "post_variants"),
)


def _pg_search() -> None:
    """pg_trgm GIN indexes for search, if the extension can be had (it is a trusted extension
    since PostgreSQL 13: a database's owner may create it). Without it, search reads row by row."""
    bind = op.get_bind()
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError:
        return
    for name, table in _PG_TRIGRAM_INDEXES:
        bind.exec_driver_sql(f"CREATE INDEX {name} ON {table} USING gin (text gin_trgm_ops)")


# -- both ----------------------------------------------------------------------------------------


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("post_scheduled_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("post_campaign_key", sa.Integer(), nullable=False, server_default="0"))
    if sqlite:
        bind.exec_driver_sql(
            "UPDATE deliveries SET post_scheduled_at = (SELECT scheduled_at FROM posts WHERE posts.id = deliveries.post_id),"
            " post_campaign_key = (SELECT coalesce(campaign_id, 0) FROM posts WHERE posts.id = deliveries.post_id)"
        )
    else:
        bind.exec_driver_sql(
            "UPDATE deliveries SET post_scheduled_at = posts.scheduled_at, post_campaign_key = coalesce(posts.campaign_id, 0)"
            " FROM posts WHERE posts.id = deliveries.post_id"
        )
    op.create_table(
        "delivery_counts",
        sa.Column("campaign_key", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("campaign_key", "channel_id", "state"),
    )
    op.create_table(
        "delivery_count_changes",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("campaign_key", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    bind.exec_driver_sql(
        "INSERT INTO delivery_counts (campaign_key, channel_id, state, n)"
        " SELECT post_campaign_key, channel_id, state, count(*) FROM deliveries GROUP BY 1, 2, 3"
    )
    for name, table, columns in _INDEXES:
        bind.exec_driver_sql(f"CREATE INDEX {name} ON {table} ({', '.join(columns)})")
    if sqlite:
        _sqlite_search()
        _sqlite_triggers()
    else:
        for function, trigger in _PG_TRIGGERS:
            bind.exec_driver_sql(function)
            bind.exec_driver_sql(trigger)
        _pg_search()


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name, _ in (*_SQLITE_SEARCH_TRIGGERS, *_SQLITE_TRIGGERS):
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        bind.exec_driver_sql("DROP TABLE IF EXISTS post_search")
        bind.exec_driver_sql("DROP TABLE IF EXISTS post_search_keys")
    else:
        for trigger, table, function in _PG_DROPS:
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
            bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS {function}()")
        for name, _ in _PG_TRIGRAM_INDEXES:
            bind.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
    for name, _, _ in _INDEXES:
        bind.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
    op.drop_table("delivery_count_changes")
    op.drop_table("delivery_counts")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("post_campaign_key")
        batch_op.drop_column("post_scheduled_at")
