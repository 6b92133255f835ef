"""Forum search that works for Chinese: words are segmented with jieba when a post is
written (`segment_document`), stored space-joined in `forum_post.search_text`, and matched
with the database's own full-text engine:

- PostgreSQL: `to_tsvector('simple', search_text)` behind a GIN expression index,
  `plainto_tsquery('simple', ...)` and `ts_rank`;
- SQLite: an FTS5 table over the same column (external content, kept in sync by triggers),
  ranked with `bm25`.

A thread matches when one of its visible posts holds every query word; its rank is that of
its best post. The opening post repeats the title so title words weigh more.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from tortoise import connections

from resolvers.errors import BadInput

QUERY_MAX = 100
QUERY_TERMS_MAX = 12
# Offset paging over a ranked list: deep pages are refused rather than scanned.
SEARCH_RESULTS_MAX = 1000
# Tiny function words dropped from queries only (documents keep them).
STOP_WORDS = frozenset("的 了 和 是 在 与 及 也 就 都 而 或 a an the of and or to in on".split())

_jieba_lock = threading.Lock()
_jieba: Any = None


def _segmenter() -> Any:
    """Jieba builds its dictionary on first use (~1 s): once per process, lazily."""
    global _jieba
    if _jieba is None:
        with _jieba_lock:
            if _jieba is None:
                import logging

                import jieba

                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba = jieba
    return _jieba


def _words(tokens: Any) -> list[str]:
    return [t.strip().lower() for t in tokens if any(ch.isalnum() for ch in t)]


def segment_document(*texts: str) -> str:
    """Search-mode segmentation (long words and their parts) for the stored text."""
    jieba = _segmenter()
    words: list[str] = []
    for text in texts:
        words.extend(_words(jieba.cut_for_search(text)))
    return " ".join(words)


def segment_query(query: str) -> list[str]:
    """Precise-mode words of the query; each appears in a matching document's search text."""
    terms: list[str] = []
    for word in _words(_segmenter().cut(query)):
        if word not in STOP_WORDS and word not in terms:
            terms.append(word)
    return terms[:QUERY_TERMS_MAX]


def check_query(raw: str) -> list[str]:
    text = (raw or "").strip()
    if not text:
        raise BadInput("query", "query is required.")
    if len(text) > QUERY_MAX:
        raise BadInput("query", f"query must be at most {QUERY_MAX} characters.")
    return segment_query(text)


async def install_search_index(is_postgres: bool) -> None:
    """Idempotent DDL the ORM cannot express; run after the tables exist (tests, migrations)."""
    connection = connections.get("default")
    if is_postgres:
        await connection.execute_script(
            "CREATE INDEX IF NOT EXISTS forum_post_search_idx ON forum_post "
            "USING GIN (to_tsvector('simple', search_text));"
        )
        return
    await connection.execute_script(
        """
        CREATE VIRTUAL TABLE IF NOT EXISTS forum_post_fts USING fts5(
            search_text, content='forum_post', content_rowid='id', tokenize='unicode61'
        );
        CREATE TRIGGER IF NOT EXISTS forum_post_fts_insert AFTER INSERT ON forum_post BEGIN
            INSERT INTO forum_post_fts(rowid, search_text) VALUES (new.id, new.search_text);
        END;
        CREATE TRIGGER IF NOT EXISTS forum_post_fts_delete AFTER DELETE ON forum_post BEGIN
            INSERT INTO forum_post_fts(forum_post_fts, rowid, search_text)
            VALUES ('delete', old.id, old.search_text);
        END;
        CREATE TRIGGER IF NOT EXISTS forum_post_fts_update AFTER UPDATE OF search_text
        ON forum_post BEGIN
            INSERT INTO forum_post_fts(forum_post_fts, rowid, search_text)
            VALUES ('delete', old.id, old.search_text);
            INSERT INTO forum_post_fts(rowid, search_text) VALUES (new.id, new.search_text);
        END;
        """
    )


@dataclass(frozen=True)
class SearchPage:
    thread_ids: list[int]
    has_next: bool


def _fts5_query(terms: list[str]) -> str:
    """Each term as a quoted string (no FTS5 syntax reaches the engine); implicit AND."""
    return " ".join('"' + term.replace('"', '""') + '"' for term in terms)


async def search_thread_ids(
    terms: list[str], *, offset: int, limit: int, include_hidden: bool,
    board_ids: list[int] | None = None,
) -> SearchPage:
    """Ranked thread ids, best first, ties newest first; `limit + 1` rows tell hasNext."""
    if not terms or limit <= 0:
        return SearchPage([], False)
    connection = connections.get("default")
    postgres = connection.capabilities.dialect == "postgres"
    values: list[Any] = []

    def param(value: Any) -> str:
        values.append(value)
        return f"${len(values)}" if postgres else "?"

    visible = "" if include_hidden else " AND NOT p.hidden AND NOT t.hidden"
    if board_ids is not None:
        visible += f" AND t.board_id IN ({', '.join(param(int(b)) for b in board_ids) or 'NULL'})"
    if postgres:
        query = param(" ".join(terms))
        sql = (
            "SELECT p.thread_id AS thread_id, "
            "MAX(ts_rank(to_tsvector('simple', p.search_text), q.query)) AS score "
            f"FROM forum_post p JOIN forum_thread t ON t.id = p.thread_id, "
            f"plainto_tsquery('simple', {query}) AS q(query) "
            f"WHERE to_tsvector('simple', p.search_text) @@ q.query{visible} "
            "GROUP BY p.thread_id ORDER BY score DESC, p.thread_id DESC "
        )
    else:
        match = param(_fts5_query(terms))
        # MATERIALIZED: bm25() only works in the FTS query itself, which must not be flattened.
        sql = (
            "WITH m AS MATERIALIZED (SELECT rowid AS post_id, bm25(forum_post_fts) AS score "
            f"FROM forum_post_fts WHERE forum_post_fts MATCH {match}) "
            "SELECT p.thread_id AS thread_id, MIN(m.score) AS score FROM m "
            "JOIN forum_post p ON p.id = m.post_id JOIN forum_thread t ON t.id = p.thread_id "
            f"WHERE 1 = 1{visible} "
            "GROUP BY p.thread_id ORDER BY score ASC, p.thread_id DESC "
        )
    sql += f"LIMIT {int(limit) + 1} OFFSET {int(offset)}"
    _, rows = await connection.execute_query(sql, values)
    ids = [int(dict(row)["thread_id"]) for row in rows]
    return SearchPage(ids[:limit], len(ids) > limit)


async def count_threads(terms: list[str], *, board_ids: list[int] | None = None) -> int:
    """How many visible threads match (for `totalCount`), capped at SEARCH_RESULTS_MAX."""
    page = await search_thread_ids(terms, offset=0, limit=SEARCH_RESULTS_MAX,
                                   include_hidden=False, board_ids=board_ids)
    return len(page.thread_ids)
