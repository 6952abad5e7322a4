"""Made-up request ids: 32 hex digits, never the same twice in a process or across a fork."""

from __future__ import annotations

import os
import re

from api.runtime.logs import made_up_id


def test_made_up_ids_are_32_hex_digits_and_distinct() -> None:
    ids = [made_up_id() for _ in range(1000)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_a_forked_child_makes_ids_of_its_own() -> None:
    read, write = os.pipe()
    parent_next = made_up_id()
    pid = os.fork()
    if pid == 0:  # the child: its next id, then out without running the parent's teardown
        os.write(write, made_up_id().encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 64).decode()
    os.waitpid(pid, 0)
    os.close(read)
    assert re.fullmatch(r"[0-9a-f]{32}", child)
    assert child[:16] != parent_next[:16]  # a new prefix: the counters may meet, the ids do not
