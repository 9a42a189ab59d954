"""`kallisti token` as a user runs it, then the token used against `serve`."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

KALLISTI = [sys.executable, "-m", "kallisti"]


def _kallisti(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KALLISTI_DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}"}
    return subprocess.run(
        [*KALLISTI, *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_token_create_prints_the_token_alone_on_its_last_line(
    tmp_path: Path,
) -> None:
    created = _kallisti(
        tmp_path, "token", "create", "--role", "operator", "--name", "ci",
        "--expires", "90d",
    )  # fmt: skip

    assert created.returncode == 0, created.stderr
    token = created.stdout.splitlines()[-1]
    assert token.startswith("kallisti_mt_")
    assert len(token) > 40
    listed = _kallisti(tmp_path, "token", "list")
    assert "ci" in listed.stdout
    assert "operator" in listed.stdout
    assert token not in listed.stdout
    assert token not in (tmp_path / "k.db").read_bytes().decode("latin-1")


def test_token_revoke_then_list_leaves_it_out(tmp_path: Path) -> None:
    _kallisti(tmp_path, "token", "create", "--role", "viewer", "--name", "old")

    revoked = _kallisti(tmp_path, "token", "revoke", "old")

    assert revoked.returncode == 0, revoked.stderr
    assert "old" not in _kallisti(tmp_path, "token", "list").stdout
    assert "old" in _kallisti(tmp_path, "token", "list", "--all").stdout
    assert _kallisti(tmp_path, "token", "revoke", "old").returncode == 1


def test_token_create_refuses_a_bad_role(tmp_path: Path) -> None:
    answer = _kallisti(tmp_path, "token", "create", "--role", "root", "--name", "x")

    assert answer.returncode == 2
    assert "--role" in answer.stderr


def test_audit_verify_exits_1_once_a_row_is_edited(tmp_path: Path) -> None:
    _kallisti(tmp_path, "token", "create", "--role", "viewer", "--name", "a")
    _kallisti(tmp_path, "token", "revoke", "a")

    intact = _kallisti(tmp_path, "audit", "verify")
    with sqlite3.connect(tmp_path / "k.db") as db:
        db.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1")
    broken = _kallisti(tmp_path, "audit", "verify")

    assert intact.returncode == 0, intact.stderr
    assert json.loads(intact.stdout) == {"ok": True, "entries": 2}
    assert broken.returncode == 1
    assert json.loads(broken.stdout)["first_bad"]["seq"] == 1
