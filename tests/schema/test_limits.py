"""The input boundary as a table and a rule, without a server."""

from __future__ import annotations

import pytest

from resolvers.errors import BadInput
from schema import schema
from schema.limits import Bound, bounds_table, check_text_value
from tests.helpers import execute

SEARCH = "query Search($q: String) { volunteers(search: $q) { totalCount } }"
SEARCH_LITERAL = 'query { volunteers(search: "a\\u0000b") { totalCount } }'


def test_every_text_and_list_input_shows_its_bound_in_the_schema() -> None:
    rows = bounds_table(schema._schema)
    # then: arguments and input fields alike, each described with its limit
    assert len(rows) > 100
    unbounded = [coordinate for coordinate, holder, *_ in rows if "Bounded: ≤" not in (holder.description or "")]
    assert unbounded == []
    assert "Bounded: ≤ 20 entries of ≤ 30 characters, one line." in schema.as_str()


@pytest.mark.parametrize(("text", "multiline", "refused"), [
    ("张三", False, False), ("a\tb", False, True), ("a\nb", False, True), ("a\nb\tc\r\n", True, False),
    ("a\x00b", True, True), ("\x7f", True, True), ("\u0085", True, True), ("\ud800", True, True),
    ("\u202eRTL", False, False), ("👩‍👩‍👧", False, False), ("x" * 11, False, True),
])
def test_text_rule(text: str, multiline: bool, refused: bool) -> None:
    bound = Bound(10, multiline=multiline)
    if refused:
        with pytest.raises(BadInput) as caught:
            check_text_value(text, bound, "body")
        assert caught.value.field == "body"
    else:
        check_text_value(text, bound, "body")


async def test_the_boundary_answers_before_resolvers_for_variables_and_literals() -> None:
    # when: anonymous callers, whom the resolver would answer with UNAUTHENTICATED
    by_variable = await execute(SEARCH, {"q": "a\x00b"})
    by_literal = await execute(SEARCH_LITERAL)
    within = await execute(SEARCH, {"q": "张三"})
    # then
    assert [e["extensions"] for e in by_variable.errors] == [{"field": "search", "code": "BAD_USER_INPUT"}]
    assert [e["extensions"] for e in by_literal.errors] == [{"field": "search", "code": "BAD_USER_INPUT"}]
    assert within.codes == ["UNAUTHENTICATED"]
