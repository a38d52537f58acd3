#!/bin/bash
# sgnicctl's bash completion with stand-ins for bash-completion's helpers and
# for a running daemon (a sgnicctl function printing canned -j output).
set -u
source "$1"
fails=0

_init_completion() {
    words=("${COMP_WORDS[@]}")
    cword=$COMP_CWORD
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]}
}
_filedir() { :; }
compopt() { :; }
sgnicctl() {
    case "$*" in
        "-j port list") echo '{"ports":[{"caps":{},"device_pages":0,"ifindex":7,"name":"sgnic0"},{"ifindex":8,"name":"sgnic1"}]}' ;;
        "-j matcher list") echo '{"matchers":[{"action_templates":1,"id":3,"installed":true,"template":[{"field":"ip-proto","mask":"0xff"}]},{"id":12,"installed":false}]}' ;;
        "-j rule list") echo '{"errors":[],"rules":[{"actions":["drop"],"directions":"rx","id":41,"matcher":3,"uid":1000}]}' ;;
        *) return 1 ;;
    esac
}

expect() {
    local want=$1
    shift
    COMP_WORDS=("$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMPREPLY=()
    _sgnicctl
    local got="${COMPREPLY[*]}"
    if [[ $got != "$want" ]]; then
        echo "FAIL: '$*' -> '$got', want '$want'"
        fails=$((fails + 1))
    fi
}

expect "port matcher rule monitor stats version" sgnicctl ""
expect "port" sgnicctl -j p
expect "list show" sgnicctl port ""
expect "sgnic0 sgnic1" sgnicctl port show ""
expect "create list show delete" sgnicctl matcher ""
expect "3 12" sgnicctl matcher show ""
expect "sgnic1" sgnicctl matcher create dev sgnic1
expect "ipv4-dst/24,ip-proto" sgnicctl matcher create dev sgnic0 match ipv4-dst/24,ip-p
expect "add delete list flush load" sgnicctl rule ""
expect "3 12" sgnicctl rule add matcher ""
expect "rx tx both" sgnicctl rule add matcher 3 dir ""
expect "ipv4-src ipv4-dst" sgnicctl rule add matcher 3 ipv4
expect "" sgnicctl rule add matcher 3 ipv4-dst ""
expect "drop" sgnicctl rule add matcher 3 action dr
expect "41" sgnicctl rule delete ""
expect "dev matcher" sgnicctl rule list ""
expect "--help" sgnicctl stats ""
expect "--json" sgnicctl --j

if ((fails)); then
    exit 1
fi
echo "all completions as expected"
