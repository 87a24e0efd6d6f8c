"""
moto_server, plus the one CloudFormation resource type of our application templates that moto 5
does not implement: AWS::SecretsManager::Secret (and AWS::SQS::QueuePolicy, see StackQueuePolicy); and one-off ECS tasks that end by themselves as
ECS reports them (see _task_exits_by_itself); CancelUpdateStack (see _cancel_update_stack); and
task definitions replaced by a stack update keep ECS's key case (see _task_definition_update_keeps_key_case);
an executed change set's parameters become the stack's (see _executed_change_set_sets_parameters).

Plain moto skips that type with a warning, so a `Ref` to it resolves to nothing and the stack
output `DatabaseSecret<Key>` (the ARN of the app's credentials secret, which DB.Upsert writes) is
absent: the deployment could only fail. Here the resource is a real secret in moto's own Secrets
Manager backend, so the whole path is exercised: the stack creates the secret, its output names
it, the deployer fills it, the test logs in with what it holds.

What it implements, no more: create (Name, Description, SecretString or no value at all), `Ref` and
`Fn::GetAtt Id` as the ARN, update keeping the same secret, delete leaving the secret in place (our
templates declare `DeletionPolicy: Retain`). Started by test/aws/moto-world.ts with the same
arguments as moto_server.
"""
import json
import sys
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.secretsmanager.models import secretsmanager_backends


class StackSecret(CloudFormationModel):
    # moto files every model under the service named by the second part of its module.
    __module__ = "moto.secretsmanager.stack_secret"

    def __init__(self, arn: str, name: str):
        self.arn = arn
        self.name = name

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::Secret"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "Id":
            return self.arn
        raise NotImplementedError(f"StackSecret has no attribute {attribute_name}")

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> "StackSecret":
        props = cloudformation_json.get("Properties", {})
        backend = secretsmanager_backends[account_id][region_name]
        if resource_name in backend.secrets:
            # Retained by an earlier stack of the same name: take it over.
            return cls(backend.secrets[resource_name].arn, resource_name)
        created = json.loads(
            backend.create_secret(
                name=resource_name,
                secret_string=props.get("SecretString"),
                secret_binary=None,
                description=props.get("Description"),
                tags=props.get("Tags"),
                kms_key_id=props.get("KmsKeyId"),
                client_request_token=None,
                replica_regions=[],
                force_overwrite=False,
            )
        )
        return cls(created["ARN"], resource_name)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> "StackSecret":
        if new_resource_name == original_resource.name:
            return original_resource
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        pass

    def is_created(self) -> bool:
        return True


class StackQueuePolicy(CloudFormationModel):
    """
    AWS::SQS::QueuePolicy (plain moto skips it): sets the Policy attribute of each queue in
    `Queues` (queue URLs, what `Ref` of a queue gives), clears it on delete.
    """

    __module__ = "moto.sqs.stack_queue_policy"

    def __init__(self, resource_name: str, queue_urls: list[str], account_id: str, region_name: str):
        self.resource_name = resource_name
        self.queue_urls = queue_urls
        self.account_id = account_id
        self.region_name = region_name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SQS::QueuePolicy"

    @property
    def physical_resource_id(self) -> str:
        return self.resource_name

    @staticmethod
    def _apply(queue_urls: list[str], policy: str, account_id: str, region_name: str) -> None:
        from moto.sqs.models import sqs_backends

        backend = sqs_backends[account_id][region_name]
        for url in queue_urls:
            backend.set_queue_attributes(url.rstrip("/").rsplit("/", 1)[-1], {"Policy": policy})

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str, **kwargs: Any
    ) -> "StackQueuePolicy":
        props = cloudformation_json.get("Properties", {})
        queue_urls = list(props.get("Queues", []))
        cls._apply(queue_urls, json.dumps(props.get("PolicyDocument", {})), account_id, region_name)
        return cls(resource_name, queue_urls, account_id, region_name)

    @classmethod
    def update_from_cloudformation_json(  # type: ignore[misc]
        cls, original_resource: Any, new_resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> "StackQueuePolicy":
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        props = cloudformation_json.get("Properties", {})
        cls._apply(list(props.get("Queues", [])), "", account_id, region_name)

    def is_created(self) -> bool:
        return True


def _task_exits_by_itself() -> None:
    """
    A one-off task (a migration) that moto moves to STOPPED by itself, one status per DescribeTasks,
    is reported as ECS reports a task whose essential container exited with code 0: stopCode
    EssentialContainerExited, the container STOPPED with exitCode 0. Plain moto gives it no stop
    code, which reads as stopped from outside, so a migration could only fail. A task stopped with
    StopTask (desiredStatus STOPPED) is left as moto reports it, and so is one whose transition a
    test set to "manual" (it never gets to STOPPED by itself).
    """
    from moto.ecs.models import Task

    managed_status = Task.status

    def status(self: Task) -> Any:
        current = managed_status.fget(self)
        if current == "STOPPED" and self.desired_status == "RUNNING":
            self.desired_status = "STOPPED"
            self.stop_code = "EssentialContainerExited"
            self.stopped_reason = "Essential container in task exited"
            for container in self.containers:
                container.last_status = "STOPPED"
                container.exitCode = 0
        return current

    Task.status = property(status, managed_status.fset)


_task_exits_by_itself()


def _cancel_update_stack() -> None:
    """
    CancelUpdateStack, which moto 5 does not implement (it answers an HTML 500). moto applies an
    update at once, so a stack is never UPDATE_IN_PROGRESS when the call comes: AWS then refuses it
    with this ValidationError, which the deployer must read as "nothing of mine to cancel". A
    stack still UPDATE_IN_PROGRESS (which moto never shows) goes to UPDATE_ROLLBACK_COMPLETE.
    """
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core.responses import EmptyResult

    def cancel_update_stack(self: CloudFormationResponse) -> EmptyResult:
        stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
        if stack.status != "UPDATE_IN_PROGRESS":
            raise ValidationError(message="CancelUpdateStack cannot be called from current stack status")
        stack.status = "UPDATE_ROLLBACK_COMPLETE"
        return EmptyResult()

    CloudFormationResponse.cancel_update_stack = cancel_update_stack  # type: ignore[attr-defined]


_cancel_update_stack()


def _task_definition_update_keeps_key_case() -> None:
    """
    A task definition replaced by a stack update keeps ECS's key case. moto's create path turns the
    template's ContainerDefinitions (Name, Image...) into ECS's (name, image...), its update path
    does not, so DescribeTaskDefinition of an updated stack's task definition answers containers
    without a name, and registering a revision of it (the evaluated plan's retagged migration)
    is refused ("Container.name should not be null or empty"), which ECS would never do.
    """
    from moto.ecs.models import TaskDefinition
    from moto.core.utils import pascal_to_camelcase, remap_nested_keys

    moto_update = TaskDefinition.update_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def update(cls: Any, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str, region_name: str) -> Any:
        properties = dict(cloudformation_json["Properties"])
        properties["ContainerDefinitions"] = remap_nested_keys(properties.get("ContainerDefinitions", []), pascal_to_camelcase)
        if properties.get("Volumes") is not None:
            properties["Volumes"] = remap_nested_keys(properties["Volumes"], pascal_to_camelcase)
        return moto_update(cls, original_resource, new_resource_name, {**cloudformation_json, "Properties": properties}, account_id, region_name)

    TaskDefinition.update_from_cloudformation_json = classmethod(update)  # type: ignore[assignment]


_task_definition_update_keeps_key_case()


def _executed_change_set_sets_parameters() -> None:
    """
    Executing an UPDATE change set makes its parameters the stack's, as in CloudFormation. moto
    applies them to the resources but keeps the stack's previous values for UsePreviousValue, so
    the next UpdateStack (a scale to N that keeps every other parameter) would put back the
    version that ran before the change set.
    """
    from moto.cloudformation.models import CloudFormationBackend

    moto_execute = CloudFormationBackend.execute_change_set

    def execute_change_set(self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = self.change_sets.get(change_set_name) or next(
            (cs for cs in self.change_sets.values() if cs.change_set_name == change_set_name), None
        )
        moto_execute(self, change_set_name, stack_name)
        if change_set is not None and change_set.parameters:
            stack = self.stacks[change_set.stack_id]
            stack.parameters = {**stack.parameters, **change_set.parameters}

    CloudFormationBackend.execute_change_set = execute_change_set  # type: ignore[method-assign]


_executed_change_set_sets_parameters()


if __name__ == "__main__":
    from moto.server import main

    sys.exit(main())
