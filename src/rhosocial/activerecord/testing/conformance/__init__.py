"""The backend conformance kit: test classes any backend package runs against itself.

Collect every suite by importing them into a test module of your package::

    from rhosocial.activerecord.testing.conformance import *  # noqa: F401,F403

and load the fixtures in the top-level ``conftest.py``::

    pytest_plugins = ["rhosocial.activerecord.testing.plugin"]

A test of a feature whose capability flag is false is skipped with the flag's
name as the reason; a feature whose flag is true must pass.
"""
from .asynchronous import TestAsyncConcurrency, TestAsyncModels, TestAsyncRelations, TestAsyncTransactions
from .bulk import TestBulkWrites
from .concurrency import (
    TestLazyBegin,
    TestPool,
    TestRollbackOnly,
    TestRunInTransaction,
    TestTransactionCallbacks,
    TestTransactionsPerThread,
)
from .connection import TestConnection
from .dialect import TestDialectOnBackend
from .errors import TestErrors
from .execute import TestExecute
from .existing import TestExistingSchemas
from .identifiers import TestHostileInput
from .introspection import TestIntrospection
from .migrations import TestMigrationRunner
from .model_concurrency import TestModelsUnderThreads, TestRecordsAfterRollback
from .models import TestModels
from .reads import TestReads
from .roundtrip import TestTypeRoundTrips
from .schema import TestSchema
from .schema_changes import TestPlainTableChanges, TestSchemaChanges
from .statement_log import TestStatementLogging
from .streams import TestStreams
from .transactions import TestTransactions

__all__ = [
    "TestAsyncConcurrency", "TestAsyncModels", "TestAsyncRelations", "TestAsyncTransactions", "TestBulkWrites",
    "TestConnection", "TestDialectOnBackend", "TestErrors", "TestExecute", "TestExistingSchemas", "TestHostileInput", "TestIntrospection",
    "TestLazyBegin", "TestMigrationRunner", "TestModels", "TestModelsUnderThreads", "TestPool", "TestRecordsAfterRollback",
    "TestPlainTableChanges", "TestReads", "TestRollbackOnly", "TestRunInTransaction", "TestSchema", "TestSchemaChanges", "TestStatementLogging", "TestStreams",
    "TestTransactionCallbacks", "TestTransactions", "TestTransactionsPerThread", "TestTypeRoundTrips",
]
