"""Forum search that works for Chinese: words are segmented with jieba when a post is
written (`segment_document`), stored space-joined in `forum_post.search_text`, and matched
with the database's own full-text engine:

- PostgreSQL: a stored generated column `search_vector = to_tsvector('simple', search_text)`
  with a GIN index, `to_tsquery('simple', ...)` and `ts_rank`;
- SQLite: an FTS5 table over the same column (external content, kept in sync by triggers),
  ranked with `bm25`.

Segmentation depends on context (jieba cuts 老人们 as 老/人们), so the stored text also
holds the character bigrams of every Chinese run. A query word matches a post holding the
word itself or, for words of three or more characters, all of its bigrams; a two-character
word is its own bigram. A thread matches when one of its visible posts matches every query
word; its rank is that of its best post. The opening post repeats the title so title words
weigh more.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from db.routing import read_connection
from resolvers.errors import BadInput
from resolvers.sql import Sql, fetch

QUERY_MAX = 100
QUERY_TERMS_MAX = 12
# Offset paging over a ranked list: deep pages are refused rather than scanned.
SEARCH_RESULTS_MAX = 1000
# Tiny function words dropped from queries only (documents keep them).
STOP_WORDS = frozenset("的 了 和 是 在 与 及 也 就 都 而 或 a an the of and or to in on".split())
CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")

_jieba_lock = threading.Lock()
_jieba: Any = None


def preload() -> None:
    """Load the segmenter now (server.py's lifespan, SEARCH_PRELOAD) rather than in the first
    post or search a worker serves."""
    _segmenter()


def _segmenter() -> Any:
    """Jieba builds its dictionary on first use (~1 s): once per process, at start-up
    (`preload`) or else lazily."""
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


def _clean(token: str) -> str:
    """Only letters and digits reach the engines: no query syntax, same tokens on both."""
    return "".join(ch for ch in token.lower() if ch.isalnum())


def _words(tokens: Any) -> list[str]:
    return [word for word in (_clean(t) for t in tokens) if word]


def _bigrams(text: str) -> list[str]:
    return [run[i:i + 2] for run in CJK_RUN.findall(text) for i in range(len(run) - 1)]


def segment_document(*texts: str) -> str:
    """Search-mode words (long words and their parts) plus Chinese bigrams, space-joined."""
    jieba = _segmenter()
    words: list[str] = []
    for text in texts:
        words.extend(_words(jieba.cut_for_search(text)))
        words.extend(_bigrams(text))
    return " ".join(words)


@dataclass(frozen=True)
class Term:
    """One query word; `bigrams` is its fallback when segmentation differed (3+ CJK chars)."""

    word: str
    bigrams: tuple[str, ...] = ()


def segment_query(query: str) -> list[Term]:
    """Precise-mode words of the query, each with its bigram fallback."""
    terms: list[Term] = []
    seen: set[str] = set()
    for word in _words(_segmenter().cut(query)):
        if word in STOP_WORDS or word in seen:
            continue
        seen.add(word)
        whole_cjk = CJK_RUN.fullmatch(word) is not None
        terms.append(Term(word, tuple(_bigrams(word)) if whole_cjk and len(word) > 2 else ()))
    return terms[:QUERY_TERMS_MAX]


def check_query(raw: str) -> list[Term]:
    text = (raw or "").strip()
    if not text:
        raise BadInput("query", "query is required.")
    if len(text) > QUERY_MAX:
        raise BadInput("query", f"query must be at most {QUERY_MAX} characters.")
    return segment_query(text)


def tsquery(terms: list[Term]) -> str:
    """PostgreSQL: 'a' & ('long' | 'lo' & 'on' & 'ng'); tokens are alphanumeric only."""
    parts = []
    for term in terms:
        if term.bigrams:
            parts.append(f"('{term.word}' | " + " & ".join(f"'{b}'" for b in term.bigrams) + ")")
        else:
            parts.append(f"'{term.word}'")
    return " & ".join(parts)


def fts5_query(terms: list[Term]) -> str:
    """SQLite FTS5: "a" AND ("long" OR ("lo" AND "on" AND "ng"))."""
    parts = []
    for term in terms:
        if term.bigrams:
            fallback = " AND ".join(f'"{b}"' for b in term.bigrams)
            parts.append(f'("{term.word}" OR ({fallback}))')
        else:
            parts.append(f'"{term.word}"')
    return " AND ".join(parts)


# Stored generated column: ranking reads the vector instead of re-parsing each matching
# post (which cost ~27 µs a row). The ORM never selects it.
SEARCH_DDL_POSTGRES = [
    "ALTER TABLE forum_post ADD COLUMN IF NOT EXISTS search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED",
    "CREATE INDEX IF NOT EXISTS forum_post_search_idx ON forum_post USING GIN (search_vector)",
]
SEARCH_DDL_SQLITE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS forum_post_fts USING fts5("
    "search_text, content='forum_post', content_rowid='id', tokenize='unicode61')",
    "CREATE TRIGGER IF NOT EXISTS forum_post_fts_insert AFTER INSERT ON forum_post BEGIN "
    "INSERT INTO forum_post_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER IF NOT EXISTS forum_post_fts_delete AFTER DELETE ON forum_post BEGIN "
    "INSERT INTO forum_post_fts(forum_post_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER IF NOT EXISTS forum_post_fts_update AFTER UPDATE OF search_text ON forum_post "
    "BEGIN INSERT INTO forum_post_fts(forum_post_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO forum_post_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
]


async def install_search_index(is_postgres: bool, client: BaseDBAsyncClient | None = None) -> None:
    """Idempotent DDL the ORM cannot express; run after the tables exist (tests, migrations).
    One statement per call: SQLite's script mode would COMMIT a migration's transaction."""
    connection = client or connections.get("default")
    for statement in SEARCH_DDL_POSTGRES if is_postgres else SEARCH_DDL_SQLITE:
        await connection.execute_query(statement)


@dataclass(frozen=True)
class SearchPage:
    thread_ids: list[int]
    has_next: bool


async def search_thread_ids(
    terms: list[Term], *, offset: int, limit: int, include_hidden: bool,
    board_ids: list[int] | None = None,
) -> SearchPage:
    """Ranked thread ids, best first, ties newest first; `limit + 1` rows tell hasNext."""
    if not terms or limit <= 0:
        return SearchPage([], False)
    connection = read_connection()
    visible = Sql() if include_hidden else Sql(" AND NOT p.hidden AND NOT t.hidden")
    if board_ids is not None:
        visible += " AND " + Sql.one_of("t.board_id", [int(b) for b in board_ids])
    if connection.capabilities.dialect == "postgres":
        sql = Sql(
            "SELECT p.thread_id AS thread_id, "
            "MAX(ts_rank(p.search_vector, q.query)) AS score "
            "FROM forum_post p JOIN forum_thread t ON t.id = p.thread_id, "
            "to_tsquery('simple', :match) AS q(query) "
            "WHERE p.search_vector @@ q.query :visible "
            "GROUP BY p.thread_id ORDER BY score DESC, p.thread_id DESC ",
            match=tsquery(terms), visible=visible)
    else:
        # MATERIALIZED: bm25() only works in the FTS query itself, which must not be flattened.
        sql = Sql(
            "WITH m AS MATERIALIZED (SELECT rowid AS post_id, bm25(forum_post_fts) AS score "
            "FROM forum_post_fts WHERE forum_post_fts MATCH :match) "
            "SELECT p.thread_id AS thread_id, MIN(m.score) AS score FROM m "
            "JOIN forum_post p ON p.id = m.post_id JOIN forum_thread t ON t.id = p.thread_id "
            "WHERE 1 = 1 :visible "
            "GROUP BY p.thread_id ORDER BY score ASC, p.thread_id DESC ",
            match=fts5_query(terms), visible=visible)
    sql += f"LIMIT {int(limit) + 1} OFFSET {int(offset)}"
    ids = [int(row["thread_id"]) for row in await fetch(connection, sql)]
    return SearchPage(ids[:limit], len(ids) > limit)


async def count_threads(terms: list[Term], *, board_ids: list[int] | None = None) -> int:
    """How many visible threads match (for `totalCount`), capped at SEARCH_RESULTS_MAX."""
    page = await search_thread_ids(terms, offset=0, limit=SEARCH_RESULTS_MAX,
                                   include_hidden=False, board_ids=board_ids)
    return len(page.thread_ids)
