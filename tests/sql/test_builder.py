"""The Sql builder: values bind to the names that use them, whatever order fragments are made
and combined in, on both backends."""

from __future__ import annotations

import pytest
from tortoise import connections

from models.volunteer import VolunteerStatus
from resolvers.sql import Sql, fetch
from tests.helpers import make_volunteer


async def test_fragments_bind_their_own_values_whatever_order_they_were_made_in(db):
    # given: the later pieces are made first, one appended and one spliced in by name
    last = Sql(":c AS c", c="third")
    middle = Sql(":b AS b", b="second")
    statement = Sql("SELECT :a AS a, :middle, ", a="first", middle=middle) + last
    # when
    rows = await fetch(connections.get("default"), statement)
    # then
    assert rows == [{"a": "first", "b": "second", "c": "third"}]


async def test_a_name_used_twice_is_one_value(db):
    # given
    statement = Sql("SELECT :word AS one, :word AS two", word="同心")
    # when
    rows = await fetch(connections.get("default"), statement)
    # then
    assert rows == [{"one": "同心", "two": "同心"}]
    assert statement.render("postgres")[1] == statement.render("sqlite")[1] == ["同心"]


async def test_one_of_matches_the_listed_values_and_nothing_for_none(db):
    # given
    people = [await make_volunteer(f"志愿者{index}") for index in range(3)]
    chosen = [people[0].id, people[2].id]
    connection = connections.get("default")

    async def ids(condition: Sql) -> list[int]:
        rows = await fetch(connection, "SELECT id FROM volunteer WHERE " + condition
                           + " ORDER BY id")
        return [int(row["id"]) for row in rows]

    # when
    listed = await ids(Sql(":listed AND status = :active", listed=Sql.one_of("id", chosen),
                           active=VolunteerStatus.ACTIVE))
    empty = await ids(Sql.one_of("id", []))
    not_empty = await ids("NOT " + Sql.one_of("id", []))
    # then
    assert listed == chosen
    assert empty == []
    assert not_empty == [person.id for person in people]


def test_placeholders_are_numbered_in_the_order_of_the_final_text():
    # given: the district condition is made before the statement it goes into
    district = Sql("AND v.district = :district", district="朝阳区")
    statement = Sql("SELECT 1 FROM v WHERE a >= :start AND a < :end :district AND h >= :hours",
                    start=1, end=2, district=district, hours=20)
    # when
    postgres, sqlite = statement.render("postgres"), statement.render("sqlite")
    # then
    assert postgres == ("SELECT 1 FROM v WHERE a >= $1 AND a < $2 AND v.district = $3 "
                        "AND h >= $4", [1, 2, "朝阳区", 20])
    assert sqlite == ("SELECT 1 FROM v WHERE a >= ?1 AND a < ?2 AND v.district = ?3 "
                      "AND h >= ?4", [1, 2, "朝阳区", 20])


def test_one_of_is_one_array_on_postgres_and_a_list_on_sqlite():
    # given
    statement = Sql("SELECT id FROM t WHERE k = :k AND ", k=VolunteerStatus.ACTIVE) + Sql.join(
        " AND ", [Sql.one_of("id", [3, 4]), Sql.one_of("status", [VolunteerStatus.SUSPENDED])])
    # when / then
    assert statement.render("postgres") == (
        "SELECT id FROM t WHERE k = $1 AND id = ANY($2) AND status = ANY($3)",
        ["ACTIVE", [3, 4], ["SUSPENDED"]])
    assert statement.render("sqlite") == (
        "SELECT id FROM t WHERE k = ?1 AND id IN (?2, ?3) AND status IN (?4)",
        ["ACTIVE", 3, 4, "SUSPENDED"])


@pytest.mark.parametrize("text", ["WHERE id = $1", "WHERE id = ?", "WHERE id = ?2"])
def test_hand_written_placeholders_are_refused(text):
    # when / then
    with pytest.raises(ValueError, match="name the parameter"):
        Sql(text)
    with pytest.raises(ValueError, match="name the parameter"):
        Sql("SELECT 1 ") + text


def test_quoted_text_comments_and_casts_are_not_parameters():
    # given
    text = "SELECT 'a:b ?', \"odd:name\", x::text, y -- :c or ?\nFROM t WHERE z = :z"
    # when
    rendered = Sql(text, z=1).render("postgres")
    # then
    assert rendered == (text.replace(":z", "$1"), [1])


def test_a_name_without_a_value_or_a_value_without_a_name_is_an_error():
    # when / then
    with pytest.raises(TypeError, match=":district"):
        Sql("WHERE district = :district")
    with pytest.raises(TypeError, match="district"):
        Sql("WHERE district = :area", area="朝阳区", district="朝阳区")
