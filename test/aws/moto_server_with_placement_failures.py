"""
moto_server, with RunTask answering as ECS does where moto 5 does not:

- a task that fits on no container instance: ECS answers 200 with no task and one failure per
  instance it tried, `{arn: <container instance>, reason: "RESOURCE:CPU" | "RESOURCE:MEMORY" |
  "RESOURCE:PORTS"}`; moto answers no task and no failure at all (a TODO in its run_task);
- an INACTIVE (deregistered) task definition: ECS refuses it (InvalidParameterException
  "TaskDefinition is inactive"); moto runs it.

Started by test/aws/run-task-placement.moto.test.ts with the same arguments as moto_server.
"""
import sys
from typing import Any


def _run_task_answers_as_ecs() -> None:
    from moto.core.responses import ActionResult
    from moto.ecs.exceptions import InvalidParameterException
    from moto.ecs.models import EC2ContainerServiceBackend
    from moto.ecs.responses import EC2ContainerServiceResponse

    moto_run_task = EC2ContainerServiceBackend.run_task

    def run_task(self: EC2ContainerServiceBackend, cluster_str: str, task_definition_str: str, *args: Any, **kwargs: Any) -> Any:
        if self.describe_task_definition(task_definition_str).status == "INACTIVE":
            raise InvalidParameterException("TaskDefinition is inactive")
        return moto_run_task(self, cluster_str, task_definition_str, *args, **kwargs)

    EC2ContainerServiceBackend.run_task = run_task  # type: ignore[method-assign]

    def lacking(instance: Any, needed: dict[str, Any]) -> str:
        remaining = {r.get("name"): r for r in instance.remaining_resources}
        if needed.get("CPU", 0) > remaining.get("CPU", {}).get("integerValue", 0):
            return "RESOURCE:CPU"
        if needed.get("MEMORY", 0) > remaining.get("MEMORY", {}).get("integerValue", 0):
            return "RESOURCE:MEMORY"
        return "RESOURCE:PORTS"

    moto_response = EC2ContainerServiceResponse.run_task

    def respond(self: EC2ContainerServiceResponse) -> ActionResult:
        answer = moto_response(self)
        tasks = answer.result["tasks"]  # type: ignore[index]
        count = self._get_int_param("count", 1)
        if len(tasks) >= count or self._get_param("launchType") == "FARGATE":
            return answer
        backend = self.ecs_backend
        cluster = backend._get_cluster(self._get_param("cluster", "default"))
        needed = backend._calculate_task_resource_requirements(backend.describe_task_definition(self._get_param("taskDefinition")))
        instances = [i for i in backend.container_instances.get(cluster.name, {}).values() if i.status == "ACTIVE"]
        failures = [{"arn": i.container_instance_arn, "reason": lacking(i, needed)} for i in instances]
        return ActionResult({"tasks": tasks, "failures": failures})

    EC2ContainerServiceResponse.run_task = respond  # type: ignore[method-assign]


_run_task_answers_as_ecs()


if __name__ == "__main__":
    from moto.server import main

    sys.exit(main())
