#!/usr/bin/env bash
# The fuzz corpora kept in git, one archive per target (fuzz/corpora/<target>.tar.gz): what
# longer local runs found, minimized, so that a run elsewhere (CI's minute per target, the
# next session's machine) starts from that coverage instead of from the seeds alone.
#
#   fuzz/corpora.sh restore [TARGET...]   unpack into fuzz/corpus/<target> (keeps what is there)
#   fuzz/corpora.sh save TARGET...        minimize fuzz/corpus/<target> (cargo fuzz cmin) and
#                                         archive it, replacing the kept archive
#
# Without targets, restore unpacks every archive. Saving runs the target over its corpus, so
# it needs cargo-fuzz and RUSTC_BOOTSTRAP=1 as `cargo fuzz run` does. The same files make the
# same archive, byte for byte, with the same tar and gzip (sorted names, no times or owners).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

usage() {
    echo "usage: $0 restore [TARGET...] | save TARGET..." >&2
    exit 2
}

restore() {
    local target archive
    if (($# == 0)); then
        for archive in corpora/*.tar.gz; do
            [[ -e "$archive" ]] || continue
            target="$(basename "$archive" .tar.gz)"
            set -- "$@" "$target"
        done
    fi
    for target in "$@"; do
        archive="corpora/$target.tar.gz"
        if [[ ! -f "$archive" ]]; then
            echo "no kept corpus for $target ($archive)" >&2
            continue
        fi
        mkdir -p "corpus/$target"
        tar -xzf "$archive" -C "corpus/$target" --skip-old-files
        echo "$target: $(tar -tzf "$archive" | grep -vc '/$') inputs kept, $(find "corpus/$target" -type f | wc -l) in fuzz/corpus/$target"
    done
}

save() {
    local target files
    (($# > 0)) || usage
    mkdir -p corpora
    for target in "$@"; do
        if [[ ! -d "corpus/$target" ]]; then
            echo "error: no corpus for $target (fuzz/corpus/$target)" >&2
            exit 1
        fi
        RUSTC_BOOTSTRAP=1 cargo fuzz cmin "$target" "corpus/$target"
        files="$(find "corpus/$target" -type f | wc -l)"
        (cd "corpus/$target" && find . -type f -printf '%P\n' | LC_ALL=C sort |
            tar --create --no-recursion --files-from=- --mtime=@0 --owner=0 --group=0 \
                --numeric-owner --mode=a+r,u+w,go-w) | gzip -n -9 >"corpora/$target.tar.gz"
        echo "$target: $files inputs, $(wc -c <"corpora/$target.tar.gz") bytes in fuzz/corpora/$target.tar.gz"
    done
}

case "${1:-}" in
restore)
    shift
    restore "$@"
    ;;
save)
    shift
    save "$@"
    ;;
*) usage ;;
esac
