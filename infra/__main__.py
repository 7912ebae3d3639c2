"""Pulumi entry point (`main: infra/`): wiring only; the components live in infra/src/infra."""

import pulumi

from infra.config import parse
from infra.program import deploy, exports, platform_exports, read_secrets

_config = pulumi.Config()
_stack_config = parse(pulumi.get_stack(), _config.get)
_stack = deploy(_stack_config, read_secrets(_config, app=_stack_config.has_app))
for _key, _value in (exports(_stack_config) | platform_exports(_stack_config, _stack)).items():
    pulumi.export(_key, _value)
