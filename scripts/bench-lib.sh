# shellcheck shell=bash
# Shared by the bench-*.sh scripts (sourced): summaries of repeated measurements.
#
#   stat_line LABEL UNIT FORMAT V1 V2 ...   "LABEL  median M UNIT (min A, max B), N runs"
#   ratios A_VALUES B_VALUES                 per-run A/B, one per line (space-separated lists)

stat_line() {
    local label=$1 unit=$2 format=$3
    shift 3
    # The label goes through the environment: awk -v would turn "\timing" into a tab.
    printf '%s\n' "$@" | sort -g | LABEL="$label" awk -v unit="$unit" -v f="$format" '
        BEGIN { label = ENVIRON["LABEL"] }
        { v[NR] = $1 }
        END {
            if (NR == 0) { printf "%-42s no runs\n", label; exit 1 }
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "%-42s median " f " %s (min " f ", max " f "), %d runs\n", label, m, unit, v[1], v[NR], NR
        }'
}

ratios() {
    local a b i
    read -ra a <<< "$1"
    read -ra b <<< "$2"
    for i in "${!a[@]}"; do
        awk -v a="${a[$i]}" -v b="${b[$i]}" 'BEGIN { if (b > 0) printf "%.4f\n", a / b; else print "inf" }'
    done
}

# The derbes binary: DERBES_BIN when set (scripts/bench.sh builds once and passes it),
# else a release build here (honouring CARGO_TARGET_DIR). Sets DERBES.
bench_binary() {
    if [ -n "${DERBES_BIN:-}" ]; then
        DERBES=$DERBES_BIN
    else
        cargo build --release --locked --quiet --bin derbes
        DERBES=${CARGO_TARGET_DIR:-$PWD/target}/release/derbes
    fi
    case $DERBES in /*) ;; *) DERBES=$PWD/$DERBES ;; esac
}

# bench_sample_db SERVER DB BORROWERS: the database DB on SERVER (a libpq keyword
# string without dbname) holding `derbes sample init --borrowers BORROWERS`, made
# afresh when missing or smaller (or, with BENCH_EXACT_SIZE=1, also when larger than
# BORROWERS + 1: the export adds its subject), reused otherwise. Needs DERBES and
# DERBES_MAP. Prints the borrowers it holds.
bench_sample_db() {
    local server=$1 db=$2 borrowers=$3 have=-1
    local admin=(psql -X -qtA -v ON_ERROR_STOP=1 "$server dbname=postgres")
    local bench=(psql -X -qtA -v ON_ERROR_STOP=1 "$server dbname=$db")
    if [ -z "$("${admin[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
        "${admin[@]}" -c "CREATE DATABASE \"$db\""
    fi
    if [ "$("${bench[@]}" -c "SELECT to_regclass('public.borrowers') IS NOT NULL")" = t ]; then
        have=$("${bench[@]}" -c "SELECT count(*) FROM borrowers")
    fi
    if [ "$have" -lt "$borrowers" ] || { [ "${BENCH_EXACT_SIZE:-0}" = 1 ] && [ "$have" -gt $((borrowers + 1)) ]; }; then
        echo "preparing $db with $borrowers borrowers (once; reused by later runs) ..." >&2
        # A throwaway benchmark database: made afresh (sample init --force only replaces
        # an untouched sample, and earlier runs wrote audit rows).
        "${admin[@]}" -c "DROP DATABASE \"$db\" WITH (FORCE)" -c "CREATE DATABASE \"$db\""
        DATABASE_URL="$server dbname=$db" "$DERBES" sample init --borrowers "$borrowers" >&2
        have=$("${bench[@]}" -c "SELECT count(*) FROM borrowers")
    fi
    DATABASE_URL="$server dbname=$db" "$DERBES" migrate >/dev/null
    echo "$have"
}

# median V1 V2 ...: the median of the values (mean of the middle two for an even count).
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) exit 1
        printf "%s\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# bench_record OP SIZE UNIT FORMAT "DERBES..." BASELINE_NAME "BASELINE..." "RATIO..." GOAL RSS_KIB
#
# One row of scripts/bench.sh's table, appended to $BENCH_RESULTS (TSV) when that is
# set; nothing otherwise. DERBES, BASELINE and RATIO are space-separated per-run
# values (BASELINE and RATIO may be empty: a figure with a goal of its own). GOAL is
# ">= X" or "<= X", compared with the ratio's median (or, without a ratio, with the
# derbes figure's median), or "-" (a figure shown beside the others, no goal). Columns: operation, size, unit, derbes median, min, max,
# baseline, baseline median, ratio median, min, max, goal, met, peak RSS (MB), runs.
bench_record() {
    [ -n "${BENCH_RESULTS:-}" ] || return 0
    local op=$1 size=$2 unit=$3 fmt=$4 base_name=$6 goal=$9 rss=${10} d_vals b_vals r_vals
    read -ra d_vals <<< "$5"
    read -ra b_vals <<< "$7"
    read -ra r_vals <<< "$8"
    local d_med d_min d_max b_med=- r_med=- r_min=- r_max=- judged met rss_mb=-
    # shellcheck disable=SC2059 # the format is the caller's
    {
        d_med=$(printf "$fmt" "$(median "${d_vals[@]}")")
        d_min=$(printf "$fmt" "$(printf '%s\n' "${d_vals[@]}" | sort -g | head -n 1)")
        d_max=$(printf "$fmt" "$(printf '%s\n' "${d_vals[@]}" | sort -g | tail -n 1)")
        if [ "${#b_vals[@]}" -gt 0 ]; then b_med=$(printf "$fmt" "$(median "${b_vals[@]}")"); fi
    }
    judged=$(median "${d_vals[@]}")
    if [ "${#r_vals[@]}" -gt 0 ]; then
        judged=$(median "${r_vals[@]}")
        r_med=$(printf %.2f "$judged")
        r_min=$(printf %.2f "$(printf '%s\n' "${r_vals[@]}" | sort -g | head -n 1)")
        r_max=$(printf %.2f "$(printf '%s\n' "${r_vals[@]}" | sort -g | tail -n 1)")
        judged=$r_med
    fi
    met=$(awk -v v="$judged" -v g="$goal" 'BEGIN {
        if (g == "-") { print "-"; exit }
        split(g, p, " "); x = p[2] + 0
        ok = (p[1] == ">=") ? (v + 0 >= x) : (v + 0 <= x)
        print ok ? "met" : "NOT met" }')
    if [ -n "$rss" ] && [ "$rss" != - ]; then rss_mb=$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }'); fi
    mkdir -p "$(dirname "$BENCH_RESULTS")"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$op" "$size" "$unit" "$d_med" "$d_min" "$d_max" "$base_name" "$b_med" \
        "$r_med" "$r_min" "$r_max" "$goal" "$met" "$rss_mb" "${#d_vals[@]}" >> "$BENCH_RESULTS"
}
