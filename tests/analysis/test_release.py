"""ionto-cds release: the CHANGELOG entry (version, sha256, review, diff against the previous
release) and the snapshot the next release is compared with."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from helpers import RULES, line_of

from ionto_cds.analysis.release import read_snapshots
from ionto_cds.cli import main
from ionto_cds.engine.ruleset import load_ruleset

RULE = "body-worn-device-in-current-path"


def _rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    shutil.copytree(RULES, folder, ignore=shutil.ignore_patterns("CHANGELOG.md", "releases"))
    return folder


def _release(folder: Path, day: str, capsys) -> tuple[int, str, str]:
    code = main(["release", "--rules", str(folder), "--today", day])
    out, err = capsys.readouterr()
    return code, out, err


def _new_version(folder: Path, version: str) -> None:
    for path in folder.glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace('version: "2026.1"', f'version: "{version}"'),
                        encoding="utf-8")


def _stricter(folder: Path) -> None:
    path = folder / "contraindications.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    at = line_of(path, f"- id: {RULE}") + 1
    assert lines[at] == "    severity: relative\n"
    lines[at] = "    severity: absolute\n"
    path.write_text("".join(lines), encoding="utf-8")


def test_first_then_second_release(tmp_path, capsys):
    folder = _rules(tmp_path)
    sha = load_ruleset(folder).sha256
    code, out, _ = _release(folder, "2026-12-01", capsys)
    assert code == 0 and "recorded release 2026.1 (the first)" in out
    changelog = (folder / "CHANGELOG.md").read_text(encoding="utf-8")
    assert changelog.startswith("# Rules changelog\n")
    assert f"## 2026.1 (2026-12-01)\n\n- sha256: `{sha}`" in changelog
    assert "- review status: 87 reviewed" in changelog
    assert "- previous release: none recorded (this is the first)" in changelog
    assert load_ruleset(folder).sha256 == sha  # the record is not rule content
    [snapshot] = read_snapshots(folder)
    assert (snapshot.version, snapshot.sha256) == ("2026.1", sha)

    code, _, err = _release(folder, "2026-12-02", capsys)
    assert code == 2 and "nothing to release: the rules are release 2026.1" in err
    _stricter(folder)
    code, _, err = _release(folder, "2026-12-02", capsys)
    assert code == 2 and "version 2026.1 was released already with other content" in err

    _new_version(folder, "2026.2")
    code, out, _ = _release(folder, "2026-12-02", capsys)
    assert code == 0 and "recorded release 2026.2 (previous: 2026.1)" in out
    changelog = (folder / "CHANGELOG.md").read_text(encoding="utf-8")
    assert changelog.index("## 2026.2 (2026-12-02)") < changelog.index("## 2026.1 (2026-12-01)")
    entry = changelog.split("## 2026.1 (2026-12-01)")[0]
    assert f"- previous release: 2026.1 (2026-12-01, sha256 `{sha[:12]}`)" in entry
    assert f"- rule '{RULE}' changed: severity relative → absolute" in entry
    assert "- `smartwatch-palms`: decision was eligible_with_precautions, now not_eligible" \
        in entry
    assert [s.version for s in read_snapshots(folder)] == ["2026.1", "2026.2"]


def test_a_draft_is_never_released(tmp_path, capsys):
    folder = _rules(tmp_path)
    path = folder / "protocols.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("review: {status: reviewed", "review: {status: draft", 1),
                    encoding="utf-8")
    code, _, err = _release(folder, "2026-12-01", capsys)
    assert code == 2 and "is a draft: a release holds only reviewed" in err
    assert not (folder / "CHANGELOG.md").exists()


def test_a_damaged_snapshot_is_refused(tmp_path, capsys):
    folder = _rules(tmp_path)
    assert _release(folder, "2026-12-01", capsys)[0] == 0
    path = folder / "releases" / "2026.1.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["documents"]["contraindications.yaml"]["rules"][0]["severity"] = "precaution"
    path.write_text(json.dumps(data), encoding="utf-8")
    _new_version(folder, "2026.2")
    code, _, err = _release(folder, "2026-12-02", capsys)
    assert code == 2 and "the snapshot is damaged" in err
    data["documents"] = {"../escape.yaml": {}}
    path.write_text(json.dumps(data), encoding="utf-8")
    code, _, err = _release(folder, "2026-12-02", capsys)
    assert code == 2 and "document '../escape.yaml' is outside a rules folder" in err
