"""Persisted documents over HTTP: automatic persisted queries as Apollo's PersistedQueryLink
and urql's persistedExchange speak them (`extensions.persistedQuery.sha256Hash`), and trusted
documents, where only a manifest's documents run (TRUSTED_DOCUMENTS)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from redis.asyncio import Redis, RedisCluster

from core.redis_outage import REDIS_FAILED
from resolvers.messages import EN, refusal
from subscriptions.channels import NAMESPACE

log = logging.getLogger("tongxin.persisted")

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
NOT_IN_LIST = "PERSISTED_QUERY_NOT_IN_LIST"
# Registered documents longer than this still run; they are just not kept.
MAX_REGISTERED_CHARS = 64 * 1024


class DocumentRefused(Exception):
    """A request whose document cannot run: unknown hash, hash mismatch, not trusted.
    `reason` is the catalogue's key (resolvers/messages.py), not sent."""

    def __init__(self, code: str, reason: str | None = None) -> None:
        self.code = code
        self.reason = reason
        self.message = refusal(EN, code, reason)
        super().__init__(self.message)

    def worded(self, language: str) -> str:
        """The message in `language`, except PersistedQueryNotFound: Apollo's and urql's
        links resend the document's text on that exact word, so it is the same in every
        language (the code says the same)."""
        return self.message if self.code == NOT_FOUND else refusal(language, self.code, self.reason)


def sha256_hex(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def load_manifest(path: str | Path) -> dict[str, str]:
    """hash → document from a trusted-documents manifest: a plain `{hash: document}` object
    (Relay, graphql-codegen's client preset) or Apollo's persisted-query manifest. Refuses an
    entry whose hash is not its document's SHA-256, so a manifest cannot smuggle a document
    in under another's name."""
    raw = json.loads(Path(path).read_text())
    if isinstance(raw, dict) and raw.get("format") == "apollo-persisted-query-manifest":
        entries = {entry["id"]: entry["body"] for entry in raw["operations"]}
    elif isinstance(raw, dict):
        entries = raw
    else:
        raise ValueError(f"{path}: a manifest is a JSON object")
    manifest: dict[str, str] = {}
    for key, document in entries.items():
        digest = str(key).removeprefix("sha256:").lower()
        if not isinstance(document, str) or sha256_hex(document) != digest:
            raise ValueError(f"{path}: entry {key} is not the SHA-256 of its document")
        manifest[digest] = document
    return manifest


class PersistedDocuments:
    """Turns a request's (query, extensions) into the document to run, or refuses it.

    Without a manifest (automatic persisted queries): a hash with its text registers the
    text, a hash alone runs what was registered. Registration is bounded: an LRU of
    `capacity` documents in the process and, with Redis, keys that expire after `ttl_seconds`
    (so another worker finds what a client registered here). With a manifest (trusted
    documents): only its documents run, by hash or by identical text; nothing registers."""

    def __init__(self, manifest: Mapping[str, str] | None = None, capacity: int = 1000,
                 ttl_seconds: int = 24 * 3600,
                 redis: Callable[[], Redis | RedisCluster | None] = lambda: None) -> None:
        self.manifest = dict(manifest) if manifest is not None else None
        self.trusted_texts = frozenset(self.manifest.values()) if self.manifest else frozenset()
        self.capacity = capacity
        self.ttl_seconds = ttl_seconds
        self.redis = redis
        self.registered: OrderedDict[str, str] = OrderedDict()

    @property
    def trusted(self) -> bool:
        return self.manifest is not None

    def allows(self, query: str) -> bool:
        """Whether a document given as text may run (always, unless trusted documents)."""
        return self.manifest is None or query in self.trusted_texts

    async def resolve(self, query: str | None, extensions: Mapping[str, Any] | None) -> str | None:
        persisted = extensions.get("persistedQuery") if extensions else None
        if persisted is None:
            if query is not None and not self.allows(query):
                raise DocumentRefused(NOT_IN_LIST)
            return query
        digest = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
        if not isinstance(digest, str) or persisted.get("version") != 1:
            raise DocumentRefused("BAD_USER_INPUT", "PERSISTED_QUERY")
        digest = digest.lower()
        if self.manifest is not None:
            document = self.manifest.get(digest)
            if document is None:
                raise DocumentRefused(NOT_FOUND)
            if query is not None and query != document:
                raise DocumentRefused("BAD_USER_INPUT", "HASH_MISMATCH")
            return document
        if query is not None:
            if sha256_hex(query) != digest:
                raise DocumentRefused("BAD_USER_INPUT", "HASH_MISMATCH")
            await self._register(digest, query)
            return query
        document = await self._lookup(digest)
        if document is None:
            raise DocumentRefused(NOT_FOUND)
        return document

    async def _register(self, digest: str, document: str) -> None:
        if len(document) > MAX_REGISTERED_CHARS:
            return
        known = digest in self.registered
        self._keep(digest, document)
        redis = self.redis()
        if redis is not None and not known:
            try:
                await redis.set(f"{NAMESPACE}:apq:{digest}", document, ex=self.ttl_seconds)
            except REDIS_FAILED as error:
                # Kept in this process: another worker answers PersistedQueryNotFound and
                # the client sends the text again.
                log.warning("persisted document not shared (%s)", type(error).__name__)

    async def _lookup(self, digest: str) -> str | None:
        document = self.registered.get(digest)
        if document is not None:
            self.registered.move_to_end(digest)
            return document
        redis = self.redis()
        if redis is None:
            return None
        try:
            stored = await redis.get(f"{NAMESPACE}:apq:{digest}")
        except REDIS_FAILED as error:
            log.warning("persisted document lookup failed (%s)", type(error).__name__)
            return None  # PersistedQueryNotFound: the client sends the text again
        if stored is None:
            return None
        document = stored.decode() if isinstance(stored, bytes) else str(stored)
        self._keep(digest, document)
        return document

    def _keep(self, digest: str, document: str) -> None:
        self.registered[digest] = document
        self.registered.move_to_end(digest)
        while len(self.registered) > self.capacity:
            self.registered.popitem(last=False)
