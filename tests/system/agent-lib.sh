# shellcheck shell=bash
# Helpers shared by the system tests that talk to one host's agent with
# busctl (test-agent.sh, test-staging.sh). Set AGENT_HOST (the sandbox host)
# and KS (the kickstart text submitted) before using them.

A=org.imagebuild.Agent1
M=/org/imagebuild/Agent1
I=org.imagebuild.BuildManager1
B=org.imagebuild.Build1

KS=$'# test kickstart\nlang en_US.UTF-8\nkeyboard us\ntimezone UTC\n%packages\n@core\n%end\n'

# submit TYPE [extra busctl a{sv} entries: COUNT KEY SIG VALUE...]: prints the id.
submit() {
    local type=$1 extra_count=${2:-0}
    shift 2 || shift $#
    run_in "$AGENT_HOST" busctl call $A $M $I Submit 'a{sv}' $((4 + extra_count)) \
        type s "$type" arch s x86_64 release s 40 kickstart s "$KS" "$@" | awk '{print $2}' | tr -d '"'
}
path_of() { run_in "$AGENT_HOST" busctl call $A $M $I GetBuild s "$1" | awk '{print $2}' | tr -d '"'; }
prop() { run_in "$AGENT_HOST" busctl get-property $A "$(path_of "$1")" $B "$2" | cut -d' ' -f2- | tr -d '"'; }
state_is() { [ "$(prop "$1" State)" = "$2" ]; }
result_is() { [ "$(prop "$1" Result)" = "$2" ]; }
