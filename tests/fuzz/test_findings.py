"""Regression tests for what the stateful fuzzer found beyond issue 22's list (docs/inputs.md,
"What the extended fuzzer found"), on both backends."""

from __future__ import annotations

from tests.helpers import execute, make_team, make_volunteer

TEAMS = """query { teams { edges { node { id
  applicants { edges { node { id } } } viewerIsAdmin activities { edges { node { id } } } } } } }"""


async def test_a_refused_field_beside_fields_sharing_a_loader_gives_an_error_not_a_crash(db: object) -> None:
    # given: teams, the viewer administers one of them
    admin = await make_volunteer("队长")
    other = await make_volunteer("别队队长")
    await make_team(other, "别人的队")
    await make_team(admin, "我的队")
    await make_team(other, "别人的二队")

    # when: applicants (refused on the other team) beside fields that all wait for the
    # viewer's administered teams
    result = await execute(TEAMS, as_=admin)

    # then: graphql-core cancels the refused team's sibling fields; the other team's fields
    # waiting for the same loader must not see that cancellation (it escaped as HTTP 500)
    assert result.codes == ["FORBIDDEN"]  # one, as the first refusal nulls the whole list
