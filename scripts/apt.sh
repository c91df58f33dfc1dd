# Sourced by the *-deps.sh scripts: Debian packages installed with apt-get, only as root.
# WHO is the script's name in what these say.

# apt_refused WHO PACKAGE...: true, after saying what to install, unless root with apt-get.
apt_refused() {
  local who=$1
  shift
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "$who: please install: $*" >&2
    return 0
  fi
  return 1
}

# apt_install WHO PACKAGE...: installs the packages, quietly and without recommends.
apt_install() {
  local who=$1
  shift
  echo "$who: installing $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
