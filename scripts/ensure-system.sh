#!/bin/sh
# Installs the system parts the pipeline needs (Chinese fonts, HarfBuzz subsetting, Pango for
# WeasyPrint, python3-venv) when they are missing. Installs nothing when all are present.
# As root it runs apt-get; otherwise it prints the one command to run and fails.
set -eu

# Extra packages for one target may be given as arguments (make docs: poppler-utils for pdftoppm).
PACKAGES="fonts-noto-cjk fonts-arphic-ukai libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0 fontconfig python3-venv $*"

missing=""
for package in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $package"
    fi
done

[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "缺少系统组件:$missing —— 本机没有 apt-get，请用本机的包管理器安装它们后再运行。" >&2
    exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "缺少系统组件，请先运行: sudo apt-get install -y$missing" >&2
    exit 1
fi

echo "正在安装系统组件:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
fc-cache -f >/dev/null 2>&1 || true
