"""Django test cases whose PhoenixKit installs are pristine after every test.

Django's ``TransactionTestCase`` empties its models' tables after each test;
phoenix_kit's tables are not models. Put :class:`ResetPhoenixKitMixin` before
``TransactionTestCase`` or ``LiveServerTestCase`` (or derive from
:class:`PhoenixKitTransactionTestCase`): after Django's flush, every install in
the test's databases is put back as a fresh install leaves it, at the cost of
what the test wrote (``phoenix_kit.pristine``). ``TestCase`` needs none of this:
its transaction is rolled back. Under pytest the plugin does it for every
transactional test without the mixin.
"""

from __future__ import annotations

from django.test import TransactionTestCase

from .test_databases import close, reset_test_databases


class ResetPhoenixKitMixin:
    def _fixture_teardown(self) -> None:
        super()._fixture_teardown()  # type: ignore[misc]  # Django's flush first: its tables may reference ours
        reset_test_databases(self._databases_names(include_mirrors=False))  # type: ignore[attr-defined]

    @classmethod
    def tearDownClass(cls) -> None:
        super().tearDownClass()  # type: ignore[misc]
        close()  # no session left open on a database Django may drop at the end of the run


class PhoenixKitTransactionTestCase(ResetPhoenixKitMixin, TransactionTestCase):
    """A ``TransactionTestCase`` that also leaves PhoenixKit's installs pristine."""
