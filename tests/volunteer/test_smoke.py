from tests.helpers import add_member, count_statements, execute, make_team, make_volunteer

ME = "{ me { displayName teams(first: 10) { totalCount edges { node { name } } } } }"


async def test_me_with_teams(db):
    # given
    person = await make_volunteer("李明")
    for index in range(3):
        team = await make_team(await make_volunteer(f"管理员{index}"), f"队伍{index}")
        await add_member(team, person)
    # when
    with count_statements() as statements:
        result = await execute(ME, as_=person)
    # then
    data = result.ok()
    assert data["me"]["teams"]["totalCount"] == 3
    assert len(statements) == 3, statements
