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
    local a=($1) b=($2) i
    for i in "${!a[@]}"; do
        awk -v a="${a[$i]}" -v b="${b[$i]}" 'BEGIN { if (b > 0) printf "%.4f\n", a / b; else print "inf" }'
    done
}
