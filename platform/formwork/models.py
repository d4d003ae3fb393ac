"""Every model, imported in one place so Alembic and ``create_all`` see the whole schema."""
from .definitions.models import DefinitionVersion  # noqa: F401
from .org.models import ApiToken, Department, LoginThrottle, Role, RoleAssignment, User  # noqa: F401
from .records.models import Attachment, Record, RecordEvent  # noqa: F401
