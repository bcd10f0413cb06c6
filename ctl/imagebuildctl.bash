# bash completion for imagebuildctl(1): verbs, options, image types, arches
# and releases from the local agent's properties, build ids from `list`.

_imagebuildctl_agent_list() {
    # An "as" property of the BuildManager1 interface, one word per element.
    busctl --no-pager get-property org.imagebuild.Agent1 /org/imagebuild/Agent1 \
        org.imagebuild.BuildManager1 "$1" 2>/dev/null | sed -e 's/^as [0-9]* //' -e 's/"//g'
}

_imagebuildctl_ids() {
    imagebuildctl "${_imagebuildctl_remote[@]}" --no-pager --no-ask-password -q list --all 2>/dev/null
}

_imagebuildctl() {
    local cur prev words cword
    _init_completion || return

    local verbs="build list status log cancel retry pin unpin wait show artifacts hosts ksflatten token"
    local globals="-H --host --token-file --json --no-pager --no-legend -q --quiet
                   --no-ask-password -h --help --version"
    local -A verb_opts=(
        [build]="--config -t --type -a --arch -r --release --name --notify --timeout --priority --label --rpm --repo --updates --updates-testing --wait --follow"
        [list]="--state -a --all -n --limit"
        [status]=""
        [log]="-f --follow -n --lines -o --output"
        [cancel]=""
        [retry]="--wait --follow"
        [pin]=""
        [unpin]=""
        [wait]=""
        [show]="-p --property"
        [artifacts]="--download"
        [hosts]=""
        [ksflatten]="-o --root --check --lint"
        [token]="--role"
    )

    local verb="" i
    _imagebuildctl_remote=()
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            -H | --host)
                _imagebuildctl_remote=(-H "${words[i + 1]}")
                ((i++))
                ;;
            --token-file) ((i++)) ;;
            -*) ;;
            *)
                [[ -z $verb ]] && verb=${words[i]}
                ;;
        esac
    done

    case $prev in
        -H | --host | --name | --notify | --timeout | --priority | --label | --repo | -n | --lines)
            return ;;
        --token-file | --config)
            _filedir
            return ;;
        --rpm)
            _filedir rpm
            return ;;
        --download | --root)
            _filedir -d
            return ;;
        --role)
            mapfile -t COMPREPLY < <(compgen -W "read write admin" -- "$cur")
            return ;;
        -t | --type)
            mapfile -t COMPREPLY < <(compgen -W "$(_imagebuildctl_agent_list ImageTypes)" -- "$cur")
            return ;;
        -a | --arch)
            if [[ $verb == build ]]; then
                mapfile -t COMPREPLY < <(compgen -W "$(_imagebuildctl_agent_list Arches)" -- "$cur")
                return
            fi ;;
        -r | --release)
            mapfile -t COMPREPLY < <(compgen -W "$(_imagebuildctl_agent_list Releases)" -- "$cur")
            return ;;
        --state)
            mapfile -t COMPREPLY < <(compgen -W "queued running succeeded failed cancelled timed-out" -- "$cur")
            return ;;
        -o | --output)
            if [[ $verb == log ]]; then
                mapfile -t COMPREPLY < <(compgen -W "short cat json" -- "$cur")
                return
            fi
            _filedir
            return ;;
        -p | --property)
            mapfile -t COMPREPLY < <(compgen -W "Id Host Type Arch Release Name State Result ExitStatus
                Unit SubmitterUid SubmittedAt StartedAt FinishedAt TimeoutUSec MonitorUrl Labels
                Notify Artifacts" -- "$cur")
            return ;;
    esac

    if [[ -z $verb ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$verbs $globals" -- "$cur")
        return
    fi
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "${verb_opts[$verb]:-} $globals" -- "$cur")
        return
    fi
    case $verb in
        status | log | cancel | retry | pin | unpin | wait | show | artifacts)
            mapfile -t COMPREPLY < <(compgen -W "$(_imagebuildctl_ids)" -- "$cur") ;;
        build | ksflatten)
            _filedir ;;
        token)
            [[ $prev == token ]] && mapfile -t COMPREPLY < <(compgen -W "new" -- "$cur") ;;
    esac
}

complete -F _imagebuildctl imagebuildctl
