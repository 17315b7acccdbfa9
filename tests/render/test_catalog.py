"""The rule catalogue: every entry of the loaded rule set on its page, cross-linked, offline."""

from __future__ import annotations

import json
import re
from datetime import date
from html import unescape
from pathlib import Path

import pytest
from helpers import copy_rules, replace_in, rule_yaml

from ionto_cds.cli import main
from ionto_cds.engine.ruleset import default_ruleset, load_ruleset
from ionto_cds.language.operators import describe
from ionto_cds.render.catalog import build_catalog


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("catalog") / "site"
    build_catalog(default_ruleset(), folder, date(2026, 12, 1))
    return folder


def _ids(path: Path) -> set[str]:
    return set(re.findall(r'<article class="entry" id="([^"]+)"', path.read_text("utf-8")))


def test_every_entry_has_its_place(site: Path) -> None:
    rs = default_ruleset()
    assert _ids(site / "rules.html") == {f"rule-{r.id}" for r in rs.rules}
    assert _ids(site / "facts.html") == {f"fact-{f.name}" for f in rs.catalog}
    assert _ids(site / "protocols.html") == {f"protocol-{p.id}" for p in rs.protocols} | {
        "limits-global"}
    assert _ids(site / "drugs.html") == {f"drug-{k}" for k in rs.drugs}
    assert _ids(site / "references.html") == {f"ref-{k}" for k in rs.references}
    assert len(_ids(site / "vignettes.html")) == 211


def test_rule_shows_its_condition_rationale_action_references_review_and_vignettes(site: Path
                                                                                   ) -> None:
    rs = default_ruleset()
    rule = rs.by_id["paediatric-current-cap"]
    html = (site / "rules.html").read_text("utf-8")
    block = unescape(html.split('id="rule-paediatric-current-cap"')[1].split("</article>")[0])
    assert describe(rule.when) in block
    assert rule.rationale in block and rule.action in block
    assert all(f'href="references.html#ref-{k}"' in block for k in rule.references)
    assert "reviewed</span> by ionto-cds clinical team on" in block
    assert 'href="vignettes.html#case-' in block
    assert "caps max current at" in block  # the effect, in the language's own words


def test_offline_and_search_index(site: Path) -> None:
    for page in site.glob("*.html"):
        text = page.read_text("utf-8")
        assert not re.search(r'<(link|script|img)[^>]+(src|href)="(https?:)?//', text), page
        data = text.split('<script type="application/json" id="search-index">')[1]
        index = json.loads(data.split("</script>")[0])
        assert {"k": "rule", "n": "Implanted cardiac pacemaker",
                "u": "rules.html#rule-pacemaker"}.items() <= next(
            e for e in index if e["u"] == "rules.html#rule-pacemaker").items()
    assert (site / "catalog.css").read_text("utf-8").count("@media print") == 1


def test_untrusted_url_is_never_a_link_and_retired_rules_are_marked(tmp_path: Path) -> None:
    folder = copy_rules(tmp_path)
    replace_in(folder / "references.yaml",
               "url: https://www.saalmann-medical.de/service/faq-iontophoresis/?L=1",
               'url: "javascript:alert(1)"')
    text = (folder / "contraindications.yaml").read_text("utf-8")
    (folder / "contraindications.yaml").write_text(text + rule_yaml(
        "old-rule", "{fact: epilepsy, is: true}", title="An old rule").replace(
        ", last_reviewed: 2026-01-01", "") + "    review: {status: retired, reviewed_by: "
        "tests, reviewed_on: 2026-06-01}\n", encoding="utf-8")
    out = tmp_path / "site"
    build_catalog(load_ruleset(folder), out, date(2026, 12, 1))
    refs = (out / "references.html").read_text("utf-8")
    assert 'href="javascript' not in refs and "javascript:alert(1)" in refs
    rules = (out / "rules.html").read_text("utf-8")
    assert "Retired rules (1)" in rules and "Retired: never evaluated." in rules


def test_cli_writes_the_site_and_refuses_a_file(tmp_path: Path, capsys) -> None:
    assert main(["catalog", "-o", str(tmp_path / "site"), "--today", "2026-12-01"]) == 0
    assert f"wrote {tmp_path / 'site' / 'index.html'}" in capsys.readouterr().out
    (tmp_path / "file").write_text("x")
    assert main(["catalog", "-o", str(tmp_path / "file")]) == 2
    assert "is a file: name a folder for the site" in capsys.readouterr().err
