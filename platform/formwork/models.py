"""Every model, imported in one place so Alembic and ``create_all`` see the whole schema."""

from .audit.models import AuditEntry  # noqa: F401
from .budgets.models import BudgetLine  # noqa: F401,E402
from .definitions.models import DefinitionVersion  # noqa: F401
from .kpis.models import KpiAlert, KpiWatch  # noqa: F401
from .notifications.models import Notification, OutboxMessage  # noqa: F401,E402
from .org.models import ApiToken, Department, LoginThrottle, Role, RoleAssignment, RoleGrantEvent, User  # noqa: F401
from .records.models import Attachment, Record, RecordEvent, RecordFact, RecordValue  # noqa: F401
from .workflow.models import Delegation, Process, Task, TrailEntry  # noqa: F401,E402
