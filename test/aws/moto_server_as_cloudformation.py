"""
moto_server with test/aws/moto_server_with_secrets.py's additions, plus three answers of CloudFormation
that moto 5 does not give, which putting back a stack's found template depends on:

- DescribeStacks masks the value of every NoEcho parameter as `****` (see _no_echo_parameters_masked);
- a template that declares a `Transform` is refused without CAPABILITY_AUTO_EXPAND, on CreateStack,
  UpdateStack (with UsePreviousTemplate too: CloudFormation processes the template again) and
  CreateChangeSet (see _transforms_need_auto_expand);
- a parameter the template does not declare is refused (`Parameters: [X] do not exist in the
  template`), on the same calls; moto ignores it (see _undeclared_parameters_refused).

Started by test/support/moto.ts (`startMoto({ plugin })`) with the same arguments as moto_server.
"""
import os
import runpy
import sys
from typing import Any

# The secrets plugin's changes, applied as it applies them on import (it runs a server only as __main__).
runpy.run_path(os.path.join(os.path.dirname(os.path.abspath(__file__)), "moto_server_with_secrets.py"), run_name="moto_server_with_secrets")


def _no_echo_parameters_masked() -> None:
    """
    moto 5 compares each parameter's value, not its key, with the NoEcho keys: a NoEcho value shows
    unless it happens to equal its key. CloudFormation shows every NoEcho value as `****`.
    """
    from moto.cloudformation.models import Stack

    def parameter_list(self: Stack) -> list[dict[str, Any]]:
        masked = set(self.resource_map.no_echo_parameter_keys)
        return [
            {"ParameterKey": key, "ParameterValue": "****" if key in masked else value}
            for key, value in self.resource_map.resolved_parameters.items()
        ]

    Stack.parameter_list = property(parameter_list)  # type: ignore[assignment,method-assign]


_no_echo_parameters_masked()


def _transforms_need_auto_expand() -> None:
    """
    `Requires capabilities : [CAPABILITY_AUTO_EXPAND]` (InsufficientCapabilitiesException) for a
    template with a `Transform` (AWS::Serverless-2016-10-31, AWS::LanguageExtensions, a macro) sent
    without that capability; moto reads no capabilities at all.
    """
    from moto.cloudformation.exceptions import CloudFormationError
    from moto.cloudformation.models import Stack
    from moto.cloudformation.responses import CloudFormationResponse

    class InsufficientCapabilitiesException(CloudFormationError):
        code = "InsufficientCapabilitiesException"

    def template_of(self: CloudFormationResponse) -> Any:
        if self._get_bool_param("UsePreviousTemplate", False):
            return self.cloudformation_backend.get_stack(self._get_param("StackName")).template
        body = self._get_param("TemplateBody")
        url = self._get_param("TemplateURL")
        return body if body or not url else self._get_stack_from_s3_url(url)

    def declares_transform(template: Any) -> bool:
        if not template:
            return False
        parsed = template if isinstance(template, dict) else Stack.parse_template(template)
        return isinstance(parsed, dict) and "Transform" in parsed

    def require_auto_expand(self: CloudFormationResponse) -> None:
        capabilities = self._get_param("Capabilities", []) or []
        if "CAPABILITY_AUTO_EXPAND" not in capabilities and declares_transform(template_of(self)):
            raise InsufficientCapabilitiesException("Requires capabilities : [CAPABILITY_AUTO_EXPAND]")

    for name in ("create_stack", "update_stack", "create_change_set"):
        moto_call = getattr(CloudFormationResponse, name)

        def checked(self: CloudFormationResponse, moto_call: Any = moto_call) -> Any:
            require_auto_expand(self)
            return moto_call(self)

        setattr(CloudFormationResponse, name, checked)


_transforms_need_auto_expand()


def _undeclared_parameters_refused() -> None:
    """
    CloudFormation answers a parameter that the template (the new one, or the previous one with
    UsePreviousTemplate) does not declare with a ValidationError naming every such key; moto only
    reads the declared ones and drops the others without a word.
    """
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.models import Stack
    from moto.cloudformation.responses import CloudFormationResponse

    def template_of(self: CloudFormationResponse) -> Any:
        if self._get_bool_param("UsePreviousTemplate", False):
            return self.cloudformation_backend.get_stack(self._get_param("StackName")).template
        body = self._get_param("TemplateBody")
        url = self._get_param("TemplateURL")
        return body if body or not url else self._get_stack_from_s3_url(url)

    def refuse_undeclared(self: CloudFormationResponse) -> None:
        template = template_of(self)
        if not template:
            return
        parsed = template if isinstance(template, dict) else Stack.parse_template(template)
        declared = set((parsed.get("Parameters") or {}).keys()) if isinstance(parsed, dict) else set()
        given = [p.get("ParameterKey") for p in (self._get_param("Parameters", []) or [])]
        undeclared = [key for key in given if key not in declared]
        if undeclared:
            raise ValidationError(message=f"Parameters: [{', '.join(undeclared)}] do not exist in the template")

    for name in ("create_stack", "update_stack", "create_change_set"):
        moto_call = getattr(CloudFormationResponse, name)

        def checked(self: CloudFormationResponse, moto_call: Any = moto_call) -> Any:
            refuse_undeclared(self)
            return moto_call(self)

        setattr(CloudFormationResponse, name, checked)


_undeclared_parameters_refused()


if __name__ == "__main__":
    from moto.server import main

    sys.exit(main())
