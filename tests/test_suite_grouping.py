"""`make test`'s `--dist loadgroup` keeps an `xdist_group` on one worker.

The export modules build their shared fixtures once because of it. pytest
9.2 broke the grouping silently (pytest-dev/pytest-xdist#1386), doubling
their fixture time; setup.cfg pins pytest below it, and this test fails if
the grouping is lost again.
"""

import pytest


@pytest.mark.xdist_group("grouping_check")
def test_grouped_tests_carry_their_group_under_loadgroup(request):
    # xdist's worker sets `loadgroup` when the run is distributed that way.
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("not run with -n N --dist loadgroup: there is no grouping to check")
    assert request.node.nodeid.endswith("@grouping_check"), request.node.nodeid
