"""Paths, programme presets and the organisation's settings file → one typed object per programme."""
from __future__ import annotations

import copy
import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path

PROJ_ROOT = Path(__file__).resolve().parents[1]
PRESETS_DIR = Path(__file__).resolve().parent / "programmes"
DEFAULT_INBOX = PROJ_ROOT / "data" / "inbox"
DEFAULT_OUT = PROJ_ROOT / "data" / "out"
DEFAULT_STORE = PROJ_ROOT / "data" / "store.sqlite"
DEFAULT_SETTINGS = PROJ_ROOT / "data" / "settings.toml"

PRESET_NAMES = ("community", "teaching", "class-officers", "correspondents", "after-sales")
# Keys an organisation may set for a programme besides the preset's own keys.
PROGRAMME_ONLY_KEYS = {"preset", "folder"}


class SettingsError(Exception):
    """The settings file or the command line is wrong; the message says where, in Chinese."""


@dataclass(frozen=True)
class Programme:
    """One inbox folder and the rules it runs by: its preset merged with the organisation's settings."""

    id: str            # the inbox folder's name
    preset: str
    config: dict

    def __getitem__(self, key: str):
        return self.config[key]

    @property
    def rules(self) -> dict:
        return self.config.get("rules", {})

    @property
    def title(self) -> str:
        return self.config["title"]

    @property
    def terms(self) -> dict[str, tuple[dt.date, dt.date]]:
        return {name: (dt.date.fromisoformat(start), dt.date.fromisoformat(end))
                for name, (start, end) in self.config.get("terms", {}).items()}


def load_preset(name: str) -> dict:
    """The preset TOML of one of the five programmes."""
    with open(PRESETS_DIR / f"{name}.toml", "rb") as handle:
        return tomllib.load(handle)


def _same_type(default: object, value: object) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))


def _merge(preset: dict, overrides: dict, where: str) -> dict:
    """The preset with the overrides applied; an unknown key or a wrong type is a SettingsError."""
    merged = copy.deepcopy(preset)
    for key, value in overrides.items():
        if key in PROGRAMME_ONLY_KEYS:
            continue
        if key == "terms":
            merged["terms"] = {**merged.get("terms", {}), **_checked_terms(value, f"{where}.terms")}
            continue
        if key not in preset:
            known = "、".join(sorted(k for k in preset if not isinstance(preset[k], dict)))
            raise SettingsError(f"设置文件 {where} 中的“{key}”不是可设置的项目（可设置: {known}）。")
        if isinstance(preset[key], dict):
            if not isinstance(value, dict):
                raise SettingsError(f"设置文件 {where}.{key} 应是一个表（[{where}.{key}]）。")
            merged[key] = _merge(preset[key], value, f"{where}.{key}")
        elif not _same_type(preset[key], value):
            raise SettingsError(f"设置文件 {where}.{key} 的值 {value!r} 类型不对，应与默认值 {preset[key]!r} 同类。")
        else:
            merged[key] = value
    return merged


def _checked_terms(terms: object, where: str) -> dict:
    if not isinstance(terms, dict):
        raise SettingsError(f"设置文件 {where} 应写成 \"2026秋\" = [\"2026-09-01\", \"2027-01-20\"]。")
    for name, span in terms.items():
        try:
            start, end = (dt.date.fromisoformat(day) for day in span)
            if end < start:
                raise ValueError
        except (TypeError, ValueError):
            raise SettingsError(f"设置文件 {where}.{name} 应写成 [\"2026-09-01\", \"2027-01-20\"]（开始、结束日期）。") from None
    return terms


def load_settings(path: Path | None) -> dict:
    """The organisation's settings file as a dict; {} when there is none."""
    if path is None or not path.exists():
        return {}
    try:
        with open(path, "rb") as handle:
            settings = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"设置文件 {path} 格式有误：{error}") from None
    unknown = set(settings) - {"organisation", "programmes", "terms"}
    if unknown:
        raise SettingsError(f"设置文件 {path} 中有未知的部分：{'、'.join(sorted(unknown))}"
                            "（可用: organisation、programmes、terms）。")
    return settings


def programme_for(folder: str, settings: dict) -> Programme:
    """The programme an inbox folder runs: its own settings' preset, or the preset of the same name."""
    own = settings.get("programmes", {}).get(folder, {})
    if not isinstance(own, dict):
        raise SettingsError(f"设置文件 programmes.\"{folder}\" 应是一个表。")
    preset_name = own.get("preset", folder)
    if preset_name not in PRESET_NAMES:
        raise SettingsError(
            f"收件箱文件夹“{folder}”不对应任何项目：请把文件夹改名为 {'、'.join(PRESET_NAMES)} 之一，"
            f"或在 data/settings.toml 中写 [programmes.\"{folder}\"] preset = \"correspondents\" 这样的设置。")
    preset = load_preset(preset_name)
    organisation = settings.get("organisation", {})
    if not isinstance(organisation, dict):
        raise SettingsError("设置文件 organisation 应是一个表。")
    config = _merge(preset, organisation, "organisation")
    if "terms" in settings:
        config["terms"] = {**config.get("terms", {}), **_checked_terms(settings["terms"], "terms")}
    config = _merge(config, own, f"programmes.\"{folder}\"")
    _check_rule_names(preset_name, folder, config.get("rules", {}))
    return Programme(id=folder, preset=preset_name, config=config)


def _check_rule_names(preset: str, folder: str, rules: dict) -> None:
    """Settings values that name things the rules look up (tie-break columns) must name real ones."""
    from pipeline.rules.choices import ENGINEER_RANK_COLUMNS, ROUNDINGS, TIE_BREAK_COLUMNS, tie_break_problems

    where = f"设置文件 programmes.\"{folder}\".rules"
    if "award_rounding" in rules and rules["award_rounding"] not in ROUNDINGS:
        raise SettingsError(f"{where}.award_rounding 的值“{rules['award_rounding']}”不对"
                            f"（可用: {'、'.join(ROUNDINGS)}）。")
    if "award_share" in rules and not 0 <= rules["award_share"] <= 1:
        raise SettingsError(f"{where}.award_share 应在 0 到 1 之间（如 0.10 表示 10%）。")
    wrong = tie_break_problems(preset, rules)
    if wrong:
        key = "engineer_rank_by" if "engineer_rank_by" in rules else "tie_breaks"
        allowed = "、".join(ENGINEER_RANK_COLUMNS if key == "engineer_rank_by" else TIE_BREAK_COLUMNS.get(preset, []))
        raise SettingsError(f"{where}.{key} 中的“{'、'.join(wrong)}”不是"
                            f"可用于排名比较的列（可用: {allowed or '（本项目不设）'}）。")


def programmes_in(inbox: Path, settings: dict) -> list[Programme]:
    """Every programme that has a folder in the inbox, in name order."""
    if not inbox.is_dir():
        raise SettingsError(f"收件箱文件夹 {inbox} 不存在。")
    folders = sorted(p.name for p in inbox.iterdir()
                     if p.is_dir() and not p.is_symlink() and not p.name.startswith((".", "~$")))
    return [programme_for(folder, settings) for folder in folders]
