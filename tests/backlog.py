"""A routine backlog: thousands of events accepted and waiting to be routed, as a regional
incident's traffic would leave them."""

from broker.audit.log import Actor
from broker.messages.submit import submit_events
from broker.runtime import Runtime
from schemas.events import EVENT_SUBMISSION, MAX_BATCH
from tests.world import nhs_numbers_for_testing, risk_event


async def queue_routine_backlog(
    rt: Runtime, sender: Actor, recipient: str, count: int, people: int
) -> None:
    """`count` routine risk changes about `people` people, accepted in batches of 500 (as
    POST /v1/events:batch accepts them) and left for the pipeline."""
    numbers = nhs_numbers_for_testing(people)
    for start in range(0, count, MAX_BATCH):
        events = [
            EVENT_SUBMISSION.validate_python(
                risk_event(
                    urgency="routine",
                    recipients=[recipient],
                    subject={"nhs_number": numbers[index % people]},
                )
            )
            for index in range(start, min(start + MAX_BATCH, count))
        ]
        async with rt.db.unit_of_work() as session:
            await submit_events(session, rt, sender, events)
            await session.commit()
