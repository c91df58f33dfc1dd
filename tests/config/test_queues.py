"""Issue 20, "past one machine": Celery's work is split into queues (sweep, digests, exports,
outbox, and the default) so each can be scaled out, and no task is routed to a queue that the
workers of `make run` and docker-compose.yml do not consume."""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml
from django.conf import settings

from config.celery_app import app

ROOT = Path(__file__).resolve().parents[2]
QUEUES = {"celery", "sweep", "digests", "exports", "outbox"}


def registered_tasks() -> list[str]:
    app.loader.import_default_modules()
    return sorted(name for name in app.tasks if not name.startswith("celery."))


def routed_queue(task: str) -> str:
    return app.amqp.router.route({}, task)["queue"].name


def queue_option(argv: list[str]) -> set[str]:
    """The queues named by ``-Q a,b`` (or ``--queues=a,b``) of a worker command."""
    for index, arg in enumerate(argv):
        if arg == "-Q":
            return set(argv[index + 1].split(","))
        if arg.startswith("--queues="):
            return set(arg.removeprefix("--queues=").split(","))
    raise AssertionError(f"no -Q in {argv}")


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def procfile_worker() -> list[str]:
    for line in (ROOT / "Procfile.dev").read_text().splitlines():
        name, _, command = line.partition(":")
        if name == "worker":
            return shlex.split(command)
    raise AssertionError("no worker in Procfile.dev")


def base_queue(queue: str) -> str:
    """The queue's name outside the test settings (which prefix it per test run)."""
    default = settings.CELERY_TASK_DEFAULT_QUEUE
    return "celery" if queue == default else queue.removeprefix(f"{default}-")


def test_every_task_goes_to_a_queue_the_default_workers_consume():
    tasks = registered_tasks()
    assert "reminders.send_reminders" in tasks and "dashboards.run_export" in tasks
    make_run = queue_option(procfile_worker())
    docker = queue_option(compose()["services"]["worker"]["command"])
    assert make_run == docker == QUEUES
    for task in tasks:
        assert base_queue(routed_queue(task)) in make_run, task


def test_each_kind_of_work_has_its_queue():
    assert base_queue(routed_queue("reminders.send_reminders")) == "sweep"
    assert base_queue(routed_queue("benefits.monthly_entitlements")) == "sweep"
    assert base_queue(routed_queue("reminders.send_digest")) == "digests"
    assert base_queue(routed_queue("dashboards.run_export")) == "exports"
    assert base_queue(routed_queue("children.text_parents")) == "outbox"
    assert base_queue(routed_queue("benefits.child_closed")) == "outbox"
    assert base_queue(routed_queue("accounts.ping")) == "celery"


def test_every_queued_task_name_is_a_task():
    """A name misspelt in TASKS_BY_QUEUE would leave its task on the default queue unnoticed."""
    listed = {task for tasks in settings.TASKS_BY_QUEUE.values() for task in tasks}
    assert listed <= set(registered_tasks())
    assert set(settings.TASKS_BY_QUEUE) | {"celery"} == QUEUES


def test_queues_are_apart_per_test_run():
    """Concurrent test runs and xdist workers share Redis: their routed queues must differ too,
    or one run's worker would take another's tasks (and run them on the wrong database)."""
    default = settings.CELERY_TASK_DEFAULT_QUEUE
    assert default.startswith("shouwang-test")
    declared = {queue.name for queue in app.conf.task_queues}
    assert declared == {default} | {f"{default}-{queue}" for queue in QUEUES - {"celery"}}
    for task in registered_tasks():
        assert routed_queue(task) in declared, task


def test_one_queue_can_be_scaled_out_in_docker_compose():
    worker = compose()["services"]["worker-exports"]
    assert worker["profiles"] == ["scale"]
    assert queue_option(worker["command"]) == {"exports"}
