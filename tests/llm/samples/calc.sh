#!/usr/bin/env bash
set -eu

add() {
    local s=$(( $1 + $2 ))
    echo "$s"
}

twice() {
    if [ "$1" -gt 10 ]; then
        echo "$1"
        return
    fi
    add "$1" "$1"
}

failing() {
    false
}

main() {
    twice 3
    failing || echo "failing returned $?"
    false || twice 2 # twice starts with $? = 1 under set -e
}

main
