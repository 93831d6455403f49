"""Presets and the organisation's settings file."""
from __future__ import annotations

import pytest

from pipeline.settings import PRESET_NAMES, SettingsError, load_preset, load_settings, programme_for, programmes_in


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_every_preset_names_its_office_prefix_and_rules(name):
    preset = load_preset(name)
    for key in ("title", "issuing_office", "doc_prefix", "document_title", "rules", "feedback_categories"):
        assert key in preset


def test_a_folder_named_as_a_preset_uses_that_preset():
    assert programme_for("teaching", {}).preset == "teaching"


def test_settings_name_a_folder_pick_a_preset_and_override_office_prefix_and_rule_numbers(tmp_path):
    path = tmp_path / "settings.toml"
    path.write_text("""
[organisation]
issuing_office = "佳木斯市公安局交通警察支队"

[programmes."一大队宣传"]
preset = "correspondents"
doc_prefix = "佳交宣"

[programmes."一大队宣传".rules]
monthly_submissions = 6
""", encoding="utf-8")
    (tmp_path / "inbox" / "一大队宣传").mkdir(parents=True)
    [programme] = programmes_in(tmp_path / "inbox", load_settings(path))
    assert programme.preset == "correspondents"
    assert programme["issuing_office"] == "佳木斯市公安局交通警察支队"
    assert programme["doc_prefix"] == "佳交宣"
    assert programme.rules["monthly_submissions"] == 6
    assert programme.rules["monthly_city_runs"] == 1


@pytest.mark.parametrize("text, named", [
    ('[programmes.correspondents.rules]\nmonthly_submision = 6\n', "monthly_submision"),
    ('[programmes.correspondents.rules]\nmonthly_submissions = "六"\n', "monthly_submissions"),
    ('[programmes.correspondents]\npreset = "police"\n', "correspondents"),
    ('[organisaton]\nissuing_office = "x"\n', "organisaton"),
    ('[programmes.teaching.terms]\n"2026秋" = ["2026-09-01"]\n', "2026秋"),
])
def test_an_unknown_key_or_a_wrong_type_in_settings_is_named(tmp_path, text, named):
    path = tmp_path / "settings.toml"
    path.write_text(text, encoding="utf-8")
    folder = "teaching" if "teaching" in text else "correspondents"
    with pytest.raises(SettingsError, match=named):
        programme_for(folder, load_settings(path))
