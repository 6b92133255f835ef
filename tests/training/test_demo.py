from models.activity import Activity, SignUp
from models.training import Course, Qualification
from resolvers.demo import seed_demo


async def test_demo_has_courses_qualified_volunteers_and_a_gated_activity(db):
    # when
    assert await seed_demo() is True
    # then
    assert await Course.filter(qualification="急救员").count() == 1
    assert set(await Qualification.all().values_list("name", flat=True)) == {"急救员", "应急救援"}
    gated = await Activity.get(title="城市马拉松医疗保障")
    assert gated.has_requirements and gated.minimum_age == 18
    assert await SignUp.filter(activity_id=gated.id).count() == 1
    assert await seed_demo() is False
