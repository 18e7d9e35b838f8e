#!/usr/bin/env bash
# What squawk (the PostgreSQL migration linter) says about the migrations that schema-core,
# drizzle-kit and migra write for one change of one table (see README.md):
#
#   v1  accounts (account_id uuid key DEFAULT gen_random_uuid(), name varchar(50), note text)
#   v2  note renamed to remark, name widened to varchar(100), a new nullable email, an index
#       on email
#
# 1. schema-core: the crate here writes migration 1 (v1 from nothing) and 2 (v1 -> v2) with
#    Migrations::plan_new / write_new, and applies them with its command line.
# 2. drizzle-kit: `drizzle-kit generate` for drizzle/v1/schema.ts, then drizzle/v2/schema.ts,
#    three ways: without a TTY (as CI runs it), and in a tmux pane answering its rename prompt
#    with "rename" or with Enter (the preselected answer).
# 3. migra: two databases made from schema-core's DDL of v1 and v2 (and an empty one), diffed
#    with `migra --unsafe`.
# Every SQL file is linted with squawk twice: with its defaults (only --pg-version), and as the
# files run (--assume-in-transaction -e ban-concurrent-index-creation-in-transaction). Each
# tool's migration 2 is applied to a database holding a row of v1, to see whether the renamed
# column kept its value. Prints every finding, then a markdown table (also out/table.md).
#
# Needs: cargo, node + npm, python3 (venv, pip), psql, tmux (for the TTY runs; skipped
# without it), a PostgreSQL server where the user may create databases (dropped at exit).
#
# Environment:
#   DATABASE_URL      the server (default postgres://postgres@127.0.0.1:5432/postgres); the
#                     databases ml_lint_* are created and dropped on it
#   SQUAWK_BIN        the squawk to run; by default the one scripts/test caches,
#                     ${PGTEST_PG_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/schema-pg-binaries}/squawk-<v>/squawk,
#                     downloaded there (PyPI wheel squawk-cli) when missing
#   SQUAWK_VERSION    that version (default 2.70.0)
#   CARGO_TARGET_DIR  default benches/migration-lint/target
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$HERE/out"
SERVER_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
SQUAWK_VERSION="${SQUAWK_VERSION:-2.70.0}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HERE/target}"
TMUX_SOCKET="migration-lint-$$"

say() { echo "run.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

# --- databases, dropped at exit -----------------------------------------------

DATABASES=()
db_url() { echo "${SERVER_URL%/*}/$1"; }
psql_on() { local db="$1"; shift; psql -X -q -v ON_ERROR_STOP=1 -d "$(db_url "$db")" "$@"; }
new_db() {
    psql_on "${SERVER_URL##*/}" -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" 2>/dev/null
    DATABASES+=("$1")
}
cleanup() {
    local rc=$? db
    tmux -L "$TMUX_SOCKET" kill-server 2>/dev/null || true
    for db in "${DATABASES[@]}"; do
        psql_on "${SERVER_URL##*/}" -c "DROP DATABASE IF EXISTS $db" 2>/dev/null \
            || say "warning: could not drop database $db"
    done
    exit "$rc"
}
trap cleanup EXIT

# The value of `remark` in the row inserted in v1 (note = 'kept?'): "yes" when it is still
# there, "no (NULL)" when the column was dropped and added again.
remark_kept() {
    local value
    value="$(psql_on "$1" -At -c "SELECT coalesce(remark, '<NULL>') FROM accounts")" || { echo "error"; return; }
    case "$value" in
        "kept?") echo "yes" ;;
        "<NULL>") echo "no (NULL)" ;;
        *) echo "?? ($value)" ;;
    esac
}
insert_v1_row() { psql_on "$1" -c "INSERT INTO accounts (name, note) VALUES ('Ada', 'kept?')"; }

# --- tools --------------------------------------------------------------------

command -v psql >/dev/null || die "psql not found"
psql -X -q -d "$SERVER_URL" -c 'SELECT 1' >/dev/null || die "cannot connect to $SERVER_URL"
PG_MAJOR="$(psql -X -At -d "$SERVER_URL" -c 'SHOW server_version_num')"
PG_MAJOR=$((PG_MAJOR / 10000))

if [[ -z "${SQUAWK_BIN:-}" ]]; then
    cache="${PGTEST_PG_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/schema-pg-binaries}/squawk-$SQUAWK_VERSION"
    if [[ "$("$cache/squawk" --version 2>/dev/null)" != "squawk $SQUAWK_VERSION" ]]; then
        say "downloading squawk-cli==$SQUAWK_VERSION (PyPI wheel) into $cache"
        work="$(mktemp -d)"
        python3 -m pip download --quiet --no-deps --only-binary=:all: --platform "manylinux_2_28_$(uname -m)" \
            --disable-pip-version-check -d "$work" "squawk-cli==$SQUAWK_VERSION" >&2
        python3 -m zipfile -e "$work"/squawk_cli-*.whl "$work/x"
        mkdir -p "$cache"
        chmod 755 "$work"/x/squawk_cli-*.data/scripts/squawk
        mv -f "$work"/x/squawk_cli-*.data/scripts/squawk "$cache/squawk"
        rm -rf -- "$work"
    fi
    SQUAWK_BIN="$cache/squawk"
fi
SQUAWK_SAYS="$("$SQUAWK_BIN" --version)" || die "$SQUAWK_BIN does not run"

if [[ ! -d "$HERE/drizzle/node_modules" ]]; then
    say "npm ci in drizzle/"
    (cd "$HERE/drizzle" && npm ci --no-audit --no-fund >&2)
fi
DRIZZLE_KIT="$HERE/drizzle/node_modules/.bin/drizzle-kit"
DRIZZLE_SAYS="$("$DRIZZLE_KIT" --version 2>/dev/null | tr -s ' \n' ' ')"

if [[ ! -x "$HERE/.venv/bin/migra" ]]; then
    say "making .venv with migra/requirements.txt"
    python3 -m venv "$HERE/.venv"
    "$HERE/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$HERE/migra/requirements.txt" >&2
fi
MIGRA="$HERE/.venv/bin/migra"
MIGRA_SAYS="migra $("$HERE/.venv/bin/pip" show migra 2>/dev/null | sed -n 's/^Version: //p')"

say "building the schema-core side (cargo build, target $CARGO_TARGET_DIR)"
cargo build --quiet --manifest-path "$HERE/Cargo.toml"
LINT="$CARGO_TARGET_DIR/debug/migration-lint"

rm -rf -- "$OUT"
mkdir -p "$OUT"
declare -A FILES KEPT NOTES

# --- 1. schema-core -----------------------------------------------------------

say "schema-core: migrations 1 and 2"
mapfile -t sc_files < <("$LINT" migrations "$OUT/schema-core")
FILES[schema-core]="${sc_files[*]}"
db=ml_lint_schema_core
new_db "$db"
mkdir "$OUT/schema-core-first"
cp -r "$(dirname "${sc_files[0]}")" "$OUT/schema-core-first/"
"$LINT" cli v1 migrate apply --database-url "$(db_url "$db")" --dir "$OUT/schema-core-first" >&2
insert_v1_row "$db"
"$LINT" cli v2 migrate apply --database-url "$(db_url "$db")" --dir "$OUT/schema-core" >&2
rm -rf -- "$OUT/schema-core-first"
KEPT[schema-core]="$(remark_kept "$db")"
NOTES[schema-core]="rename: RENAME COLUMN (declared renamed_from); index built CONCURRENTLY in a no-transaction step; every step sets lock_timeout and statement_timeout"

# --- 2. drizzle-kit -----------------------------------------------------------

# drizzle-kit generate for drizzle/$1/schema.ts into out/drizzle/$2 (drizzle-kit takes --out
# relative to its folder: an absolute path is read as .//path).
drizzle_generate() {
    (cd "$HERE/drizzle" && "$DRIZZLE_KIT" generate --dialect postgresql --schema "$1/schema.ts" \
        --out "../out/drizzle/$2" --name "$3")
}

# Runs drizzle-kit generate of v2 into out/drizzle/$1 in a tmux pane, answering each "created
# or renamed" prompt: for remark with $2 (rename: the second choice; enter: the preselected
# one), for any other column with Enter. Sets TTY_RC; the pane's text goes to out/drizzle/$1.log.
TTY_RC=""
drizzle_tty() {
    local variant="$1" answer="$2" rcfile="$OUT/drizzle/$1.rc" pane column waited=0
    local -A answered=()
    tmux -L "$TMUX_SOCKET" new-session -d -s "$variant" -x 200 -y 50 \
        "cd '$HERE/drizzle' && '$DRIZZLE_KIT' generate --dialect postgresql --schema v2/schema.ts --out ../out/drizzle/$variant --name accounts_v2; echo \$? > '$rcfile'; sleep 600"
    while [[ ! -s "$rcfile" ]] && (( waited < 900 )); do
        sleep 0.2
        waited=$((waited + 1))
        pane="$(tmux -L "$TMUX_SOCKET" capture-pane -p -t "$variant" 2>/dev/null)" || continue
        if [[ "$pane" =~ Is\ ([a-z_]+)\ column\ in\ accounts\ table\ created\ or\ renamed ]]; then
            column="${BASH_REMATCH[1]}"
            [[ -n "${answered[$column]:-}" ]] && continue
            answered[$column]=1
            sleep 0.5
            if [[ "$column" == remark && "$answer" == rename ]]; then
                tmux -L "$TMUX_SOCKET" send-keys -t "$variant" Down
                sleep 0.3
            fi
            tmux -L "$TMUX_SOCKET" send-keys -t "$variant" Enter
        fi
    done
    tmux -L "$TMUX_SOCKET" capture-pane -p -S -100 -t "$variant" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' >"$OUT/drizzle/$variant.log"
    tmux -L "$TMUX_SOCKET" kill-session -t "$variant" 2>/dev/null || true
    TTY_RC="$(cat "$rcfile" 2>/dev/null || echo "timed out")"
}

mkdir -p "$OUT/drizzle"
for variant in no-tty tty-rename tty-enter; do
    if [[ "$variant" == tty-* ]] && ! command -v tmux >/dev/null; then
        NOTES[drizzle-kit $variant]="skipped: no tmux"
        continue
    fi
    say "drizzle-kit ($variant): generate v1, then v2"
    drizzle_generate v1 "$variant" create_accounts </dev/null >"$OUT/drizzle/$variant.v1.log" 2>&1
    if [[ "$variant" == no-tty ]]; then
        set +e
        drizzle_generate v2 "$variant" accounts_v2 </dev/null >"$OUT/drizzle/$variant.log" 2>&1
        rc=$?
        set -e
        first_error="$(grep -m1 '^Error' "$OUT/drizzle/$variant.log" | sed 's/ (.*//' || true)"
    else
        drizzle_tty "$variant" "${variant#tty-}"
        rc="$TTY_RC"
        first_error=""
    fi
    mapfile -t dz_files < <(ls "$OUT/drizzle/$variant"/*.sql)
    FILES[drizzle-kit $variant]="${dz_files[*]}"
    db="ml_lint_dz_${variant//-/_}"
    new_db "$db"
    psql_on "$db" -1 -f "${dz_files[0]}"
    insert_v1_row "$db"
    if (( ${#dz_files[@]} > 1 )); then
        psql_on "$db" -1 -f "${dz_files[1]}"
        KEPT[drizzle-kit $variant]="$(remark_kept "$db")"
    else
        KEPT[drizzle-kit $variant]="n/a (no v2 file)"
    fi
    case "$variant" in
        no-tty) NOTES[drizzle-kit $variant]="v2 generate (stdin /dev/null) exit $rc, $(( ${#dz_files[@]} - 1 )) v2 file written, printed \"${first_error:-nothing}\"" ;;
        tty-rename) NOTES[drizzle-kit $variant]="v2 generate exit $rc; prompt answered \"~ note › remark rename column\"" ;;
        tty-enter) NOTES[drizzle-kit $variant]="v2 generate exit $rc; Enter on the prompt's preselected \"+ remark create column\": drop + add" ;;
    esac
done

# --- 3. migra -----------------------------------------------------------------

say "migra: databases from schema-core's DDL of v1 and v2"
for db in ml_lint_migra_empty ml_lint_migra_v1 ml_lint_migra_v2; do new_db "$db"; done
"$LINT" ddl v1 | psql_on ml_lint_migra_v1 -1
"$LINT" ddl v2 | psql_on ml_lint_migra_v2 -1
mkdir -p "$OUT/migra"
migra_url() { local url; url="$(db_url "$1")"; echo "postgresql+psycopg2://${url#*://}"; }
# migra exits 2 when the databases differ.
migra_rcs=()
for pair in "empty v1 1_create_accounts" "v1 v2 2_accounts_v2"; do
    read -r from to name <<<"$pair"
    set +e
    "$MIGRA" --unsafe "$(migra_url "ml_lint_migra_$from")" "$(migra_url "ml_lint_migra_$to")" \
        >"$OUT/migra/$name.sql" 2>"$OUT/migra/$name.err"
    rc=$?
    set -e
    (( rc == 0 || rc == 2 )) || { cat "$OUT/migra/$name.err" >&2; die "migra exited $rc"; }
    migra_rcs+=("$rc")
done
FILES[migra]="$OUT/migra/1_create_accounts.sql $OUT/migra/2_accounts_v2.sql"
insert_v1_row ml_lint_migra_v1
psql_on ml_lint_migra_v1 -1 -f "$OUT/migra/2_accounts_v2.sql"
KEPT[migra]="$(remark_kept ml_lint_migra_v1)"
NOTES[migra]="migra exit codes $(IFS=,; echo "${migra_rcs[*]}") (2: the databases differ); rename: $(grep -c 'drop column' "$OUT/migra/2_accounts_v2.sql") drop column + add column; plain CREATE INDEX; no timeouts"

# --- 4. squawk ----------------------------------------------------------------

DEFAULT_FLAGS=(--pg-version "$PG_MAJOR")
AS_RUN_FLAGS=(--pg-version "$PG_MAJOR" --assume-in-transaction -e ban-concurrent-index-creation-in-transaction)
TOOLS=(schema-core "drizzle-kit no-tty" "drizzle-kit tty-rename" "drizzle-kit tty-enter" migra)
mkdir -p "$OUT/squawk"
declare -A COUNT_DEFAULT COUNT_AS_RUN
for tool in "${TOOLS[@]}"; do
    [[ -n "${FILES[$tool]:-}" ]] || continue
    read -r -a files <<<"${FILES[$tool]}"
    for mode in default as-run; do
        if [[ "$mode" == default ]]; then flags=("${DEFAULT_FLAGS[@]}"); else flags=("${AS_RUN_FLAGS[@]}"); fi
        json="$OUT/squawk/${tool// /_}.$mode.json"
        # squawk exits 1 when it finds anything.
        (cd "$OUT" && "$SQUAWK_BIN" "${flags[@]}" --reporter json "${files[@]#"$OUT/"}" >"$json") || true
        count="$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$json")"
        if [[ "$mode" == default ]]; then COUNT_DEFAULT[$tool]="$count"; else COUNT_AS_RUN[$tool]="$count"; fi
    done
done

# Every finding: tool, mode, file:line (1-based; squawk's JSON and gcc reporters count from
# 0), rule, the line it points at.
echo
echo "## squawk findings ($SQUAWK_SAYS; default: ${DEFAULT_FLAGS[*]}; as run: ${AS_RUN_FLAGS[*]})"
echo
python3 - "$OUT" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
order = ["schema-core", "drizzle-kit_no-tty", "drizzle-kit_tty-rename", "drizzle-kit_tty-enter", "migra"]
def key(path):
    tool, mode = path.name[: -len(".json")].rsplit(".", 1)
    return (order.index(tool) if tool in order else len(order), mode != "default")
for path in sorted((out / "squawk").glob("*.json"), key=key):
    tool, mode = path.name[: -len(".json")].rsplit(".", 1)
    for f in json.loads(path.read_text()):
        text = (out / f["file"]).read_text().splitlines()[f["line"]].strip()
        rule = f["rule_name"]
        if rule == "prefer-robust-stmts":  # two kinds: "Missing transaction" / "Missing `IF NOT EXISTS`"
            rule += " (" + f["message"].split(",")[0] + ")"
        print(f"- {tool} [{mode}] {f['file']}:{f['line'] + 1} {rule}: {text}")
PY

# --- 5. the table -------------------------------------------------------------

{
    echo
    echo "squawk: $SQUAWK_SAYS, PostgreSQL $PG_MAJOR; $DRIZZLE_SAYS; $MIGRA_SAYS"
    echo
    echo "| tool | squawk findings, defaults | squawk findings, as run | rename kept values? | notes |"
    echo "| --- | --- | --- | --- | --- |"
    for tool in "${TOOLS[@]}"; do
        [[ -n "${FILES[$tool]:-}${NOTES[$tool]:-}" ]] || continue
        echo "| $tool | ${COUNT_DEFAULT[$tool]:--} | ${COUNT_AS_RUN[$tool]:--} | ${KEPT[$tool]:--} | ${NOTES[$tool]:-} |"
    done
} | tee "$OUT/table.md"
