from models.activity import Activity, ActivityStatus, SignUp, SignUpStatus
from resolvers.demo import seed_demo


async def test_demo_has_published_activities_with_sign_ups_and_a_waitlist(db):
    # when
    assert await seed_demo() is True
    # then
    published = await Activity.filter(status=ActivityStatus.PUBLISHED).count()
    assert published >= 3
    assert await SignUp.filter(status=SignUpStatus.WAITLISTED).count() >= 1
    assert await Activity.filter(status=ActivityStatus.DRAFT).count() >= 1
