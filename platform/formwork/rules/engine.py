"""The one door to durable-rules: registration, evaluation and error translation.

Nothing else in Formwork imports ``durable``. The engine (durable-rules 2.0.28, its
last release) is fast but fragile; each hazard measured in the architecture notes
is neutralised here:

* no background threads — the stock ``Host`` starts timer threads; ``_QuietHost`` does not;
* one process-wide lock around every engine call;
* one fixed session id (``formwork``) for every ruleset, never one per request or record
  (more than 1024 live sessions exhaust the engine), and never ``delete_state``
  (it segfaults after an unhandled message);
* every rule must fire, so each evaluation asserts one *fact* (an event fires only the
  first match) and retracts it before the lock is released — the session holds no
  facts between calls and its state never grows;
* actions run no code of ours: the engine's action queue is read directly and only
  the names of the rules that fired are recorded (exceptions inside durable's
  action wrapper are swallowed, so no work may happen there);
* ruleset names carry the definition version and are registered once per process;
  the engine receives a deep copy (``set_rulesets`` mutates what it is given);
* facts hold only the encoded properties the rules read (see ``encoding``), and
  engine error codes become a ``RulesEngineError`` with a readable message.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any, Mapping, Union

import durable.engine as durable_engine
import durable_rules_engine as native

from formwork.expressions import CompiledExpression, FunctionSpec, TypeEnv

from .compile import CompiledRuleset, compile_ruleset
from .errors import RulesEngineError

SESSION_ID = "formwork"
_ACTION_NAME = re.compile(r'^\{\s*"r(\d+)"')
_ERROR_CODE = re.compile(r"error code:?\s*(\d+)")
_ERROR_MEANINGS = {
    101: "the engine ran out of memory",
    113: "a condition is too complex for the rules engine",
    202: "the rules engine could not parse a condition",
    204: "a number is outside the range the rules engine accepts",
    302: "the fact has too many properties for the rules engine",
}

_LOCK = threading.Lock()  # the engine is not thread-safe: every call into it holds this lock


class _QuietHost(durable_engine.Host):
    """A ``Host`` without the timer threads the stock one starts; actions are never run through it."""

    def _run(self) -> None:  # the stock host schedules dispatch timers here
        return None

    def get_action(self, action_name: str) -> Any:
        def record_only(closure: Any) -> None:  # never called: evaluation reads the action queue itself
            return None

        return record_only


class _Registered:
    __slots__ = ("compiled", "signature", "handle", "rule_names", "max_actions")

    def __init__(self, compiled: CompiledRuleset, signature: str, handle: Any):
        self.compiled = compiled
        self.signature = signature
        self.handle = handle
        self.rule_names = compiled.rule_names
        # a rule with "$or" fires once per alternative that matches, so one fact may queue more actions than
        # rules
        self.max_actions = compiled.max_activations()


class RulesEngine:
    """Registered rulesets of this process and their evaluation (see the module docstring)."""

    def __init__(self) -> None:
        self._host: _QuietHost | None = None
        self._rulesets: dict[str, _Registered] = {}

    # -- registration -------------------------------------------------------------------------
    def register(self, compiled: CompiledRuleset) -> bool:
        """Register ``compiled`` under its name; ``False`` if the same ruleset is already there.

        The same name with different content is an error: a name stands for one definition version.
        """
        signature = compiled.signature()
        with _LOCK:
            known = self._rulesets.get(compiled.name)
            if known is not None:
                if known.signature != signature:
                    raise RulesEngineError(
                        f"ruleset {compiled.name} is already registered with different rules; "
                        "a changed definition needs a new version (and so a new ruleset name)"
                    )
                return False
            if self._host is None:
                self._host = _QuietHost()
            definition = compiled.definition()  # a fresh dict: the engine mutates what it is given
            try:
                self._host.set_rulesets({compiled.name: definition})
            except Exception as exc:
                raise _engine_error(f"could not register ruleset {compiled.name}", exc) from None
            handle = self._host.get_ruleset(compiled.name)._handle
            self._rulesets[compiled.name] = _Registered(compiled, signature, handle)
            return True

    def register_rules(
        self,
        name: str,
        rules: Mapping[str, Union[CompiledExpression, str]],
        env: TypeEnv,
        functions: Mapping[str, FunctionSpec] | None = None,
    ) -> CompiledRuleset:
        """Compile ``rules`` and register them as ruleset ``name`` (idempotent); returns the ruleset."""
        compiled = compile_ruleset(name, rules, env, functions)
        self.register(compiled)
        return self._rulesets[name].compiled

    def is_registered(self, name: str) -> bool:
        return name in self._rulesets

    def compiled(self, name: str) -> CompiledRuleset:
        return self._get(name).compiled

    # -- evaluation ---------------------------------------------------------------------------
    def evaluate(
        self, name: str, scope: Mapping[str, Any], context: Mapping[str, Any] | None = None
    ) -> set[str]:
        """The names of every rule of ruleset ``name`` whose condition is true for this data.

        Projection and encoding run before the lock is taken; only the engine calls hold it.
        """
        registered = self._get(name)
        fact = registered.compiled.fact(scope, context)
        return self._fire(registered, fact)

    def _get(self, name: str) -> _Registered:
        registered = self._rulesets.get(name)
        if registered is None:
            raise RulesEngineError(f"ruleset {name!r} is not registered")
        return registered

    def _fire(self, registered: _Registered, fact: dict[str, Any]) -> set[str]:
        fact["sid"] = SESSION_ID
        payload = json.dumps(fact, ensure_ascii=False, separators=(",", ":"))
        handle = registered.handle
        limit = registered.max_actions
        with _LOCK:
            try:
                result = native.assert_fact(handle, payload)
                if (
                    result[0] == 2
                ):  # the same fact is still held (an earlier retraction failed): clear it, retry
                    native.retract_fact(handle, payload)
                    result = native.assert_fact(handle, payload)
            except Exception as exc:
                raise _engine_error("the rules engine refused the data", exc) from None
            try:
                fired = _drain(handle, result, limit) if result[0] == 0 else []
            finally:
                try:
                    retracted = native.retract_fact(handle, payload)
                    if retracted[0] == 0:
                        _drain(handle, retracted, limit)  # nothing should fire; keep the queue empty anyway
                except Exception as exc:
                    raise _engine_error("the rules engine could not clear the evaluated data", exc) from None
        names = registered.rule_names
        return {names[i] for i in fired}

    def session_state(self, name: str) -> dict[str, Any]:
        """The engine's state of the ruleset's fixed session (for checks that nothing accumulates)."""
        registered = self._get(name)
        with _LOCK:
            facts = json.loads(native.get_facts(registered.handle, SESSION_ID))
            state = json.loads(native.get_state(registered.handle, SESSION_ID))
        return {"facts": facts, "state": state}


def _drain(handle: Any, result: Any, limit: int) -> list[int]:
    """Read every queued action of this assertion: the indexes of the rules that fired."""
    state_handle = result[1]
    fired: list[int] = []
    started = native.start_action_for_state(handle, state_handle)
    if not started:
        return fired
    message = started[1]
    while message:
        match = _ACTION_NAME.match(message)
        if match is None:
            raise RulesEngineError("the rules engine returned an action it was never given")
        fired.append(int(match.group(1)))
        if len(fired) > limit:
            raise RulesEngineError("the rules engine fired more actions than the ruleset can produce")
        message = native.complete_and_start_action(handle, state_handle)
    return fired


def _engine_error(what: str, exc: BaseException) -> RulesEngineError:
    text = str(exc)
    match = _ERROR_CODE.search(text)
    if match:
        code = int(match.group(1))
        meaning = _ERROR_MEANINGS.get(code, "the rules engine reported an error")
        return RulesEngineError(f"{what}: {meaning} (engine error {code})")
    if isinstance(exc, MemoryError):
        return RulesEngineError(f"{what}: the rules engine ran out of memory")
    return RulesEngineError(f"{what}: {text[:200] or type(exc).__name__}")


_default = RulesEngine()


def get_engine() -> RulesEngine:
    """The process-wide engine (each process registers its rulesets once)."""
    return _default


def register(compiled: CompiledRuleset) -> bool:
    """``get_engine().register(compiled)``."""
    return _default.register(compiled)


def evaluate(name: str, scope: Mapping[str, Any], context: Mapping[str, Any] | None = None) -> set[str]:
    """``get_engine().evaluate(name, scope, context)``."""
    return _default.evaluate(name, scope, context)


__all__ = ["RulesEngine", "SESSION_ID", "compile_ruleset", "evaluate", "get_engine", "register"]
