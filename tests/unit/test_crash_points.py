"""The crash hook: parsing, the no-op when unset, and a real SIGKILL on the n-th pass."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from daemon import crash_points


def test_parse_point_and_count():
    assert crash_points.parse("order.after_send:3") == ("order.after_send", 3)
    assert crash_points.parse("event.after_apply") == ("event.after_apply", 1)


@pytest.mark.parametrize("spec", ["nowhere:1", "order.after_send:0", "order.after_send:x",
                                  "order.after_send:-2"])
def test_parse_refuses_malformed_specs(spec):
    with pytest.raises(ValueError, match="TRADINGD_CRASH_AT"):
        crash_points.parse(spec)


def test_unset_is_a_no_op():
    hook = crash_points.arm(None)
    assert hook is crash_points.arm("")
    for name in crash_points.POINTS:
        hook(name)  # returns: nothing planned


def test_armed_hook_counts_only_its_point():
    hook = crash_points.arm("order.after_ack:3")
    hook("order.after_ack")
    hook("order.before_send")
    hook("order.after_ack")
    assert hook.passes == 2  # one more pass would kill this test process


def test_the_nth_pass_kills_the_process_with_sigkill():
    code = ("import os; os.environ.pop('TRADINGD_CRASH_AT', None)\n"
            "from daemon.crash_points import arm\n"
            "hook = arm('event.after_apply:2')\n"
            "hook('event.after_apply'); print('first pass survived', flush=True)\n"
            "hook('order.after_send'); hook('event.after_apply')\n"
            "print('second pass survived', flush=True)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == -signal.SIGKILL
    assert done.stdout == "first pass survived\n"
    assert "crash_point.kill point=event.after_apply pass=2" in done.stderr


def test_environment_variable_arms_the_module_hook():
    code = ("from daemon.crash_points import crash_point\n"
            "crash_point('store.before_commit'); print('unreached', flush=True)\n")
    env = {"TRADINGD_CRASH_AT": "store.before_commit", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env=env)
    assert done.returncode == -signal.SIGKILL
    assert done.stdout == ""
