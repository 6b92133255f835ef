from models.insurance import InsurancePolicy, InsuranceScope
from resolvers.demo import seed_demo


async def test_demo_has_a_city_policy_and_a_team_policy(db):
    assert await seed_demo() is True
    scopes = sorted(await InsurancePolicy.all().values_list("scope", flat=True))
    assert scopes == [InsuranceScope.ALL_VOLUNTEERS, InsuranceScope.TEAM]
