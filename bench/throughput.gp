# gnuplot script for scripts/bench: requests/s per corpus per engine.
#   gnuplot -e "datafile='chart.dat'; outfile='throughput.png'" bench/throughput.gp
set terminal pngcairo size 900,520 font "DejaVu Sans,11"
set output outfile
set termoption noenhanced
set key autotitle columnhead
set title "Resize to fit 300x200, JPEG q75 - one core, higher is better"
set ylabel "requests (images) per second, log scale"
set logscale y
set yrange [0.3:*]
set style data histograms
set style histogram clustered gap 1.5
set style fill solid 0.85 border -1
set boxwidth 0.9
set key top right
set grid ytics
set datafile separator "\t"
set xtics nomirror
# Clustered histogram, 3 bars + gap 1.5 per cluster: bar centres at -1/4.5, 0, +1/4.5.
d = 1.0/4.5
plot datafile using 2:xtic(1) lc rgb "#9e9e9e", \
     '' using 3 lc rgb "#d9534f", \
     '' using 4 lc rgb "#337ab7", \
     '' using ($0-d):2:(sprintf("%.1f",$2)) with labels offset 0,0.7 notitle, \
     '' using ($0):3:(sprintf("%.1f",$3)) with labels offset 0,0.7 notitle, \
     '' using ($0+d):4:(sprintf("%.1f",$4)) with labels offset 0,0.7 notitle
