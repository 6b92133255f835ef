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


async def test_demo_has_the_bus_guide_project_with_weekly_shifts(db):
    from models.project import Position, Project

    # when
    assert await seed_demo() is True
    # then
    project = await Project.get(name="U爱·公交文明引导")
    assert await Position.filter(project_id=project.id).count() == 2
    shifts = await Activity.filter(project_id=project.id)
    assert len(shifts) >= 20 and all(a.minimum_age == 16 for a in shifts)


async def test_demo_has_service_points_and_a_partial_coverage(db):
    from resolvers.servicepoint import coverage

    # when
    assert await seed_demo() is True
    # then
    report = await coverage(15)
    assert report.communities == 6 and 0 < report.covered < 6


async def test_demo_has_announcements_and_a_nomination_list(db):
    from models.honour import Announcement, Nomination

    # when
    assert await seed_demo() is True
    # then
    assert await Announcement.filter(pinned=True).count() == 1
    assert await Nomination.all().count() >= 1
