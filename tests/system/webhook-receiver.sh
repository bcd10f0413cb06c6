#!/bin/bash
# A webhook receiver for test-staging.sh: the service of a socket unit with
# Accept=yes (one instance per connection, the connection on stdin/stdout).
# Writes each request's body to $1/<ns>-<event>.json, its headers next to
# it, and answers 204.
dir=$1
len=0 event=none headers=
while IFS= read -r line; do
    line=${line%$'\r'}
    [ -z "$line" ] && break
    headers+="$line"$'\n'
    case "${line,,}" in
    content-length:*) len=${line#*:} len=${len// /} ;;
    x-imagebuild-event:*) event=${line#*:} event=${event// /} ;;
    esac
done
body=$(head -c "$len")
name="$dir/$(date +%s%N)-$event"
printf '%s' "$headers" >"$name.headers"
printf '%s\n' "$body" >"$name.tmp" && mv "$name.tmp" "$name.json"
printf 'HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n'
