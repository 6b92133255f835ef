"""The last line of defence behind the limits table: a value its column cannot hold is the
caller's input error, answered BAD_USER_INPUT, and logged as one warning line without the
value or a traceback, so nobody can fill the error log by sending long values."""

from __future__ import annotations

import logging

import asyncpg
import pytest
from graphql import GraphQLError

from schema import limits
from schema.errors import error_code
from tests.conftest import Backend
from tests.helpers import execute

BOARD = "query Board($slug: String!) { board(slug: $slug) { name } }"


async def test_a_value_longer_than_its_column_is_bad_input_not_an_error(
        db: Backend, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    # given: a bound looser than the 50-character slug column, as a slip in the table would be
    monkeypatch.setitem(limits.BOUNDS_BY_NAME, "slug", limits.Bound(80))
    # when
    with caplog.at_level(logging.WARNING, logger="tongxin.errors"):
        result = await execute(BOARD, {"slug": "长" * 60})
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert "长" not in result.errors[0]["message"]
    records = [r for r in caplog.records if r.name == "tongxin.errors"]
    assert [(r.levelno, r.exc_info) for r in records] == [(logging.WARNING, None)]
    assert "path=board" in records[0].getMessage() and "长" not in records[0].getMessage()


def test_postgresql_value_too_long_is_bad_input() -> None:
    # given: what asyncpg raises when raw SQL writes past a varchar's length
    cause = asyncpg.exceptions.StringDataRightTruncationError("value too long for type character varying(40)")
    wrapped = RuntimeError("database error")
    wrapped.__cause__ = cause
    # then
    assert error_code(GraphQLError("x", original_error=wrapped)) == ("BAD_USER_INPUT", {})
