"""The usage journal on its own: what it keeps, when it empties, and whose files it takes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from aistrale_common.events import OutgoingMessage
from aistrale_router.metering.journal import Journal

WRITER = """
import os, signal, sys, time
from pathlib import Path
from aistrale_common.events import OutgoingMessage
from aistrale_router.metering.journal import Journal
journal = Journal(Path(sys.argv[1]))
journal.open()
for i in range(3):
    journal.append(OutgoingMessage("usage.v1.o", b'{"n": %d}' % i, f"id-{i}"))
print("written", flush=True)
if sys.argv[2] == "die":
    os.kill(os.getpid(), signal.SIGKILL)
time.sleep(60)
"""


def message(i: int) -> OutgoingMessage:
    return OutgoingMessage("usage.v1.org", b'{"event": %d}' % i, f"event-{i}")


def writer(directory: Path, mode: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(directory), mode], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "written"
    return proc


def test_it_empties_once_everything_is_durable_and_leaves_nothing_at_a_clean_stop(
    tmp_path: Path,
) -> None:
    journal = Journal(tmp_path)
    journal.open()
    for i in range(5):
        journal.append(message(i))
    (path,) = tmp_path.iterdir()
    assert len(path.read_bytes().splitlines()) == 5
    journal.durable(3)
    assert len(path.read_bytes().splitlines()) == 5  # two are not durable yet
    journal.durable(2)
    assert path.read_bytes() == b""
    journal.append(message(5))
    assert path.read_bytes().count(b"\n") == 1
    journal.durable(1)
    journal.close()
    assert not list(tmp_path.iterdir())


def test_a_killed_process_journal_is_found_with_its_events(tmp_path: Path) -> None:
    writer(tmp_path, "die").wait(10)
    mine = Journal(tmp_path)
    mine.open()
    ((path, messages),) = list(mine.orphans())
    assert [m.message_id for m in messages] == ["id-0", "id-1", "id-2"]
    assert messages[1].body == b'{"n": 1}' and messages[1].routing_key == "usage.v1.o"
    assert path.exists()  # removed by the caller once the events are stored
    mine.close()


def test_a_live_process_journal_is_left_alone(tmp_path: Path) -> None:
    alive = writer(tmp_path, "live")
    try:
        mine = Journal(tmp_path)
        mine.open()
        assert list(mine.orphans()) == []
    finally:
        alive.kill()
        alive.wait(10)
    assert len(list(mine.orphans())) == 1  # its lock went with it
    mine.close()


def test_a_line_torn_by_the_kill_is_skipped(tmp_path: Path) -> None:
    torn = tmp_path / "dead.usage-journal"
    torn.write_bytes(b"usage.v1.o\tid-0\t{}\nusage.v1.o\tid-1")
    mine = Journal(tmp_path)
    mine.open()
    ((_, messages),) = list(mine.orphans())
    assert [m.message_id for m in messages] == ["id-0"]
    mine.close()
