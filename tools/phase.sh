# shellcheck shell=bash
# Phases of tools/install-deps, tools/run-tests and tools/demo: each says what
# it does and how long it took, and none stays silent for long — a step that
# prints nothing for PHASE_QUIET_SEC seconds gets a "still running" line, so
# a newcomer never wonders whether a long compile or test suite hangs.

PHASE_QUIET_SEC=${PHASE_QUIET_SEC:-30}

phase_begin() {
    _phase_name=$1
    _phase_start=$SECONDS
    printf '==> %s\n' "$_phase_name"
}

phase_end() {
    printf '    %s: %s (%d s)\n' "$_phase_name" "${1:-done}" $((SECONDS - _phase_start))
}

# Copies stdin to stdout line by line; after PHASE_QUIET_SEC seconds without
# a line, says that NAME still runs.
_phase_relay() {
    local name=$1 line partial='' last=$SECONDS rc
    while :; do
        if IFS= read -r -t 1 line; then
            printf '%s%s\n' "$partial" "$line"
            partial='' last=$SECONDS
        else
            rc=$?
            if [ "$rc" -le 128 ]; then
                # End of input; a last line without a newline is still shown.
                partial+=$line
                [ -z "$partial" ] || printf '%s\n' "$partial"
                return 0
            fi
            # Timed out: read keeps what it got of an unfinished line.
            partial+=$line
            if [ $((SECONDS - last)) -ge "$PHASE_QUIET_SEC" ]; then
                printf '    ... still %s (%d s so far)\n' "$name" $((SECONDS - _phase_start))
                last=$SECONDS
            fi
        fi
    done
}

# phase NAME CMD...: runs CMD (stdout and stderr) as one phase. Returns
# CMD's exit status.
phase() {
    local name=$1 rc
    shift
    phase_begin "$name"
    "$@" 2>&1 | _phase_relay "$name"
    rc=${PIPESTATUS[0]}
    if [ "$rc" -eq 0 ]; then phase_end done; else phase_end "failed, exit $rc"; fi
    return "$rc"
}
