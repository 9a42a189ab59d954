"""Firing schedules: exactly once per tick whatever the number of workers, a single
catch-up trial after downtime, the countdown, and what a scheduled trial carries.

Each test has its own database (SQLite and PostgreSQL) and a clock it moves, so
nothing waits for a real minute.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from clock_and_receivers import FakeClock, eventually, fresh_database
from kallisti.domain.errors import Conflict
from kallisti.domain.models import ExperimentCreate, TrialCreate, TrialPublic
from kallisti.domain.safety import BlackoutWindow
from kallisti.domain.schedules import ScheduleCreate, ScheduleUpdate
from kallisti.notifications import TrialCreationHooks
from kallisti.settings import Settings
from kallisti.store import Store
from kallisti.store.schedules import ScheduleRepository
from kallisti.store.tables import trials
from kallisti.worker.scheduler import ScheduleFirer
from support import ServiceThread, wait_for_trial

BASE = datetime(2030, 1, 7, 9, 0, 0, tzinfo=UTC)  # a Monday, on the minute
MINUTE = timedelta(minutes=1)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(BASE)


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    with fresh_database(backend, tmp_path) as url:
        store = Store(url)
        store.migrate()
        store.close()
        yield url


@pytest.fixture
def store(database_url: str, clock: FakeClock) -> Iterator[Store]:
    store = Store(database_url, clock=clock)
    yield store
    store.close()


@pytest.fixture
def schedules(store: Store, clock: FakeClock) -> ScheduleRepository:
    return ScheduleRepository(store.engine, clock)


def _experiment(store: Store) -> uuid.UUID:
    experiment = store.experiments.create(
        ExperimentCreate.model_validate(
            {
                "name": "nightly chaos",
                "metadata": {"team": "sre", "tier": "gold"},
                "parameters": {"seconds": 5, "target": "a"},
                "steps": [
                    {"do": "cm.wait", "where": {"time_in_seconds": "{{ seconds }}"}}
                ],
            }
        ),
        created_by="owner",
    )
    return experiment.id


def _schedule(
    schedules: ScheduleRepository,
    experiment_id: uuid.UUID,
    pattern: str,
    **fields: object,
) -> uuid.UUID:
    body = ScheduleCreate.model_validate({"recurrence_pattern": pattern, **fields})
    return schedules.create(experiment_id, body, created_by="scheduler-owner").id


def _trial_count(store: Store, schedule_id: uuid.UUID) -> int:
    with store.read() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(trials)
                .where(trials.c.schedule_id == str(schedule_id))
            ).scalar_one()
        )


def _fire(
    firer: ScheduleFirer, clock: FakeClock, moment: datetime
) -> list[TrialPublic]:
    clock.set(moment)
    return asyncio.run(firer.fire_due())


def test_three_workers_fire_each_tick_exactly_once(
    database_url: str, store: Store, schedules: ScheduleRepository, clock: FakeClock
) -> None:
    experiment_id = _experiment(store)
    every_minute = [_schedule(schedules, experiment_id, "* * * * *") for _ in range(4)]
    limited = _schedule(schedules, experiment_id, "* * * * *", recurrence_count=3)
    # Three workers, each with its own engine and connection pool.
    stores = [Store(database_url, clock=clock) for _ in range(3)]
    firers = [ScheduleFirer(worker_store) for worker_store in stores]
    ticks = 8

    async def race() -> list[int]:
        started_by = [0, 0, 0]
        for number in range(1, ticks + 1):
            tick = BASE + number * MINUTE
            clock.set(tick + timedelta(seconds=1))  # when trials are recorded
            # Each worker looks at a different moment within the same minute.
            results = await asyncio.gather(
                *(
                    firer.fire_due(tick + timedelta(seconds=offset))
                    for firer, offset in zip(firers, (1, 20, 59), strict=True)
                )
            )
            for index, started in enumerate(results):
                started_by[index] += len(started)
        return started_by

    try:
        started_by = asyncio.run(race())
    finally:
        for worker_store in stores:
            worker_store.close()

    assert [_trial_count(store, sid) for sid in every_minute] == [ticks] * 4
    assert _trial_count(store, limited) == 3
    assert sum(started_by) == 4 * ticks + 3
    with store.read() as conn:
        created = Counter(
            (row.schedule_id, row.created_at)
            for row in conn.execute(
                sa.select(trials.c.schedule_id, trials.c.created_at)
            )
        )
    assert max(created.values()) == 1
    assert schedules.get(experiment_id, limited).next_fire_at is None


def test_after_downtime_a_schedule_fires_once_then_keeps_its_cadence(
    store: Store, schedules: ScheduleRepository
) -> None:
    experiment_id = _experiment(store)
    schedule_id = _schedule(schedules, experiment_id, "*/5 * * * *")
    firer = ScheduleFirer(store)
    back_up = BASE + timedelta(hours=2, minutes=2)  # 24 ticks were missed

    caught_up = asyncio.run(firer.fire_due(back_up))
    again = asyncio.run(firer.fire_due(back_up + timedelta(seconds=30)))
    schedule = schedules.get(experiment_id, schedule_id)
    next_tick = asyncio.run(firer.fire_due(BASE + timedelta(hours=2, minutes=5)))

    assert len(caught_up) == 1
    assert again == []
    assert schedule.next_fire_at == BASE + timedelta(hours=2, minutes=5)
    assert len(next_tick) == 1


def test_recurrence_count_counts_down_and_a_spent_schedule_stops(
    store: Store, schedules: ScheduleRepository, clock: FakeClock
) -> None:
    experiment_id = _experiment(store)
    schedule_id = _schedule(schedules, experiment_id, "* * * * *", recurrence_count=2)
    firer = ScheduleFirer(store)

    first = _fire(firer, clock, BASE + MINUTE)
    after_first = schedules.get(experiment_id, schedule_id)
    second = _fire(firer, clock, BASE + 2 * MINUTE)
    after_second = schedules.get(experiment_id, schedule_id)
    third = _fire(firer, clock, BASE + 3 * MINUTE)

    assert (len(first), len(second), third) == (1, 1, [])
    assert after_first.recurrence_left == 1
    assert after_second.recurrence_left == 0
    assert after_second.next_fire_at is None
    assert [t.id for t in after_second.trials] == [first[0].id, second[0].id]


def test_a_new_count_restarts_a_spent_schedule_but_the_same_count_does_not(
    store: Store, schedules: ScheduleRepository, clock: FakeClock
) -> None:
    experiment_id = _experiment(store)
    schedule_id = _schedule(schedules, experiment_id, "* * * * *", recurrence_count=2)
    firer = ScheduleFirer(store)
    _fire(firer, clock, BASE + MINUTE)

    same = schedules.update(
        experiment_id, schedule_id, ScheduleUpdate(recurrence_count=2)
    )
    _fire(firer, clock, BASE + 2 * MINUTE)
    clock.set(BASE + 2 * MINUTE + timedelta(seconds=10))
    renewed = schedules.update(
        experiment_id, schedule_id, ScheduleUpdate(recurrence_count=1)
    )
    fired = _fire(firer, clock, BASE + 3 * MINUTE)

    assert same.recurrence_left == 1
    assert renewed.recurrence_left == 1
    assert renewed.next_fire_at == BASE + 3 * MINUTE
    assert len(fired) == 1
    assert schedules.get(experiment_id, schedule_id).recurrence_left == 0


def test_deleted_schedules_and_schedules_of_deleted_experiments_never_fire(
    store: Store, schedules: ScheduleRepository
) -> None:
    experiment_id = _experiment(store)
    deleted = _schedule(schedules, experiment_id, "* * * * *")
    schedules.delete(experiment_id, deleted)
    doomed_experiment = _experiment(store)
    orphan = _schedule(schedules, doomed_experiment, "* * * * *")
    store.experiments.soft_delete(doomed_experiment)

    started = asyncio.run(ScheduleFirer(store).fire_due(BASE + 10 * MINUTE))

    assert started == []
    assert _trial_count(store, deleted) == 0
    assert _trial_count(store, orphan) == 0


def test_a_scheduled_trial_carries_the_schedules_parameters_metadata_and_ticket(
    store: Store, schedules: ScheduleRepository
) -> None:
    experiment_id = _experiment(store)
    schedule_id = _schedule(
        schedules,
        experiment_id,
        "0 9 * * 1-5",
        parameters={"seconds": 0},
        metadata={"tier": "silver", "run": "nightly"},
        ticket={"change": "CHG-42"},
    )

    (trial,) = asyncio.run(ScheduleFirer(store).fire_due(BASE + timedelta(days=1)))

    assert trial.initiated_from == "schedule"
    assert trial.initiated_by == "scheduler-owner"
    assert trial.schedule_id == schedule_id
    assert trial.experiment == experiment_id
    assert trial.parameters == {"seconds": 0}
    assert trial.metadata == {"team": "sre", "tier": "silver", "run": "nightly"}
    assert trial.ticket == {"change": "CHG-42"}
    assert trial.status.value == "Scheduled"


def test_schedules_fire_at_local_time_in_their_time_zone(
    store: Store, schedules: ScheduleRepository
) -> None:
    experiment_id = _experiment(store)
    schedule_id = _schedule(
        schedules, experiment_id, "0 9 * * *", timezone="America/New_York"
    )
    firer = ScheduleFirer(store)

    at_nine_utc = asyncio.run(firer.fire_due(BASE + timedelta(minutes=1)))
    at_nine_new_york = asyncio.run(
        firer.fire_due(datetime(2030, 1, 7, 14, 0, 1, tzinfo=UTC))
    )

    assert at_nine_utc == []
    assert [t.schedule_id for t in at_nine_new_york] == [schedule_id]


def add_ticket(trial: TrialCreate) -> None:
    """A creation hook (named in the settings as 'module:add_ticket')."""
    trial.ticket = {**trial.ticket, "approved_by": "hook"}


def refuse(trial: TrialCreate) -> TrialCreate:
    raise Conflict("change freeze: no chaos today")


def test_creation_hooks_amend_scheduled_trials(
    store: Store, schedules: ScheduleRepository
) -> None:
    _schedule(schedules, _experiment(store), "* * * * *", ticket={"change": "CHG-1"})
    firer = ScheduleFirer(
        store, creation_hooks=TrialCreationHooks([f"{__name__}:add_ticket"])
    )

    (trial,) = asyncio.run(firer.fire_due(BASE + MINUTE))

    assert trial.ticket == {"change": "CHG-1", "approved_by": "hook"}


def test_a_tick_a_creation_hook_refuses_is_skipped_without_counting_down(
    store: Store, schedules: ScheduleRepository
) -> None:
    experiment_id = _experiment(store)
    schedule_id = _schedule(schedules, experiment_id, "* * * * *", recurrence_count=5)
    firer = ScheduleFirer(
        store, creation_hooks=TrialCreationHooks([f"{__name__}.refuse"])
    )

    started = asyncio.run(firer.fire_due(BASE + MINUTE))
    schedule = schedules.get(experiment_id, schedule_id)

    assert started == []
    assert _trial_count(store, schedule_id) == 0
    assert schedule.recurrence_left == 5
    assert schedule.next_fire_at == BASE + 2 * MINUTE


def test_a_tick_in_a_blackout_window_is_skipped_and_the_schedule_says_why(
    store: Store, schedules: ScheduleRepository, clock: FakeClock
) -> None:
    experiment_id = _experiment(store)
    schedule_id = _schedule(schedules, experiment_id, "* * * * *", recurrence_count=5)
    window = {"name": "year-end freeze", "cron": "* * * * *", "duration_seconds": 90}
    store.safety.replace_blackout_windows([BlackoutWindow.model_validate(window)])
    firer = ScheduleFirer(store)

    started = _fire(firer, clock, BASE + MINUTE)
    skipped = schedules.get(experiment_id, schedule_id)

    assert started == []
    assert skipped.recurrence_left == 5
    assert skipped.next_fire_at == BASE + 2 * MINUTE
    assert skipped.last_skipped_at == BASE + MINUTE
    assert skipped.last_skip_reason is not None
    assert "blackout window 'year-end freeze'" in skipped.last_skip_reason
    store.safety.replace_blackout_windows([])
    (_fired,) = _fire(firer, clock, BASE + 2 * MINUTE)
    fired = schedules.get(experiment_id, schedule_id)
    assert fired.recurrence_left == 4
    # The skip stays on record after later ticks fire.
    assert fired.last_skipped_at == BASE + MINUTE


@pytest.fixture
def clocked_service(database_url: str) -> Iterator[ServiceThread]:
    clock = FakeClock(datetime.now(UTC).replace(second=0, microsecond=0))
    settings = Settings(
        database_url=database_url,
        poll_interval_seconds=0.05,
        stop_check_interval_seconds=0.05,
        schedule_poll_seconds=0.05,
    )
    service = ServiceThread(settings, clock=clock).start()
    yield service
    service.stop()


def test_the_worker_fires_a_due_schedule_and_runs_its_trial(
    clocked_service: ServiceThread,
) -> None:
    with httpx.Client(base_url=clocked_service.url, timeout=30) as api:
        experiment = api.post(
            "/api/v1/experiment",
            json={
                "name": "scheduled wait",
                "parameters": {"seconds": 30},
                "steps": [
                    {"do": "cm.wait", "where": {"time_in_seconds": "{{ seconds }}"}}
                ],
            },
        ).json()
        url = f"/api/v1/experiment/{experiment['id']}/schedule"
        schedule = api.post(
            url,
            json={
                "recurrence_pattern": "*/10 * * * *",
                "recurrence_count": 1,
                "parameters": {"seconds": 0},
            },
        ).json()

        clock = clocked_service.clock
        assert isinstance(clock, FakeClock)
        clock.set(datetime.fromisoformat(schedule["next_fire_at"]))

        def fired() -> list[dict[str, object]]:
            trials_of = api.get(f"{url}/{schedule['id']}").json()["trials"]
            return list(trials_of)

        (listed,) = eventually(fired)
        trial = wait_for_trial(api, str(listed["id"]))
        after = api.get(f"{url}/{schedule['id']}").json()

    assert trial["status"] == "Succeeded"
    assert trial["initiated_from"] == "schedule"
    assert trial["schedule_id"] == schedule["id"]
    # trial > schedule > experiment: the schedule's 0 beat the experiment's 30.
    assert trial["trial_record"]["steps"][0]["step_parameters"] == {
        "time_in_seconds": 0
    }
    assert after["recurrence_left"] == 0
    assert after["trials"] == [
        {"id": trial["id"], "status": "Succeeded", "executed_at": trial["executed_at"]}
    ]


def test_one_look_fires_every_due_schedule_beyond_one_batch(
    store: Store, schedules: ScheduleRepository
) -> None:
    experiment_id = _experiment(store)
    for _ in range(5):
        _schedule(schedules, experiment_id, "* * * * *")

    started = asyncio.run(ScheduleFirer(store, batch_size=2).fire_due(BASE + MINUTE))

    assert len(started) == 5
