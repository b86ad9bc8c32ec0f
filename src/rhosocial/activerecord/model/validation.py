"""Validation without saving: ``is_valid()``, ``errors``, contexts, uniqueness.

A record is checked in four layers, in this order:

1. pydantic (types, constraints, ``field_validator``, ``model_validator``),
   when values are set. ``Model(...)`` and assignment raise; ``Model.build()``
   and ``record.assign_attributes()`` instead record what failed (the
   *input errors*) and keep the record unsaveable until it is fixed;
2. ``validate_record()`` and the methods marked ``@validates(...)``;
3. ``Field(unique=True)``: a SELECT for another row holding the value;
4. the database's own constraints, at the write (``UniqueViolationError``
   and friends still come through: a check before the write cannot see a
   row another transaction is about to commit).

``is_valid()`` runs 1-3 without writing; ``save()`` runs them before the
INSERT or UPDATE and raises :class:`~rhosocial.activerecord.RecordInvalid`.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Self, TypeVar

import pydantic
from pydantic_core import SchemaValidator, core_schema

from ..errors import ModelDefinitionError, RecordInvalid

F = TypeVar("F", bound=Callable[..., Any])

#: The key of errors about the record as a whole (a ``model_validator``, a rule of several fields).
WHOLE = "__all__"
#: What a uniqueness check reports.
TAKEN = "has already been taken"


class Errors(Mapping[str, list[str]]):
    """The messages of one validation, by field (``"__all__"`` for the record as a whole).

    A read-only mapping (``errors["email"]`` is ``[]`` for a clean field) with
    :meth:`add` for rules that report as they go. Compares equal to a dict
    with the same messages.
    """

    __slots__ = ("_messages",)

    def __init__(self, messages: Mapping[str, Iterable[str]] | None = None) -> None:
        self._messages: dict[str, list[str]] = {}
        for field, found in (messages or {}).items():
            for message in found:
                self.add(field, message)

    def add(self, field: str, message: str) -> None:
        """Record ``message`` for ``field`` (``"__all__"`` for the whole record)."""
        if not isinstance(field, str) or not field:
            raise TypeError(f"An error is filed under a field name (or '__all__'), got {field!r}")
        if not isinstance(message, str) or not message:
            raise TypeError(f"An error message is a non-empty string, got {message!r} for {field!r}")
        self._messages.setdefault(field, []).append(message)

    def __getitem__(self, field: str) -> list[str]:
        return list(self._messages.get(field, ()))

    def get(self, field: str, default: Any = None) -> Any:
        return list(self._messages[field]) if field in self._messages else default

    def __contains__(self, field: object) -> bool:
        return field in self._messages

    def __iter__(self) -> Iterator[str]:
        return iter(self._messages)

    def __len__(self) -> int:
        return len(self._messages)

    def __bool__(self) -> bool:
        return bool(self._messages)

    def full_messages(self) -> list[str]:
        """Each message as a sentence: ``"Email has already been taken"``."""
        found = []
        for field, messages in self._messages.items():
            for message in messages:
                if field == WHOLE:
                    found.append(message[:1].upper() + message[1:])
                else:
                    found.append(f"{_humanize(field)} {_lower_first(message)}")
        return found

    def to_dict(self) -> dict[str, list[str]]:
        """The messages as a plain dict (a copy)."""
        return {field: list(messages) for field, messages in self._messages.items()}

    def __repr__(self) -> str:
        return f"Errors({self._messages!r})"


def _humanize(field: str) -> str:
    words = field.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _lower_first(message: str) -> str:
    # "Input should be ..." -> "input should be ..."; "URL is ..." and "SKU-9 ..." stay.
    if len(message) > 1 and message[0].isupper() and message[1].islower():
        return message[0].lower() + message[1:]
    return message


def validates(*fields: Any, on: str | Iterable[str] | None = None) -> Any:
    """Mark a method as a validation rule, run by ``is_valid()`` and ``save()``.

    The method takes only ``self`` and returns ``None`` (valid), a message
    or a list of messages (filed under the first field named, or
    ``"__all__"`` when none is), or ``{field: [messages]}``. It is skipped
    when a field it names holds input pydantic refused (see
    :meth:`ValidationMethods.build`), so it always sees values of the
    declared types.

    Args:
        fields: the fields the rule checks.
        on: run only in these validation contexts (``"create"``, ``"update"``
            or your own, as passed to ``is_valid(on=...)``); every context if
            omitted.
    """
    if len(fields) == 1 and callable(fields[0]) and on is None:  # bare @validates
        return validates()(fields[0])
    for field in fields:
        if not isinstance(field, str) or not field:
            raise TypeError(f"@validates() takes field names, got {field!r}")
    contexts = _contexts(on, "@validates(on=...)")

    def mark(function: F) -> F:
        if not callable(function):
            raise TypeError(f"@validates() decorates a method, got {function!r}")
        function.__rhosocial_validates__ = (tuple(fields), contexts)  # type: ignore[attr-defined]
        return function

    return mark


def _contexts(on: Any, where: str) -> frozenset[str] | None:
    if on is None:
        return None
    names = (on,) if isinstance(on, str) else tuple(on) if isinstance(on, Iterable) else (on,)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise TypeError(f"{where} takes a context name or a list of them, got {on!r}")
    return frozenset(names)


@dataclass(frozen=True)
class Rule:
    """A ``@validates`` method of a model."""

    name: str
    fields: tuple[str, ...]
    contexts: frozenset[str] | None

    def applies(self, context: str) -> bool:
        return self.contexts is None or context in self.contexts


class ValidationInfo:
    """What validation needs to know about one model, worked out once (``ModelMetadata.validation``)."""

    def __init__(self, model: type[Any]) -> None:
        self.model = model
        fields = model.model_fields
        #: Names input may use for a field: its own, its alias, its validation alias.
        self.aliases: dict[str, str] = {}
        for name, info in fields.items():
            for alias in (info.alias, info.validation_alias):
                if isinstance(alias, str):
                    self.aliases.setdefault(alias, name)
                elif isinstance(alias, pydantic.AliasChoices):
                    for choice in alias.choices:
                        if isinstance(choice, str):
                            self.aliases.setdefault(choice, name)
        for name in fields:
            self.aliases[name] = name
        #: Fields declared ``Field(unique=True)``, checked before each write.
        self.unique_fields: tuple[str, ...] = () if model.__dict__.get("__abstract__", False) else tuple(
            name for name, spec in model._column_specs().items() if spec.options.unique)
        self.rules: tuple[Rule, ...] = _rules_of(model)
        #: Whether saving has checks to run besides an overridden ``validate_record``.
        self.checks = bool(self.unique_fields or self.rules)
        self._fields_validator: SchemaValidator | None = None

    @property
    def fields_validator(self) -> SchemaValidator:
        """A validator of the model's fields one at a time, without its model validators."""
        found = self._fields_validator
        if found is None:
            found = self._fields_validator = _fields_only(self.model)
        return found


def _rules_of(model: type[Any]) -> tuple[Rule, ...]:
    names: list[str] = []
    for klass in reversed(model.__mro__):
        for name, value in vars(klass).items():
            if getattr(value, "__rhosocial_validates__", None) is not None and name not in names:
                names.append(name)
    rules = []
    for name in names:
        spec = getattr(getattr(model, name, None), "__rhosocial_validates__", None)
        if spec is None:
            continue  # overridden by an unmarked method: no longer a rule
        fields, contexts = spec
        unknown = [f for f in fields if f not in model.model_fields]
        if unknown:
            raise ModelDefinitionError(
                f"{model.__name__}.{name}: @validates names {', '.join(map(repr, unknown))}, which "
                f"{'is not a field' if len(unknown) == 1 else 'are not fields'}; fields: {', '.join(model.model_fields)}")
        rules.append(Rule(name, fields, contexts))
    return tuple(rules)


def _fields_only(model: type[Any]) -> SchemaValidator:
    """Build a validator of the model's fields (their types, constraints and field validators) alone.

    ``build()`` and ``assign_attributes()`` validate input field by field with
    it, so one bad value does not lose the good ones; the model validators
    then run once on the result.
    """
    schema: Any = model.__pydantic_core_schema__
    definitions: list[Any] = []
    config = None
    for _ in range(64):
        kind = schema.get("type")
        if kind == "model-fields":
            fields = schema if not definitions else core_schema.definitions_schema(schema, definitions)
            return SchemaValidator(fields, config)
        if kind == "definitions":
            definitions.extend(schema.get("definitions", ()))
            schema = schema["schema"]
        elif kind == "definition-ref":
            ref = schema["schema_ref"]
            schema = next((d for d in definitions if d.get("ref") == ref), None)
            if schema is None:
                break
        elif kind in ("function-before", "function-after", "function-wrap", "model"):
            if kind == "model":
                config = schema.get("config")
            schema = schema["schema"]
        else:
            break
    raise ModelDefinitionError(
        f"{model.__name__}: its pydantic schema has no plain fields part, so build() and "
        "assign_attributes() cannot validate its fields one by one; construct it instead")


def _assign(validator: SchemaValidator, values: dict[str, Any], name: str, value: Any) -> dict[str, Any]:
    """``values`` with field ``name`` set to ``value`` validated (``fields_validator``)."""
    result: Any = validator.validate_assignment(values, name, value)
    return result[0]


def leave_uniqueness_to_the_database(record: Any) -> None:
    """Skip the ``Field(unique=True)`` checks of ``record``'s next validation only.

    For ``create_or_find_by``: it inserts first and reads the row after the
    unique index refused the INSERT, so it wants the database's error.
    """
    record.__pydantic_private__["_unique_by_database"] = True


def validation_info(model: type[Any]) -> ValidationInfo:
    """Return ``model``'s :class:`ValidationInfo` (cached on its metadata)."""
    return model.__dict__["__meta__"].validation


# -- pydantic's errors, as messages -------------------------------------------------


def _message(failure: Mapping[str, Any], rest: tuple[Any, ...]) -> str:
    message = str(failure.get("msg") or failure.get("type") or "is invalid")
    if failure.get("type") == "value_error":  # "Value error, must contain @": the rule's own words
        error = (failure.get("ctx") or {}).get("error")
        if error is not None and str(error):
            message = str(error)
    if rest:
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in rest).lstrip(".")
        message = f"{message} (at {path})"
    return message


def _by_key(failures: Iterable[Mapping[str, Any]], aliases: Mapping[str, str]) -> dict[str, list[str]]:
    """Group pydantic's error dicts by field (their ``loc``); model-level ones under ``"__all__"``."""
    found: dict[str, list[str]] = {}
    for failure in failures:
        loc = tuple(failure.get("loc") or ())
        if loc and isinstance(loc[0], str):
            key, rest = aliases.get(loc[0], loc[0]), loc[1:]
        else:
            key, rest = WHOLE, loc
        message = _message(failure, rest)
        messages = found.setdefault(key, [])
        if message not in messages:
            messages.append(message)
    return found


def _file(errors: Errors, result: Any, default: str, source: str) -> None:
    """Add what a rule returned to ``errors``."""
    if result is None or result is errors:
        return
    if isinstance(result, str):
        if result:
            errors.add(default, result)
        return
    if isinstance(result, Mapping):
        for field, messages in result.items():
            for message in ((messages,) if isinstance(messages, str) else messages or ()):
                errors.add(field, message)
        return
    if isinstance(result, (list, tuple)):
        for message in result:
            errors.add(default, message)
        return
    raise TypeError(
        f"{source} returned {result!r}: return None when valid, a message, a list of messages, "
        "or {field: [messages]}")


# -- the record methods ---------------------------------------------------------------

_MISSING = object()


class Pending:
    """Input ``build()``/``assign_attributes()`` refused, still to be fixed (a record's ``_invalid``)."""

    __slots__ = ("fields", "whole", "raw")

    def __init__(self) -> None:
        #: Each refused field: its messages, by key (the field, or ``"__all__"``).
        self.fields: dict[str, dict[str, list[str]]] = {}
        #: The model validators' messages; ``{}`` when they have yet to run; None: nothing to check.
        self.whole: dict[str, list[str]] | None = None
        #: The refused fields that hold the input as given (``build()``), not a valid value.
        self.raw: set[str] = set()


def _refuse_unknown(model: Any, method: str, unknown: list[str]) -> None:
    if unknown:
        raise TypeError(
            f"{model.__name__}.{method}() got {'an unknown field' if len(unknown) == 1 else 'unknown fields'} "
            f"{', '.join(map(repr, unknown))}; fields: {', '.join(model.model_fields)}")


class ValidationMethods:
    """Record methods that validate a record without writing it."""

    if TYPE_CHECKING:  # what ActiveRecord defines
        __pydantic_private__: dict[str, Any]
        __pydantic_fields_set__: set[str]
        model_fields: dict[str, Any]
        @property
        def is_new_record(self) -> bool: ...

        def _fire(self, event: str) -> None: ...
        def validate_record(self) -> Any: ...

    # -- state -------------------------------------------------------------------------

    @property
    def errors(self) -> Errors:
        """The messages of the last validation (``is_valid()``, a validating ``save()``,
        ``build()``, ``assign_attributes()``); empty before any."""
        private = self.__pydantic_private__
        found = private.get("_errors")
        if found is None:
            found = private["_errors"] = Errors()
        return found

    @property
    def validation_context(self) -> str | None:
        """The context of the validation running now (``"create"``, ``"update"``, your own), else None.

        ``validate_record()`` and rules read it to apply to some contexts only.
        """
        return self.__pydantic_private__.get("_validation_context")

    def is_valid(self, on: str | None = None) -> bool:
        """Run every check ``save()`` runs, without writing; fill :attr:`errors` and return whether it is empty.

        Runs the ``before_validate`` hooks, ``validate_record()``, the
        ``@validates`` rules, the uniqueness checks (a SELECT each) and, when
        all passed, the ``after_validate`` hooks. Input errors left by
        ``build()`` or ``assign_attributes()`` count too.

        Args:
            on: the validation context; default ``"create"`` for a new record,
                ``"update"`` for a saved one (what ``save()`` uses).
        """
        if on is not None and (not isinstance(on, str) or not on):
            raise TypeError(f"is_valid(on=...) takes a context name such as 'create', got {on!r}")
        from .events import CallbackRegistry

        context = on or ("create" if self.is_new_record else "update")
        return not self._validation_errors(CallbackRegistry.active(type(self)), context)

    # -- taking input ------------------------------------------------------------------

    @classmethod
    def build(cls, **attributes: Any) -> Self:
        """Make a new record from possibly invalid input (a form, a request body) without raising.

        Valid values are set as construction sets them. A value pydantic
        refuses is kept as given (so a form can show it again) and its
        messages go to :attr:`errors`; so do a ``model_validator``'s (under
        ``"__all__"``). Such a record is never written: ``save()`` raises
        :class:`RecordInvalid` (with ``validate=False`` too) until each
        refused field has been assigned a valid value and the model
        validators pass.

        Raises:
            TypeError: a name is not a field of the model.
        """
        model: Any = cls
        info = validation_info(cls)
        if model.model_config.get("extra") == "forbid":
            _refuse_unknown(model, "build", [k for k in attributes if k not in info.aliases])
        try:
            return model(**attributes)
        except pydantic.ValidationError as exc:
            failures = list(exc.errors())
        given = {info.aliases[k]: v for k, v in attributes.items() if k in info.aliases}
        refused = _by_key(failures, info.aliases)
        record = model.model_construct(**{k: v for k, v in attributes.items() if k not in info.aliases})
        values = dict(record.__dict__)  # the defaults, as construction gives them
        validator = info.fields_validator
        for name in model.model_fields:  # in declaration order, as pydantic validates
            if name not in given:
                if name in refused:
                    values.setdefault(name, None)  # a required field left out reads as None
                continue
            if name not in refused:
                try:
                    values = _assign(validator, values, name, given[name])
                    continue
                except pydantic.ValidationError as exc:  # valid only next to the values that failed
                    for key, messages in _by_key(exc.errors(), info.aliases).items():
                        known = refused.setdefault(key, [])
                        known.extend(m for m in messages if m not in known)
            values[name] = given[name]  # kept as given
        fields = model.model_fields
        object.__setattr__(record, "__dict__", {**{n: values[n] for n in fields if n in values}, **values})
        bad = {name for name in refused if name in fields}
        object.__setattr__(record, "__pydantic_fields_set__", set(given) - bad)
        pending = Pending()
        for name in bad:
            pending.fields[name] = {name: refused[name]}
        pending.raw.update(bad)
        whole = {k: v for k, v in refused.items() if k not in bad}
        pending.whole = whole  # the model validators run again once the fields are fixed
        record.__pydantic_private__["_invalid"] = pending
        record.__pydantic_private__["_errors"] = Errors(refused)
        return record

    def assign_attributes(self, **attributes: Any) -> Self:
        """Set fields from possibly invalid input without raising; return the record.

        Each valid value is assigned. A value pydantic refuses is *not*
        assigned: the field keeps its valid value, and the messages go to
        :attr:`errors`. When the model validators refuse the new values
        together, none of them is assigned and their messages go under
        ``"__all__"``. Until each refused field is assigned again with a
        valid value (here, by plain assignment, or by ``refresh()``),
        ``save()`` raises :class:`RecordInvalid` and writes nothing: the
        input was not taken, so saving would silently drop it.

        Raises:
            TypeError: a name is neither a field nor a settable attribute (an association).
        """
        cls: Any = type(self)
        info = validation_info(cls)
        given: dict[str, Any] = {}
        others: dict[str, Any] = {}
        unknown = []
        for key, value in attributes.items():
            name = info.aliases.get(key)
            if name is not None:
                given[name] = value
            elif isinstance(getattr(cls, key, None), property):
                others[key] = value
            else:
                unknown.append(key)
        _refuse_unknown(cls, "assign_attributes", unknown)
        private = self.__pydantic_private__
        pending = private.get("_invalid")
        raw = pending.raw if pending is not None else set()
        current = self.__dict__
        values = dict(current)
        taken: list[str] = []
        refused: dict[str, dict[str, list[str]]] = {}
        validator = info.fields_validator
        for name in cls.model_fields:
            if name in given:
                try:
                    values = _assign(validator, values, name, given[name])
                    taken.append(name)
                except pydantic.ValidationError as exc:
                    refused[name] = _by_key(exc.errors(), info.aliases)
        recheck = False
        if taken:
            candidate = {**current, **{name: values[name] for name in taken}}
            if raw.difference(taken):
                # Other fields still hold refused input: the model validators cannot judge yet
                # (pydantic skips them too); they run once those are fixed.
                object.__setattr__(self, "__dict__", candidate)
                self.__pydantic_fields_set__.update(taken)
                recheck = True
            else:
                # Every new value is valid alone: now the model validators, once, on them together.
                last = taken[-1]
                object.__setattr__(self, "__dict__", candidate)
                try:
                    cls.__pydantic_validator__.validate_assignment(self, last, given[last])
                except BaseException as exc:
                    object.__setattr__(self, "__dict__", current)  # none of it is taken
                    if not isinstance(exc, pydantic.ValidationError):
                        raise
                    whole = _by_key(exc.errors(), info.aliases)
                    for name in taken:
                        refused[name] = whole
                    taken = []
                else:
                    self.__pydantic_fields_set__.update(taken)
        if refused or recheck or pending is not None:
            if pending is None:
                pending = private["_invalid"] = Pending()
            for name in taken:
                pending.fields.pop(name, None)
                pending.raw.discard(name)
            fields_set = self.__pydantic_fields_set__
            for name, messages in refused.items():
                pending.fields[name] = messages
                fields_set.discard(name)  # a later valid assignment puts it back: that clears the error
            if recheck and pending.whole is None:
                pending.whole = {}
        for key, value in others.items():
            setattr(self, key, value)
        private["_errors"] = self._input_errors() or Errors()
        return self

    # -- running the checks ----------------------------------------------------------

    def _input_errors(self) -> Errors | None:
        """The input errors still pending from ``build()``/``assign_attributes()``, or None.

        A refused field is fixed once a valid assignment put it back in
        pydantic's set fields (or ``refresh()`` did); the model validators'
        errors once, with every field fixed, the record passes pydantic as a whole.
        """
        private = self.__pydantic_private__
        pending: Pending | None = private.get("_invalid")
        if pending is None:
            return None
        fields_set = self.__pydantic_fields_set__
        for name in [n for n in pending.fields if n in fields_set]:
            del pending.fields[name]
            pending.raw.discard(name)
        if pending.whole is not None and not pending.fields:
            failures = self._revalidate()
            pending.whole = _by_key(failures, validation_info(type(self)).aliases) if failures else None
        if not pending.fields and not pending.whole:
            del private["_invalid"]
            return None
        errors = Errors()
        fields = pending.fields
        model: Any = type(self)
        in_order = [fields[n] for n in model.model_fields if n in fields]
        for messages in (*in_order, pending.whole or {}):
            for key, found in messages.items():
                for message in found:
                    if message not in errors._messages.get(key, ()):
                        errors.add(key, message)
        return errors

    def _revalidate(self) -> list[Any]:
        """Validate the record's set fields as a whole; on success take the validated values."""
        cls: Any = type(self)
        values = self.__dict__
        fields_set = self.__pydantic_fields_set__
        data = {n: values[n] for n in cls.model_fields if n in fields_set and n in values}
        try:
            valid = cls.model_validate(data)
        except pydantic.ValidationError as exc:
            return list(exc.errors())
        object.__setattr__(self, "__dict__", {**values, **{n: valid.__dict__[n] for n in data}})
        return []

    def _refuse_input_errors(self) -> None:
        """Raise RecordInvalid if input errors are pending (``save()`` when it does not validate)."""
        errors = self._input_errors()
        if errors:
            self.__pydantic_private__["_errors"] = errors
            raise RecordInvalid(self, errors.to_dict())

    def _validation_errors(self, active: frozenset[str], context: str) -> Errors:
        """Run the checks in ``context``; return (and keep in :attr:`errors`) what they found."""
        from .asynchronous import settled

        private = self.__pydantic_private__
        errors = Errors()
        private["_errors"] = errors  # rules may read the input errors, or add() their own
        private.pop("_check_reads", None)
        outer = private.get("_validation_context")
        private["_validation_context"] = context
        try:
            skip: set[str] = set()
            if "_invalid" in private:
                found = self._input_errors()
                if found:
                    for key, messages in found._messages.items():
                        for message in messages:
                            errors.add(key, message)
                    pending = private.get("_invalid")
                    skip = set(found) | (set(pending.fields) if pending is not None else set())
            if "before_validate" in active:
                self._fire("before_validate")
            result = self.validate_record()
            if result is not None and not isinstance(result, (dict, Errors)):
                result = settled(result, self, "validate_record")
            _file(errors, result, WHOLE, f"{type(self).__name__}.validate_record()")
            info = validation_info(type(self))
            for rule in info.rules:
                if rule.applies(context) and skip.isdisjoint(rule.fields):
                    result = getattr(self, rule.name)()
                    if result is not None and not isinstance(result, (str, list, tuple, dict)):
                        result = settled(result, self, rule.name)
                    _file(errors, result, rule.fields[0] if rule.fields else WHOLE,
                          f"{type(self).__name__}.{rule.name}()")
            by_database = private.pop("_unique_by_database", False)
            if info.unique_fields and not by_database:
                for name in self._taken_values(info.unique_fields, skip):
                    errors.add(name, TAKEN)
            if not errors and "after_validate" in active:
                self._fire("after_validate")
        finally:
            if outer is None:
                private.pop("_validation_context", None)
            else:
                private["_validation_context"] = outer
        return errors

    def _taken_values(self, unique: tuple[str, ...], skip: set[str]) -> list[str]:
        """The unique fields whose value another row holds (one SELECT per field to check).

        A saved record checks only the fields it changed, and never finds its
        own row. ``None`` is never a duplicate. Default scopes do not apply:
        a soft-deleted row still holds its value in the unique index.
        """
        cls: Any = type(self)
        values = self.__dict__
        original = self.__pydantic_private__["_original"]
        if original is not None and values is original:
            return []  # nothing assigned since the load or save
        private = self.__pydantic_private__
        taken = []
        for name in unique:
            value = values.get(name, _MISSING)
            if value is None or value is _MISSING or name in skip:
                continue
            if original is not None and name in original:
                was = original[name]
                if value is was or value == was:
                    continue
            query = cls.query().unscoped().where(cls.c[name] == value)
            if original is not None:
                keys = cls.primary_key_fields()
                if len(keys) == 1:
                    query = query.where(cls.c[keys[0]] != original[keys[0]])
                else:
                    own = cls.c[keys[0]] == original[keys[0]]
                    for key in keys[1:]:
                        own = own & (cls.c[key] == original[key])
                    query = query.where(~own)
            private["_check_reads"] = private.get("_check_reads", 0) + 1  # see ActiveRecord._save_in
            if query.exists():
                taken.append(name)
        return taken

