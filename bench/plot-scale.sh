#!/usr/bin/env bash
# Draws bench/scale-bench.sh's data file: CPU per refresh (ms) of the sampler and of the
# dashboard against processes on the host (the process populations) and against cgroups on the
# host (the cgroup populations), each with its least-squares straight line y = a + b x, into one
# PNG of two panels. Prints each line's slope (b, as µs per process or µs per cgroup) and the
# intercept. A cgroup of the cgroup populations holds one process, so the per-cgroup slope
# includes one process's share; the line "cgroup alone" subtracts the per-process slope.
#
# Usage: bench/plot-scale.sh [DATA] [PNG]   (defaults bench/scale.dat, screenshots/scale.png)
# Needs gnuplot (apt-get install gnuplot-nox) and awk.
set -euo pipefail

data=${1:-bench/scale.dat}
png=${2:-screenshots/scale.png}
die() { echo "plot-scale: $*" >&2; exit 1; }
command -v gnuplot >/dev/null || die "gnuplot not found (apt-get install gnuplot-nox)"
[[ -r $data ]] || die "cannot read $data (run bench/scale-bench.sh)"

# fit KIND XCOL YCOL: "a b n" of y = a + b x over the rows of KIND (columns as in the data file:
# 3 processes, 4 cgroups, 5 sampler ms, 7 dashboard ms); b is ms per unit of x.
fit() {
    awk -F'\t' -v kind="$1" -v xc="$2" -v yc="$3" '
        !/^#/ && $1 == kind && $yc != "" {
            n++; sx += $xc; sy += $yc; sxx += $xc * $xc; sxy += $xc * $yc
        }
        END {
            if (n < 2 || n * sxx - sx * sx == 0) { print "nan nan " n; exit }
            b = (n * sxy - sx * sy) / (n * sxx - sx * sx)
            printf "%.6g %.9g %d\n", (sy - b * sx) / n, b, n
        }' "$data"
}

read -r ps_a ps_b ps_n < <(fit processes 3 5)
read -r pd_a pd_b _ < <(fit processes 3 7)
read -r cs_a cs_b cs_n < <(fit cgroups 4 5)
read -r cd_a cd_b _ < <(fit cgroups 4 7)
((ps_n >= 2 || cs_n >= 2)) || die "$data has fewer than two rows of either kind: nothing to fit"

# µs per unit, 2 significant decimals; "-" when there was nothing to fit.
us() { awk -v b="$1" 'BEGIN { if (b == "nan") print "-"; else printf "%.2f", b * 1000 }'; }
ps_us=$(us "$ps_b") pd_us=$(us "$pd_b") cs_us=$(us "$cs_b") cd_us=$(us "$cd_b")
alone() { awk -v c="$1" -v p="$2" 'BEGIN { if (c == "nan" || p == "nan") print "-"; else printf "%.2f", (c - p) * 1000 }'; }
cs_alone=$(alone "$cs_b" "$ps_b") cd_alone=$(alone "$cd_b" "$pd_b")

echo "per process:  sampler $ps_us µs (intercept $ps_a ms), dashboard $pd_us µs (intercept $pd_a ms)"
echo "per cgroup (with its one process): sampler $cs_us µs (intercept $cs_a ms), dashboard $cd_us µs (intercept $cd_a ms)"
echo "per cgroup alone (minus one process): sampler $cs_alone µs, dashboard $cd_alone µs"

# Gnuplot draws a fit only when there is one.
line() { [[ $2 == nan ]] && echo "NaN" || echo "$1 + $2 * x"; }
# panel KIND XCOL SAMPLER_A SAMPLER_B SAMPLER_US DASHBOARD_A DASHBOARD_B DASHBOARD_US: the plot
# command of one panel, the rows of KIND at x = column XCOL.
panel() {
    local kind=$1 x=$2 unit=cgroup
    [[ $kind == processes ]] && unit=process
    echo "plot \"$data\" using (strcol(1) eq \"$kind\" ? \$$x : NaN):5 with points pt 7 ps 1.3 lc rgb \"#1f77b4\" title \"sampler\", \\
        $(line "$3" "$4") with lines lw 2 lc rgb \"#1f77b4\" title \"fit: $5 µs/$unit\", \\
        \"$data\" using (strcol(1) eq \"$kind\" ? \$$x : NaN):7 with points pt 5 ps 1.3 lc rgb \"#d62728\" title \"dashboard (isotop -d 1)\", \\
        $(line "$6" "$7") with lines lw 2 lc rgb \"#d62728\" title \"fit: $8 µs/$unit\""
}
when=$(awk 'NR == 1 { sub(/.*\), /, ""); print; exit }' "$data")
mkdir -p "$(dirname "$png")"
gnuplot <<EOF
set terminal pngcairo size 1280,520 font "DejaVu Sans,11"
set output "$png"
set datafile separator "\t"
set datafile commentschars "#"
set multiplot layout 1,2 title "isotop: CPU per 1 s refresh against the host's size (bench/scale-bench.sh, $when)"
set grid
set key top left
set ylabel "CPU per refresh (ms, utime+stime)"
set yrange [0:*]
set xrange [0:*]
set format x "%.0s%c"
set title "processes (7 new namespaces per 29)"
set xlabel "processes on the host"
$(panel processes 3 "$ps_a" "$ps_b" "$ps_us" "$pd_a" "$pd_b" "$pd_us")
set title "cgroups (v1: cpu, cpuacct, memory, pids, blkio, freezer; one process each)"
set xlabel "cgroups on the host"
$(panel cgroups 4 "$cs_a" "$cs_b" "$cs_us" "$cd_a" "$cd_b" "$cd_us")
unset multiplot
EOF
echo "picture: $png"
